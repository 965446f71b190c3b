/**
 * `provisor system add --driver ssh`, `system accept-host-key` and
 * `system facts` against a real sshd started by the test.
 */
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { ManagedSystem } from '../entities';
import { loadConfig } from '../src/config';
import { openDatabase } from '../src/db/data-source';
import { freshEnvironment } from './support/harness';
import { type KeyPair, type SshdHost, makeKey, startSshd } from './support/sshd';

const bin = path.join(__dirname, '..', '..', 'scripts', 'provisor.js');

describe('provisor system add --driver ssh', function () {
  this.timeout(120_000);
  let environment: Awaited<ReturnType<typeof freshEnvironment>>;
  let host: SshdHost;
  let key: KeyPair;
  const run = (args: string[], input = ''): { code: number | null; out: string; err: string } => {
    const r = spawnSync(process.execPath, [bin, ...args], { env: { ...process.env, ...environment.env }, encoding: 'utf8', input });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  const add = (name: string, ...more: string[]): ReturnType<typeof run> =>
    run(['system', 'add', name, '--driver', 'ssh', '--host', host.host, '--port', String(host.port), '--user', host.user, '--key', key.privateFile, '--root', path.join(host.home, name), ...more]);

  before(async () => {
    environment = await freshEnvironment({ PROVISOR_SECRET_KEY: '22'.repeat(32) });
    key = await makeKey(environment.dataDir, 'id_ed25519', 'ed25519');
    host = await startSshd('127.0.0.5', [key.publicKey]);
  });
  after(async () => {
    await host?.stop();
    await environment?.cleanup();
  });

  it('registers the system, pins the host key and keeps the key sealed', async () => {
    const added = add('web7');
    expect(added.code, added.err).to.equal(0);
    expect(added.out).to.include(`host key ${host.fingerprint} pinned`).and.to.include(`${host.user}@${host.host}:${host.port}`);
    const listed = run(['system', 'list']);
    expect(listed.out).to.match(/^web7\tssh\t.*keySealed=\(sealed\)/m);
    const privateKey = await readFile(key.privateFile, 'utf8');
    const dataSource = await openDatabase(loadConfig(environment.env));
    try {
      const row = await dataSource.getRepository(ManagedSystem).findOneByOrFail({ name: 'web7' });
      expect(row.options).not.to.include(privateKey.split('\n')[1] ?? 'x');
      expect(row.cpus).to.be.a('number').and.above(0);
    } finally {
      await dataSource.destroy();
    }
  });

  it('reads the host facts on demand', () => {
    const facts = run(['system', 'facts', 'web7']);
    expect(facts.code, facts.err).to.equal(0);
    expect(facts.out).to.match(/^cpus: \d+$/m).and.to.match(/^kernel: Linux /m).and.to.match(/^memory: \d+ MB$/m);
  });

  it('refuses a host key fingerprint the host does not offer, with exit code 2 and both keys named', () => {
    const refused = add('web8', '--host-key', `SHA256:${'A'.repeat(43)}`);
    expect(refused.code).to.equal(2);
    expect(refused.err).to.include(host.fingerprint).and.to.include(`SHA256:${'A'.repeat(43)}`);
  });

  it('refuses ssh options on another driver, and an unreachable host naming it', () => {
    const wrong = run(['system', 'add', 'loc9', '--driver', 'local', '--host', 'x']);
    expect(wrong.code).to.equal(2);
    expect(wrong.err).to.include('ssh driver');
    const down = run(['system', 'add', 'gone', '--driver', 'ssh', '--host', '127.0.0.5', '--port', '1', '--user', host.user, '--key', key.privateFile]);
    expect(down.code).to.equal(2);
    expect(down.err).to.include('127.0.0.5:1');
  });

  it('accepts a new host key after the host changed it', async () => {
    await host.kill(true);
    await host.replaceHostKey();
    await host.restart();
    const accepted = run(['system', 'accept-host-key', 'web7', '--host-key', host.fingerprint]);
    expect(accepted.code, accepted.err).to.equal(0);
    expect(accepted.out).to.include(host.fingerprint);
    const dataSource = await openDatabase(loadConfig(environment.env));
    try {
      const row = await dataSource.getRepository(ManagedSystem).findOneByOrFail({ name: 'web7' });
      expect((JSON.parse(row.options) as Record<string, string>).hostKey).to.equal(host.fingerprint);
    } finally {
      await dataSource.destroy();
    }
  });
});
