import path from 'node:path';
import { expect } from 'chai';
import type * as soap from 'soap';
import { partnersWsdl, PARTNERS_WSDL_NAME, twoWebsitesPlan } from '../../scripts/demo/two-websites';
import { buildDemoRepository } from '../../src/drivers/local';
import { eventually, startTestServer, type TestServer } from '../support/harness';
import { call, soapClient } from '../support/soap-client';
import { freePort } from '../support/processes';

const engine = { username: 'planner', password: 'planner-secret-1' };

interface Status {
  status: string;
  fault?: { name: string; message: string; activityPath?: string };
  activity?: Array<{ path: string; name?: string; state: string }>;
}

describe('the original design\'s two-website change plan', function () {
  this.timeout(120_000);
  let server: TestServer;
  let workflow: soap.Client;
  let software: soap.Client;

  before(async () => {
    server = await startTestServer({ PROVISOR_WORKFLOW_POLL_MS: '50' });
    await server.addUser(engine.username, 'engine', engine.password);
    await server.app.systems.addRepository(await buildDemoRepository(path.join(server.dataDir, 'demo-repo')));
    for (const name of ['web1', 'web2', 'web3', 'web4']) await server.app.systems.add(name, 'local');
    workflow = await soapClient(server.baseUrl, 'Workflow', engine);
    software = await soapClient(server.baseUrl, 'Software', engine);
  });

  after(async () => {
    for (const system of ['web1', 'web2', 'web3', 'web4']) {
      const stop = await call<{ requestId: string }>(software, 'Stop', { system, component: 'demo-httpd' }).catch(() => undefined);
      // The stop's end: the server may close once the demo server it started is gone.
      if (stop !== undefined) await server.app.api.getRequest(stop.requestId, 30_000);
    }
    await server.close();
  });

  async function runOverSoap(bpel: string): Promise<Status> {
    const deployed = await call<{ processName: string; version: number }>(workflow, 'DeployProcess', { bpel, document: [{ name: PARTNERS_WSDL_NAME, content: partnersWsdl() }] });
    const { instanceId } = await call<{ instanceId: string }>(workflow, 'StartProcess', { processName: deployed.processName });
    return eventually(async () => {
      const s = await call<Status>(workflow, 'GetProcessStatus', { instanceId });
      return s.status === 'RUNNING' ? undefined : s;
    }, 'the plan to end', 90_000, 200);
  }

  it('installs, configures and starts both sites in parallel, and both answer HTTP', async () => {
    const [port1, port2] = [await freePort(), await freePort()];
    const status = await runOverSoap(
      twoWebsitesPlan({ processName: 'TwoWebsites', systems: [{ system: 'web1', port: port1, title: 'First site' }, { system: 'web2', port: port2, title: 'Second site' }] }),
    );
    expect(status.status, JSON.stringify(status.fault)).to.equal('COMPLETED');
    for (const [port, title] of [[port1, 'First site'], [port2, 'Second site']] as const) {
      const page = await fetch(`http://127.0.0.1:${port}/`);
      expect(page.status).to.equal(200);
      expect(await page.text()).to.contain(title);
    }
    const installs = status.activity?.filter((a) => a.name?.endsWith('_installServer_invoke')) ?? [];
    expect(installs.map((a) => a.state)).to.deep.equal(['COMPLETED', 'COMPLETED']);
    const starts = (await server.dataSource.query("SELECT systemName, status FROM provisioning_request WHERE operation = 'Start' ORDER BY systemName")) as Array<{ systemName: string; status: string }>;
    expect(starts).to.deep.equal([
      { systemName: 'web1', status: 'COMPLETED_SUCCESS' },
      { systemName: 'web2', status: 'COMPLETED_SUCCESS' },
    ]);
  });

  it('a failure in one branch does not stop the other', async () => {
    const port = await freePort();
    // web3 gets an invalid port: its Configure is refused; web4 goes on.
    const status = await runOverSoap(
      twoWebsitesPlan({ processName: 'TwoWebsitesFailing', systems: [{ system: 'web3', port: 70000, title: 'Broken' }, { system: 'web4', port, title: 'Still up' }] }),
    );
    expect(status.status).to.equal('FAULTED');
    expect(status.fault?.name).to.contain('siteFailed');
    const page = await fetch(`http://127.0.0.1:${port}/`);
    expect(await page.text()).to.contain('Still up');
    // The port is refused when the Configure is submitted (the manifest declares 1 to 65535), so the invoke itself faults.
    const failed = status.activity?.filter((a) => a.name?.startsWith('site1_configureServer') && a.state === 'FAULTED');
    expect(failed, JSON.stringify(status.activity?.filter((a) => a.state === 'FAULTED'))).to.not.deep.equal([]);
  });
});
