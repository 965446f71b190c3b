import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { buildDemoRepository } from '../../src/drivers/local';
import { projectRoot } from '../../src/project-root';
import { ownProcessEndpoint } from '../../src/wrappers/own-endpoints';
import { eventually, startTestServer, type TestServer } from '../support/harness';
import { postMessage } from './orders';
import { activity, finished, soapEnvelope } from './support';

const engine = { username: 'planner', password: 'planner-secret-1' };
const examples = path.join(projectRoot(), 'docs', 'examples');

/** The instances of a process, oldest first. */
async function instancesOf(server: TestServer, processName: string): Promise<string[]> {
  const rows = (await server.dataSource.query('SELECT id FROM process_instance WHERE processName = ? ORDER BY createdAt', [processName])) as Array<{ id: string }>;
  return rows.map((r) => r.id);
}

describe('a plan that waits for the RequestCompleted callback instead of polling (docs/examples/install-with-callback.bpel)', function () {
  this.timeout(90_000);
  let server: TestServer;
  let endpoint: string;

  before(async () => {
    server = await startTestServer({ PROVISOR_WORKFLOW_POLL_MS: '50' });
    await server.addUser(engine.username, 'engine', engine.password);
    await server.app.systems.addRepository(await buildDemoRepository(path.join(server.dataDir, 'demo-repo')));
    await server.app.systems.add('web1', 'local');
    await server.app.workflow.deploy({
      bpel: fs.readFileSync(path.join(examples, 'install-with-callback.bpel'), 'utf8'),
      documents: new Map([['install-with-callback.wsdl', fs.readFileSync(path.join(examples, 'install-with-callback.wsdl'), 'utf8')]]),
      bindings: [],
      deployedBy: 'tester',
    });
    endpoint = `${server.baseUrl}/soap/processes/InstallWithCallback`;
  });
  after(() => server.close());

  const install = (component: string, callback: string): string =>
    `<sw:Install xmlns:sw="urn:provisor:software:1"><sw:system>web1</sw:system><sw:component>${component}</sw:component><sw:callback>${callback}</sw:callback></sw:Install>`;

  it('installs, is told of the end by the callback delivered to its own endpoint, and completes without a status poll', async () => {
    const started = await postMessage(server.baseUrl, engine, 'InstallWithCallback', install('demo-httpd', endpoint));
    expect(started.status, started.text).to.equal(202);
    const id = await eventually(async () => (await instancesOf(server, 'InstallWithCallback'))[0], 'the instance');
    const view = await finished(server, id, 60_000);
    expect(view.status, JSON.stringify(view.activities.filter((a) => a.state !== 'COMPLETED'))).to.equal('COMPLETED');
    expect(activity(view, 'awaitCompletion').state).to.equal('COMPLETED');
    expect(activity(view, 'checkOutcome').state).to.equal('COMPLETED');

    // The request was really performed, and its callback was delivered (in-process: the policy refuses this server's ports over HTTP).
    const requests = (await server.dataSource.query("SELECT id, status, callbackUrl FROM provisioning_request WHERE component = 'demo-httpd'")) as Array<{ id: string; status: string; callbackUrl: string }>;
    expect(requests).to.have.length(1);
    expect(requests[0]?.status).to.equal('COMPLETED_SUCCESS');
    expect(requests[0]?.callbackUrl).to.equal(endpoint);
    expect((await server.app.callbacks.state(requests[0]?.id ?? ''))?.status).to.equal('DELIVERED');
    const installed = await server.app.api.listInstalled('web1');
    expect(installed.map((c) => c.name)).to.include('demo-httpd');

    // The callback is a message row of the instance, taken by the pick's onMessage (checkOutcome ran: not the alarm).
    const messages = (await server.dataSource.query('SELECT instanceId, operation FROM process_message')) as Array<{ instanceId: string; operation: string }>;
    expect(messages.filter((m) => m.instanceId === id).map((m) => m.operation)).to.deep.equal(['completion/RequestCompleted']);
  });

  it('faults with installFailed when the callback reports a failed request', async () => {
    const before = new Set(await instancesOf(server, 'InstallWithCallback'));
    // demo-broken's install hook fails: the request is accepted, performed, and ends COMPLETED_FAILURE.
    const started = await postMessage(server.baseUrl, engine, 'InstallWithCallback', install('demo-broken', endpoint));
    expect(started.status, started.text).to.equal(202);
    const id = await eventually(async () => (await instancesOf(server, 'InstallWithCallback')).find((i) => !before.has(i)), 'the second instance');
    const view = await finished(server, id, 60_000);
    expect(view.status).to.equal('FAULTED');
    expect(JSON.stringify(view)).to.include('installFailed');
    const requests = (await server.dataSource.query("SELECT id, status FROM provisioning_request WHERE component = 'demo-broken'")) as Array<{ id: string; status: string }>;
    expect(requests.map((r) => r.status)).to.deep.equal(['COMPLETED_FAILURE']);
    expect((await server.app.callbacks.state(requests[0]?.id ?? ''))?.status).to.equal('DELIVERED');
  });

  it('refuses, at submission, a callback to one of this server\'s other services: only process endpoints are delivered in-process', async () => {
    const response = await fetch(`${server.baseUrl}/soap/Software`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' },
      body: soapEnvelope(engine, install('demo-httpd', `${server.baseUrl}/soap/Software`)),
    });
    const text = await response.text();
    expect(response.status).to.equal(500);
    expect(text).to.include('DestinationDenied');
    expect(text).to.match(/Provisor(&apos;|')s own listening ports/);
  });
});

describe('ownProcessEndpoint', () => {
  it('takes a process endpoint of this server on its HTTP port, and nothing else', () => {
    expect(ownProcessEndpoint('http://127.0.0.1:8080/soap/processes/A', 8080, '127.0.0.1')).to.equal('/soap/processes/A');
    expect(ownProcessEndpoint('http://localhost:8080/soap/processes/A%20B', 8080, '127.0.0.1')).to.equal('/soap/processes/A%20B');
    expect(ownProcessEndpoint('http://[::1]:8080/soap/processes/A', 8080, '::1')).to.equal('/soap/processes/A');
    expect(ownProcessEndpoint('http://127.0.0.1:8081/soap/processes/A', 8080, '127.0.0.1'), 'another port').to.equal(undefined);
    expect(ownProcessEndpoint('http://127.0.0.1:8080/soap/Software', 8080, '127.0.0.1'), 'not a process endpoint').to.equal(undefined);
    expect(ownProcessEndpoint('http://127.0.0.1:8080/soap/processes/', 8080, '127.0.0.1'), 'no process named').to.equal(undefined);
    expect(ownProcessEndpoint('http://127.0.0.1:8080/soap/processes/A?wsdl', 8080, '127.0.0.1'), 'a query').to.equal(undefined);
    expect(ownProcessEndpoint('https://127.0.0.1:8080/soap/processes/A', 8080, '127.0.0.1'), 'https is not this server').to.equal(undefined);
    expect(ownProcessEndpoint('http://u:p@127.0.0.1:8080/soap/processes/A', 8080, '127.0.0.1'), 'credentials').to.equal(undefined);
    expect(ownProcessEndpoint('http://example.com:8080/soap/processes/A', 8080, '127.0.0.1'), 'another host').to.equal(undefined);
    expect(ownProcessEndpoint('http://169.254.169.254:8080/soap/processes/A', 8080, '127.0.0.1'), 'link-local').to.equal(undefined);
    expect(ownProcessEndpoint('not a url', 8080, '127.0.0.1')).to.equal(undefined);
    expect(ownProcessEndpoint('http://127.0.0.1:8080/soap/processes/A', null, '127.0.0.1'), 'not listening yet').to.equal(undefined);
  });
});
