import type { ChildProcess } from 'node:child_process';
import { expect } from 'chai';
import { bash, examplesOf, exampleScript } from './support/doc-examples';
import { freshEnvironment } from './support/harness';
import { freePort, startServerProcess, stopServerProcess, waitForHealth } from './support/processes';

describe('the README examples, pasted as a new operator would', function () {
  this.timeout(240_000);
  let environment: Awaited<ReturnType<typeof freshEnvironment>>;
  let server: ChildProcess;
  let port: number;
  let sitePort: number;

  before(async () => {
    environment = await freshEnvironment();
    port = await freePort();
    sitePort = await freePort();
    server = startServerProcess({ ...environment.env, PORT: String(port), HOST: '127.0.0.1', PROVISOR_POLL_MS: '50' });
    await waitForHealth(`http://127.0.0.1:${port}`, 60_000, server);
  });
  after(async () => {
    await stopServerProcess(server);
    await environment.cleanup();
  });

  it('are found in the README, each a shell block', () => {
    const names = examplesOf('README.md').map((e) => e.name);
    expect(names).to.deep.equal(['setup', 'soap', 'first-call', 'requests', 'work-order-setup']);
  });

  it('run in order against a real server: the site answers, the requests are listed, the account gets its pool', async () => {
    const script = exampleScript(examplesOf('README.md'), port, environment.dataDir).replaceAll('8081', String(sitePort));
    // The server the examples start is stopped again, by the same function the README defines.
    const stop = `\nsoap Software '<t:Stop xmlns:t="urn:provisor:software:1"><t:system>web1</t:system><t:component>demo-httpd</t:component></t:Stop>' | requestId | { read -r stopped; status "$stopped"; }`;
    const r = await bash(script + stop, { ...environment.env, PORT: String(port), HOST: '127.0.0.1' });
    expect(r.code, `${r.out}\n${r.err}`).to.equal(0);
    expect(r.out).to.include('user admin created');
    expect(r.out).to.match(/port\s+integer from 1 to 65535; default \d+/);
    expect(r.out.match(/GetStatusResponse[^>]*><[^>]*status>COMPLETED_SUCCESS</g) ?? [], r.out).to.have.length(7);
    expect(r.out).to.not.include('Fault>');
    expect(r.out).to.include('Hello from Provisor');
    expect(r.out).to.match(/Start demo-httpd\s+COMPLETED_SUCCESS/).and.match(/Install demo-httpd 1\.0\.0\s+COMPLETED_SUCCESS/);
    expect(r.out).to.include('output (its end):');
    expect(r.out).to.include('ListRequestsResponse');
    expect(r.out).to.include('account acme created (storage pool pool1)');
    expect(r.out).to.include('user alice created');
    expect(r.err).to.not.include('warning');
  });
});
