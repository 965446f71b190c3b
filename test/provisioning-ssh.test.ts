/**
 * The deployment engine with systems on ssh hosts that fail: a host that is
 * down fails its task naming the host while another host's task succeeds,
 * a connection dropped mid-hook or mid-copy ends the request UNKNOWN, and a
 * full disk fails a copy naming the host and the cause.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { buildDemoRepository } from '../src/drivers/local';
import { eventually, startTestServer, type TestServer } from './support/harness';
import { type SshdHost, makeKey, startSshd } from './support/sshd';

/** The pid of a running `sleep <seconds>` (the demo-slow hook's), if any. */
async function sleeperPid(seconds: string): Promise<number | undefined> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline === `sleep\0${seconds}\0`) return Number(entry);
  }
  return undefined;
}

describe('the engine with ssh hosts that fail', function () {
  this.timeout(120_000);
  let server: TestServer;
  const hosts: SshdHost[] = [];
  const caller = { name: 'tester' };

  before(async () => {
    server = await startTestServer();
    await server.app.systems.addRepository(await buildDemoRepository(path.join(server.dataDir, 'demo-repo')));
    const key = await makeKey(server.dataDir, 'id_ed25519', 'ed25519');
    hosts.push(await startSshd('127.0.0.8', [key.publicKey]), await startSshd('127.0.0.9', [key.publicKey]));
    for (const [name, host] of [['up', hosts[0]], ['down', hosts[1]]] as const) {
      if (host === undefined) throw new Error('no sshd host');
      await server.app.systems.add(name, 'ssh', { host: host.host, port: String(host.port), user: host.user, keyFile: key.privateFile, root: path.join(host.home, name) });
    }
  });

  after(async () => {
    await server?.close();
    for (const host of hosts) await host.stop();
  });

  it('a host that is down fails its task naming the host, and the other host is served', async () => {
    const [up, down] = hosts as [SshdHost, SshdHost];
    await down.kill(true);
    try {
      const ok = await server.app.api.submitSoftware('Install', { system: 'up', component: 'demo-httpd', parameters: [] }, caller);
      const failed = await server.app.api.submitSoftware('Install', { system: 'down', component: 'demo-httpd', parameters: [] }, caller);
      const okView = await server.app.api.getRequest(ok, 60_000);
      const failedView = await server.app.api.getRequest(failed, 60_000);
      expect(okView.status, okView.message ?? '').to.equal('COMPLETED_SUCCESS');
      expect(failedView.status).to.equal('COMPLETED_FAILURE');
      expect(failedView.message, failedView.message ?? '').to.include(`${down.host}:${down.port}`).and.to.include('"down"');
      expect(up.port).to.be.above(0);
    } finally {
      await down.restart();
    }
  });

  it('a connection dropped while a hook runs ends the request UNKNOWN', async () => {
    const down = hosts[1] as SshdHost;
    const seconds = String(300 + (process.pid % 97));
    const id = await server.app.api.submitSoftware('Install', { system: 'down', component: 'demo-slow', parameters: [{ name: 'seconds', value: seconds }] }, caller);
    let hook: number | undefined;
    await eventually(async () => (hook = await sleeperPid(seconds)), 'the demo-slow hook to run', 60_000, 100);
    await down.kill(true);
    const view = await server.app.api.getRequest(id, 60_000);
    expect(view.status).to.equal('UNKNOWN');
    expect(view.message).to.include('outcome is unknown').and.to.include(`${down.host}:${down.port}`);
    // The hook outlives the connection on the host; end it.
    if (hook !== undefined) {
      const stat = await readFile(`/proc/${hook}/stat`, 'utf8').catch(() => '');
      const group = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (group > 1) process.kill(-group, 'SIGKILL');
    }
    await down.restart();
  });

  it('a connection dropped mid-copy ends the Copy UNKNOWN, naming the host', async () => {
    const down = hosts[1] as SshdHost;
    const bulk = await server.app.systems.add('bulk', 'local');
    const root = bulk.options.root as string;
    // Large enough to be under way for a while: sparse here, all of it sent.
    await writeFile(path.join(root, 'large.bin'), '');
    await truncate(path.join(root, 'large.bin'), 2 * 1024 ** 3);
    const id = await server.app.api.copy({ sourceSystem: 'bulk', sourcePath: 'large.bin', targetSystem: 'down', targetPath: 'large.bin' }, caller);
    const uploads = path.join(down.home, 'down', 'var', 'run');
    await eventually(async () => ((await readdir(uploads)).some((name) => name.startsWith('.copy-')) ? true : undefined), 'the upload to start', 60_000, 50);
    await down.kill(true);
    try {
      const view = await server.app.api.getRequest(id, 60_000);
      expect(view.status, view.message ?? '').to.equal('UNKNOWN');
      expect(view.message).to.include(`${down.host}:${down.port}`).and.to.include('outcome is unknown');
    } finally {
      await down.restart();
    }
  });

  it('a full disk fails a Copy COMPLETED_FAILURE, naming the host and the cause', async function () {
    if (process.getuid?.() !== 0) throw new Error('this test mounts a small tmpfs and must run as root (CI does)');
    const up = hosts[0] as SshdHost;
    const tiny = path.join(up.home, 'tiny');
    await mkdir(tiny, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0777', 'provisor-test', tiny]);
    try {
      await server.app.systems.add('tiny', 'ssh', { host: up.host, port: String(up.port), user: up.user, keyFile: path.join(server.dataDir, 'id_ed25519'), root: tiny });
      const source = await server.app.systems.add('bytes', 'local');
      await writeFile(path.join(source.options.root as string, 'random.bin'), randomBytes(3 * 1024 * 1024));
      const id = await server.app.api.copy({ sourceSystem: 'bytes', sourcePath: 'random.bin', targetSystem: 'tiny', targetPath: 'random.bin' }, caller);
      const view = await server.app.api.getRequest(id, 60_000);
      expect(view.status).to.equal('COMPLETED_FAILURE');
      expect(view.message).to.include('"tiny"').and.to.include(`${up.host}:${up.port}`).and.to.include('no space left');
    } finally {
      execFileSync('umount', ['-l', tiny]);
    }
  });
});
