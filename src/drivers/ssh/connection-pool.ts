/**
 * Pooled SSH connections, one per system (ssh2), reused by every task on
 * it: keep-alive, a connect timeout, and a limit on the channels (commands
 * and the one SFTP session) open at once on a connection. A connection that
 * drops is forgotten; the next task opens a new one.
 *
 * The host key is checked on every connection against the one pinned on
 * the system: a different key refuses the connection before any
 * authentication is sent.
 */
import { Client, type ClientChannel, type SFTPWrapper } from 'ssh2';
import { DriverError } from '../driver';
import { type SshTarget, fingerprintOf, hostLabel } from './ssh-target';

export interface PoolSettings {
  /** Longest wait for a connection to be ready (TCP, key exchange, authentication). */
  readonly connectTimeoutMs: number;
  /** Interval of keep-alive messages; 0 sends none. */
  readonly keepAliveMs: number;
  /** Unanswered keep-alives before the connection is taken as dropped. */
  readonly keepAliveCountMax: number;
  /** Commands open at once on one system (OpenSSH allows 10 sessions per connection by default). */
  readonly maxChannels: number;
  /** An idle connection is closed after this long. */
  readonly idleMs: number;
}

/** Why a connection failed, for the caller's message and decision. */
export class HostKeyMismatch extends DriverError {}

/** A counting semaphore: waiters are served in order. */
class Slots {
  private used = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly size: number) {}
  async acquire(signal: AbortSignal | undefined): Promise<() => void> {
    if (this.used >= this.size) {
      await new Promise<void>((resolve, reject) => {
        const wake = (): void => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = (): void => {
          const index = this.waiting.indexOf(wake);
          if (index >= 0) this.waiting.splice(index, 1);
          reject(new DriverError('Cancelled', 'cancelled while waiting for a free SSH channel'));
        };
        this.waiting.push(wake);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    } else {
      this.used += 1;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next === undefined) this.used -= 1;
      else next();
    };
  }
}

/** One open connection to a host. */
export class SshConnection {
  private sftpSession: Promise<SFTPWrapper> | undefined;
  private closed = false;
  /** Aborted when the connection closes (transfers under way). */
  private readonly listeners = new Set<AbortController>();
  private lastUse = Date.now();
  private users = 0;
  readonly slots: Slots;

  constructor(
    readonly target: SshTarget,
    private readonly client: Client,
    settings: PoolSettings,
    private readonly onClose: () => void,
  ) {
    this.slots = new Slots(Math.max(1, settings.maxChannels - 1));
    client.on('close', () => this.markClosed());
    client.on('error', () => this.markClosed());
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /**
   * Aborted when the connection closes. SFTP writes pending on a connection
   * that dropped are never answered, so a transfer listens for this.
   */
  closedSignal(): { readonly signal: AbortSignal; release(): void } {
    const controller = new AbortController();
    if (this.closed) controller.abort();
    else this.listeners.add(controller);
    return { signal: controller.signal, release: () => this.listeners.delete(controller) };
  }

  /** The connection's SFTP session (one, opened on first use). */
  sftp(): Promise<SFTPWrapper> {
    if (this.closed) return Promise.reject(this.failure('opening an SFTP session', new Error('the connection is closed')));
    this.sftpSession ??= new Promise<SFTPWrapper>((resolve, reject) => {
      this.client.sftp((error, sftp) => {
        if (error !== undefined && error !== null) {
          this.sftpSession = undefined;
          reject(this.failure('opening an SFTP session', error));
        } else {
          sftp.on('close', () => {
            this.sftpSession = undefined;
          });
          resolve(sftp);
        }
      });
    });
    return this.sftpSession;
  }

  /** Opens a command channel. Does not take a slot: callers hold one. */
  exec(command: string): Promise<ClientChannel> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(this.failure('running a command', new Error('the connection is closed')));
        return;
      }
      this.client.exec(command, (error, channel) => {
        if (error !== undefined && error !== null) {
          // A host that cannot open a session on a live connection (its sshd restarted under it) gets a new connection next time.
          this.close();
          reject(this.failure('running a command', error));
        } else resolve(channel);
      });
    });
  }

  /** The error a failure of this connection becomes: names the system, the host and the cause. */
  failure(what: string, cause: unknown): DriverError {
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new DriverError(
      'Internal',
      `system "${this.target.system}": ${what} on ${hostLabel(this.target)} failed: ${reason}`,
      { retryable: true, cause },
    );
  }

  /** Marks the connection in use (idle timer off) until the returned function is called. */
  use(): () => void {
    this.users += 1;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.users -= 1;
      this.lastUse = Date.now();
    };
  }

  idleFor(now: number): number {
    return this.users > 0 ? 0 : now - this.lastUse;
  }

  close(): void {
    this.markClosed();
    this.client.end();
  }

  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.sftpSession = undefined;
    for (const listener of this.listeners) listener.abort();
    this.listeners.clear();
    this.onClose();
  }
}

/** Connections by system; at most one open (or opening) per system. */
export class ConnectionPool {
  private readonly connections = new Map<string, Promise<SshConnection>>();
  private opened = 0;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly settings: PoolSettings) {
    // Node's timer: the idle time of real SSH sockets (the remote side's own limits run in real time).
    this.sweeper = setInterval(() => this.sweep(), Math.max(1000, Math.min(settings.idleMs, 30_000)));
    this.sweeper.unref();
  }

  /** How many connections this pool has opened since it was created (benchmarks report it). */
  get connectionsOpened(): number {
    return this.opened;
  }

  /** The system's connection, opened when there is none. */
  async get(target: SshTarget): Promise<SshConnection> {
    const existing = this.connections.get(target.poolKey);
    if (existing !== undefined) {
      const connection = await existing.catch(() => undefined);
      if (connection?.isOpen === true) return connection;
      if (this.connections.get(target.poolKey) === existing) this.connections.delete(target.poolKey);
    }
    const opening = connect(target, this.settings).then((client) => {
      const connection: SshConnection = new SshConnection(target, client, this.settings, () => {
        if (this.connections.get(target.poolKey) === opening) this.connections.delete(target.poolKey);
      });
      return connection;
    });
    this.opened += 1;
    this.connections.set(target.poolKey, opening);
    opening.catch(() => {
      if (this.connections.get(target.poolKey) === opening) this.connections.delete(target.poolKey);
    });
    return opening;
  }

  /** Closes every connection of the system (its options changed, or its host key was accepted). */
  async forget(poolKey: string): Promise<void> {
    const existing = this.connections.get(poolKey);
    this.connections.delete(poolKey);
    (await existing?.catch(() => undefined))?.close();
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    const all = [...this.connections.values()];
    this.connections.clear();
    for (const connection of await Promise.all(all.map((c) => c.catch(() => undefined)))) connection?.close();
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, pending] of this.connections) {
      void pending
        .then((connection) => {
          if (connection.idleFor(now) > this.settings.idleMs && this.connections.get(key) === pending) {
            this.connections.delete(key);
            connection.close();
          }
        })
        .catch(() => undefined);
    }
  }
}

/**
 * Opens one connection, pinning the host key.
 * @throws HostKeyMismatch when the host offers another key than the pinned one;
 *   DriverError `Internal` (retryable) when the host cannot be reached or
 *   refuses the login.
 */
export function connect(target: SshTarget, settings: PoolSettings, seen?: (fingerprint: string) => boolean): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let offered: string | undefined;
    let settled = false;
    const fail = (error: DriverError): void => {
      if (settled) return;
      settled = true;
      client.end();
      reject(error);
    };
    client.once('ready', () => {
      settled = true;
      resolve(client);
    });
    client.on('error', (error: Error & { level?: string }) => {
      if (offered !== undefined && offered !== target.hostKey && seen === undefined) {
        fail(
          new HostKeyMismatch(
            'InvalidState',
            `system "${target.system}": the host key of ${hostLabel(target)} changed: pinned ${target.hostKey}, offered ${offered}; ` +
              'every task on it is refused until an administrator accepts the new key (provisor system accept-host-key)',
          ),
        );
        return;
      }
      const cause =
        error.level === 'client-authentication'
          ? `the host refused the login of user "${target.user}" (${error.message})`
          : error.level === 'client-timeout'
            ? `no answer within ${settings.connectTimeoutMs} ms`
            : error.message;
      fail(
        new DriverError('Internal', `system "${target.system}": cannot connect to ${hostLabel(target)}: ${cause}`, {
          retryable: error.level !== 'client-authentication',
          cause: error,
        }),
      );
    });
    client.on('close', () =>
      fail(new DriverError('Internal', `system "${target.system}": the connection to ${hostLabel(target)} closed during log-in`, { retryable: true })),
    );
    try {
      client.connect({
        host: target.host,
        port: target.port,
        username: target.user,
        privateKey: target.privateKey,
        passphrase: target.passphrase,
        password: target.password,
        readyTimeout: settings.connectTimeoutMs,
        keepaliveInterval: settings.keepAliveMs,
        keepaliveCountMax: settings.keepAliveCountMax,
        tryKeyboard: false,
        hostVerifier: (key: Buffer) => {
          offered = fingerprintOf(key);
          return seen === undefined ? offered === target.hostKey : seen(offered);
        },
      });
    } catch (error) {
      // ssh2 throws at once on a key it cannot parse (a wrong passphrase).
      fail(
        new DriverError('InvalidParameter', `system "${target.system}": the private key cannot be used: ${error instanceof Error ? error.message : String(error)}`, {
          cause: error,
        }),
      );
    }
  });
}
