/**
 * A remote command and its cancellation, against a real sshd: an abort that
 * comes while the command's channel is still being opened cancels it too.
 */
import { readFile } from 'node:fs/promises';
import { expect } from 'chai';
import { DriverError } from '../../src/drivers/driver';
import { ConnectionPool } from '../../src/drivers/ssh/connection-pool';
import { runRemote } from '../../src/drivers/ssh/remote-command';
import { type SshTarget } from '../../src/drivers/ssh/ssh-target';
import { makeKey, type SshdHost, startSshd } from '../support/sshd';
import { makeTempDir, removeDir } from './fixtures';

describe('a remote command over ssh', function () {
  this.timeout(60_000);
  let base: string;
  let host: SshdHost;
  let pool: ConnectionPool;
  let target: SshTarget;

  before(async () => {
    base = await makeTempDir('ssh-remote-command');
    const key = await makeKey(base, 'id_ed25519', 'ed25519');
    host = await startSshd('127.0.0.3', [key.publicKey]);
    pool = new ConnectionPool({ connectTimeoutMs: 10_000, keepAliveMs: 0, keepAliveCountMax: 3, maxChannels: 4, idleMs: 60_000 });
    target = { system: 'cmd1', host: host.host, port: host.port, user: host.user, root: host.home, hostKey: host.fingerprint, privateKey: await readFile(key.privateFile, 'utf8'), poolKey: 'cmd1' };
  });

  after(async () => {
    await pool?.close();
    await host?.stop();
    await removeDir(base);
  });

  it('runs a command and gives its output and exit status', async () => {
    const connection = await pool.get(target);
    const result = await runRemote(connection, { cwd: '/', argv: ['sh', '-c', 'echo hello; exit 3'], what: 'a greeting', timeoutMs: 10_000, outputLimit: 4096 });
    expect(result.output).to.match(/^hello\n/);
    expect(result.code).to.equal(3);
  });

  it('is cancelled by an abort that comes while its channel is being opened', async () => {
    const connection = await pool.get(target);
    const controller = new AbortController();
    // The abort lands after the call's own check and before the command runs.
    const running = runRemote(connection, { cwd: '/', argv: ['sleep', '20'], what: 'a long wait', timeoutMs: 60_000, outputLimit: 4096, signal: controller.signal });
    controller.abort();
    const outcome = await running.then(
      (result) => result,
      (error: unknown) => error,
    );
    expect(outcome).to.be.instanceOf(DriverError);
    expect((outcome as DriverError).type).to.equal('Cancelled');
    expect((outcome as DriverError).message).to.equal('a long wait was cancelled');
  });

  it('refuses at once when the signal is already aborted, opening no channel', async () => {
    const connection = await pool.get(target);
    const controller = new AbortController();
    controller.abort();
    const outcome = await runRemote(connection, { cwd: '/', argv: ['true'], what: 'nothing', timeoutMs: 10_000, outputLimit: 4096, signal: controller.signal }).catch((error: unknown) => error);
    expect(outcome).to.be.instanceOf(DriverError);
    expect((outcome as DriverError).type).to.equal('Cancelled');
  });
});
