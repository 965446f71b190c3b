import path from 'node:path';
import { expect } from 'chai';
import type * as soap from 'soap';
import { buildDemoRepository } from '../src/drivers/local';
import { eventually, startTestServer, type TestServer } from './support/harness';
import { call, soapClient } from './support/soap-client';
import { freePort } from './support/processes';

const operator = { username: 'op', password: 'operator-secret-1' };

async function waitDone(request: soap.Client, requestId: string): Promise<{ status: string; message?: string }> {
  return eventually(async () => {
    const r = await call<{ status: string; message?: string }>(request, 'GetStatus', { requestId });
    return r.status === 'QUEUED' || r.status === 'IN_PROGRESS' ? undefined : r;
  }, `request ${requestId} to complete`, 60_000, 100);
}

describe('provisioning over SOAP with the local driver', function () {
  this.timeout(120_000);
  let server: TestServer;
  let software: soap.Client;
  let request: soap.Client;
  let file: soap.Client;

  before(async () => {
    server = await startTestServer();
    await server.addUser(operator.username, 'operator', operator.password);
    await server.app.systems.addRepository(await buildDemoRepository(path.join(server.dataDir, 'demo-repo')));
    await server.app.systems.add('web1', 'local');
    await server.app.systems.add('web2', 'local');
    software = await soapClient(server.baseUrl, 'Software', operator);
    request = await soapClient(server.baseUrl, 'Request', operator, { digest: true });
    file = await soapClient(server.baseUrl, 'File', operator);
  });

  after(async () => {
    for (const system of ['web1', 'web2']) {
      try {
        const { requestId } = await call<{ requestId: string }>(software, 'Stop', { system, component: 'demo-httpd' });
        await waitDone(request, requestId);
      } catch {
        // already stopped
      }
    }
    await server.close();
  });

  describe('when the demo site is installed, configured and started on two systems in parallel', () => {
    const ports: Record<string, number> = {};

    it('serves both sites over HTTP', async () => {
      for (const system of ['web1', 'web2']) ports[system] = await freePort();
      const steps = async (system: string): Promise<void> => {
        const run = async (operation: string, args: Record<string, unknown>): Promise<void> => {
          const { requestId } = await call<{ requestId: string }>(software, operation, { system, ...args });
          expect(requestId).to.be.a('string').and.not.empty;
          const done = await waitDone(request, requestId);
          expect(done.status, `${operation} on ${system}: ${done.message ?? ''}`).to.equal('COMPLETED_SUCCESS');
        };
        await run('Install', { component: 'demo-httpd' });
        await run('Install', { component: 'demo-site' });
        await run('Configure', { component: 'demo-site', parameters: { parameter: [{ name: 'title', value: `Site on ${system}` }] } });
        await run('Configure', { component: 'demo-httpd', parameters: { parameter: [{ name: 'port', value: String(ports[system]) }] } });
        await run('Start', { component: 'demo-httpd' });
      };
      await Promise.all([steps('web1'), steps('web2')]);
      for (const system of ['web1', 'web2']) {
        const page = await fetch(`http://127.0.0.1:${ports[system]}/`);
        expect(page.status).to.equal(200);
        expect(await page.text()).to.contain(`Site on ${system}`);
      }
    });

    it('lists the installed components with their state', async () => {
      const result = await call<{ component: Array<{ name: string; state: string; version: string }> }>(software, 'ListInstalled', { system: 'web1' });
      const byName = Object.fromEntries(result.component.map((c) => [c.name, c]));
      expect(byName['demo-httpd']?.state).to.equal('RUNNING');
      expect(byName['demo-site']?.state).to.equal('CONFIGURED');
    });

    it('reports start time, duration and output', async () => {
      const { requestId } = await call<{ requestId: string }>(software, 'Install', { system: 'web1', component: 'demo-httpd' });
      await waitDone(request, requestId);
      const start = await call<{ startTime: Date }>(request, 'GetStartTime', { requestId });
      expect(new Date(start.startTime).getTime()).to.be.closeTo(Date.now(), 60_000);
      const duration = await call<{ duration: string; milliseconds: string | number }>(request, 'GetDuration', { requestId });
      expect(duration.duration).to.match(/^PT/);
      expect(Number(duration.milliseconds)).to.be.at.least(0);
      const full = await call<{ status: string; operation: string; submittedBy: string }>(request, 'GetRequest', { requestId });
      expect(full).to.include({ status: 'COMPLETED_SUCCESS', operation: 'Install', submittedBy: 'op' });
    });

    it('Stop ends the processes', async () => {
      for (const system of ['web1', 'web2']) {
        const { requestId } = await call<{ requestId: string }>(software, 'Stop', { system, component: 'demo-httpd' });
        expect((await waitDone(request, requestId)).status).to.equal('COMPLETED_SUCCESS');
        let refused = false;
        try {
          await fetch(`http://127.0.0.1:${ports[system]}/`, { signal: AbortSignal.timeout(2000) });
        } catch {
          refused = true;
        }
        expect(refused, `${system} still answers after Stop`).to.equal(true);
      }
    });
  });

  describe('afterwards', () => {
  it('a failing install hook gives COMPLETED_FAILURE with its message', async () => {
    const { requestId } = await call<{ requestId: string }>(software, 'Install', { system: 'web1', component: 'demo-broken' });
    const done = await waitDone(request, requestId);
    expect(done.status).to.equal('COMPLETED_FAILURE');
    expect(done.message).to.match(/exit|code 3/i);
  });

  it('copies and deletes files inside a system root', async () => {
    const copy = await call<{ requestId: string }>(file, 'Copy', { sourceSystem: 'web1', sourcePath: 'srv/www/index.html', targetSystem: 'web2', targetPath: 'backup/index.html' });
    expect((await waitDone(request, copy.requestId)).status).to.equal('COMPLETED_SUCCESS');
    const fs = await import('node:fs');
    const root = (await server.app.systems.get('web2'))?.options.root ?? '';
    expect(fs.readFileSync(path.join(root, 'backup/index.html'), 'utf8')).to.contain('Site on web1');
    const del = await call<{ requestId: string }>(file, 'Delete', { system: 'web2', path: 'backup/index.html' });
    expect((await waitDone(request, del.requestId)).status).to.equal('COMPLETED_SUCCESS');
    expect(fs.existsSync(path.join(root, 'backup/index.html'))).to.equal(false);
  });
});
});
