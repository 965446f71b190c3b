/**
 * Real OpenSSH servers for the tests: each `startSshd` runs its own `sshd`
 * (as the current user, with its own host key and authorized keys, no PAM,
 * `StrictModes no`) on a loopback address and a free port, acting as one
 * remote host. A test that cannot start one fails with sshd's own reason.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SecretBox } from '../../src/auth/secret-box';
import { fingerprintOf } from '../../src/drivers/ssh';

const SSHD_CANDIDATES = ['/usr/sbin/sshd', '/usr/local/sbin/sshd', '/sbin/sshd'];

/** A secret box with a fixed key, as the server would have. */
export function testSecrets(): SecretBox {
  return SecretBox.load('11'.repeat(32), '/nonexistent/secret.key');
}

/** A key pair made with ssh-keygen. */
export interface KeyPair {
  readonly privateFile: string;
  readonly publicKey: string;
}

/** Makes a key pair (`ed25519` or `rsa`), optionally protected by a passphrase. */
export async function makeKey(dir: string, name: string, type: 'ed25519' | 'rsa', passphrase = ''): Promise<KeyPair> {
  const file = path.join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '2048'] : []), '-N', passphrase, '-C', name, '-f', file]);
  return { privateFile: file, publicKey: (await readFile(`${file}.pub`, 'utf8')).trim() };
}

export interface SshdHost {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** The host key's fingerprint as the driver pins it. */
  readonly fingerprint: string;
  /** A directory on the "host" for systems' roots (the same machine, as the user). */
  readonly home: string;
  readonly pid: number;
  /** Kills the server (SIGKILL); existing sessions die with it when `sessions` is true. */
  kill(sessions?: boolean): Promise<void>;
  /** Starts it again on the same address, port and host key. */
  restart(): Promise<void>;
  /** Replaces the host key (a man in the middle, or a reinstalled host); takes effect on restart. */
  replaceHostKey(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The account the test hosts log in as. Run as root (CI), a dedicated
 * system account with /bin/sh as its shell, made once: root's own login
 * shell may read start-up files that take seconds on every command, which
 * is the machine's business, not what the tests measure. Otherwise the
 * current user.
 */
const TEST_ACCOUNT = 'provisor-ssh-test';

function remoteAccount(): { name: string; uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return { name: os.userInfo().username };
  const lookup = (): string | undefined => {
    try {
      return execFileSync('getent', ['passwd', TEST_ACCOUNT], { encoding: 'utf8' });
    } catch {
      return undefined;
    }
  };
  let entry = lookup();
  if (entry === undefined) {
    // Password '*' (no password, yet not locked: sshd without PAM refuses locked accounts even a key).
    try {
      execFileSync('useradd', ['--system', '--create-home', '--home-dir', `/var/lib/${TEST_ACCOUNT}`, '--shell', '/bin/sh', '--password', '*', TEST_ACCOUNT], { stdio: 'pipe' });
    } catch (err) {
      // Another test process may have made it at the same moment: the lookup below decides.
      if (lookup() === undefined) throw err;
    }
    entry = lookup();
  }
  const [, , uid, gid] = (entry ?? '').split(':');
  if (uid === undefined || gid === undefined) throw new Error(`the test account ${TEST_ACCOUNT} could not be made`);
  return { name: TEST_ACCOUNT, uid: Number(uid), gid: Number(gid) };
}

function sshdBinary(): string {
  const found = SSHD_CANDIDATES.find((candidate) => existsSync(candidate));
  if (found === undefined) throw new Error(`no sshd in ${SSHD_CANDIDATES.join(', ')}: install openssh-server (.ci/run does)`);
  return found;
}

async function freePortOn(host: string): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * The processes below `ancestor` (from /proc): a connection's monitor and
 * its unprivileged child, which holds the socket, and what they run.
 */
async function descendantsOf(ancestor: number): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    parents.set(Number(entry), Number(fields[1]));
  }
  const found: number[] = [];
  const below = new Set([ancestor]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, parent] of parents) {
      if (below.has(parent) && !below.has(pid)) {
        below.add(pid);
        found.push(pid);
        grew = true;
      }
    }
  }
  return found;
}

function publicKeyFingerprint(publicKey: string): string {
  const blob = publicKey.split(/\s+/)[1] ?? '';
  return fingerprintOf(Buffer.from(blob, 'base64'));
}

/**
 * Starts an sshd on `host` (a loopback address) that accepts the given
 * public keys for the current user.
 */
export async function startSshd(host: string, authorizedKeys: readonly string[], options: { extraConfig?: string[] } = {}): Promise<SshdHost> {
  const binary = sshdBinary();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'provisor-sshd-'));
  const home = path.join(dir, 'home');
  await mkdir(home);
  const account = remoteAccount();
  const user = account.name;
  if (account.uid !== undefined && account.gid !== undefined) {
    await chmod(dir, 0o755);
    await chown(home, account.uid, account.gid);
  }
  const hostKey = path.join(dir, 'host_ed25519');
  const makeHostKey = async (): Promise<string> => {
    await rm(hostKey, { force: true });
    await rm(`${hostKey}.pub`, { force: true });
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
    return publicKeyFingerprint(await readFile(`${hostKey}.pub`, 'utf8'));
  };
  let fingerprint = await makeHostKey();
  await writeFile(path.join(dir, 'authorized_keys'), `${authorizedKeys.join('\n')}\n`, { mode: 0o644 });
  const port = await freePortOn(host);
  const config = [
    `ListenAddress ${host}:${port}`,
    `HostKey ${hostKey}`,
    `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
    `PidFile ${path.join(dir, 'sshd.pid')}`,
    'StrictModes no',
    'UsePAM no',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin yes',
    'Subsystem sftp internal-sftp',
    'LogLevel ERROR',
    'MaxStartups 100',
    'MaxSessions 20',
    ...(options.extraConfig ?? []),
  ];
  await writeFile(path.join(dir, 'sshd_config'), `${config.join('\n')}\n`);
  // sshd wants its privilege-separation directory even when it runs unprivileged.
  if (process.getuid?.() === 0) await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  let child: ChildProcess | undefined;
  const launch = async (): Promise<void> => {
    let stderr = '';
    const started = spawn(binary, ['-D', '-e', '-f', path.join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    started.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    child = started;
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (started.exitCode !== null || started.signalCode !== null) throw new Error(`sshd on ${host}:${port} did not start: ${stderr.trim() || `exit ${started.exitCode}`}`);
      const up = await new Promise<boolean>((resolve) => {
        const socket = net.connect(port, host);
        socket.once('data', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      });
      if (up) return;
      if (Date.now() > deadline) throw new Error(`sshd on ${host}:${port} did not answer within 15 s: ${stderr.trim()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  await launch();
  const killServer = async (sessions: boolean): Promise<void> => {
    const current = child;
    if (current === undefined || current.exitCode !== null || current.signalCode !== null) return;
    // Each connection is served by a child of the listener: those end the sessions (by pid, found before the listener dies).
    const sessionPids = sessions && current.pid !== undefined ? await descendantsOf(current.pid) : [];
    const exited = new Promise((resolve) => current.once('exit', resolve));
    current.kill('SIGKILL');
    await exited;
    for (const pid of sessionPids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  };
  return {
    host,
    port,
    user,
    get fingerprint() {
      return fingerprint;
    },
    home,
    get pid() {
      return child?.pid ?? 0;
    },
    kill: (sessions = false) => killServer(sessions),
    restart: launch,
    replaceHostKey: async () => {
      fingerprint = await makeHostKey();
    },
    stop: async () => {
      await killServer(true);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
