import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type * as soap from 'soap';
import { DriverError } from '../../src/drivers/driver';
import { buildDemoRepository } from '../../src/drivers/local';
import { RootFiles } from '../../src/drivers/local/root-files';
import { eventually, startTestServer, type TestServer } from '../support/harness';
import { freePort } from '../support/processes';
import { call, soapClient } from '../support/soap-client';

const operator = { username: 'op', password: 'operator-secret-1' };

/** Everything under a directory, as relative paths (links not followed). */
function listing(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

describe('software tasks follow no symbolic link planted in a system root', function () {
  this.timeout(120_000);
  let server: TestServer;
  let software: soap.Client;
  let request: soap.Client;
  let root: string;
  let outside: string;

  async function run(operation: string, args: Record<string, unknown>): Promise<{ status: string; message?: string }> {
    const { requestId } = await call<{ requestId: string }>(software, operation, { system: 'web1', ...args });
    return eventually(async () => {
      const r = await call<{ status: string; message?: string }>(request, 'GetStatus', { requestId });
      return r.status === 'QUEUED' || r.status === 'IN_PROGRESS' ? undefined : r;
    }, `${operation} to end`, 60_000);
  }

  /** Replaces `relative` in the root by a link to a fresh directory (or file) outside it; returns the outside path. */
  function plant(relative: string, kind: 'directory' | 'file'): string {
    const inside = path.join(root, relative);
    const target = path.join(outside, relative.replace(/\//g, '_'));
    if (kind === 'directory') fs.mkdirSync(target, { recursive: true });
    else fs.writeFileSync(target, 'outside file, keep\n');
    fs.mkdirSync(path.dirname(inside), { recursive: true });
    if (fs.existsSync(inside)) fs.renameSync(inside, `${inside}.moved`);
    fs.symlinkSync(target, inside);
    return target;
  }

  function unplant(relative: string): void {
    const inside = path.join(root, relative);
    fs.unlinkSync(inside);
    if (fs.existsSync(`${inside}.moved`)) fs.renameSync(`${inside}.moved`, inside);
  }

  before(async () => {
    server = await startTestServer();
    await server.addUser(operator.username, 'operator', operator.password);
    await server.app.systems.addRepository(await buildDemoRepository(path.join(server.dataDir, 'demo-repo')));
    await server.app.systems.add('web1', 'local');
    software = await soapClient(server.baseUrl, 'Software', operator);
    request = await soapClient(server.baseUrl, 'Request', operator);
    root = fs.realpathSync(path.join(server.config.drivers.systemsDir, 'web1'));
    outside = fs.mkdtempSync(path.join(server.dataDir, 'outside-'));
    expect(await run('Install', { component: 'demo-httpd' })).to.deep.include({ status: 'COMPLETED_SUCCESS' });
    const port = await freePort();
    expect(await run('Configure', { component: 'demo-httpd', parameters: { parameter: [{ name: 'port', value: String(port) }] } })).to.deep.include({ status: 'COMPLETED_SUCCESS' });
  });
  after(() => server.close());

  it('Configure refuses when etc/<component> is a link leading outside, and writes nothing there', async () => {
    const target = plant('etc/demo-httpd', 'directory');
    try {
      const done = await run('Configure', { component: 'demo-httpd', parameters: { parameter: [{ name: 'port', value: '1' }] } });
      expect(done.status).to.equal('COMPLETED_FAILURE');
      expect(done.message).to.contain('etc/demo-httpd').and.contain('symbolic link');
      expect(listing(target)).to.deep.equal([]);
    } finally {
      unplant('etc/demo-httpd');
    }
  });

  it('Start refuses when var/run is a link leading outside: no pid file outside, no process', async () => {
    const target = plant('var/run', 'directory');
    try {
      const done = await run('Start', { component: 'demo-httpd' });
      expect(done.status).to.equal('COMPLETED_FAILURE');
      expect(done.message).to.contain('var/run').and.contain('symbolic link');
      expect(listing(target)).to.deep.equal([]);
    } finally {
      unplant('var/run');
    }
    expect(fs.existsSync(path.join(root, 'var', 'run', 'demo-httpd.pid'))).to.equal(false);
  });

  it('Uninstall refuses when the log file is a link to a file outside: that file is untouched and the component stays', async () => {
    const target = plant('var/log/demo-httpd.log', 'file');
    try {
      const done = await run('Uninstall', { component: 'demo-httpd' });
      expect(done.status).to.equal('COMPLETED_FAILURE');
      expect(done.message).to.contain('var/log/demo-httpd.log');
      expect(fs.readFileSync(target, 'utf8')).to.equal('outside file, keep\n');
      expect(fs.existsSync(path.join(root, 'opt', 'demo-httpd', 'state.json'))).to.equal(true);
    } finally {
      unplant('var/log/demo-httpd.log');
    }
  });

  it('Install refuses when opt/<component> is a link leading outside, and unpacks nothing there', async () => {
    const target = plant('opt/demo-site', 'directory');
    try {
      const done = await run('Install', { component: 'demo-site' });
      expect(done.status).to.equal('COMPLETED_FAILURE');
      expect(done.message).to.contain('opt/demo-site').and.contain('symbolic link');
      expect(listing(target)).to.deep.equal([]);
    } finally {
      unplant('opt/demo-site');
    }
  });

  it('still performs the tasks once the links are gone', async () => {
    expect(await run('Configure', { component: 'demo-httpd', parameters: { parameter: [{ name: 'docroot', value: 'srv/www' }] } })).to.deep.include({ status: 'COMPLETED_SUCCESS' });
    expect(JSON.parse(fs.readFileSync(path.join(root, 'etc', 'demo-httpd', 'config.json'), 'utf8'))).to.include({ docroot: 'srv/www' });
  });

  describe('when a link is planted after the check before the task (the race a pre-check leaves)', () => {
    it('each write checks as it opens: writing through a directory swapped for a link is refused, nothing lands outside', async () => {
      const files = new RootFiles(root, '"web1"');
      await files.assertNoLinks([path.join(root, 'etc', 'demo-httpd', 'config.json')]);
      const target = plant('etc/demo-httpd', 'directory');
      try {
        let refused: unknown;
        await files.writeFile(path.join(root, 'etc', 'demo-httpd', 'config.json'), '{}\n').catch((err: unknown) => (refused = err));
        expect(refused).to.be.instanceOf(DriverError);
        expect((refused as DriverError).type).to.equal('PathOutsideRoot');
        expect((refused as DriverError).message).to.contain('etc/demo-httpd');
        expect(await files.readFile(path.join(root, 'etc', 'demo-httpd', 'config.json')).catch((err: unknown) => err)).to.be.instanceOf(DriverError);
        await files.openForAppend(path.join(root, 'etc', 'demo-httpd', 'x.log')).then(
          () => expect.fail('opened through a link'),
          (err: unknown) => expect(err).to.be.instanceOf(DriverError),
        );
        expect(listing(target)).to.deep.equal([]);
      } finally {
        unplant('etc/demo-httpd');
      }
    });

    it('a link as the last component is replaced by a write, never written through', async () => {
      const files = new RootFiles(root, '"web1"');
      const target = plant('var/run/demo-httpd.pid', 'file');
      await files.writeFile(path.join(root, 'var', 'run', 'demo-httpd.pid'), '123\n');
      expect(fs.readFileSync(target, 'utf8')).to.equal('outside file, keep\n');
      expect(fs.lstatSync(path.join(root, 'var', 'run', 'demo-httpd.pid')).isSymbolicLink()).to.equal(false);
      fs.rmSync(path.join(root, 'var', 'run', 'demo-httpd.pid'));
    });
  });
});
