import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { buildDemoRepository } from '../../src/drivers/local';
import { eventually, startTestServer, type TestServer } from '../support/harness';
import { seedCast, type Cast } from '../support/workorders';

describe('storage work orders end to end: the project\'s catalog on a real storage pool', function () {
  this.timeout(120_000);
  let server: TestServer;
  let cast: Cast;
  let pool: string;

  before(async () => {
    server = await startTestServer({ PROVISOR_WORKFLOW_POLL_MS: '50' });
    await server.app.systems.addRepository(await buildDemoRepository(path.join(server.dataDir, 'demo-repo')));
    const system = await server.app.systems.add('pool1', 'local');
    pool = path.join(system.options.root ?? '', 'srv', 'pool');
    const requestId = await server.app.api.submitSoftware('Install', { system: 'pool1', component: 'storage-pool', parameters: [] }, { name: 'tester' });
    const installed = await eventually(async () => {
      const request = await server.app.api.getRequest(requestId);
      return request.status.startsWith('COMPLETED') ? request : undefined;
    }, 'storage-pool to be installed', 30_000);
    expect(installed.status, installed.message ?? '').to.equal('COMPLETED_SUCCESS');
    const loaded = await server.app.loadCatalog();
    expect(loaded.types).to.be.at.least(8);
    cast = await seedCast(server);
  });
  after(() => server.close());

  async function settle(id: number): Promise<Awaited<ReturnType<TestServer['app']['workOrders']['get']>>> {
    return eventually(async () => {
      const order = await server.app.workOrders.get(cast.admin, id);
      return order.state === 'CLOSED' || order.state === 'FAILED' ? order : undefined;
    }, `work order ${id} to end`, 60_000, 100);
  }

  async function billableEvents(id: number): Promise<number> {
    const rows = (await server.dataSource.query('SELECT COUNT(*) AS n FROM billable_event WHERE workOrderId = ?', [id])) as Array<{ n: unknown }>;
    return Number(rows[0]?.n);
  }

  it('ships at least eight storage types over at least three permission levels', async () => {
    const types = await server.app.workOrders.listTypes(cast.admin);
    expect(types.length).to.be.at.least(8);
    expect(new Set(types.map((t) => t.minLevel)).size).to.be.at.least(3);
    const alice = (await server.app.workOrders.listTypes(cast.alice)).map((t) => t.name);
    expect(alice).to.include('CreateVolume').and.not.include('DeleteVolume');
  });

  it('create volume: the plan runs, the volume exists in the pool, the order is CLOSED and billed once', async () => {
    const { workOrderId } = await server.app.workOrders.submit(cast.alice, { type: 'CreateVolume', parameters: [{ name: 'volume', value: 'data1' }, { name: 'sizeGiB', value: '20' }], channel: 'soap' });
    const order = await settle(workOrderId);
    expect(order.state, order.outcome ?? '').to.equal('CLOSED');
    const image = path.join(pool, 'accounts', 'acme', 'volumes', 'data1.img');
    expect(fs.statSync(image).size).to.equal(20 * 1024 ** 3);
    expect(fs.statSync(image).blocks * 512).to.be.lessThan(1024 ** 2); // sparse
    expect(await billableEvents(workOrderId)).to.equal(1);
    expect(order.billing).to.deep.include({ amount: '25.00', currency: 'EUR' });
  });

  it('a failing plan fails the order with its cause; after the cause is fixed an admin retry closes it, billed once', async () => {
    // Expanding a volume that does not exist yet fails in the pool.
    const { workOrderId } = await server.app.workOrders.submit(cast.carol, { type: 'ExpandVolume', parameters: [{ name: 'volume', value: 'logs' }, { name: 'sizeGiB', value: '40' }], channel: 'soap' });
    const failed = await settle(workOrderId);
    expect(failed.state).to.equal('FAILED');
    expect(failed.outcome).to.match(/operationFailed/).and.match(/"logs"/);
    expect(failed.failedActivity).to.be.a('string').and.not.equal('');
    expect(await billableEvents(workOrderId)).to.equal(0);
    // The customer reads the pool's own words; the fault, the request id and the activity are for admins.
    const seen = await server.app.workOrders.get(cast.carol, workOrderId);
    expect(seen.outcome).to.match(/^volume "logs" .*account "[^"]+"/).and.not.match(/operationFailed|request|hook|exited/);
    expect(seen.failedActivity).to.equal(null);
    expect((await server.app.workOrders.list(cast.carol, { state: 'FAILED' })).orders.find((o) => o.workOrderId === workOrderId)?.outcome).to.equal(seen.outcome);

    const create = await server.app.workOrders.submit(cast.carol, { type: 'CreateVolume', parameters: [{ name: 'volume', value: 'logs' }, { name: 'sizeGiB', value: '10' }], channel: 'soap' });
    expect((await settle(create.workOrderId)).state).to.equal('CLOSED');

    await server.app.workOrders.act(cast.admin, workOrderId, 'retry', 'volume created since');
    const closed = await settle(workOrderId);
    expect(closed.state, closed.outcome ?? '').to.equal('CLOSED');
    expect(closed.attempt).to.equal(2);
    expect(fs.statSync(path.join(pool, 'accounts', 'acme', 'volumes', 'logs.img')).size).to.equal(40 * 1024 ** 3);
    expect(await billableEvents(workOrderId)).to.equal(1);
    expect(closed.history.map((h) => `${h.toState}:${h.actor}`)).to.deep.equal(['NEW:carol', 'IN_PROGRESS:automation', 'FAILED:automation', 'IN_PROGRESS:admin', 'CLOSED:automation']);
  });

  it('keeps each account\'s volumes apart in the pool', async () => {
    const { workOrderId } = await server.app.workOrders.submit(cast.bob, { type: 'CreateVolume', parameters: [{ name: 'volume', value: 'data1' }, { name: 'sizeGiB', value: '1' }], channel: 'email' });
    expect((await settle(workOrderId)).state).to.equal('CLOSED');
    expect(fs.existsSync(path.join(pool, 'accounts', 'globex', 'volumes', 'data1.img'))).to.equal(true);
    expect(fs.statSync(path.join(pool, 'accounts', 'acme', 'volumes', 'data1.img')).size).to.equal(20 * 1024 ** 3);
  });
});
