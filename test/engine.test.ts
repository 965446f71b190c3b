import { expect } from 'chai';
import type { RequestView } from '../src/provisioning/api';
import { eventually, startTestServer, type TestServer } from './support/harness';
import { countStatements } from './support/statement-counter';

const caller = { name: 'op' };

async function settled(server: TestServer, ids: string[]): Promise<RequestView[]> {
  return eventually(async () => {
    const views = await Promise.all(ids.map((id) => server.app.api.getRequest(id)));
    return views.every((v) => v.status !== 'QUEUED' && v.status !== 'IN_PROGRESS') ? views : undefined;
  }, 'requests to settle', 30_000, 50);
}

function overlaps(a: RequestView, b: RequestView): boolean {
  const [as, ae, bs, be] = [a.startTime?.getTime() ?? 0, a.endTime?.getTime() ?? 0, b.startTime?.getTime() ?? 0, b.endTime?.getTime() ?? 0];
  return as < be && bs < ae;
}

describe('the deployment engine', function () {
  this.timeout(60_000);
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ PROVISOR_SIMULATED_MIN_MS: '300', PROVISOR_SIMULATED_MAX_MS: '300', PROVISOR_ENGINE_CONCURRENCY: '8' });
    for (const name of ['a', 'b', 'c', 'd']) await server.app.systems.add(name, 'simulated');
  });
  after(() => server.close());

  it('runs tasks on different systems in parallel', async () => {
    const ids = await Promise.all(['a', 'b', 'c'].map((system) => server.app.api.submitSoftware('Install', { system, component: 'db', parameters: [] }, caller)));
    const [x, y, z] = await settled(server, ids);
    expect(x && y && z).to.not.equal(undefined);
    if (x === undefined || y === undefined || z === undefined) return;
    expect([x, y, z].map((v) => v.status)).to.deep.equal(['COMPLETED_SUCCESS', 'COMPLETED_SUCCESS', 'COMPLETED_SUCCESS']);
    expect(overlaps(x, y) && overlaps(y, z), 'the three tasks ran at the same time').to.equal(true);
  });

  it('runs tasks on the same component of the same system one at a time, in order', async () => {
    const ids: string[] = [];
    for (const operation of ['Install', 'Configure', 'Start'] as const) {
      ids.push(await server.app.api.submitSoftware(operation, { system: 'd', component: 'web', parameters: [] }, caller));
    }
    const views = await settled(server, ids);
    for (let i = 1; i < views.length; i++) {
      const previous = views[i - 1];
      const current = views[i];
      if (previous === undefined || current === undefined) throw new Error('missing view');
      expect(overlaps(previous, current), `${previous.operation} and ${current.operation} overlapped`).to.equal(false);
      expect(current.startTime?.getTime()).to.be.at.least(previous.endTime?.getTime() ?? Infinity);
    }
    const installed = await server.app.api.listInstalled('d');
    expect(installed.map((c) => [c.name, c.state])).to.deep.equal([['web', 'RUNNING']]);
  });

  it('cancels a queued request, and aborts a running one', async () => {
    const running = await server.app.api.submitSoftware('Install', { system: 'a', component: 'slow', parameters: [] }, caller);
    const queued = await server.app.api.submitSoftware('Update', { system: 'a', component: 'slow', version: '2.0', parameters: [] }, caller);
    await eventually(async () => ((await server.app.api.getRequest(running)).status === 'IN_PROGRESS' ? true : undefined), 'the first to start', 10_000, 10);
    expect(await server.app.api.cancel(queued, caller)).to.equal('COMPLETED_FAILURE');
    await server.app.api.cancel(running, caller);
    const [first, second] = await settled(server, [running, queued]);
    expect(first?.status).to.equal('COMPLETED_FAILURE');
    expect(first?.message).to.match(/cancel/i);
    expect(second?.message).to.match(/cancelled by op before it started/);
  });

  it('answers the poll that sees a task end from the end it committed, without reading it back', async () => {
    const id = await server.app.api.submitSoftware('Install', { system: 'c', component: 'seen-ended', parameters: [] }, caller);
    const waited = await server.app.api.getRequest(id, 30_000);
    expect(waited.status).to.equal('COMPLETED_SUCCESS');
    const counted = countStatements(server.app.dataSource, (sql) => /FROM\s+provisioning_request/i.test(sql));
    const polled = await server.app.api.getRequest(id);
    expect(counted.stop().count, 'reads of the request').to.equal(0);
    const [row] = (await server.app.dataSource.query('SELECT status, output, endedAt FROM provisioning_request WHERE id = ?', [id])) as Array<{ status: string; output: string | null }>;
    expect(polled.status).to.equal(row?.status);
    expect(polled.output ?? '').to.equal(row?.output ?? '');
    expect(polled.endTime?.getTime()).to.equal(waited.endTime?.getTime());
    // Any other request is read as before.
    const again = countStatements(server.app.dataSource, (sql) => /FROM\s+provisioning_request/i.test(sql));
    const unknown = await server.app.api.getRequest('no-such-request').then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(again.stop().count).to.equal(1);
    expect(String(unknown)).to.contain('no provisioning request has id "no-such-request"');
  });

  it('exposes health and Prometheus metrics', async () => {
    const health = await fetch(`${server.baseUrl}/health`);
    expect(health.status).to.equal(200);
    expect(await health.json()).to.deep.include({ status: 'ok', db: server.config.databaseUrl === undefined ? 'sqlite' : 'mysql' });
    const metrics = await (await fetch(`${server.baseUrl}/metrics`)).text();
    expect(metrics).to.match(/provisor_queue_depth\{status="QUEUED"\} \d+/);
    expect(metrics).to.match(/provisor_task_duration_seconds_count\{operation="Install",outcome="success"\} [1-9]/);
  });
});
