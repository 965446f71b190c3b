import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import { loadConfig } from '../src/config';
import { describeDatabase } from '../src/db/data-source';
import { buildDemoRepository } from '../src/drivers/local';
import { eventually, freshEnvironment, startTestServer, type TestServer } from './support/harness';
import { envelope, postRaw, securityHeader } from './support/soap-client';

const bin = path.join(__dirname, '..', '..', 'scripts', 'provisor.js');
const main = path.join(__dirname, '..', 'src', 'main.js');

type Env = Record<string, string | undefined>;

function run(env: Env, args: string[], input = ''): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { input, env: { ...process.env, ...env }, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** As {@link run}, without blocking this process (whose test server must answer meanwhile). */
function runAsync(env: Env, args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, out: stdout, err: stderr });
    });
  });
}

describe('the first hour: mistakes are refused with the fix', function () {
  this.timeout(120_000);

  describe('when a second server is started on a busy port', () => {
    let holder: net.Server;
    let port: number;
    before(async () => {
      holder = net.createServer();
      await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
      port = (holder.address() as net.AddressInfo).port;
    });
    after(() => new Promise<void>((resolve) => holder.close(() => resolve())));

    it('prints one line naming the port and the way out, before any work (no database is created)', async () => {
      const environment = await freshEnvironment();
      try {
        // SQLite whatever the suite runs on: the file's absence shows that nothing was opened.
        const r = spawnSync(process.execPath, [main], { env: { ...process.env, ...environment.env, DATABASE_URL: '', PORT: String(port), HOST: '127.0.0.1' }, encoding: 'utf8', timeout: 30_000 });
        expect(r.status).to.equal(2);
        const lines = r.stderr.trimEnd().split('\n');
        expect(lines, r.stderr).to.have.length(1);
        expect(lines[0]).to.equal(`provisor: port ${port} on 127.0.0.1 is already in use (another Provisor?); start on another one with PORT=${port + 1} npm start`);
        expect(fs.existsSync(path.join(environment.dataDir, 'provisor.sqlite'))).to.equal(false);
      } finally {
        await environment.cleanup();
      }
    });
  });

  describe('when a request body is malformed on one line', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer();
      await server.addUser('op', 'operator', 'operator-secret-1');
    });
    after(() => server.close());

    it('names the line and the column of the mistake', async () => {
      const body = '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><r:GetStatus xmlns:r="urn:provisor:request:1"><r:requestId>x</r:requestId></r:GetStatus></s:Bodyy></s:Envelope>';
      const r = await postRaw(`${server.baseUrl}/soap/Request`, body);
      expect(r.status).to.be.within(400, 599);
      expect(r.body).to.match(/at line 1, column \d+/);
      const column = Number(/column (\d+)/.exec(r.body)?.[1]);
      expect(body.slice(column - 1)).to.match(/^<\/?s:Body/);
    });

    it('names a field written without the namespace as such, not as missing', async () => {
      const header = (): string => securityHeader({ username: 'op', password: 'operator-secret-1' });
      const body = '<GetStatus xmlns="urn:provisor:request:1"><requestId xmlns="">r-1</requestId></GetStatus>';
      const r = await postRaw(`${server.baseUrl}/soap/Request`, envelope(body, header()));
      expect(r.body).to.include('element requestId must be in namespace urn:provisor:request:1 (it is in no namespace');
      expect(r.body).to.not.include('is required');
      const install = '<t:Install xmlns:t="urn:provisor:software:1"><system>web1</system><t:component>demo-httpd</t:component></t:Install>';
      const refused = await postRaw(`${server.baseUrl}/soap/Software`, envelope(install, header()));
      expect(refused.body).to.include('element system must be in namespace urn:provisor:software:1');
      expect(refused.body).to.include('Client');
    });
  });

  describe('the command line names its database', () => {
    let server: TestServer;
    let other: Awaited<ReturnType<typeof freshEnvironment>>;
    before(async () => {
      server = await startTestServer();
      await server.app.systems.addRepository(await buildDemoRepository(path.join(server.dataDir, 'demo-repo')));
      other = await freshEnvironment();
    });
    after(async () => {
      await other.cleanup();
      await server.close();
    });

    it('in --help', () => {
      const help = run(other.env, ['--help']);
      expect(help.code).to.equal(0);
      expect(help.out).to.include(`Database: ${describeDatabase(loadConfig(other.env))}`);
      expect(help.out).to.not.match(/root@|:\/\/[^ ]*@/);
    });

    it('on every change, and warns when the server on the configured port uses another database', async () => {
      const port = new URL(server.baseUrl).port;
      const elsewhere = await runAsync({ ...other.env, PORT: port, HOST: '127.0.0.1' }, ['account', 'add', 'lost']);
      expect(elsewhere.code, elsewhere.err).to.equal(0);
      expect(elsewhere.out).to.equal(`account lost created (in the ${describeDatabase(loadConfig(other.env))})\n`);
      expect(elsewhere.err).to.include(`warning: the Provisor server answering on http://127.0.0.1:${port} uses another database`);
      const same = await runAsync({ ...server.env, PORT: port, HOST: '127.0.0.1' }, ['account', 'add', 'seen']);
      expect(same.code, same.err).to.equal(0);
      expect(same.out).to.include(`(in the ${describeDatabase(server.config)})`);
      expect(same.err).to.equal('');
    });

    it('provisor package list and show give the packages, their versions and declared parameters; an unknown one is refused', () => {
      const env = { ...server.env, PORT: '1' };
      const listed = run(env, ['package', 'list']);
      expect(listed.code, listed.err).to.equal(0);
      expect(listed.out).to.match(/^demo-httpd\s+1\.1\.0, 1\.0\.0\s+A tiny static HTTP server/m);
      const shown = run(env, ['package', 'show', 'demo-httpd', '--version', '1.0']);
      expect(shown.code, shown.err).to.equal(0);
      expect(shown.out).to.match(/^demo-httpd 1\.0\.0: /m).and.not.include('1.1.0');
      expect(shown.out).to.match(/^\s+port\s+integer from 1 to 65535; default 8081\s+TCP port/m);
      const unknown = run(env, ['package', 'show', 'demo-htpd']);
      expect(unknown.code).to.equal(2);
      expect(unknown.err).to.include('no registered repository offers a package "demo-htpd"');
    });

    it('refuses account add --pool naming a system that does not exist or lacks the storage-pool package, with the fix', async () => {
      const env = { ...server.env, PORT: '1' };
      const missing = run(env, ['account', 'add', 'acme', '--pool', 'nosuch']);
      expect(missing.code).to.equal(2);
      expect(missing.err).to.equal('provisor: storage pool "nosuch" is not a registered system (register it with: provisor system add nosuch, then install storage-pool on it)\n');
      await server.app.systems.add('pool1', 'local');
      const bare = run(env, ['account', 'add', 'acme', '--pool', 'pool1']);
      expect(bare.code).to.equal(2);
      expect(bare.err).to.include('system "pool1" does not have the storage-pool package installed; install it first');
      const requestId = await server.app.api.submitSoftware('Install', { system: 'pool1', component: 'storage-pool', parameters: [] }, { name: 'test' });
      await eventually(async () => ((await server.app.api.getRequest(requestId)).status === 'COMPLETED_SUCCESS' ? true : undefined), 'storage-pool to be installed', 60_000);
      const added = run(env, ['account', 'add', 'acme', '--pool', 'pool1']);
      expect(added.code, added.err).to.equal(0);
      expect(added.out).to.include('account acme created (storage pool pool1)');
    });
  });
});
