/**
 * The `ssh` driver: the `local` driver's operations and semantics on
 * another machine, over SSH (ssh2; no `ssh` program is run). A system is a
 * directory on a remote host (its root, by default the login user's home)
 * with the same layout as a local system's root (see
 * `local/local-driver.ts`); tasks reach it over one pooled connection per
 * system (see connection-pool.ts).
 *
 * Registration (`completeOptions`) checks the key, seals the secrets with
 * the server's secret box, connects once and pins the host key (the one
 * offered, or the fingerprint the operator gave, which must then match);
 * from then on a host presenting another key is refused on every task
 * until an administrator accepts the new one (`acceptHostKey`). A change of
 * the connection (`changeOptions`) is checked and sealed the same way and
 * pins nothing: a system moved to another host or port is refused until
 * that host's key is accepted.
 *
 * The software operations are the `local` driver's steps
 * (../software-tasks.ts) over this driver's system port (ssh-system.ts).
 *
 * No sudo: every command runs as the configured user, so the root must be
 * writable by it and started processes run as it.
 */
import { readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { utils } from 'ssh2';
import { throwIfCancelled } from '../cancellation';
import { type Driver, DriverError, type HostFacts, type SystemDescriptor, type Task, type TaskContext, type TaskResult, type ValidatedTask } from '../driver';
import { checkSoftwareTask, describe } from '../local/local-driver';
import { PackageRepositories } from '../local/package-repositories';
import { rootLabel } from '../local/system-layout';
import { toJailedRelativePath } from '../path-jail';
import { ConnectionPool, type PoolSettings, connect } from './connection-pool';
import { REMOTE_PATH, mustRun } from './remote-command';
import { RemoteFiles } from './remote-files';
import { type RemoteTreeReader, executeSshCopy, executeSshDelete, remotePath, remoteTar } from './ssh-file-tasks';
import { checkDeclaredParameters, executeSoftwareTask, installedManifest, type SoftwareSettings } from '../software-tasks';
import { sshSystem } from './ssh-system';
import { type SecretOpener, type SshTarget, checkFingerprint, checkRoot, hostLabel, plainOptions, targetOf } from './ssh-target';

export const SSH_DRIVER_NAME = 'ssh';

export interface SshDriverOptions {
  /** Seals and opens the systems' keys and passwords (the server's secret box). */
  readonly secrets: SecretOpener;
  /** Where archives from http(s) repositories are cached before they are sent. */
  readonly cacheDir?: string;
  /** Longest run of one hook. Default 5 minutes. */
  readonly hookTimeoutMs?: number;
  /** Longest wait for a connection (TCP, key exchange, log-in). Default 10 s. */
  readonly connectTimeoutMs?: number;
  /** Keep-alive interval; default 15 s (three unanswered ones drop the connection). */
  readonly keepAliveMs?: number;
  /** Channels open at once per system. Default 8 (OpenSSH allows 10 per connection). */
  readonly maxChannels?: number;
  /** An unused connection is closed after this long. Default 5 minutes. */
  readonly idleMs?: number;
  /** How long a started process must stay up for Start to succeed. Default 300 ms. */
  readonly startupGraceMs?: number;
  /** How long Stop waits after SIGTERM before SIGKILL. Default 5 s. */
  readonly stopTimeoutMs?: number;
  /** The base environment of hooks on the host. Default a standard PATH and LANG=C.UTF-8. */
  readonly env?: Readonly<Record<string, string>>;
}

/** The `ssh` driver, with what the benchmarks and the CLI read besides the Driver interface. */
export interface SshDriver extends Driver {
  /** Connections opened since the driver was created. */
  readonly connectionsOpened: number;
  /** Streams a tar of one path of an ssh system (the Copy source of another driver); see {@link RemoteTreeReader}. */
  readonly readTree: RemoteTreeReader;
}

/** Options an operator gives at registration; the stored ones are described in ssh-target.ts. */
const REGISTRATION_OPTIONS = new Set(['host', 'port', 'user', 'root', 'hostKey', 'keyFile', 'passphrase', 'password']);
/** Options an operator may change later (the host key only through acceptHostKey). */
const CHANGEABLE_OPTIONS = new Set(['host', 'port', 'user', 'root', 'keyFile', 'passphrase', 'password']);
const MAX_KEY_BYTES = 64 * 1024;

type ValidationContext = Omit<TaskContext, 'signal' | 'requestId' | 'component'>;

/**
 * Creates the ssh driver.
 * @throws RangeError when an option is out of range.
 */
export function createSshDriver(options: SshDriverOptions): SshDriver {
  const pool: PoolSettings = {
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    keepAliveMs: options.keepAliveMs ?? 15_000,
    keepAliveCountMax: 3,
    maxChannels: options.maxChannels ?? 8,
    idleMs: options.idleMs ?? 5 * 60_000,
  };
  const settings: SoftwareSettings = {
    hookTimeoutMs: options.hookTimeoutMs ?? 5 * 60_000,
    startupGraceMs: options.startupGraceMs ?? 300,
    stopTimeoutMs: options.stopTimeoutMs ?? 5_000,
    outputLimitBytes: 64 * 1024,
    env: Object.freeze({ ...(options.env ?? { PATH: REMOTE_PATH, LANG: 'C.UTF-8' }) }),
  };
  for (const [name, value] of Object.entries({ ...pool, ...settings, env: 0 })) {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`ssh driver option ${name} must be a non-negative number, got ${value}`);
  }
  if (pool.maxChannels < 2 || pool.maxChannels > 64) throw new RangeError(`ssh driver option maxChannels must be 2-64, got ${pool.maxChannels}`);
  const connections = new ConnectionPool(pool);
  const repositories = new PackageRepositories({
    cacheDir: options.cacheDir ?? path.join(os.tmpdir(), `provisor-cache-${process.getuid?.() ?? 'user'}`),
    indexTtlMs: 10_000,
    fetchTimeoutMs: 60_000,
    now: Date.now,
  });
  const { secrets } = options;

  async function filesOf(system: SystemDescriptor): Promise<RemoteFiles> {
    const target = targetOf(system, secrets);
    const connection = await connections.get(target);
    return new RemoteFiles(connection, target.root, JSON.stringify(system.name));
  }

  async function validate(task: Task, ctx: ValidationContext): Promise<ValidatedTask | void> {
    targetOf(ctx.system, secrets);
    switch (task.operation) {
      case 'Copy':
        toJailedRelativePath(task.targetPath, rootLabel(ctx.system));
        if (task.sourceSystem === undefined) toJailedRelativePath(task.sourcePath, 'the package repository');
        else if (task.sourceSystem.driver !== 'local' && task.sourceSystem.driver !== SSH_DRIVER_NAME) {
          throw new DriverError('InvalidParameter', `source system "${task.sourceSystem.name}" uses driver "${task.sourceSystem.driver}"; the ssh driver copies from the package repositories, local and ssh systems`);
        } else toJailedRelativePath(task.sourcePath, rootLabel(task.sourceSystem));
        return;
      case 'Delete':
        toJailedRelativePath(task.path, rootLabel(ctx.system));
        return;
      default:
        checkSoftwareTask(task);
        if (task.operation === 'Install' || task.operation === 'Update') {
          const { manifest } = await repositories.resolve(ctx.repositories, task.component, task.version);
          checkDeclaredParameters(manifest, task);
          return { version: manifest.version };
        }
        if (task.operation === 'InitialConfigure' || task.operation === 'Configure') {
          // The installed version's declarations, read from the host; a host that cannot be reached now is the task's to report.
          const installed = await installedManifest(() => filesOf(ctx.system), task.component);
          if (installed !== undefined) checkDeclaredParameters(installed, task);
        }
    }
  }

  async function execute(task: Task, ctx: TaskContext): Promise<TaskResult> {
    try {
      throwIfCancelled(ctx.signal, describe(task, ctx.system));
      const files = await filesOf(ctx.system);
      switch (task.operation) {
        case 'Copy':
          return await executeSshCopy(task, ctx, files, repositories, filesOf, settings.outputLimitBytes);
        case 'Delete':
          return await executeSshDelete(task, ctx, files);
        default:
          checkSoftwareTask(task);
          return await executeSoftwareTask(task, ctx, sshSystem(files, settings), { repositories, settings });
      }
    } catch (error) {
      throw asDriverError(error, `${describe(task, ctx.system)} failed`, ctx.system);
    }
  }

  /**
   * Completes the options of a system being registered: checks them, reads
   * and seals the key, connects and pins the host key, and finds the root.
   */
  async function completeOptions(name: string, given: Readonly<Record<string, string>>): Promise<Record<string, string>> {
    const unknown = Object.keys(given).filter((key) => !REGISTRATION_OPTIONS.has(key));
    if (unknown.length > 0) {
      throw new DriverError('InvalidParameter', `system "${name}" (driver ssh): unknown option ${unknown.join(', ')}; known: ${[...REGISTRATION_OPTIONS].join(', ')}`);
    }
    const plain = plainOptions({ name, driver: SSH_DRIVER_NAME, options: given });
    let privateKey: string | undefined;
    if (given.keyFile !== undefined) {
      privateKey = await readKeyFile(name, given.keyFile, given.passphrase);
    } else if (given.passphrase !== undefined) {
      throw new DriverError('InvalidParameter', `system "${name}": a passphrase was given without a key file`);
    }
    if (privateKey === undefined && given.password === undefined) {
      throw new DriverError('InvalidParameter', `system "${name}" (driver ssh) needs a key file (--key) or a password`);
    }
    const wanted = given.hostKey === undefined ? undefined : checkFingerprint(name, given.hostKey);
    const draft: SshTarget = {
      system: name,
      ...plain,
      root: '/',
      hostKey: wanted ?? '',
      privateKey,
      passphrase: given.passphrase,
      password: given.password,
      poolKey: '',
    };
    let offered: string | undefined;
    const client = await connect(draft, pool, (fingerprint) => {
      offered = fingerprint;
      return wanted === undefined || wanted === fingerprint;
    }).catch((error: unknown) => {
      if (wanted !== undefined && offered !== undefined && offered !== wanted) {
        throw new DriverError('InvalidState', `system "${name}": ${hostLabel(plain)} offered host key ${offered}, not the ${wanted} given`);
      }
      throw error;
    });
    let root: string;
    try {
      root =
        given.root === undefined
          ? await new Promise<string>((resolve, reject) =>
              client.sftp((error, sftp) => (error ? reject(error) : sftp.realpath('.', (e, home) => (e ? reject(e) : resolve(home))))),
            )
          : checkRoot(name, given.root);
    } finally {
      client.end();
    }
    const stored: Record<string, string> = { host: plain.host, port: String(plain.port), user: plain.user, root, hostKey: offered ?? '' };
    if (privateKey !== undefined) stored.keySealed = secrets.encrypt(privateKey);
    if (given.passphrase !== undefined) stored.passphraseSealed = secrets.encrypt(given.passphrase);
    if (given.password !== undefined) stored.passwordSealed = secrets.encrypt(given.password);
    return stored;
  }

  /**
   * Applies a change of connection options: checked, the key read and
   * sealed. A new host or port keeps the pinned key, recorded as pinned for
   * the old address (`hostKeyFor`): every task is refused until the new
   * host's key is accepted.
   */
  async function changeOptions(system: SystemDescriptor, change: Readonly<Record<string, string>>): Promise<Record<string, string>> {
    const { name } = system;
    const unknown = Object.keys(change).filter((key) => !CHANGEABLE_OPTIONS.has(key));
    if (unknown.length > 0) {
      const hint = unknown.includes('hostKey') ? ' (a host key is pinned with provisor system accept-host-key)' : '';
      throw new DriverError('InvalidParameter', `system "${name}" (driver ssh): option ${unknown.join(', ')} cannot be changed${hint}; changeable: ${[...CHANGEABLE_OPTIONS].join(', ')}`);
    }
    const before = plainOptions(system);
    const next: Record<string, string> = { ...system.options };
    for (const key of ['host', 'port', 'user'] as const) if (change[key] !== undefined) next[key] = change[key];
    const after = plainOptions({ ...system, options: next });
    next.port = String(after.port);
    if (change.root !== undefined) next.root = checkRoot(name, change.root);
    if (change.keyFile !== undefined) {
      next.keySealed = secrets.encrypt(await readKeyFile(name, change.keyFile, change.passphrase));
      // A passphrase belongs to its key.
      if (change.passphrase === undefined) delete next.passphraseSealed;
    } else if (change.passphrase !== undefined) {
      const sealed = system.options.keySealed;
      const key = sealed === undefined ? undefined : secrets.decrypt(sealed);
      if (key === undefined) throw new DriverError('InvalidParameter', `system "${name}": a passphrase was given, but the system has no key this server can open; give the key file too`);
      const parsed = utils.parseKey(key, change.passphrase);
      if (parsed instanceof Error) throw new DriverError('InvalidParameter', `system "${name}": the passphrase does not open its key: ${parsed.message}`);
    }
    if (change.passphrase !== undefined) next.passphraseSealed = secrets.encrypt(change.passphrase);
    if (change.password !== undefined) next.passwordSealed = secrets.encrypt(change.password);
    if (after.host !== before.host || after.port !== before.port) next.hostKeyFor ??= hostLabel(before);
    // Moved back to where the key was pinned: nothing to accept.
    if (next.hostKeyFor === hostLabel(after)) delete next.hostKeyFor;
    return next;
  }

  return {
    name: SSH_DRIVER_NAME,
    get connectionsOpened() {
      return connections.connectionsOpened;
    },
    validate: async (task, ctx) => {
      try {
        return await validate(task, ctx);
      } catch (error) {
        throw asDriverError(error, `validating ${describe(task, ctx.system)} failed`);
      }
    },
    execute,
    completeOptions,
    changeOptions: async (system, change) => {
      try {
        return await changeOptions(system, change);
      } catch (error) {
        throw asDriverError(error, `changing system "${system.name}" failed`);
      }
    },
    prepareSystem: async (system) => {
      try {
        const files = await filesOf(system);
        await mustRun(files.connection, {
          cwd: '/',
          argv: ['mkdir', '-p', '--', ...['', 'opt', 'etc', 'var/log', 'var/run'].map((dir) => path.posix.join(files.root, dir))],
          what: `creating the root ${files.root}`,
        });
      } catch (error) {
        throw asDriverError(error, `preparing system "${system.name}" failed`);
      }
    },
    gatherHardware: async (system) => (await gatherFacts(await filesOf(system))).hardware,
    acceptHostKey: async (system, fingerprint) => {
      // The key is accepted for the host the system names now.
      const options: Record<string, string> = { ...system.options };
      delete options.hostKeyFor;
      const target = targetOf({ ...system, options: { ...options, hostKey: fingerprint ?? 'SHA256:' + 'A'.repeat(43) } }, secrets);
      let offered: string | undefined;
      const client = await connect(target, pool, (seen) => {
        offered = seen;
        return fingerprint === undefined || seen === fingerprint;
      }).catch((error: unknown) => {
        if (fingerprint !== undefined && offered !== undefined && offered !== fingerprint) {
          throw new DriverError('InvalidState', `system "${system.name}": ${hostLabel(target)} offers host key ${offered}, not the ${fingerprint} given`);
        }
        throw error;
      });
      client.end();
      await connections.forget(targetOf({ ...system, options }, secrets).poolKey);
      return { ...options, hostKey: offered ?? '' };
    },
    facts: async (system) => gatherFacts(await filesOf(system)),
    readTree: async (system, sourcePath, sink, signal) => {
      try {
        const files = await filesOf(system);
        const source = remotePath(files, sourcePath, system);
        await files.assertNoLinks([source]);
        if ((await files.kindOf(source)) === undefined) {
          throw new DriverError('NotFound', `path ${JSON.stringify(sourcePath)} does not exist on system "${system.name}"`);
        }
        const producer = remoteTar(files, source, sink, signal, settings.outputLimitBytes);
        await producer.done;
        return path.posix.basename(source);
      } catch (error) {
        throw asDriverError(error, `reading ${sourcePath} on system "${system.name}" failed`);
      }
    },
    close: async () => {
      await connections.close();
      repositories.clear();
    },
  };
}

export type { HostFacts } from '../driver';

const FACTS = [
  'echo "cpus $(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc)"',
  'echo "mem $(awk \'/^MemTotal:/ {print $2}\' /proc/meminfo)"',
  'df -Pk -- "$1" | awk \'NR==2 {print "disk " $2 " " $4}\'',
  'echo "kernel $(uname -sr)"',
  'if [ -r /etc/os-release ]; then . /etc/os-release; echo "os ${PRETTY_NAME:-$NAME}"; fi',
].join('\n');

async function gatherFacts(files: RemoteFiles): Promise<HostFacts> {
  const output = await mustRun(files.connection, { cwd: '/', argv: ['/bin/sh', '-c', FACTS, 'provisor', files.root], what: 'reading the host facts' });
  const field = (name: string): string | undefined => new RegExp(`^${name} (.+)$`, 'm').exec(output)?.[1]?.trim();
  const number = (text: string | undefined): number | null => (text !== undefined && /^\d+$/.test(text) ? Number(text) : null);
  const [diskKb, freeKb] = (field('disk') ?? '').split(' ');
  const memoryKb = number(field('mem'));
  const diskTotal = number(diskKb);
  const free = number(freeKb);
  return {
    hardware: {
      cpus: number(field('cpus')),
      memoryMb: memoryKb === null ? null : Math.round(memoryKb / 1024),
      diskGb: diskTotal === null ? null : Math.max(1, Math.round(diskTotal / 1024 ** 2)),
    },
    freeDiskMb: free === null ? null : Math.round(free / 1024),
    os: field('os') ?? null,
    kernel: field('kernel') ?? null,
  };
}

/**
 * Reads and checks a private key file (ed25519 or RSA, OpenSSH or PEM).
 * @throws DriverError `InvalidParameter` naming the file, never the passphrase.
 */
async function readKeyFile(system: string, keyFile: string, passphrase: string | undefined): Promise<string> {
  const size = (await stat(keyFile).catch(() => undefined))?.size;
  if (size === undefined) throw new DriverError('InvalidParameter', `system "${system}": key file ${keyFile} cannot be read`);
  if (size > MAX_KEY_BYTES) throw new DriverError('InvalidParameter', `system "${system}": key file ${keyFile} is larger than ${MAX_KEY_BYTES} bytes`);
  const privateKey = await readFile(keyFile, 'utf8');
  const parsed = utils.parseKey(privateKey, passphrase);
  if (parsed instanceof Error) throw new DriverError('InvalidParameter', `system "${system}": key file ${keyFile} cannot be used: ${parsed.message}`);
  return privateKey;
}

function asDriverError(error: unknown, context: string, system?: SystemDescriptor): DriverError {
  if (error instanceof DriverError) return error;
  const message = error instanceof Error ? error.message : String(error);
  // An error of the SSH library itself ("Not connected", a reset socket) names no host: say which one.
  let host = '';
  if (system !== undefined) {
    try {
      host = ` on ${hostLabel(plainOptions(system))}`;
    } catch {
      // Options that do not name a host were refused before the task ran; nothing to add.
    }
  }
  return new DriverError('Internal', `${context}${host}: ${message}`, { cause: error });
}
