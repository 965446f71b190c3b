import type { DataSource } from 'typeorm';
import { sleepUntil, SleepAborted, type Clock } from '../clock';
import { exclusive, execute, toSqlDate } from '../db/sql';
import type { Logger } from '../log';
import { DETAIL_TABLES, WORKFLOW_SQL, type DetailTable } from './sql';

export interface RetentionSettings {
  /** Finished instances older than this many days lose their detail rows; 0 turns the job off. */
  readonly retentionDays: number;
  readonly pruneIntervalMs: number;
  /** Instances pruned per batch. */
  readonly pruneBatchSize: number;
  /** Most instances pruned by one run. */
  readonly pruneMaxPerRun: number;
}

const DAY_MS = 86_400_000;
/** Rows removed by one DELETE. */
const ROW_CHUNK = 2000;

/**
 * The retention job: finished instances (COMPLETED, FAULTED, TERMINATED)
 * that ended more than `retentionDays` ago lose their activity, variable,
 * link, timer, correlation and message rows (and messages no instance took
 * within their keep time are deleted). The instance row stays, marked `prunedAt`, so lists,
 * statuses, faults and times remain; GetProcessStatus then shows no
 * activities. Each run prunes at most `pruneMaxPerRun` instances, in batches,
 * each table in DELETEs of at most ROW_CHUNK rows; the instance is marked
 * last, so a run cut short is finished by the next one.
 */
export class InstancePruner {
  private stop: AbortController | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly dataSource: DataSource,
    private readonly settings: RetentionSettings,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Runs the job every `pruneIntervalMs` of the clock's time until stopped; nothing when retention is off. */
  start(): void {
    if (this.settings.retentionDays === 0 || this.stop !== undefined) return;
    const stop = new AbortController();
    this.stop = stop;
    this.running = (async () => {
      for (;;) {
        try {
          await sleepUntil(this.clock, this.clock.now() + this.settings.pruneIntervalMs, stop.signal);
        } catch (err) {
          if (err instanceof SleepAborted) return;
          throw err;
        }
        try {
          await this.pruneOnce();
        } catch (err) {
          this.log.error('pruning finished instances failed', { err: String(err) });
        }
      }
    })();
  }

  async stopJob(): Promise<void> {
    this.stop?.abort();
    this.stop = undefined;
    await this.running;
  }

  /** One run: prunes up to `pruneMaxPerRun` instances that ended before the cutoff. Returns how many. */
  async pruneOnce(): Promise<number> {
    if (this.settings.retentionDays === 0) return 0;
    const cutoff = new Date(this.clock.now() - this.settings.retentionDays * DAY_MS);
    let pruned = 0;
    while (pruned < this.settings.pruneMaxPerRun) {
      const limit = Math.min(this.settings.pruneBatchSize, this.settings.pruneMaxPerRun - pruned);
      const rows = (await this.dataSource.query(WORKFLOW_SQL.prunable, [toSqlDate(cutoff), limit])) as Array<{ id: string }>;
      if (rows.length === 0) break;
      const ids = rows.map((r) => r.id);
      let deleted = 0;
      for (const table of DETAIL_TABLES) deleted += await this.deleteDetail(table, ids);
      await exclusive(this.dataSource, () => execute(this.dataSource, WORKFLOW_SQL.markPruned(ids.length), [toSqlDate(this.clock.date()), ...ids]));
      pruned += ids.length;
      this.log.info('pruned finished instances', { instances: ids.length, rows: deleted, endedBefore: cutoff.toISOString(), firstInstanceId: ids[0] });
    }
    await this.pruneExpiredMessages();
    return pruned;
  }

  /** Messages no instance took within their keep time go too. */
  private async pruneExpiredMessages(): Promise<void> {
    let deleted = 0;
    for (;;) {
      const rows = (await this.dataSource.query(WORKFLOW_SQL.expiredMessages, [toSqlDate(this.clock.date()), ROW_CHUNK])) as Array<{ id: unknown }>;
      if (rows.length === 0) break;
      const ids = rows.map((r) => Number(r.id));
      deleted += await exclusive(this.dataSource, () => execute(this.dataSource, WORKFLOW_SQL.deleteDetailRows('process_message', ids.length), ids));
    }
    if (deleted > 0) this.log.info('pruned messages no instance took', { messages: deleted });
  }

  private async deleteDetail(table: DetailTable, ids: readonly string[]): Promise<number> {
    let deleted = 0;
    for (;;) {
      const rows = (await this.dataSource.query(WORKFLOW_SQL.detailRows(table, ids.length), [...ids, ROW_CHUNK])) as Array<{ id: unknown }>;
      if (rows.length === 0) return deleted;
      const rowIds = rows.map((r) => Number(r.id));
      deleted += await exclusive(this.dataSource, () => execute(this.dataSource, WORKFLOW_SQL.deleteDetailRows(table, rowIds.length), rowIds));
    }
  }
}
