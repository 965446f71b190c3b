/**
 * What the `ssh` driver keeps in a system's options, and how it reads them.
 *
 * Stored options (a JSON object of strings on the system's row):
 *
 * | option             | meaning                                                              |
 * |--------------------|----------------------------------------------------------------------|
 * | `host`             | host name or address                                                  |
 * | `port`             | TCP port, default 22                                                  |
 * | `user`             | the remote user the driver logs in as (no sudo is ever used)          |
 * | `root`             | absolute directory on the host holding the system's files             |
 * | `hostKey`          | the pinned host key, `SHA256:<base64>` as OpenSSH prints it           |
 * | `hostKeyFor`       | set when the host or port changed: the `host:port` the key was pinned |
 * |                    | for; every task is refused until the new host's key is accepted       |
 * | `keySealed`        | the private key (OpenSSH or PEM text), sealed with the secret box     |
 * | `passphraseSealed` | the key's passphrase, sealed                                          |
 * | `passwordSealed`   | a password, sealed (tried when there is no key, or after it)          |
 *
 * Secrets never appear in clear in a row, a log line or a message; the
 * options given at registration (`keyFile`, `passphrase`, `password`) are
 * replaced by their sealed forms before anything is stored.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { DriverError, type SystemDescriptor } from '../driver';

/** Opens sealed secrets (the server's secret box). */
export interface SecretOpener {
  encrypt(plain: string): string;
  /** Undefined when the text was not sealed with this key. */
  decrypt(sealed: string): string | undefined;
}

/** Everything needed to open a connection to one system's host. */
export interface SshTarget {
  readonly system: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly root: string;
  readonly hostKey: string;
  readonly privateKey?: string;
  readonly passphrase?: string;
  readonly password?: string;
  /** Distinguishes connections: a change of host, user, key or pinned host key opens a new one. */
  readonly poolKey: string;
}

/** Option names that hold secrets: never shown by `system list`, never logged. */
export const SEALED_OPTIONS = ['keySealed', 'passphraseSealed', 'passwordSealed'] as const;

const HOST_PATTERN = /^[A-Za-z0-9]([A-Za-z0-9.:-]{0,252})$/;
const USER_PATTERN = /^[A-Za-z_][A-Za-z0-9._-]{0,31}$/;
const FINGERPRINT_PATTERN = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** `SHA256:<base64 without padding>` of a raw host key, as `ssh-keygen -l` prints it. */
export function fingerprintOf(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** `web7.example.net:22`, for messages. */
export function hostLabel(target: Pick<SshTarget, 'host' | 'port'>): string {
  return `${target.host}:${target.port}`;
}

/**
 * Checks the plain connection options of a system (shared by registration
 * and by every task).
 * @throws DriverError `InvalidParameter` naming the option.
 */
export function plainOptions(system: SystemDescriptor): { host: string; port: number; user: string } {
  const { host, port = '22', user } = system.options;
  const bad = (what: string): DriverError =>
    new DriverError('InvalidParameter', `system "${system.name}" (driver ssh): ${what}`);
  if (host === undefined || !HOST_PATTERN.test(host)) throw bad(`"host" must be a host name or address, got ${JSON.stringify(host ?? null)}`);
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) throw bad(`"port" must be 1-65535, got ${JSON.stringify(port)}`);
  if (user === undefined || !USER_PATTERN.test(user)) throw bad(`"user" must be a user name, got ${JSON.stringify(user ?? null)}`);
  return { host, port: Number(port), user };
}

/** Checks a fingerprint given by an operator. */
export function checkFingerprint(system: string, value: string): string {
  if (!FINGERPRINT_PATTERN.test(value)) {
    throw new DriverError(
      'InvalidParameter',
      `system "${system}": host key ${JSON.stringify(value)} must be a SHA256 fingerprint as ssh-keygen -l prints it (SHA256: and 43 base64 characters)`,
    );
  }
  return value;
}

/** Checks a remote root directory. */
export function checkRoot(system: string, root: string): string {
  if (!path.posix.isAbsolute(root) || root.includes('\0') || root.includes('\n') || Buffer.byteLength(root) > 1024) {
    throw new DriverError('InvalidParameter', `system "${system}": "root" must be an absolute path on the host, got ${JSON.stringify(root)}`);
  }
  return path.posix.normalize(root).replace(/(.)\/+$/, '$1');
}

/**
 * Reads a registered system's options into a connection target, opening
 * its sealed secrets.
 * @throws DriverError `InvalidParameter` for a system registered without a
 *   pinned host key or root, or whose secrets this server cannot open.
 */
export function targetOf(system: SystemDescriptor, secrets: SecretOpener): SshTarget {
  const { host, port, user } = plainOptions(system);
  const { root, hostKey } = system.options;
  if (root === undefined) throw new DriverError('InvalidParameter', `system "${system.name}" (driver ssh) has no "root" option`);
  if (hostKey === undefined) throw new DriverError('InvalidParameter', `system "${system.name}" (driver ssh) has no pinned host key`);
  const pinnedFor = system.options.hostKeyFor;
  if (pinnedFor !== undefined && pinnedFor !== hostLabel({ host, port })) {
    throw new DriverError(
      'InvalidState',
      `system "${system.name}" moved from ${pinnedFor} to ${hostLabel({ host, port })}; every task on it is refused until an administrator accepts the new host's key (provisor system accept-host-key ${system.name})`,
    );
  }
  const open = (name: (typeof SEALED_OPTIONS)[number]): string | undefined => {
    const sealed = system.options[name];
    if (sealed === undefined) return undefined;
    const plain = secrets.decrypt(sealed);
    if (plain === undefined) {
      throw new DriverError(
        'InvalidParameter',
        `system "${system.name}": its ${name.replace('Sealed', '')} was sealed with another secret key; register it again`,
      );
    }
    return plain;
  };
  const privateKey = open('keySealed');
  const password = open('passwordSealed');
  if (privateKey === undefined && password === undefined) {
    throw new DriverError('InvalidParameter', `system "${system.name}" (driver ssh) has neither a key nor a password`);
  }
  const poolKey = createHash('sha256')
    .update(JSON.stringify([system.name, host, port, user, hostKey, system.options.keySealed ?? '', system.options.passwordSealed ?? '']))
    .digest('hex');
  return {
    system: system.name,
    host,
    port,
    user,
    root: checkRoot(system.name, root),
    hostKey: checkFingerprint(system.name, hostKey),
    privateKey,
    passphrase: open('passphraseSealed'),
    password,
    poolKey,
  };
}
