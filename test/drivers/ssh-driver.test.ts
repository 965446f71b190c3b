/**
 * The ssh driver against real OpenSSH servers started by the tests, each on
 * its own loopback address acting as one host: registration (keys, sealed
 * secrets, the pinned host key), the failure cases (wrong key, a changed
 * host key, a host that is down, a connection dropped mid-install, a hook
 * that hangs, a package whose checksum does not match, a full disk),
 * parameters that reach hooks inert, file copies between hosts and from
 * local systems, pooling, and the host facts.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { SystemDescriptor, Task, TaskResult } from '../../src/drivers/driver';
import { createLocalDriver } from '../../src/drivers/local';
import { createSshDriver, type SshDriver } from '../../src/drivers/ssh';
import { type KeyPair, type SshdHost, makeKey, startSshd, testSecrets } from '../support/sshd';
import { buildFixtureRepository, contextFor, eventually, expectDriverError, freePort, killGroup, makeTempDir, processAlive, removeDir } from './fixtures';

describe('ssh driver on real sshd hosts', function () {
  this.timeout(120_000);
  let base: string;
  let repo: string;
  let ed25519: KeyPair;
  let rsa: KeyPair;
  let stranger: KeyPair;
  let hostA: SshdHost;
  let hostB: SshdHost;
  let driver: SshDriver;
  const secrets = testSecrets();
  const pids = new Set<number>();

  before(async () => {
    base = await makeTempDir('ssh-driver');
    ed25519 = await makeKey(base, 'id_ed25519', 'ed25519');
    rsa = await makeKey(base, 'id_rsa', 'rsa', 'correct horse battery');
    stranger = await makeKey(base, 'id_stranger', 'ed25519');
    hostA = await startSshd('127.0.0.2', [ed25519.publicKey, rsa.publicKey]);
    hostB = await startSshd('127.0.0.3', [ed25519.publicKey]);
    repo = await buildFixtureRepository(path.join(base, 'repo'), [
      {
        name: 'probe',
        version: '1.0.0',
        files: {
          'probe.sh': 'printf "%s" "$PROVISOR_PARAM_EVIL" > "$PROVISOR_SYSTEM_ROOT/evil.txt"\nenv | grep ^PROVISOR_ | sort > "$PROVISOR_SYSTEM_ROOT/probe.env"\npwd > "$PROVISOR_SYSTEM_ROOT/probe.cwd"\n',
        },
        hooks: { install: 'probe.sh', configure: 'probe.sh' },
      },
      { name: 'site', version: '1.0.0', files: { 'index.html': 'v1', 'ok.sh': 'echo installed 1\n' }, hooks: { install: 'ok.sh' }, start: ['/bin/sh', '-c', 'exec sleep 120'] },
      { name: 'site', version: '2.0.0', files: { 'index.html': 'v2', 'ok.sh': 'echo installed 2\n' }, hooks: { install: 'ok.sh' }, start: ['/bin/sh', '-c', 'exec sleep 120'] },
      { name: 'hangs', version: '1.0.0', files: { 'hang.sh': 'echo $$ > "$PROVISOR_SYSTEM_ROOT/hang.pid"\nsleep 600\n' }, hooks: { install: 'hang.sh' } },
      { name: 'fails', version: '1.0.0', files: { 'bad.sh': 'echo "cannot install here" >&2\nexit 7\n' }, hooks: { install: 'bad.sh' } },
      { name: 'slow', version: '1.0.0', files: { 'slow.sh': 'echo $$ > "$PROVISOR_SYSTEM_ROOT/slow.pid"\ntouch "$PROVISOR_SYSTEM_ROOT/slow.started"\nsleep 600\n' }, hooks: { install: 'slow.sh' } },
      { name: 'big', version: '1.0.0', files: { 'blob.txt': randomText(3 * 1024 * 1024) } },
      {
        // Listens on its port parameter, only well after the start-up grace.
        name: 'slow-listener',
        version: '1.0.0',
        files: { 'server.js': "setTimeout(() => require('node:http').createServer((q, r) => r.end('up')).listen(Number(process.env.PROVISOR_PARAM_PORT), '127.0.0.1'), 1500);\n" },
        start: ['$NODE', 'server.js'],
        declarations: { ready: { listen: true, timeoutSeconds: 20 } },
      },
      { name: 'never-listens', version: '1.0.0', files: { README: 'sleeps, never listens' }, start: ['/bin/sh', '-c', 'exec sleep 120'], declarations: { ready: { listen: true, timeoutSeconds: 1 } } },
      {
        name: 'ready-hook',
        version: '1.0.0',
        files: { 'ready.sh': 'n=$(cat "$PROVISOR_SYSTEM_ROOT/probes" 2>/dev/null || echo 0)\necho $((n+1)) > "$PROVISOR_SYSTEM_ROOT/probes"\n[ $n -ge 2 ]\n' },
        start: ['/bin/sh', '-c', 'exec sleep 120'],
        declarations: { ready: { hook: 'ready.sh', timeoutSeconds: 20 } },
      },
    ]);
    // A package whose archive does not match the checksum its index declares.
    const index = JSON.parse(await readFile(path.join(repo, 'index.json'), 'utf8')) as { packages: { name: string; sha256: string }[] };
    const tampered = index.packages.find((p) => p.name === 'fails');
    if (tampered !== undefined) index.packages.push({ ...tampered, name: 'tampered', sha256: 'ab'.repeat(32) } as never);
    await writeFile(path.join(repo, 'index.json'), JSON.stringify(index));
    driver = createSshDriver({ secrets, cacheDir: path.join(base, 'cache'), hookTimeoutMs: 20_000, connectTimeoutMs: 5_000, stopTimeoutMs: 500 });
  });

  after(async () => {
    for (const pid of pids) killGroup(pid);
    await driver?.close();
    await hostA?.stop();
    await hostB?.stop();
    await removeDir(base);
  });

  async function register(name: string, host: SshdHost, extra: Record<string, string> = {}, key: KeyPair = ed25519): Promise<SystemDescriptor> {
    const options = await driver.completeOptions?.(name, { host: host.host, port: String(host.port), user: host.user, keyFile: key.privateFile, root: path.join(host.home, name), ...extra });
    const system = { name, driver: 'ssh', options: options ?? {} };
    await driver.prepareSystem(system);
    return system;
  }

  function run(system: SystemDescriptor, task: Task, signal?: AbortSignal): Promise<TaskResult> {
    return driver.execute(task, contextFor(system, [repo], signal === undefined ? {} : { signal })).then((result) => {
      if (typeof result.pid === 'number') pids.add(result.pid);
      return result;
    });
  }

  const software = (operation: Task['operation'], component: string, parameters: Record<string, string> = {}, version?: string): Task =>
    ({ operation, component, ...(version === undefined ? {} : { version }), parameters: Object.entries(parameters).map(([name, value]) => ({ name, value })) }) as Task;

  describe('registration', () => {
    it('pins the host key, seals the key and stores no secret in clear', async () => {
      const system = await register('reg1', hostA);
      expect(system.options.hostKey).to.equal(hostA.fingerprint);
      const key = await readFile(ed25519.privateFile, 'utf8');
      expect(JSON.stringify(system.options)).not.to.include('PRIVATE KEY');
      expect(system.options.keyFile).to.equal(undefined);
      expect(secrets.decrypt(system.options.keySealed ?? '')).to.equal(key);
      expect(existsSync(path.join(hostA.home, 'reg1', 'opt'))).to.equal(true);
    });

    it('takes a passphrase-protected RSA key, sealing the passphrase too', async () => {
      const system = await register('reg-rsa', hostA, { passphrase: 'correct horse battery' }, rsa);
      expect(JSON.stringify(system.options)).not.to.include('correct horse');
      const result = await run(system, { operation: 'Delete', path: 'opt' });
      expect(result.output).to.include('deleted directory opt');
    });

    it('refuses a wrong passphrase naming the key file', async () => {
      const error = await expectDriverError(
        driver.completeOptions?.('bad-pass', { host: hostA.host, port: String(hostA.port), user: hostA.user, keyFile: rsa.privateFile, passphrase: 'wrong' }) ?? Promise.resolve(),
        'InvalidParameter',
      );
      expect(error.message).to.include(rsa.privateFile).and.not.to.include('wrong');
    });

    it('refuses a key the host does not accept, naming the host and the user', async () => {
      const error = await expectDriverError(
        driver.completeOptions?.('stranger', { host: hostA.host, port: String(hostA.port), user: hostA.user, keyFile: stranger.privateFile }) ?? Promise.resolve(),
        'Internal',
      );
      expect(error.message).to.include(`${hostA.host}:${hostA.port}`).and.to.include(`"${hostA.user}"`);
      expect(error.retryable).to.equal(false);
    });

    it('refuses a --host-key the host does not present', async () => {
      const error = await expectDriverError(register('reg-mitm', hostA, { hostKey: hostB.fingerprint }), 'InvalidState');
      expect(error.message).to.include(hostA.fingerprint).and.to.include(hostB.fingerprint);
    });

    it('accepts the --host-key the host does present', async () => {
      const system = await register('reg-pinned', hostA, { hostKey: hostA.fingerprint });
      expect(system.options.hostKey).to.equal(hostA.fingerprint);
    });

    it('refuses unknown options and bad hosts, ports and fingerprints by name', async () => {
      const attempts: [Record<string, string>, string][] = [
        [{ host: 'h', user: 'u', keyFile: ed25519.privateFile, colour: 'red' }, 'colour'],
        [{ host: 'bad host;rm', user: 'u', keyFile: ed25519.privateFile }, '"host"'],
        [{ host: 'h', port: '70000', user: 'u', keyFile: ed25519.privateFile }, '"port"'],
        [{ host: 'h', user: 'u', keyFile: ed25519.privateFile, hostKey: 'MD5:aa' }, 'MD5:aa'],
        [{ host: 'h', user: 'u' }, 'key file'],
      ];
      for (const [options, named] of attempts) {
        const error = await expectDriverError(driver.completeOptions?.('x', options) ?? Promise.resolve(), 'InvalidParameter');
        expect(error.message).to.include(named);
      }
    });
  });

  describe('software tasks', () => {
    let system: SystemDescriptor;
    before(async () => {
      system = await register('web1', hostA);
    });

    it('gives hooks the local environment, and a parameter holding shell syntax stays inert', async () => {
      const marker = path.join(base, 'pwned');
      const evil = `$(touch ${marker}); \`touch ${marker}\`; ' " ; rm -rf ~ & echo $HOME \n second line`;
      await run(system, software('Install', 'probe', { evil }));
      const root = path.join(hostA.home, 'web1');
      expect(await readFile(path.join(root, 'evil.txt'), 'utf8')).to.equal(evil);
      expect(existsSync(marker)).to.equal(false);
      const env = await readFile(path.join(root, 'probe.env'), 'utf8');
      expect(env).to.include(`PROVISOR_SYSTEM_ROOT=${root}\n`).and.to.include('PROVISOR_COMPONENT=probe\n').and.to.include('PROVISOR_VERSION=1.0.0\n');
      expect((await readFile(path.join(root, 'probe.cwd'), 'utf8')).trim()).to.equal(path.join(root, 'opt', 'probe', '1.0.0'));
    });

    it('Update keeps the previous version, Rollback returns to it, a running process follows', async () => {
      expect((await run(system, software('Install', 'site', {}, '1.0.0'))).version).to.equal('1.0.0');
      const started = await run(system, software('Start', 'site'));
      expect(started.pid).to.be.a('number');
      expect(processAlive(started.pid as number)).to.equal(true);
      const updated = await run(system, software('Update', 'site', {}, '2.0.0'));
      expect(updated.version).to.equal('2.0.0');
      expect(await eventually(() => !processAlive(started.pid as number), 5000)).to.equal(true);
      expect(updated.pid).to.be.a('number').and.not.equal(started.pid);
      const root = path.join(hostA.home, 'web1');
      expect(await readFile(path.join(root, 'opt/site/1.0.0/index.html'), 'utf8')).to.equal('v1');
      expect((await run(system, software('Rollback', 'site'))).version).to.equal('1.0.0');
      const state = JSON.parse(await readFile(path.join(root, 'opt/site/state.json'), 'utf8')) as { active: string };
      expect(state.active).to.equal('1.0.0');
      const stopped = await run(system, software('Stop', 'site'));
      expect(stopped.pid).to.equal(null);
      await run(system, software('Uninstall', 'site'));
      expect(existsSync(path.join(root, 'opt/site'))).to.equal(false);
    });

    it('a failing hook fails the Install with its exit code and message, leaving nothing behind', async () => {
      const error = await expectDriverError(run(system, software('Install', 'fails')), 'HookFailed');
      expect(error.message).to.include('code 7').and.to.include('cannot install here');
      expect(existsSync(path.join(hostA.home, 'web1', 'opt/fails'))).to.equal(false);
    });

    it('a hook that hangs is killed at the timeout, with everything it started', async () => {
      const quick = createSshDriver({ secrets, cacheDir: path.join(base, 'cache'), hookTimeoutMs: 1500 });
      try {
        const error = await expectDriverError(quick.execute(software('Install', 'hangs'), contextFor(system, [repo])), 'HookFailed');
        expect(error.message).to.include('timed out after 1500 ms');
        const pid = Number(await readFile(path.join(hostA.home, 'web1', 'hang.pid'), 'utf8'));
        expect(await eventually(() => !processAlive(pid), 5000)).to.equal(true);
        expect(existsSync(path.join(hostA.home, 'web1', 'opt/hangs'))).to.equal(false);
      } finally {
        await quick.close();
      }
    });

    it('a package whose checksum does not match is refused before anything is unpacked', async () => {
      const error = await expectDriverError(run(system, software('Install', 'tampered')), 'Internal');
      expect(error.message).to.match(/checksum|sha256/).and.to.include('tampered');
      expect(existsSync(path.join(hostA.home, 'web1', 'opt/tampered'))).to.equal(false);
    });

    it('Start ends only once the component accepts connections, as on local', async () => {
      await run(system, software('Install', 'slow-listener'));
      const port = await freePort();
      const started = await run(system, software('Start', 'slow-listener', { port: String(port) }));
      expect(started.pid).to.be.a('number');
      // No retry, no wait: the server must answer now.
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).to.equal('up');
      await run(system, software('Stop', 'slow-listener'));
    });

    it('a component that never accepts connections fails its Start naming the check, and is stopped', async () => {
      await run(system, software('Install', 'never-listens'));
      const error = await expectDriverError(run(system, software('Start', 'never-listens')), 'HookFailed');
      expect(error.message).to.equal('never-listens 1.0.0 was not ready (accepting connections) within 1 s; it was stopped');
      expect(existsSync(path.join(hostA.home, 'web1', 'var/run/never-listens.pid'))).to.equal(false);
    });

    it('runs the package\'s ready hook on the host until it exits 0', async () => {
      await run(system, software('Install', 'ready-hook'));
      await run(system, software('Start', 'ready-hook'));
      expect((await readFile(path.join(hostA.home, 'web1', 'probes'), 'utf8')).trim()).to.equal('3');
      await run(system, software('Stop', 'ready-hook'));
    });

    it('reuses one pooled connection for many tasks', async () => {
      const before = driver.connectionsOpened;
      await Promise.all(Array.from({ length: 12 }, (_, i) => run(system, { operation: 'Copy', sourcePath: 'index.json', targetPath: `pool/${i}.json` })));
      expect(driver.connectionsOpened - before).to.be.at.most(1);
    });
  });

  describe('files', () => {
    let web2: SystemDescriptor;
    let web3: SystemDescriptor;
    before(async () => {
      web2 = await register('web2', hostA);
      web3 = await register('web3', hostB);
    });

    it('copies from the repository, with an absolute path resolved under the root', async () => {
      await run(web2, { operation: 'Copy', sourcePath: 'index.json', targetPath: '/srv/www/index.json' });
      expect(await readFile(path.join(hostA.home, 'web2', 'srv/www/index.json'), 'utf8')).to.equal(await readFile(path.join(repo, 'index.json'), 'utf8'));
    });

    it('copies a directory tree from one ssh host to another', async () => {
      await mkdir(path.join(hostA.home, 'web2', 'srv/www/sub'), { recursive: true });
      execFileSync('chown', ['-R', `${hostA.user}`, path.join(hostA.home, 'web2', 'srv')], { stdio: 'ignore' });
      await writeFile(path.join(hostA.home, 'web2', 'srv/www/sub/page.html'), '<p>hello</p>');
      await run(web3, { operation: 'Copy', sourceSystem: web2, sourcePath: 'srv/www', targetPath: 'mirror' });
      expect(await readFile(path.join(hostB.home, 'web3', 'mirror/sub/page.html'), 'utf8')).to.equal('<p>hello</p>');
      expect(await readFile(path.join(hostB.home, 'web3', 'mirror/index.json'), 'utf8')).to.include('probe');
    });

    it('copies from a local system', async () => {
      const localRoot = path.join(base, 'local-root');
      await mkdir(path.join(localRoot, 'data'), { recursive: true });
      await writeFile(path.join(localRoot, 'data/report.txt'), 'local bytes');
      await run(web3, { operation: 'Copy', sourceSystem: { name: 'loc', driver: 'local', options: { root: localRoot } }, sourcePath: 'data/report.txt', targetPath: 'in/report.txt' });
      expect(await readFile(path.join(hostB.home, 'web3', 'in/report.txt'), 'utf8')).to.equal('local bytes');
    });

    it('copies a directory from an ssh system to a local one, through the local driver', async () => {
      const local = createLocalDriver({ cacheDir: path.join(base, 'cache'), remoteSources: { driver: 'ssh', read: driver.readTree } });
      const localRoot = path.join(base, 'local-target');
      const target = { name: 'loc2', driver: 'local', options: { root: localRoot } };
      try {
        await local.prepareSystem(target);
        await local.validate({ operation: 'Copy', sourceSystem: web3, sourcePath: '/mirror', targetPath: 'from-ssh' }, contextFor(target, [repo]));
        const result = await local.execute({ operation: 'Copy', sourceSystem: web3, sourcePath: '/mirror', targetPath: 'from-ssh' }, contextFor(target, [repo]));
        expect(result.output).to.include('"web3":/mirror');
        expect(await readFile(path.join(localRoot, 'from-ssh/sub/page.html'), 'utf8')).to.equal('<p>hello</p>');
        await expectDriverError(local.execute({ operation: 'Copy', sourceSystem: web3, sourcePath: 'nothing-here', targetPath: 'x' }, contextFor(target, [repo])), 'NotFound');
        expect(existsSync(path.join(localRoot, 'x'))).to.equal(false);
      } finally {
        await local.close();
      }
    });

    it('refuses a copy source that does not exist with NotFound', async () => {
      const error = await expectDriverError(run(web3, { operation: 'Copy', sourceSystem: web2, sourcePath: 'no/such', targetPath: 'x' }), 'NotFound');
      expect(error.message).to.include('"no/such"').and.to.include('"web2"');
    });

    it('refuses a path through a symbolic link with PathOutsideRoot', async () => {
      execFileSync('ln', ['-s', '/etc', path.join(hostB.home, 'web3', 'etc-link')]);
      const error = await expectDriverError(run(web3, { operation: 'Copy', sourcePath: 'index.json', targetPath: 'etc-link/passwd' }), 'PathOutsideRoot');
      expect(error.message).to.include('etc-link');
    });

    it('deletes a file, and refuses one that is not there', async () => {
      await run(web3, { operation: 'Delete', path: '/in/report.txt' });
      expect(existsSync(path.join(hostB.home, 'web3', 'in/report.txt'))).to.equal(false);
      await expectDriverError(run(web3, { operation: 'Delete', path: 'in/report.txt' }), 'NotFound');
    });
  });

  describe('facts', () => {
    it('reads CPUs, memory, disk, OS and kernel from the host', async () => {
      const system = await register('facts1', hostB);
      const facts = await driver.facts?.(system);
      expect(facts?.hardware.cpus).to.be.a('number').and.above(0);
      expect(facts?.hardware.memoryMb).to.be.a('number').and.above(0);
      expect(facts?.hardware.diskGb).to.be.a('number').and.above(0);
      expect(facts?.freeDiskMb).to.be.a('number');
      expect(facts?.kernel).to.match(/^Linux /);
      expect(facts?.os).to.be.a('string').and.not.equal('');
    });
  });

  describe('when the host misbehaves', () => {
    it('a full disk fails the Install with the cause and leaves no trace', async function () {
      if (process.getuid?.() !== 0) throw new Error('this test mounts a small tmpfs and must run as root (CI does)');
      const tiny = path.join(hostB.home, 'tiny');
      await mkdir(tiny, { recursive: true });
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0777', 'provisor-test', tiny]);
      try {
        const system = await register('tiny', hostB, { root: tiny });
        const error = await expectDriverError(run(system, software('Install', 'big')), 'Internal');
        expect(error.message).to.include('"tiny"').and.to.match(/Failure|No space|space/i);
        expect(existsSync(path.join(tiny, 'opt/big/1.0.0'))).to.equal(false);
      } finally {
        execFileSync('umount', ['-l', tiny]);
      }
    });

    it('a full disk fails a Copy naming the host and the cause, not retryably, and leaves no partial upload', async function () {
      if (process.getuid?.() !== 0) throw new Error('this test mounts a small tmpfs and must run as root (CI does)');
      const tiny = path.join(hostB.home, 'tiny-copy');
      await mkdir(tiny, { recursive: true });
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0777', 'provisor-test', tiny]);
      try {
        const system = await register('tiny-copy', hostB, { root: tiny });
        const error = await expectDriverError(run(system, { operation: 'Copy', sourcePath: 'big-1.0.0.tar.gz', targetPath: 'big.tar.gz' }), 'Internal');
        expect(error.retryable).to.equal(false);
        expect(error.message).to.include('"tiny-copy"').and.to.include(`${hostB.host}:${hostB.port}`).and.to.include('no space left');
        expect(existsSync(path.join(tiny, 'big.tar.gz'))).to.equal(false);
        expect(readdirSync(path.join(tiny, 'var/run')).filter((name) => name.startsWith('.copy-'))).to.deep.equal([]);
      } finally {
        execFileSync('umount', ['-l', tiny]);
      }
    });

    it('a changed host key refuses every task until an administrator accepts it', async () => {
      const system = await register('mitm', hostB);
      await hostB.kill(true);
      await hostB.replaceHostKey();
      await hostB.restart();
      const error = await expectDriverError(run(system, { operation: 'Delete', path: 'opt' }), 'InvalidState');
      expect(error.message).to.include('changed').and.to.include(system.options.hostKey ?? '-').and.to.include(hostB.fingerprint);
      const accepted = { ...system, options: (await driver.acceptHostKey?.(system)) ?? {} };
      expect(accepted.options.hostKey).to.equal(hostB.fingerprint);
      const result = await run(accepted, { operation: 'Delete', path: 'opt' });
      expect(result.output).to.include('deleted');
    });

    it('a host that is down fails the task naming the host and the cause, retryably', async () => {
      const system = await register('down', hostB);
      await hostB.kill(true);
      try {
        const error = await expectDriverError(run(system, software('Install', 'site', {}, '1.0.0')), 'Internal');
        expect(error.message).to.include(`${hostB.host}:${hostB.port}`).and.to.include('"down"');
        expect(error.retryable).to.equal(true);
      } finally {
        await hostB.restart();
      }
    });

    it('a connection dropped mid-install ends the task saying the outcome is unknown, and the next task reconnects', async () => {
      const system = await register('dropped', hostB);
      const root = path.join(hostB.home, 'dropped');
      const pending = run(system, software('Install', 'slow'));
      expect(await eventually(() => existsSync(path.join(root, 'slow.started')), 20_000)).to.equal(true);
      await hostB.kill(true);
      const error = await expectDriverError(pending, 'OutcomeUnknown');
      expect(error.message).to.include(`${hostB.host}:${hostB.port}`).and.to.include('dropped').and.to.include('outcome is unknown');
      await hostB.restart();
      const result = await run(system, { operation: 'Copy', sourcePath: 'index.json', targetPath: 'after.json' });
      expect(result.output).to.include('after.json');
      // The hook may outlive the connection on the host (the outcome is unknown, not undone): end it.
      const hook = Number(await readFile(path.join(root, 'slow.pid'), 'utf8'));
      const stat = await readFile(`/proc/${hook}/stat`, 'utf8').catch(() => '');
      const group = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (group > 1) killGroup(group);
    });

    it('a connection dropped mid-copy ends the Copy saying the outcome is unknown', async () => {
      const system = await register('dropped-copy', hostB);
      const localRoot = path.join(base, 'large-source');
      await mkdir(localRoot, { recursive: true });
      // Large enough to be under way for a while: sparse here, all of it sent.
      await writeFile(path.join(localRoot, 'large.bin'), '');
      await truncate(path.join(localRoot, 'large.bin'), 2 * 1024 ** 3);
      const uploads = path.join(hostB.home, 'dropped-copy', 'var/run');
      const pending = run(system, { operation: 'Copy', sourceSystem: { name: 'src', driver: 'local', options: { root: localRoot } }, sourcePath: 'large.bin', targetPath: 'large.bin' });
      expect(await eventually(() => readdirSync(uploads).some((name) => name.startsWith('.copy-')), 20_000)).to.equal(true);
      await hostB.kill(true);
      try {
        const error = await expectDriverError(pending, 'OutcomeUnknown');
        expect(error.message).to.include('"dropped-copy"').and.to.include(`${hostB.host}:${hostB.port}`).and.to.include('outcome is unknown');
        expect(existsSync(path.join(hostB.home, 'dropped-copy', 'large.bin'))).to.equal(false);
      } finally {
        await hostB.restart();
      }
    });
  });
});

/** Incompressible text of about `bytes` bytes. */
function randomText(bytes: number): string {
  let text = '';
  let seed = 12345;
  while (text.length < bytes) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    text += seed.toString(36);
  }
  return text;
}
