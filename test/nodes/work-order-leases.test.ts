import crypto from 'node:crypto';
import { expect } from 'chai';
import type { DataSource } from 'typeorm';
import { buildApp, type App } from '../../src/app';
import { ManualClock, type Clock } from '../../src/clock';
import { loadConfig } from '../../src/config';
import { groupCommitter, WriteConflict } from '../../src/db/group-commit';
import { openDatabase } from '../../src/db/data-source';
import { toSqlDate } from '../../src/db/sql';
import { createLogger } from '../../src/log';
import { CallbackDeliveries } from '../../src/provisioning/callbacks';
import { WorkOrderStates } from '../../src/workorders/states';
import { freshEnvironment, testDatabaseUrl } from '../support/harness';
import { seedCast, TEST_CATALOG, type Cast } from '../support/workorders';

const LEASE_MS = 3000;

/**
 * A process's view of one shared time: it reads the shared clock, and its
 * timers fire with it unless the process is paused (as by the OS, a long GC
 * or a lost connection): then they wait, and fire late, all at once, when
 * it resumes.
 */
class ProcessClock implements Clock {
  paused = false;
  private readonly late: Array<() => void> = [];
  constructor(private readonly shared: ManualClock) {}
  now(): number {
    return this.shared.now();
  }
  date(): Date {
    return this.shared.date();
  }
  timer(ms: number, fn: () => void): () => void {
    return this.shared.timer(ms, () => (this.paused ? this.late.push(fn) : fn()));
  }
  resume(): void {
    this.paused = false;
    for (const fn of this.late.splice(0)) fn();
  }
}

interface Node {
  readonly app: App;
  readonly clock: ProcessClock;
}

describe('work orders on several nodes: owned by the claimer while its node lease holds', function () {
  this.timeout(60_000);
  const shared = new ManualClock(Date.now());
  let environment: Awaited<ReturnType<typeof freshEnvironment>>;
  let a: Node;
  let b: Node;
  let dataSources: DataSource[];
  let cast: Cast;

  before(async () => {
    environment = await freshEnvironment({
      PROVISOR_ENGINE: 'false',
      PROVISOR_WORKFLOW: 'false',
      PROVISOR_WORKORDER_AUTOMATION: 'false',
      PROVISOR_CATALOG_LOAD: 'false',
      PROVISOR_CHANGES: 'false',
      PROVISOR_NODE_LEASE_MS: String(LEASE_MS),
      PROVISOR_WORKORDER_RESTART_MS: '1000',
      PROVISOR_SECRET_KEY: crypto.randomBytes(32).toString('hex'),
    });
    const config = loadConfig(environment.env);
    const first = await openDatabase(config);
    // SQLite: one connection per file in a process, as for the apps of test/cross-node.test.ts.
    const second = testDatabaseUrl() === undefined ? first : await openDatabase(config);
    dataSources = [first, second];
    const node = async (dataSource: DataSource): Promise<Node> => {
      const clock = new ProcessClock(shared);
      const app = await buildApp({ config, logger: createLogger('error'), dataSource, clock });
      await app.lease.start();
      return { app, clock };
    };
    a = await node(first);
    b = await node(second);
    cast = await seedCast(a);
    await a.app.loadCatalog(TEST_CATALOG);
  });

  after(async () => {
    await a.app.close(100);
    await b.app.close(100);
    for (const d of new Set(dataSources)) await d.destroy();
    await environment.cleanup();
  });

  /** Moves the shared time on in steps of a tenth of the lease, letting each running node's renewals reach the database. */
  async function pass(ms: number): Promise<void> {
    for (let done = 0; done < ms; done += LEASE_MS / 10) {
      shared.advance(LEASE_MS / 10);
      for (const node of [a, b]) if (!node.clock.paused) await node.app.lease.renewNow();
    }
  }

  async function order(id: number): Promise<{ state: string; leaseOwner: string | null; attempt: number; events: number; billed: number; instances: number }> {
    const [row] = (await a.app.dataSource.query('SELECT state, leaseOwner, attempt FROM work_order WHERE id = ?', [id])) as Array<{ state: string; leaseOwner: string | null; attempt: unknown }>;
    const count = async (sql: string, param: unknown = id): Promise<number> => Number(((await a.app.dataSource.query(sql, [param])) as Array<{ n: unknown }>)[0]?.n);
    return {
      state: row?.state ?? 'none',
      leaseOwner: row?.leaseOwner ?? null,
      attempt: Number(row?.attempt),
      events: await count('SELECT COUNT(*) AS n FROM work_order_event WHERE workOrderId = ?'),
      billed: await count('SELECT COUNT(*) AS n FROM billable_event WHERE workOrderId = ?'),
      instances: await count('SELECT COUNT(*) AS n FROM process_instance WHERE idempotencyKey LIKE ?', `workorder:${id}:%`),
    };
  }

  async function submit(): Promise<number> {
    const { workOrderId } = await a.app.workOrders.submit(cast.alice, { type: 'Echo', parameters: [{ name: 'volume', value: `v${crypto.randomInt(1e6)}` }, { name: 'sizeGiB', value: '1' }], channel: 'soap' });
    return workOrderId;
  }

  it('leaves an order claimed by a live node to it however old its row grows, on every other node', async () => {
    const id = await submit();
    await a.app.automation.poll();
    const claimed = await order(id);
    expect(claimed).to.deep.include({ state: 'IN_PROGRESS', leaseOwner: a.app.lease.owner, attempt: 1, instances: 1 });
    // Twenty restart periods, the plan never ending (no workflow runner here): the owner is alive all along.
    await pass(20_000);
    await b.app.automation.poll();
    await a.app.automation.poll();
    expect(await order(id)).to.deep.equal(claimed);
  });

  it('lets another node adopt and end the order of a node paused past its lease; the paused one, resumed, changes nothing', async () => {
    const id = await submit();
    await a.app.automation.poll();
    expect((await order(id)).leaseOwner).to.equal(a.app.lease.owner);
    await a.app.dataSource.query("UPDATE process_instance SET status = 'COMPLETED' WHERE idempotencyKey = ?", [`workorder:${id}:1`]);
    const lost: string[] = [];
    a.app.lease.onLost((owner) => lost.push(owner));

    a.clock.paused = true;
    await pass(2 * LEASE_MS);
    // What the paused node was about to write when it stopped: its fenced end, now refused (its lease ran out).
    const stale = new WorkOrderStates(a.app.dataSource, a.clock);
    expect(await stale.transition([id], 'finish', 'automation', 'completed by its plan', { attempt: 1, fence: { owner: a.app.lease.owner } })).to.deep.equal([]);
    expect((await order(id)).state).to.equal('IN_PROGRESS');

    await b.app.automation.poll();
    const ended = await order(id);
    expect(ended).to.deep.include({ state: 'CLOSED', leaseOwner: b.app.lease.owner, billed: 1, instances: 1 });

    a.clock.resume();
    await a.app.lease.renewNow();
    expect(lost, 'the resumed node is told it lost its lease').to.deep.equal([a.app.lease.owner]);
    expect(a.app.lease.held(), 'and holds a fresh one').to.equal(true);
    await a.app.automation.poll();
    expect(await stale.transition([id], 'finish', 'automation', 'completed by its plan', { attempt: 1, fence: { owner: a.app.lease.owner } })).to.deep.equal([]);
    expect(await order(id)).to.deep.equal(ended);
  });

  it('adopts at once, and starts, the claimed orders of a node that stopped cleanly (its lease given up)', async () => {
    const id = await submit();
    // Claimed as A would claim it, but A is gone before the plan's start is recorded.
    const states = new WorkOrderStates(a.app.dataSource, a.clock);
    const gone = 'gone-host/1/feedface';
    await a.app.dataSource.query('INSERT INTO node_lease (owner, expiresAt, startedAt) VALUES (?, ?, ?)', [gone, toSqlDate(new Date(shared.now() + LEASE_MS)), toSqlDate(shared.date())]);
    expect(await states.claim(100, gone, 'automation', 'plan started by the automation')).to.include(id);
    await b.app.automation.poll();
    expect((await order(id)).leaseOwner, 'alive: not adopted').to.equal(gone);
    await a.app.dataSource.query('DELETE FROM node_lease WHERE owner = ?', [gone]);
    await b.app.automation.poll();
    expect(await order(id)).to.deep.include({ state: 'IN_PROGRESS', leaseOwner: b.app.lease.owner, attempt: 1, instances: 1 });
  });

  it('moves an order closed from six callers at once exactly once: the losers write no history and no bill', async () => {
    const id = await submit();
    const states = [new WorkOrderStates(a.app.dataSource, a.clock), new WorkOrderStates(b.app.dataSource, b.clock)];
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => states[i % 2]?.transition([id], 'close', 'admin', `closed by hand ${i}`) ?? Promise.resolve([])));
    expect(results.filter((r) => r.length === 1)).to.have.length(1);
    expect(await order(id)).to.deep.include({ state: 'CLOSED', billed: 1, events: 2 });
  });
});

describe('a guarded write in a group commit whose guard fails', function () {
  this.timeout(30_000);
  let environment: Awaited<ReturnType<typeof freshEnvironment>>;
  let dataSource: DataSource;
  before(async () => {
    environment = await freshEnvironment();
    dataSource = await openDatabase(loadConfig(environment.env));
    await dataSource.query("INSERT INTO ws_nonce (hash, expiresAt) VALUES ('taken', '2030-01-01 00:00:00.000')");
  });
  after(async () => {
    await dataSource.destroy();
    await environment.cleanup();
  });

  it('runs none of its caller\'s following statements, and the other callers of its batch commit', async () => {
    const committer = groupCommitter(dataSource);
    const insert = (hash: string) => ({ sql: 'INSERT INTO ws_nonce (hash, expiresAt) VALUES (?, ?)', params: [hash, '2030-01-01 00:00:00.000'], table: 'ws_nonce' });
    const guard = (hash: string) => ({ sql: 'UPDATE ws_nonce SET expiresAt = ? WHERE hash = ?', params: ['2031-01-01 00:00:00.000', hash], table: 'ws_nonce', expectChanged: 1 });
    const outcomes = await Promise.allSettled([
      committer.write([insert('before-1'), guard('before-1'), insert('after-1')]),
      // Its guard fails; were the duplicate insert after it run, this caller would fail with a unique violation instead.
      committer.write([insert('before-2'), guard('no-such-nonce'), insert('taken')]),
      committer.write([guard('taken'), insert('after-3')]),
    ]);
    expect(outcomes.map((o) => o.status)).to.deep.equal(['fulfilled', 'rejected', 'fulfilled']);
    const refused = outcomes[1];
    expect(refused?.status === 'rejected' ? refused.reason : undefined).to.be.instanceOf(WriteConflict);
    const rows = (await dataSource.query('SELECT hash FROM ws_nonce ORDER BY hash')) as Array<{ hash: string }>;
    expect(rows.map((r) => r.hash)).to.deep.equal(['after-1', 'after-3', 'before-1', 'taken']);
  });
});

describe('a callback delivery whose sender lost its lease', function () {
  this.timeout(30_000);
  let environment: Awaited<ReturnType<typeof freshEnvironment>>;
  let dataSource: DataSource;
  before(async () => {
    environment = await freshEnvironment();
    dataSource = await openDatabase(loadConfig(environment.env));
  });
  after(async () => {
    await dataSource.destroy();
    await environment.cleanup();
  });

  it('records nothing for the stale sender; the sender that took it over records its outcome', async () => {
    const deliveries = new CallbackDeliveries(dataSource);
    const t0 = new Date('2030-01-01T00:00:00Z');
    await dataSource.query("INSERT INTO callback_delivery (requestId, url, status, attempts, nextAttemptAt) VALUES ('req-fenced', 'http://127.0.0.1:9/cb', 'PENDING', 0, ?)", [toSqlDate(t0)]);
    const [first] = await deliveries.lease('sender-a', t0, new Date(t0.getTime() + 1000), 10);
    expect(first?.requestId).to.equal('req-fenced');
    // Sender A stalls past its lease; B takes the delivery over.
    const later = new Date(t0.getTime() + 5000);
    const [second] = await deliveries.lease('sender-b', later, new Date(later.getTime() + 1000), 10);
    expect(second?.id).to.equal(first?.id);
    expect(await deliveries.retryLater(first?.id ?? 0, 1, 'slow endpoint', later, 'sender-a'), 'the stale retry').to.equal(false);
    expect(await deliveries.delivered(first?.id ?? 0, 1, 'sender-a'), 'the stale acknowledgement').to.equal(false);
    expect((await deliveries.state('req-fenced'))?.status).to.equal('PENDING');
    expect(await deliveries.delivered(second?.id ?? 0, 2, 'sender-b')).to.equal(true);
    expect(await deliveries.state('req-fenced')).to.deep.include({ status: 'DELIVERED', attempts: 2 });
    expect(await deliveries.failed(first?.id ?? 0, 3, 'too late', 'sender-a'), 'the stale give-up').to.equal(false);
    expect(await deliveries.state('req-fenced')).to.deep.include({ status: 'DELIVERED', attempts: 2 });
  });
});
