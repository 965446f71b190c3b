import path from 'node:path';
import { expect } from 'chai';
import type * as soap from 'soap';
import { partnersWsdl, PARTNERS_WSDL_NAME, twoWebsitesPlan } from '../../scripts/demo/two-websites';
import { buildDemoRepository } from '../../src/drivers/local';
import { eventually, startTestServer, type TestServer } from '../support/harness';
import { call, soapClient } from '../support/soap-client';
import { freePort } from '../support/processes';
import { type SshdHost, makeKey, startSshd } from '../support/sshd';

const engine = { username: 'planner', password: 'planner-secret-1' };

interface Status {
  status: string;
  fault?: { name: string; message: string; activityPath?: string };
  activity?: Array<{ path: string; name?: string; state: string; requestId?: string }>;
}

const SYSTEMS = ['web1', 'web2', 'web3', 'web4', 'web5', 'web6'] as const;

/** How the six systems of one run are registered: on this machine, or on two ssh hosts. */
interface SystemsSetup {
  readonly name: string;
  register(server: TestServer): Promise<() => Promise<void>>;
}

const setups: readonly SystemsSetup[] = [
  {
    name: 'on local systems',
    async register(server) {
      for (const name of SYSTEMS) await server.app.systems.add(name, 'local');
      return async () => undefined;
    },
  },
  {
    name: 'on two ssh hosts (real sshd servers on 127.0.0.6 and 127.0.0.7)',
    async register(server) {
      const key = await makeKey(server.dataDir, 'id_ed25519', 'ed25519');
      const hosts: SshdHost[] = [await startSshd('127.0.0.6', [key.publicKey]), await startSshd('127.0.0.7', [key.publicKey])];
      for (const [i, name] of SYSTEMS.entries()) {
        const host = hosts[i % 2] as SshdHost;
        await server.app.systems.add(name, 'ssh', { host: host.host, port: String(host.port), user: host.user, keyFile: key.privateFile, root: path.join(host.home, name) });
      }
      return async () => {
        for (const host of hosts) await host.stop();
      };
    },
  },
];

for (const setup of setups) describe(`the original design's two-website change plan, ${setup.name}`, function () {
  this.timeout(120_000);
  let server: TestServer;
  let workflow: soap.Client;
  let software: soap.Client;
  let stopSystems: (() => Promise<void>) | undefined;

  before(async () => {
    server = await startTestServer({ PROVISOR_WORKFLOW_POLL_MS: '50' });
    await server.addUser(engine.username, 'engine', engine.password);
    await server.app.systems.addRepository(await buildDemoRepository(path.join(server.dataDir, 'demo-repo')));
    stopSystems = await setup.register(server);
    workflow = await soapClient(server.baseUrl, 'Workflow', engine);
    software = await soapClient(server.baseUrl, 'Software', engine);
  });

  after(async () => {
    for (const system of SYSTEMS) {
      const stop = await call<{ requestId: string }>(software, 'Stop', { system, component: 'demo-httpd' }).catch(() => undefined);
      // The stop's end: the server may close once the demo server it started is gone.
      if (stop !== undefined) await server.app.api.getRequest(stop.requestId, 30_000);
    }
    await server.close();
    await stopSystems?.();
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

  it('written with element variables (the document/literal style), deploys and runs the same, and the status names each invoke\'s requestId', async () => {
    const [port1, port2] = [await freePort(), await freePort()];
    const bpel = twoWebsitesPlan({ processName: 'TwoWebsitesElements', variables: 'element', systems: [{ system: 'web5', port: port1, title: 'Fifth site' }, { system: 'web6', port: port2, title: 'Sixth site' }] });
    expect(bpel).to.not.contain('messageType=');
    const status = await runOverSoap(bpel);
    expect(status.status, JSON.stringify(status.fault)).to.equal('COMPLETED');
    for (const [port, title] of [[port1, 'Fifth site'], [port2, 'Sixth site']] as const) {
      const page = await fetch(`http://127.0.0.1:${port}/`);
      expect(await page.text()).to.contain(title);
    }
    const installs = status.activity?.filter((a) => a.name?.endsWith('_installServer_invoke')) ?? [];
    expect(installs).to.have.length(2);
    const rows = (await server.dataSource.query("SELECT id FROM provisioning_request WHERE operation = 'Install' AND component = 'demo-httpd' AND systemName IN ('web5', 'web6')")) as Array<{ id: string }>;
    expect(installs.map((a) => a.requestId).sort()).to.deep.equal(rows.map((r) => String(r.id)).sort());
  });

  it('a failure in one branch does not stop the other', async () => {
    const port = await freePort();
    // web3 gets an invalid port: its Configure is refused (demo-httpd declares port 1–65535); web4 goes on.
    const status = await runOverSoap(
      twoWebsitesPlan({ processName: 'TwoWebsitesFailing', systems: [{ system: 'web3', port: 70000, title: 'Broken' }, { system: 'web4', port, title: 'Still up' }] }),
    );
    expect(status.status).to.equal('FAULTED');
    expect(status.fault?.name).to.contain('siteFailed');
    const page = await fetch(`http://127.0.0.1:${port}/`);
    expect(await page.text()).to.contain('Still up');
    const failed = status.activity?.find((a) => a.name === 'site1_configureServer_invoke');
    expect(failed?.state, JSON.stringify(status.activity?.filter((a) => a.state === 'FAULTED').map((a) => a.name))).to.equal('FAULTED');
  });
});
