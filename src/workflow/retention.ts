import type { DataSource } from 'typeorm';
import { sleepUntil, SleepAborted, type Clock } from '../clock';
import { exclusive, execute, toSqlDate } from '../db/sql';
import type { Logger } from '../log';

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
/** The tables holding an instance's execution detail, all keyed by instanceId. */
const DETAIL_TABLES = ['activity_instance', 'process_variable', 'link_state', 'process_timer'] as const;
const FINISHED = "status IN ('COMPLETED', 'FAULTED', 'TERMINATED')";

/**
 * The retention job: finished instances (COMPLETED, FAULTED, TERMINATED)
 * that ended more than `retentionDays` ago lose their activity, variable,
 * link and timer rows. The instance row stays, marked `prunedAt`, so lists,
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
      const rows = (await this.dataSource.query(`SELECT id FROM process_instance WHERE ${FINISHED} AND endedAt < ? AND prunedAt IS NULL ORDER BY endedAt LIMIT ?`, [toSqlDate(cutoff), limit])) as Array<{ id: string }>;
      if (rows.length === 0) break;
      const ids = rows.map((r) => r.id);
      let deleted = 0;
      for (const table of DETAIL_TABLES) deleted += await this.deleteDetail(table, ids);
      const list = ids.map(() => '?').join(', ');
      await exclusive(this.dataSource, () => execute(this.dataSource, `UPDATE process_instance SET prunedAt = ? WHERE id IN (${list}) AND ${FINISHED}`, [toSqlDate(this.clock.date()), ...ids]));
      pruned += ids.length;
      this.log.info('pruned finished instances', { instances: ids.length, rows: deleted, endedBefore: cutoff.toISOString(), firstInstanceId: ids[0] });
    }
    return pruned;
  }

  private async deleteDetail(table: (typeof DETAIL_TABLES)[number], ids: readonly string[]): Promise<number> {
    const list = ids.map(() => '?').join(', ');
    let deleted = 0;
    for (;;) {
      const rows = (await this.dataSource.query(`SELECT id FROM ${table} WHERE instanceId IN (${list}) LIMIT ?`, [...ids, ROW_CHUNK])) as Array<{ id: unknown }>;
      if (rows.length === 0) return deleted;
      const rowIds = rows.map((r) => Number(r.id));
      deleted += await exclusive(this.dataSource, () => execute(this.dataSource, `DELETE FROM ${table} WHERE id IN (${rowIds.map(() => '?').join(', ')})`, rowIds));
    }
  }
}
