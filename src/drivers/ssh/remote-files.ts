/**
 * Files under a remote system's root, over the connection's SFTP session
 * (reads, atomic writes, uploads) and small fixed scripts (removal, link
 * checks). Every path handled here is absolute on the host and inside the
 * root; callers build them from the root and checked names.
 */
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { SFTPWrapper } from 'ssh2';
import { DriverError } from '../driver';
import type { SshConnection } from './connection-pool';
import { mustRun } from './remote-command';
import { hostLabel } from './ssh-target';

/** SFTP status codes (draft-ietf-secsh-filexfer-02). */
const NO_SUCH_FILE = 2;
/** What OpenSSH's server answers for ENOSPC, EDQUOT and most other write errors. */
const FAILURE = 4;
/** A write refused with less than this much space left for the user is taken as a full disk. */
const FULL_DISK_BYTES = 64 * 1024;

function sftpCode(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'number' ? error.code : undefined;
}

/**
 * Lists the paths among `paths` that are symbolic links, or that have a
 * link among their ancestors below `root`.
 */
const LINK_CHECK = 'root=$1; shift; for p; do q=$p; while [ "$q" != "$root" ] && [ "$q" != / ]; do if [ -L "$q" ]; then echo "$q"; break; fi; q=$(dirname -- "$q"); done; done';

export class RemoteFiles {
  constructor(
    readonly connection: SshConnection,
    /** The real path of the system root on the host. */
    readonly root: string,
    /** `"web7"`, quoted, for messages. */
    readonly system: string,
  ) {}

  private sftp(): Promise<SFTPWrapper> {
    return this.connection.sftp();
  }

  /**
   * Runs SFTP requests that a connection dropping under them would leave
   * unanswered: ended at once when it closes, a write as `OutcomeUnknown`,
   * a read as a failure of the host.
   */
  private async unlessDropped<T>(what: string, kind: 'read' | 'write', operation: () => Promise<T>): Promise<T> {
    const closed = this.connection.closedSignal();
    let onClose: (() => void) | undefined;
    const dropped = new Promise<never>((_resolve, reject) => {
      onClose = () => {
        const where = `system ${this.system}: ${what} on ${hostLabel(this.connection.target)}`;
        reject(
          kind === 'write'
            ? new DriverError('OutcomeUnknown', `${where}: the connection dropped; its outcome is unknown`)
            : this.connection.failure(what, new Error('the connection dropped')),
        );
      };
      if (closed.signal.aborted) onClose();
      else closed.signal.addEventListener('abort', onClose, { once: true });
    });
    dropped.catch(() => undefined);
    try {
      return await Promise.race([operation(), dropped]);
    } finally {
      if (onClose !== undefined) closed.signal.removeEventListener('abort', onClose);
      closed.release();
    }
  }

  /** The file's text; undefined when it does not exist. */
  async readFile(file: string, limit = 16 * 1024 * 1024): Promise<string | undefined> {
    const sftp = await this.sftp();
    const done = this.connection.use();
    try {
      const chunks: Buffer[] = [];
      let size = 0;
      await this.unlessDropped(`reading ${this.shown(file)}`, 'read', () =>
        pipeline(sftp.createReadStream(file), async (source: AsyncIterable<Buffer>) => {
          for await (const chunk of source) {
            size += chunk.length;
            if (size > limit) throw new DriverError('Internal', `${this.shown(file)} on system ${this.system} is larger than ${limit} bytes`);
            chunks.push(chunk);
          }
        }),
      );
      return Buffer.concat(chunks).toString('utf8');
    } catch (error) {
      if (sftpCode(error) === NO_SUCH_FILE) return undefined;
      throw this.failure(`reading ${this.shown(file)}`, error);
    } finally {
      done();
    }
  }

  /** Replaces a file atomically (a temporary file renamed over it), creating its directory. */
  async writeFile(file: string, data: string): Promise<void> {
    const temporary = `${path.posix.dirname(file)}/.${path.posix.basename(file)}.${randomBytes(6).toString('hex')}.tmp`;
    await this.ensureDirectory(path.posix.dirname(file));
    const sftp = await this.sftp();
    const done = this.connection.use();
    try {
      await this.unlessDropped(`writing ${this.shown(file)}`, 'write', async () => {
        await new Promise<void>((resolve, reject) => sftp.writeFile(temporary, data, (error) => (error ? reject(error) : resolve())));
        await new Promise<void>((resolve, reject) => sftp.ext_openssh_rename(temporary, file, (error) => (error ? reject(error) : resolve())));
      });
    } catch (error) {
      if (error instanceof DriverError && error.type === 'OutcomeUnknown') throw error;
      await new Promise<void>((resolve) => sftp.unlink(temporary, () => resolve()));
      throw this.failure(`writing ${this.shown(file)}`, error);
    } finally {
      done();
    }
  }

  /**
   * Streams `source` into `file`, hashing what is sent; resolves with the
   * SHA-256 of the bytes written. A partial file is removed.
   * @throws DriverError `Internal`, not retryable, when the host's disk (or
   *   the user's quota) is full; `OutcomeUnknown` when the connection drops
   *   mid-transfer; `Internal`, retryable, for other failures of the host.
   */
  async upload(source: Readable, file: string, signal?: AbortSignal): Promise<string> {
    const sftp = await this.sftp();
    const done = this.connection.use();
    const hash = createHash('sha256');
    const closed = this.connection.closedSignal();
    const dropped = closed.signal;
    try {
      await pipeline(
        source,
        new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            hash.update(chunk);
            callback(null, chunk);
          },
        }),
        sftp.createWriteStream(file),
        { signal: signal === undefined ? dropped : AbortSignal.any([signal, dropped]) },
      );
      return hash.digest('hex');
    } catch (error) {
      const where = `system ${this.system}: writing ${this.shown(file)} on ${hostLabel(this.connection.target)}`;
      // Nothing more can be asked of a connection that is gone (not even to remove the partial file).
      if (dropped.aborted || !this.connection.isOpen) {
        throw new DriverError('OutcomeUnknown', `${where}: the connection dropped mid-transfer; its outcome is unknown`, { cause: error });
      }
      if (signal?.aborted === true) {
        await new Promise<void>((resolve) => sftp.unlink(file, () => resolve()));
        throw new DriverError('Cancelled', `copying to ${this.shown(file)} was cancelled`);
      }
      // The free space is read before the partial file is removed, which frees it again.
      const free = sftpCode(error) === FAILURE ? await this.freeBytes(sftp, path.posix.dirname(file)) : undefined;
      await new Promise<void>((resolve) => sftp.unlink(file, () => resolve()));
      if (free !== undefined && free < FULL_DISK_BYTES) {
        throw new DriverError('Internal', `${where} failed: no space left on the host's disk (${Math.floor(free / 1024)} KB free for user "${this.connection.target.user}")`, {
          retryable: false,
          cause: error,
        });
      }
      throw this.failure(`writing ${this.shown(file)}`, error);
    } finally {
      closed.release();
      done();
    }
  }

  /** Bytes free for the user on the filesystem holding `directory` (OpenSSH's statvfs extension); undefined when it cannot be read. */
  private freeBytes(sftp: SFTPWrapper, directory: string): Promise<number | undefined> {
    return new Promise((resolve) => {
      try {
        sftp.ext_openssh_statvfs(directory, (error, info: { f_bavail?: number | bigint; f_frsize?: number | bigint } | undefined) => {
          if (error !== undefined && error !== null) resolve(undefined);
          else if (info?.f_bavail === undefined || info.f_frsize === undefined) resolve(undefined);
          else resolve(Number(info.f_bavail) * Number(info.f_frsize));
        });
      } catch {
        // A server without the extension.
        resolve(undefined);
      }
    });
  }

  /** A readable stream of a remote file. */
  async download(file: string): Promise<Readable> {
    return (await this.sftp()).createReadStream(file);
  }

  /** `file`, `directory`, `link`, or undefined when nothing is there (not following a final link). */
  async kindOf(file: string): Promise<'file' | 'directory' | 'link' | undefined> {
    const sftp = await this.sftp();
    return new Promise((resolve, reject) =>
      sftp.lstat(file, (error, stats) => {
        if (error) {
          if (sftpCode(error) === NO_SUCH_FILE) resolve(undefined);
          else reject(this.failure(`reading ${this.shown(file)}`, error));
        } else resolve(stats.isDirectory() ? 'directory' : stats.isSymbolicLink() ? 'link' : 'file');
      }),
    );
  }

  async exists(file: string): Promise<boolean> {
    return (await this.kindOf(file)) !== undefined;
  }

  /** The names in a directory; empty when it does not exist. */
  async list(directory: string): Promise<string[]> {
    const sftp = await this.sftp();
    return new Promise((resolve, reject) =>
      sftp.readdir(directory, (error, entries) => {
        if (error) {
          if (sftpCode(error) === NO_SUCH_FILE) resolve([]);
          else reject(this.failure(`listing ${this.shown(directory)}`, error));
        } else resolve(entries.map((entry) => entry.filename));
      }),
    );
  }

  /** Removes files or trees; missing ones are fine. */
  async remove(...targets: string[]): Promise<void> {
    if (targets.length === 0) return;
    await mustRun(this.connection, { cwd: this.root, argv: ['rm', '-rf', '--', ...targets], what: `removing ${targets.map((t) => this.shown(t)).join(', ')}` });
  }

  async ensureDirectory(directory: string): Promise<void> {
    const sftp = await this.sftp();
    const made = await new Promise<boolean>((resolve) => sftp.mkdir(directory, (error) => resolve(!error)));
    if (made || (await this.kindOf(directory)) === 'directory') return;
    await mustRun(this.connection, { cwd: this.root, argv: ['mkdir', '-p', '--', directory], what: `creating ${this.shown(directory)}` });
  }

  /**
   * Refuses when any of `paths`, or a directory on the way to it below the
   * root, is a symbolic link.
   * @throws DriverError `PathOutsideRoot` naming the link.
   */
  async assertNoLinks(paths: readonly string[]): Promise<void> {
    const output = await mustRun(this.connection, {
      cwd: this.root,
      argv: ['/bin/sh', '-c', LINK_CHECK, 'provisor', this.root, ...paths],
      what: 'checking paths for links',
    });
    const link = output.split('\n').find((line) => line !== '');
    if (link !== undefined) {
      throw new DriverError('PathOutsideRoot', `${this.shown(link)} on system ${this.system} is a symbolic link; the driver follows none under a system root`);
    }
  }

  /** A path as messages show it: relative to the root. */
  shown(file: string): string {
    const relative = path.posix.relative(this.root, file);
    return relative === '' ? 'the root' : relative;
  }

  private failure(what: string, error: unknown): DriverError {
    if (error instanceof DriverError) return error;
    return this.connection.failure(what, error);
  }
}
