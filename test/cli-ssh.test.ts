/**
 * `provisor system add --driver ssh`, `system accept-host-key`,
 * `system facts` and `system set` (the connection) against real sshd
 * servers started by the test.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { ManagedSystem } from '../entities';
import { loadConfig } from '../src/config';
import { openDatabase } from '../src/db/data-source';
import { type CliResult, runCliInProcess, spawnCli } from './support/cli';
import { freshEnvironment } from './support/harness';
import { type KeyPair, type SshdHost, makeKey, startSshd } from './support/sshd';

/** `text` as a literal part of a regular expression. */
function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('provisor system add --driver ssh', function () {
  this.timeout(120_000);
  let environment: Awaited<ReturnType<typeof freshEnvironment>>;
  let host: SshdHost;
  let other: SshdHost;
  let key: KeyPair;
  let second: KeyPair;
  let locked: KeyPair;
  const run = (args: string[], input = ''): Promise<CliResult> => runCliInProcess(args, environment.env, input);
  const systemRow = async (name: string): Promise<ManagedSystem> => {
    const dataSource = await openDatabase(loadConfig(environment.env));
    try {
      return await dataSource.getRepository(ManagedSystem).findOneByOrFail({ name });
    } finally {
      await dataSource.destroy();
    }
  };
  const optionsOf = async (name: string): Promise<Record<string, string>> => JSON.parse((await systemRow(name)).options) as Record<string, string>;
  const add = async (name: string, ...more: string[]): ReturnType<typeof run> =>
    await run(['system', 'add', name, '--driver', 'ssh', '--host', host.host, '--port', String(host.port), '--user', host.user, '--key', key.privateFile, '--root', path.join(host.home, name), ...more]);

  before(async () => {
    environment = await freshEnvironment({ PROVISOR_SECRET_KEY: '22'.repeat(32) });
    key = await makeKey(environment.dataDir, 'id_ed25519', 'ed25519');
    second = await makeKey(environment.dataDir, 'id_second', 'ed25519');
    locked = await makeKey(environment.dataDir, 'id_locked', 'ed25519', 'seven secret words');
    host = await startSshd('127.0.0.5', [key.publicKey, second.publicKey, locked.publicKey]);
    other = await startSshd('127.0.0.10', [key.publicKey, second.publicKey, locked.publicKey]);
  });
  after(async () => {
    await host?.stop();
    await other?.stop();
    await environment?.cleanup();
  });

  it('registers the system, pins the host key and keeps the key sealed', async () => {
    const added = await add('web7');
    expect(added.code, added.err).to.equal(0);
    expect(added.out).to.include(`host key ${host.fingerprint} pinned`).and.to.include(`${host.user}@${host.host}:${host.port}`);
    const listed = await run(['system', 'list']);
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

  it('reads the host facts on demand and stores them on the system, where system list shows them', async () => {
    const before = await systemRow('web7');
    expect(before.kernel).to.match(/^Linux /);
    expect(before.os).to.be.a('string').and.not.equal('');
    expect(before.freeDiskMb).to.be.a('number');
    expect(before.factsReadAt).to.be.instanceOf(Date);
    const facts = await run(['system', 'facts', 'web7']);
    expect(facts.code, facts.err).to.equal(0);
    expect(facts.out).to.match(/^cpus: \d+$/m).and.to.match(/^kernel: Linux /m).and.to.match(/^memory: \d+ MB$/m);
    const after = await systemRow('web7');
    expect(after.factsReadAt?.getTime()).to.be.at.least(before.factsReadAt?.getTime() ?? Infinity);
    const listed = await run(['system', 'list']);
    expect(listed.out).to.match(new RegExp(`^web7\tssh\t.*\tcpus=\\d+ memory=\\d+MB disk=\\d+GB free=\\d+MB\tos=${escape(after.os ?? '')}\tkernel=Linux [^\t]+\tfactsRead=${escape(after.factsReadAt?.toISOString() ?? '')}$`, 'm'));
  });

  it('refuses a host key fingerprint the host does not offer, with exit code 2 and both keys named', async () => {
    const refused = await add('web8', '--host-key', `SHA256:${'A'.repeat(43)}`);
    expect(refused.code).to.equal(2);
    expect(refused.err).to.include(host.fingerprint).and.to.include(`SHA256:${'A'.repeat(43)}`);
  });

  it('refuses ssh options on another driver, and an unreachable host naming it', async () => {
    const wrong = await run(['system', 'add', 'loc9', '--driver', 'local', '--host', 'x']);
    expect(wrong.code).to.equal(2);
    expect(wrong.err).to.include('ssh driver');
    const down = await run(['system', 'add', 'gone', '--driver', 'ssh', '--host', '127.0.0.5', '--port', '1', '--user', host.user, '--key', key.privateFile]);
    expect(down.code).to.equal(2);
    expect(down.err).to.include('127.0.0.5:1');
  });

  it('accepts a new host key after the host changed it', async () => {
    await host.kill(true);
    await host.replaceHostKey();
    await host.restart();
    const accepted = await run(['system', 'accept-host-key', 'web7', '--host-key', host.fingerprint]);
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

  describe('system set: the connection', () => {
    it('changes the key and the root after trying them, and the system works with them', async () => {
      const before = await optionsOf('web7');
      const root = path.join(host.home, 'web7-moved');
      const set = await run(['system', 'set', 'web7', '--key', second.privateFile, '--root', root]);
      expect(set.code, set.err).to.equal(0);
      expect(set.out).to.include('keyFile (sealed)').and.to.include(`root ${root}`);
      const after = await optionsOf('web7');
      expect(after.keySealed).to.be.a('string').and.not.equal(before.keySealed);
      expect(after.root).to.equal(root);
      expect(after.hostKey).to.equal(before.hostKey);
      expect(existsSync(path.join(root, 'opt'))).to.equal(true);
      expect((await run(['system', 'facts', 'web7'])).code).to.equal(0);
    });

    it('takes a passphrase-protected key with its passphrase from standard input (the real command), and refuses a wrong one without showing it', async () => {
      const before = await optionsOf('web7');
      const wrong = await run(['system', 'set', 'web7', '--key', locked.privateFile, '--passphrase-stdin'], 'not the words\n');
      expect(wrong.code).to.equal(2);
      expect(wrong.err).to.include(locked.privateFile).and.not.to.include('not the words');
      expect(await optionsOf('web7')).to.deep.equal(before);
      const set = spawnCli(['system', 'set', 'web7', '--key', locked.privateFile, '--passphrase-stdin'], environment.env, 'seven secret words\n');
      expect(set.code, set.err).to.equal(0);
      const after = await optionsOf('web7');
      expect(after.passphraseSealed).to.be.a('string');
      expect(JSON.stringify(after)).not.to.include('seven secret');
      expect((await run(['system', 'facts', 'web7'])).code).to.equal(0);
    });

    it('refuses a user the host does not let in, naming the host and the user, and changes nothing', async () => {
      const before = await optionsOf('web7');
      const refused = await run(['system', 'set', 'web7', '--user', 'nobody-here']);
      expect(refused.code).to.equal(2);
      expect(refused.err).to.include(`${host.host}:${host.port}`).and.to.include('"nobody-here"');
      expect(await optionsOf('web7')).to.deep.equal(before);
    });

    it('refuses bad values by name, a system whose driver has no connection, and an unknown system', async () => {
      for (const [args, named] of [
        [['--host', 'bad host;rm'], '"host"'],
        [['--port', '70000'], '"port"'],
        [['--root', 'relative/dir'], '"root"'],
        [['--key', '/nonexistent/key'], '/nonexistent/key'],
      ] as const) {
        const refused = await run(['system', 'set', 'web7', ...args]);
        expect(refused.code, args.join(' ')).to.equal(2);
        expect(refused.err).to.include(named);
      }
      expect((await run(['system', 'add', 'plain', '--driver', 'simulated'])).code).to.equal(0);
      const simulated = await run(['system', 'set', 'plain', '--host', 'h']);
      expect(simulated.code).to.equal(2);
      expect(simulated.err).to.include('"simulated"').and.to.include('cannot be changed');
      const unknown = await run(['system', 'set', 'nowhere', '--host', 'h']);
      expect(unknown.code).to.equal(2);
      expect(unknown.err).to.include('"nowhere" is not registered');
    });

    it('a new host pins nothing: tasks are refused until its key is accepted', async () => {
      const before = await optionsOf('web7');
      const moved = await run(['system', 'set', 'web7', '--host', other.host, '--port', String(other.port)]);
      expect(moved.code, moved.err).to.equal(0);
      expect(moved.out).to.include('accept-host-key');
      const after = await optionsOf('web7');
      expect(after.hostKey).to.equal(before.hostKey);
      expect(after.hostKeyFor).to.equal(`${host.host}:${host.port}`);
      const refused = await run(['system', 'facts', 'web7']);
      expect(refused.code).to.equal(2);
      expect(refused.err).to.include(`${other.host}:${other.port}`).and.to.include('accept-host-key');
      const accepted = await run(['system', 'accept-host-key', 'web7']);
      expect(accepted.code, accepted.err).to.equal(0);
      expect(accepted.out).to.include(other.fingerprint);
      const pinned = await optionsOf('web7');
      expect(pinned.hostKey).to.equal(other.fingerprint);
      expect(pinned.hostKeyFor).to.equal(undefined);
      const facts = await run(['system', 'facts', 'web7']);
      expect(facts.code, facts.err).to.equal(0);
    });
  });
});
