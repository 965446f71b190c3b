import { expect } from 'chai';
import { ProvisorError } from '../../src/errors';
import { InvalidParametersError } from '../../src/workorders/api';
import { eventually, startTestServer, type TestServer } from '../support/harness';
import { seedCast, TEST_CATALOG, type Cast } from '../support/workorders';

async function rejection(promise: Promise<unknown>): Promise<ProvisorError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ProvisorError) return err;
    throw err;
  }
  throw new Error('expected a ProvisorError');
}

async function count(server: TestServer, table: string, where = '1 = 1', params: unknown[] = []): Promise<number> {
  const rows = (await server.dataSource.query(`SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`, params)) as Array<{ n: unknown }>;
  return Number(rows[0]?.n);
}

describe('work orders: catalog, submission, automation, admin actions and billing', function () {
  this.timeout(60_000);
  let server: TestServer;
  let cast: Cast;

  before(async () => {
    server = await startTestServer();
    const summary = await server.app.loadCatalog(TEST_CATALOG);
    expect(summary.types).to.equal(3);
    cast = await seedCast(server);
  });
  after(() => server.close());

  async function settled(id: number): Promise<string> {
    return eventually(async () => {
      const order = await server.app.workOrders.get(cast.admin, id);
      return order.state === 'NEW' || order.state === 'IN_PROGRESS' ? undefined : order.state;
    }, `work order ${id} to end`);
  }

  it('lists only the types a customer\'s level allows, with their parameter definitions', async () => {
    const low = await server.app.workOrders.listTypes(cast.alice);
    expect(low.map((t) => t.name)).to.deep.equal(['Echo', 'Manual']);
    const echo = low.find((t) => t.name === 'Echo');
    expect(echo?.price).to.equal('12.50');
    expect(echo?.parameters.find((p) => p.name === 'tier')).to.deep.include({ type: 'xsd:string', required: false, allowed: ['standard', 'performance'], default: 'standard' });
    expect((await server.app.workOrders.listTypes(cast.carol)).map((t) => t.name)).to.include('Premium');
    expect((await server.app.workOrders.listTypes(cast.admin)).map((t) => t.name)).to.have.members(['Echo', 'Manual', 'Premium']);
  });

  it('refuses a type above the customer\'s level exactly as an unknown one, creating nothing', async () => {
    const before = await count(server, 'work_order');
    const above = await rejection(server.app.workOrders.submit(cast.alice, { type: 'Premium', parameters: [{ name: 'volume', value: 'v1' }], channel: 'soap' }));
    const unknown = await rejection(server.app.workOrders.submit(cast.alice, { type: 'Nope', parameters: [], channel: 'soap' }));
    expect(above.code).to.equal('UnknownWorkOrderType');
    expect(unknown.code).to.equal('UnknownWorkOrderType');
    expect(above.message.replace('Premium', 'X')).to.equal(unknown.message.replace('Nope', 'X'));
    expect(await count(server, 'work_order')).to.equal(before);
  });

  it('names every bad parameter: missing, unknown, ill-typed, out of range, not allowed, not matching', async () => {
    const before = await count(server, 'work_order');
    const err = await rejection(
      server.app.workOrders.submit(cast.alice, {
        type: 'Echo',
        parameters: [
          { name: 'sizeGiB', value: 'ten' },
          { name: 'tier', value: 'gold' },
          { name: 'colour', value: 'red' },
          { name: 'fail', value: 'maybe' },
        ],
        channel: 'soap',
      }),
    );
    expect(err).to.be.instanceOf(InvalidParametersError);
    const problems = (err as InvalidParametersError).problems.map((p) => p.parameter);
    expect(problems).to.have.members(['volume', 'sizeGiB', 'tier', 'colour', 'fail']);
    expect(err.field).to.be.a('string');
    const range = await rejection(server.app.workOrders.submit(cast.alice, { type: 'Echo', parameters: [{ name: 'volume', value: 'Bad Name' }, { name: 'sizeGiB', value: '101' }], channel: 'soap' }));
    expect(range.message).to.match(/volume: "Bad Name" does not match/).and.match(/sizeGiB: 101 is above the maximum 100/);
    expect(await count(server, 'work_order')).to.equal(before);
  });

  it('creates the NEW row with normalised values and defaults, runs its plan, closes it and bills it once', async () => {
    const { workOrderId } = await server.app.workOrders.submit(cast.alice, { type: 'Echo', parameters: [{ name: 'sizeGiB', value: '+010' }, { name: 'volume', value: ' data1 ' }], channel: 'soap' });
    expect(workOrderId).to.be.a('number');
    expect(await settled(workOrderId)).to.equal('CLOSED');
    const order = await server.app.workOrders.get(cast.alice, workOrderId);
    expect(order.parameters).to.deep.equal([
      { name: 'volume', value: 'data1' },
      { name: 'sizeGiB', value: '10' },
      { name: 'tier', value: 'standard' },
      { name: 'fail', value: 'false' },
      { name: 'delay', value: 'PT0S' },
    ]);
    expect(order).to.deep.include({ customer: 'alice', account: 'acme', channel: 'soap', attempt: 1 });
    expect(order.history.map((h) => `${h.fromState ?? '-'}>${h.toState}:${h.actor}`)).to.deep.equal(['->NEW:alice', 'NEW>IN_PROGRESS:automation', 'IN_PROGRESS>CLOSED:automation']);
    expect(order.billing).to.deep.include({ amount: '12.50', currency: 'EUR' });
    const events = (await server.dataSource.query('SELECT customerId, accountId, accountName, typeName, amountMinor FROM billable_event WHERE workOrderId = ?', [workOrderId])) as Array<Record<string, unknown>>;
    expect(events).to.have.length(1);
    expect(events[0]).to.deep.include({ accountName: 'acme', typeName: 'Echo' });
    expect(Number(events[0]?.customerId)).to.equal(cast.alice.userId);
    expect(Number(events[0]?.amountMinor)).to.equal(1250);
  });

  it('fails an order whose plan faults, with the activity and cause; an admin retry closes it, billed once', async () => {
    const { workOrderId } = await server.app.workOrders.submit(cast.alice, { type: 'Echo', parameters: [{ name: 'volume', value: 'v2' }, { name: 'sizeGiB', value: '1' }, { name: 'fail', value: 'true' }], channel: 'soap' });
    expect(await settled(workOrderId)).to.equal('FAILED');
    const failed = await server.app.workOrders.get(cast.admin, workOrderId);
    expect(failed.outcome).to.match(/requestedFailure/);
    expect(failed.failedActivity).to.be.a('string').and.match(/throw/);
    expect(failed.billing).to.equal(null);
    expect((await server.app.workOrders.list(cast.admin, { state: 'FAILED' })).orders.map((o) => o.workOrderId)).to.include(workOrderId);

    // The plan fails again on retry (the parameter says so); an admin closes it by hand.
    await server.app.workOrders.act(cast.admin, workOrderId, 'retry', 'try again');
    expect(await settled(workOrderId)).to.equal('FAILED');
    const closed = await server.app.workOrders.act(cast.admin, workOrderId, 'close', 'done by the storage team');
    expect(closed.state).to.equal('CLOSED');
    expect(closed.attempt).to.equal(2);
    expect(closed.history.at(-1)).to.deep.include({ actor: 'admin', toState: 'CLOSED', reason: 'closed by hand: done by the storage team' });
    expect(await count(server, 'billable_event', 'workOrderId = ?', [workOrderId])).to.equal(1);
    const again = await rejection(server.app.workOrders.act(cast.admin, workOrderId, 'close', 'twice'));
    expect(again.code).to.equal('InvalidState');
    expect(await count(server, 'billable_event', 'workOrderId = ?', [workOrderId])).to.equal(1);
  });

  it('refuses a second billable event for an order in the database itself', async () => {
    const rows = (await server.dataSource.query('SELECT workOrderId, customerId, customerName, accountId, accountName, typeName, amountMinor, currency, createdAt FROM billable_event ORDER BY id LIMIT 1')) as Array<Record<string, unknown>>;
    const row = rows[0];
    expect(row).to.not.equal(undefined);
    const insert = server.dataSource.query(
      'INSERT INTO billable_event (workOrderId, customerId, customerName, accountId, accountName, typeName, amountMinor, currency, createdAt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      Object.values(row ?? {}),
    );
    let failed = false;
    await insert.catch(() => (failed = true));
    expect(failed).to.equal(true);
  });

  it('leaves manual types for an admin, who processes them; hold keeps an order from the automation', async () => {
    const { workOrderId } = await server.app.workOrders.submit(cast.alice, { type: 'Manual', parameters: [], channel: 'portal' });
    // A whole pass of the automation (claims, starts, finishes) leaves it alone.
    await server.app.automation.poll();
    expect((await server.app.workOrders.get(cast.alice, workOrderId)).state).to.equal('NEW');
    const refused = await rejection(server.app.workOrders.act(cast.alice, workOrderId, 'process', 'me'));
    expect(refused.code).to.equal('Forbidden');
    await server.app.workOrders.act(cast.admin, workOrderId, 'process', 'checked by hand');
    expect(await settled(workOrderId)).to.equal('CLOSED');

    server.app.automation.wake();
    await server.app.automation.stop();
    const held = await server.app.workOrders.submit(cast.alice, { type: 'Echo', parameters: [{ name: 'volume', value: 'v3' }, { name: 'sizeGiB', value: '1' }], channel: 'soap' });
    const view = await server.app.workOrders.act(cast.admin, held.workOrderId, 'hold', 'customer asked us to wait');
    expect(view).to.deep.include({ state: 'NEW', manual: true });
    const waiting = await server.app.workOrders.list(cast.admin, { state: 'NEW', manual: true });
    expect(waiting.orders.map((o) => o.workOrderId)).to.deep.equal([held.workOrderId]);
    expect((await server.app.workOrders.list(cast.admin, { manual: false })).orders.every((o) => !o.manual)).to.equal(true);
    server.app.automation.start();
    await server.app.automation.poll();
    expect((await server.app.workOrders.get(cast.admin, held.workOrderId)).state).to.equal('NEW');
    const failed = await server.app.workOrders.act(cast.admin, held.workOrderId, 'fail', 'customer cancelled');
    expect(failed).to.deep.include({ state: 'FAILED', outcome: 'failed by hand: customer cancelled' });
    const noReason = await rejection(server.app.workOrders.act(cast.admin, held.workOrderId, 'retry', '  '));
    expect(noReason.code).to.equal('MissingField');
  });

  it('shows a customer only its own account\'s orders', async () => {
    const { workOrderId } = await server.app.workOrders.submit(cast.bob, { type: 'Premium', parameters: [{ name: 'volume', value: 'g1' }], channel: 'soap' });
    const hidden = await rejection(server.app.workOrders.get(cast.alice, workOrderId));
    expect(hidden.code).to.equal('UnknownWorkOrder');
    const mine = await server.app.workOrders.list(cast.alice, { limit: 1000 });
    expect(mine.orders.every((o) => o.account === 'acme')).to.equal(true);
    expect(mine.total).to.be.greaterThan(0);
    expect((await server.app.workOrders.list(cast.bob, {})).orders.map((o) => o.workOrderId)).to.deep.equal([workOrderId]);
    const page = await server.app.workOrders.list(cast.admin, { limit: 2, offset: 1 });
    expect(page.orders).to.have.length(2);
    expect(page.total).to.be.greaterThan(3);
  });

  it('gives concurrent submissions (a reused key among them) their own ids, each with its own first history entry', async () => {
    const volumes = Array.from({ length: 24 }, (_, i) => `c${i}`);
    const results = await Promise.allSettled([
      ...volumes.map((volume) => server.app.workOrders.submit(cast.carol, { type: 'Premium', parameters: [{ name: 'volume', value: volume }], channel: 'soap', idempotencyKey: `conc-${volume}` })),
      server.app.workOrders.submit(cast.carol, { type: 'Premium', parameters: [{ name: 'volume', value: 'other' }], channel: 'soap', idempotencyKey: 'conc-c0' }),
    ]);
    const ids = results.slice(0, volumes.length).map((r) => (r.status === 'fulfilled' ? r.value.workOrderId : NaN));
    expect(new Set(ids).size).to.equal(volumes.length);
    expect(results[volumes.length]?.status).to.equal('rejected');
    for (const [i, id] of ids.entries()) {
      const rows = (await server.dataSource.query('SELECT parameters FROM work_order WHERE id = ?', [id])) as Array<{ parameters: string }>;
      expect(JSON.parse(rows[0]?.parameters ?? '{}')).to.deep.include({ volume: volumes[i] });
      const first = (await server.dataSource.query('SELECT fromState, toState, actor FROM work_order_event WHERE workOrderId = ? ORDER BY id LIMIT 1', [id])) as Array<{ fromState: string | null; toState: string; actor: string }>;
      expect(first[0]).to.deep.equal({ fromState: null, toState: 'NEW', actor: 'carol' });
    }
    const orphans = (await server.dataSource.query('SELECT COUNT(*) AS n FROM work_order_event e LEFT JOIN work_order o ON o.id = e.workOrderId WHERE o.id IS NULL')) as Array<{ n: unknown }>;
    expect(Number(orphans[0]?.n)).to.equal(0);
  });

  it('returns the first order for a retried submission and refuses a key reused for something else', async () => {
    const first = await server.app.workOrders.submit(cast.carol, { type: 'Premium', parameters: [{ name: 'volume', value: 'k1' }], channel: 'soap', idempotencyKey: 'msg-1' });
    const again = await server.app.workOrders.submit(cast.carol, { type: 'Premium', parameters: [{ name: 'volume', value: 'k1' }], channel: 'soap', idempotencyKey: 'msg-1' });
    expect(again.workOrderId).to.equal(first.workOrderId);
    const other = await rejection(server.app.workOrders.submit(cast.carol, { type: 'Premium', parameters: [{ name: 'volume', value: 'k2' }], channel: 'soap', idempotencyKey: 'msg-1' }));
    expect(other.code).to.equal('IdempotencyConflict');
  });

  it('exports the period\'s billable events as CSV, admins only', async () => {
    const csv = await server.app.workOrders.exportBilling(cast.admin, new Date(Date.now() - 3_600_000), new Date(Date.now() + 60_000));
    const lines = csv.trim().split('\r\n');
    expect(lines[0]).to.equal('eventId,workOrderId,time,customerId,customer,accountId,account,type,amount,currency');
    expect(lines.slice(1).some((l) => /,alice,\d+,acme,Echo,12\.50,EUR$/.test(l))).to.equal(true);
    expect(await server.app.workOrders.exportBilling(cast.admin, new Date(0), new Date(1000))).to.equal('eventId,workOrderId,time,customerId,customer,accountId,account,type,amount,currency\r\n');
    expect((await rejection(server.app.workOrders.exportBilling(cast.alice, new Date(0), new Date()))).code).to.equal('Forbidden');
  });
});
