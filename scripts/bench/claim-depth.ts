import crypto from 'node:crypto';
import { openDatabase } from '../../src/db/data-source';
import { RequestStore } from '../../src/provisioning/request-store';
import { waitForQuiet } from './cpu';
import { DB_LABEL, freshDatabase, type DbKind } from './databases';
import { fmt, formatTable } from './table';

export interface ClaimDepthResult {
  readonly db: DbKind;
  readonly queued: number;
  readonly batch: number;
  /** Median and slowest of the timed claims, in milliseconds. */
  readonly medianMs: number;
  readonly maxMs: number;
}

/**
 * How long one engine claim (RequestStore.claim of `batch` rows) takes with
 * `queued` QUEUED requests waiting, each on its own component: the cost the
 * engine pays on every poll while a backlog exists.
 */
export async function runClaimDepth(db: DbKind, queued: number, quietWaitMs = 0, batch = 16, claims = 7): Promise<ClaimDepthResult> {
  const database = await freshDatabase(db);
  try {
    const dataSource = await openDatabase(database.config());
    try {
      const store = new RequestStore(dataSource);
      const at = new Date();
      for (let i = 0; i < queued; i++) {
        const system = `sim-${String(i % 50).padStart(3, '0')}`;
        await store.insert({
          id: crypto.randomUUID(),
          operation: 'Install',
          systemName: system,
          component: `pkg-${i}`,
          version: null,
          task: JSON.stringify({ operation: 'Install', component: `pkg-${i}`, parameters: [] }),
          conflictKey: `${system}/pkg-${i}`,
          submittedBy: 'bench',
          idempotencyKey: `claim-${i}`,
          requestHash: crypto.createHash('sha256').update(String(i)).digest('hex'),
          callbackUrl: null,
          submittedAt: at,
        });
      }
      if (quietWaitMs > 0) await waitForQuiet(quietWaitMs);
      const times: number[] = [];
      for (let k = 0; k < claims; k++) {
        const started = performance.now();
        const rows = await store.claim(`bench/${process.pid}/claim`, batch, new Date(), 60_000);
        times.push(performance.now() - started);
        if (rows.length !== batch) throw new Error(`claim returned ${rows.length} rows, expected ${batch}`);
      }
      times.sort((a, b) => a - b);
      return { db, queued, batch, medianMs: times[Math.floor(times.length / 2)] ?? NaN, maxMs: times[times.length - 1] ?? NaN };
    } finally {
      await dataSource.destroy();
    }
  } finally {
    await database.dispose();
  }
}

export function printClaimDepthTable(results: readonly ClaimDepthResult[]): string {
  return formatTable(
    ['db', 'queued requests', 'claim batch', 'claim median ms', 'claim max ms'],
    results.map((r) => [DB_LABEL[r.db], String(r.queued), String(r.batch), fmt(r.medianMs, 1), fmt(r.maxMs, 1)]),
  );
}
