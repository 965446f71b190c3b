import { buildApp } from '../../src/app';
import { fromSqlDate } from '../../src/db/sql';
import { createLogger } from '../../src/log';
import { cpuWindow, databaseServerPids, waitForQuiet } from './cpu';
import { DB_LABEL, freshDatabase, type DbKind } from './databases';
import { fmt, formatTable } from './table';

export interface EngineCase {
  readonly db: DbKind;
  readonly taskMs: number;
  readonly concurrency: number;
  readonly tasks: number;
  readonly systems: number;
  /** Longest wait for an idle machine before the timed part (0: none). */
  readonly quietWaitMs?: number;
}

export interface EngineResult extends EngineCase {
  /** In-process submitSoftware calls per second while queueing (sequential, one caller). */
  readonly submitPerSecond: number;
  /** From engine.start() until every request was seen terminal. */
  readonly seconds: number;
  readonly tasksPerSecond: number;
  /** concurrency / taskMs: what perfect scheduling would give; undefined for 0 ms tasks. */
  readonly idealPerSecond: number | undefined;
  readonly succeeded: number;
  readonly failed: number;
  readonly problems: readonly string[];
  /** Cores used by this process (engine) and the database server, and by everything else, while timed. */
  readonly cpu: { engine: number; database: number; other: number } | undefined;
  /** Median time from claim (startedAt) to completion (endedAt) of one task, from the rows. */
  readonly medianTaskMs: number | undefined;
  /** Distinct startedAt values: how many claim rounds launched the tasks. */
  readonly claimRounds: number | undefined;
}

const POLL_MS = 5;

/**
 * Queues `tasks` Install requests with the engine stopped, then starts it
 * and times until all are terminal. Components are distinct, so no request
 * waits for another on the same component.
 */
export async function runEngineCase(c: EngineCase): Promise<EngineResult> {
  const database = await freshDatabase(c.db, {
    PROVISOR_ENGINE: 'false',
    PROVISOR_ENGINE_CONCURRENCY: String(c.concurrency),
    PROVISOR_SIMULATED_MIN_MS: String(c.taskMs),
    PROVISOR_SIMULATED_MAX_MS: String(c.taskMs),
    LOG_LEVEL: 'warn',
  });
  const problems: string[] = [];
  try {
    const config = database.config();
    const app = await buildApp({ config, logger: createLogger(config.logLevel) });
    try {
      const systems: string[] = [];
      for (let i = 0; i < c.systems; i++) {
        const name = `sim-${String(i).padStart(3, '0')}`;
        await app.systems.add(name, 'simulated');
        systems.push(name);
      }
      const queueStart = performance.now();
      for (let i = 0; i < c.tasks; i++) {
        await app.api.submitSoftware('Install', { system: systems[i % systems.length] ?? 'sim-000', component: `pkg-${i}`, parameters: [], idempotencyKey: `engine-${i}` }, { name: 'bench' });
      }
      const submitPerSecond = c.tasks / ((performance.now() - queueStart) / 1000);

      const terminal = async (): Promise<{ done: number; ok: number }> => {
        const rows = (await app.dataSource.query("SELECT status, COUNT(*) AS n FROM provisioning_request WHERE status IN ('COMPLETED_SUCCESS', 'COMPLETED_FAILURE', 'UNKNOWN') GROUP BY status")) as Array<{ status: string; n: unknown }>;
        let done = 0;
        let ok = 0;
        for (const r of rows) {
          done += Number(r.n);
          if (r.status === 'COMPLETED_SUCCESS') ok += Number(r.n);
        }
        return { done, ok };
      };

      if ((c.quietWaitMs ?? 0) > 0) await waitForQuiet(c.quietWaitMs ?? 0);
      const window = cpuWindow(process.pid, c.db === 'mysql' ? databaseServerPids() : []);
      const started = performance.now();
      await app.engine.start();
      const deadline = started + 300_000;
      let state = await terminal();
      while (state.done < c.tasks) {
        if (performance.now() > deadline) {
          problems.push(`only ${state.done} of ${c.tasks} terminal after 300 s`);
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        state = await terminal();
      }
      const seconds = (performance.now() - started) / 1000;
      const use = window.stop();
      const times = (await app.dataSource.query('SELECT startedAt, endedAt FROM provisioning_request')) as Array<{ startedAt: unknown; endedAt: unknown }>;
      const spans: number[] = [];
      const rounds = new Set<number>();
      for (const t of times) {
        const s = fromSqlDate(t.startedAt);
        const e = fromSqlDate(t.endedAt);
        if (s === null || e === null) continue;
        spans.push(e.getTime() - s.getTime());
        rounds.add(s.getTime());
      }
      spans.sort((a, b) => a - b);
      if (state.ok < c.tasks) problems.push(`${c.tasks - state.ok} not COMPLETED_SUCCESS`);
      return {
        ...c,
        submitPerSecond,
        seconds,
        tasksPerSecond: state.done / seconds,
        idealPerSecond: c.taskMs > 0 ? c.concurrency / (c.taskMs / 1000) : undefined,
        succeeded: state.ok,
        failed: state.done - state.ok,
        problems,
        medianTaskMs: spans[Math.floor(spans.length / 2)],
        claimRounds: rounds.size === 0 ? undefined : rounds.size,
        cpu: use === undefined ? undefined : { engine: use.server, database: use.database, other: Math.max(0, use.machine - use.server - use.database) },
      };
    } finally {
      await app.close(5000);
    }
  } finally {
    await database.dispose();
  }
}

export function printEngineTable(results: ReadonlyArray<EngineResult & { rounds?: readonly number[] }>): string {
  const withRounds = results.some((r) => (r.rounds?.length ?? 0) > 1);
  return formatTable(
    ['db', 'task ms', 'concurrency', 'tasks', 'seconds', 'ideal s', 'tasks/s', 'ideal tasks/s', 'of ideal', 'succeeded', 'claim rounds', 'median claim→end ms', 'engine cores', 'db cores', 'other cores', 'queueing submits/s', ...(withRounds ? ['tasks/s by round'] : [])],
    results.map((r) => [
      DB_LABEL[r.db],
      String(r.taskMs),
      String(r.concurrency),
      String(r.tasks),
      fmt(r.seconds, 2),
      r.idealPerSecond === undefined ? '-' : fmt(r.tasks / r.idealPerSecond, 2),
      fmt(r.tasksPerSecond),
      r.idealPerSecond === undefined ? '-' : fmt(r.idealPerSecond),
      r.idealPerSecond === undefined ? '-' : `${fmt((100 * r.tasksPerSecond) / r.idealPerSecond)}%`,
      String(r.succeeded),
      r.claimRounds === undefined ? '-' : String(r.claimRounds),
      r.medianTaskMs === undefined ? '-' : String(r.medianTaskMs),
      r.cpu === undefined ? '-' : fmt(r.cpu.engine, 2),
      r.cpu === undefined ? '-' : fmt(r.cpu.database, 2),
      r.cpu === undefined ? '-' : fmt(r.cpu.other, 2),
      fmt(r.submitPerSecond),
      ...(withRounds ? [(r.rounds ?? []).map((x) => fmt(x)).join(' ')] : []),
    ]),
  );
}
