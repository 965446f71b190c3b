import type { ChildProcess } from 'node:child_process';
import { expect } from 'chai';
import type { App } from '../../src/app';
import { eventually, freshEnvironment, prepareDatabase } from '../support/harness';
import { freePort, startServerProcess, waitForHealth } from '../support/processes';
import { seedCast, TEST_CATALOG } from '../support/workorders';

interface OrderRow {
  id: unknown;
  state: string;
  attempt: unknown;
  leaseOwner: string | null;
}

async function submitOrders(app: App, count: number, delay: (i: number) => string): Promise<number[]> {
  await app.loadCatalog(TEST_CATALOG);
  const cast = await seedCast({ app });
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    const { workOrderId } = await app.workOrders.submit(cast.alice, { type: 'Echo', parameters: [{ name: 'volume', value: `v${i}` }, { name: 'sizeGiB', value: '1' }, { name: 'delay', value: delay(i) }], channel: 'soap' });
    ids.push(workOrderId);
  }
  return ids;
}

/** Reads the orders, their claims and their billable events through a short-lived app on the same database. */
async function snapshot(env: Record<string, string | undefined>): Promise<{ orders: OrderRow[]; billed: Map<number, number>; claims: Map<number, number> }> {
  let result: { orders: OrderRow[]; billed: Map<number, number>; claims: Map<number, number> } | undefined;
  await prepareDatabase(env, async (app) => {
    const orders = (await app.dataSource.query('SELECT id, state, attempt, leaseOwner FROM work_order ORDER BY id')) as OrderRow[];
    const billed = (await app.dataSource.query('SELECT workOrderId, COUNT(*) AS n FROM billable_event GROUP BY workOrderId')) as Array<{ workOrderId: unknown; n: unknown }>;
    const claims = (await app.dataSource.query("SELECT workOrderId, COUNT(*) AS n FROM work_order_event WHERE toState = 'IN_PROGRESS' GROUP BY workOrderId")) as Array<{ workOrderId: unknown; n: unknown }>;
    result = { orders, billed: new Map(billed.map((b) => [Number(b.workOrderId), Number(b.n)])), claims: new Map(claims.map((c) => [Number(c.workOrderId), Number(c.n)])) };
  });
  if (result === undefined) throw new Error('no snapshot');
  return result;
}

describe('work orders across a crash', function () {
  this.timeout(180_000);
  let environment: Awaited<ReturnType<typeof freshEnvironment>>;
  let env: Record<string, string | undefined>;
  let base: string;
  let child: ChildProcess | undefined;

  before(async () => {
    environment = await freshEnvironment();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    env = { ...environment.env, PORT: String(port), PROVISOR_CATALOG: TEST_CATALOG, PROVISOR_WORKORDER_POLL_MS: '50', PROVISOR_WORKFLOW_POLL_MS: '50', PROVISOR_NODE_LEASE_MS: '2000', LOG_LEVEL: 'warn' };
  });

  after(async () => {
    child?.kill('SIGKILL');
    await environment.cleanup();
  });

  it('loses no order and bills none twice when the server is killed mid-processing', async () => {
    let ids: number[] = [];
    await prepareDatabase(env, async (app) => {
      ids = await submitOrders(app, 40, (i) => (i % 2 === 0 ? 'PT0S' : 'PT4S'));
    });
    child = startServerProcess(env);
    await waitForHealth(base);
    // Kill it while some orders are closed and others are waiting inside their plans.
    await eventually(async () => {
      const s = await snapshot(env);
      const closed = s.orders.filter((o) => o.state === 'CLOSED').length;
      const running = s.orders.filter((o) => o.state === 'IN_PROGRESS').length;
      return closed > 0 && running > 0 ? true : undefined;
    }, 'some orders closed while others run', 60_000, 100);
    child.kill('SIGKILL');
    await new Promise((resolve) => child?.once('exit', resolve));
    const mid = await snapshot(env);
    expect(mid.orders.filter((o) => o.state === 'IN_PROGRESS').length, 'orders in progress at the kill').to.be.greaterThan(0);

    child = startServerProcess(env);
    await waitForHealth(base);
    const done = await eventually(async () => {
      const s = await snapshot(env);
      return s.orders.every((o) => o.state === 'CLOSED') ? s : undefined;
    }, 'every order to close after the restart', 90_000, 200);
    expect(done.orders.map((o) => Number(o.id))).to.deep.equal(ids);
    for (const id of ids) {
      expect(done.billed.get(id), `billable events of order ${id}`).to.equal(1);
      expect(done.claims.get(id), `claims of order ${id}`).to.equal(1);
    }
    expect(done.orders.every((o) => Number(o.attempt) === 1)).to.equal(true);
  });
});

describe('two Provisor processes sharing one MariaDB', function () {
  this.timeout(180_000);
  const children: ChildProcess[] = [];
  let environment: Awaited<ReturnType<typeof freshEnvironment>>;

  before(async function () {
    if (process.env.DATABASE_URL === undefined) this.skip();
    environment = await freshEnvironment();
  });
  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    await environment?.cleanup();
  });

  it('share the orders: each claimed and billed exactly once, by both processes', async () => {
    const base = { ...environment.env, PROVISOR_CATALOG: TEST_CATALOG, PROVISOR_CATALOG_LOAD: 'false', PROVISOR_WORKORDER_POLL_MS: '20', PROVISOR_WORKORDER_BATCH: '5', PROVISOR_WORKFLOW_POLL_MS: '50', LOG_LEVEL: 'warn' };
    let ids: number[] = [];
    await prepareDatabase(base, async (app) => {
      ids = await submitOrders(app, 120, () => 'PT0.2S');
    });
    const ports = [await freePort(), await freePort()];
    for (const port of ports) children.push(startServerProcess({ ...base, PORT: String(port) }));
    await Promise.all(ports.map((port) => waitForHealth(`http://127.0.0.1:${port}`)));
    const done = await eventually(async () => {
      const s = await snapshot(base);
      return s.orders.every((o) => o.state === 'CLOSED') ? s : undefined;
    }, 'every order to close', 120_000, 200);
    expect(done.orders).to.have.length(ids.length);
    for (const id of ids) {
      expect(done.billed.get(id), `billable events of order ${id}`).to.equal(1);
      expect(done.claims.get(id), `claims of order ${id}`).to.equal(1);
    }
    const owners = new Set(done.orders.map((o) => o.leaseOwner));
    expect(owners.size, 'processes that claimed orders').to.equal(2);
  });
});
