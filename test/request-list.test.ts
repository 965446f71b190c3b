import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import type * as soap from 'soap';
import { buildDemoRepository } from '../src/drivers/local';
import { eventually, startTestServer, type TestServer } from './support/harness';
import { call, soapClient } from './support/soap-client';

const bin = path.join(__dirname, '..', '..', 'scripts', 'provisor.js');
const operator = { username: 'op', password: 'operator-secret-1' };

interface Summary {
  requestId: string;
  operation: string;
  system: string;
  component?: string;
  status: string;
  message?: string;
}

describe('seeing what happened: provisioning requests listed and shown', function () {
  this.timeout(120_000);
  let server: TestServer;
  let request: soap.Client;
  let failed: string;
  let installed: string;

  const cli = (args: string[]): { code: number | null; out: string; err: string } => {
    const r = spawnSync(process.execPath, [bin, ...args], { env: { ...process.env, ...server.env, PORT: '1' }, encoding: 'utf8' });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };

  /** The listed requests (an empty response reads as null in the SOAP client). */
  async function list(args: Record<string, unknown>): Promise<Summary[]> {
    const result = await call<{ request?: Summary[] } | null>(request, 'ListRequests', args);
    return result?.request ?? [];
  }

  async function fault(operation: string, args: Record<string, unknown>): Promise<string> {
    try {
      await call(request, operation, args);
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error(`${operation} was accepted`);
  }

  before(async () => {
    server = await startTestServer();
    await server.addUser(operator.username, 'operator', operator.password);
    await server.app.systems.addRepository(await buildDemoRepository(path.join(server.dataDir, 'demo-repo')));
    await server.app.systems.add('web1', 'local');
    await server.app.systems.add('web2', 'local');
    request = await soapClient(server.baseUrl, 'Request', operator);
    const caller = { name: 'op' };
    installed = await server.app.api.submitSoftware('Install', { system: 'web1', component: 'demo-httpd', parameters: [] }, caller);
    failed = await server.app.api.submitSoftware('Install', { system: 'web2', component: 'demo-broken', parameters: [] }, caller);
    for (const id of [installed, failed]) {
      await eventually(async () => (['QUEUED', 'IN_PROGRESS'].includes((await server.app.api.getRequest(id)).status) ? undefined : true), 'the requests to end', 60_000);
    }
  });
  after(() => server.close());

  it('ListRequests returns the latest requests, newest first, filtered by system and status', async () => {
    const all = await list({});
    expect(all.map((r) => r.requestId)).to.deep.equal([failed, installed]);
    const web2 = await list({ system: 'web2' });
    expect(web2).to.have.length(1);
    expect(web2[0]).to.deep.include({ requestId: failed, operation: 'Install', system: 'web2', component: 'demo-broken', status: 'COMPLETED_FAILURE' });
    expect(web2[0]?.message).to.include('libunobtainium');
    expect((await list({ status: 'COMPLETED_SUCCESS' })).map((r) => r.requestId)).to.deep.equal([installed]);
    expect(await list({ system: 'web1', status: 'QUEUED' })).to.deep.equal([]);
    expect((await list({ limit: 1 })).map((r) => r.requestId)).to.deep.equal([failed]);
  });

  it('ListRequests refuses a status that is not one and a limit out of range, as client faults naming the field', async () => {
    expect(await fault('ListRequests', { status: 'FAILED' })).to.match(/Client/).and.to.include('status');
    expect(await fault('ListRequests', { limit: 0 })).to.match(/Client/).and.to.include('limit');
    expect(await fault('ListRequests', { limit: 501 })).to.match(/Client/).and.to.include('limit');
  });

  it('provisor request list shows the requests, filtered, and refuses a bad state', () => {
    const all = cli(['request', 'list']);
    expect(all.code, all.err).to.equal(0);
    expect(all.out).to.match(/^ID\s+SUBMITTED\s+SYSTEM\s+TASK\s+STATUS\s+MESSAGE$/m);
    expect(all.out).to.match(new RegExp(`^${failed}\\s.*web2\\s+Install demo-broken 1\\.0\\.0\\s+COMPLETED_FAILURE\\s.*libunobtainium`, 'm'));
    const filtered = cli(['request', 'list', '--system', 'web1', '--state', 'COMPLETED_SUCCESS']);
    expect(filtered.out).to.include(installed).and.not.include(failed);
    const bad = cli(['request', 'list', '--state', 'DONE']);
    expect(bad.code).to.equal(2);
    expect(bad.err).to.include('--state must be one of QUEUED, IN_PROGRESS, COMPLETED_SUCCESS, COMPLETED_FAILURE, UNKNOWN, got "DONE"');
    expect(cli(['request', 'list', '--limit', '0']).code).to.equal(2);
  });

  it('provisor request show explains a failure with the end of the task output; an unknown id is refused', () => {
    const shown = cli(['request', 'show', failed]);
    expect(shown.code, shown.err).to.equal(0);
    expect(shown.out).to.include(`request ${failed}: Install demo-broken 1.0.0 on system web2, COMPLETED_FAILURE`);
    expect(shown.out).to.include('submitted').and.include('by op');
    expect(shown.out).to.include('output (its end):').and.include('demo-broken: checking prerequisites');
    const unknown = cli(['request', 'show', 'no-such-id']);
    expect(unknown.code).to.equal(2);
    expect(unknown.err).to.include('no provisioning request has id "no-such-id"');
  });
});
