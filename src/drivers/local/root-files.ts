/**
 * File operations on the paths the local driver's software tasks use inside
 * a system root (`opt/<component>`, `etc/<component>/config.json`,
 * `var/log/<component>.log`, `var/run/<component>.pid`), following no
 * symbolic link at all.
 *
 * A check made before an operation leaves a window in which a directory can
 * be swapped for a link. Here the check is the operation: each directory
 * on the way from the root is opened with O_NOFOLLOW | O_DIRECTORY relative
 * to the one before (through `/proc/<pid>/fd/<fd>/<name>`, Linux's
 * equivalent of `openat`), and the last component is opened with
 * O_NOFOLLOW, created with O_EXCL, or replaced by a rename, which never
 * follows a link. A link anywhere on the way is refused with
 * `PathOutsideRoot` naming the path.
 *
 * Where `/proc` is missing the same walk is done with `lstat` on ordinary
 * paths, which narrows the window without closing it.
 */
import { randomBytes } from 'node:crypto';
import { type Stats, constants, existsSync } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, readdir, rename, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { DriverError } from '../driver';
import { errorCode } from '../path-jail';

const PROC_FD = `/proc/${process.pid}/fd`;
const HAS_PROC_FD = existsSync(PROC_FD);
const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_APPEND, O_NOFOLLOW, O_DIRECTORY } = constants;

/** An open directory inside the root: `path` names it for any file call (and for child processes) while it is open. */
interface OpenDirectory {
  readonly path: string;
  close(): Promise<void>;
}

/** Link-free file operations under one real system root; every path given is absolute and inside it. */
export class RootFiles {
  /**
   * @param root the real path of the system root.
   * @param system the system's name, quoted, for messages (`"web1"`).
   */
  constructor(
    readonly root: string,
    private readonly system: string,
    /** What the refusal of a link says the driver follows no link in. */
    private readonly guarded = "a component's files (install, configuration, pid and log paths)",
  ) {}

  /**
   * Refuses when a symbolic link is any component of these paths (below the
   * root). Used before a task starts, so it fails before changing anything;
   * every operation below checks again as it goes.
   */
  async assertNoLinks(paths: readonly string[]): Promise<void> {
    for (const target of paths) {
      let current = this.root;
      for (const segment of this.relative(target).split('/')) {
        current = path.join(current, segment);
        let isLink: boolean;
        try {
          isLink = (await lstat(current)).isSymbolicLink();
        } catch (error) {
          if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') break;
          throw error;
        }
        if (isLink) throw this.linkRefused(current);
      }
    }
  }

  /** The file's text, or undefined when it does not exist. */
  async readFile(file: string): Promise<string | undefined> {
    const handle = await this.openFile(file, O_RDONLY, false);
    if (handle === undefined) return undefined;
    try {
      return await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  }

  /** An open file for reading, or undefined when it does not exist. */
  openForReading(file: string): Promise<FileHandle | undefined> {
    return this.openFile(file, O_RDONLY, false);
  }

  /** Opens a file for appending, creating it and its directories. */
  async openForAppend(file: string): Promise<FileHandle> {
    const handle = await this.openFile(file, O_WRONLY | O_APPEND | O_CREAT, true);
    if (handle === undefined) throw new DriverError('Internal', `${this.shown(file)} could not be created`);
    return handle;
  }

  /**
   * Replaces a file's content atomically (a fresh sibling created with
   * O_EXCL, then renamed over it), creating its directories.
   */
  async writeFile(file: string, data: string): Promise<void> {
    await this.inDirectory(path.dirname(file), true, async (dir) => {
      const temporary = `${dir}/.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`;
      const handle = await open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644);
      try {
        try {
          await handle.writeFile(data);
        } finally {
          await handle.close();
        }
        await rename(temporary, `${dir}/${path.basename(file)}`);
      } catch (error) {
        await rm(temporary, { force: true });
        throw error;
      }
    });
  }

  /**
   * Removes a file, a link (never what it points to) or a directory tree;
   * nothing when it is not there. A tree is removed directory by directory,
   * each opened without following a link, so a directory swapped for a
   * link while it is removed is unlinked, never entered.
   */
  async remove(target: string): Promise<void> {
    await this.inDirectory(path.dirname(target), false, (dir) => removeEntry(dir, path.basename(target)));
  }

  /** True when something (not a link) is at the path. */
  async exists(target: string): Promise<boolean> {
    return (
      (await this.inDirectory(path.dirname(target), false, async (dir) => {
        try {
          if ((await lstat(`${dir}/${path.basename(target)}`)).isSymbolicLink()) throw this.linkRefused(target);
          return true;
        } catch (error) {
          if (errorCode(error) === 'ENOENT') return false;
          throw error;
        }
      })) ?? false
    );
  }

  /** The names in a directory; empty when it does not exist. */
  async list(directory: string): Promise<string[]> {
    return (await this.inDirectory(directory, false, (dir) => readdir(dir))) ?? [];
  }

  /**
   * Runs `use` with a name of `directory` that stays bound to the directory
   * opened now (a link swapped in later changes nothing), creating it and
   * its parents when `create`. Without `create`, a missing directory gives
   * undefined and `use` is not called.
   */
  async inDirectory<T>(directory: string, create: boolean, use: (dir: string) => Promise<T>): Promise<T | undefined> {
    const opened = await this.openDirectory(directory, create);
    if (opened === undefined) return undefined;
    try {
      return await use(opened.path);
    } finally {
      await opened.close();
    }
  }

  private async openFile(file: string, flags: number, create: boolean): Promise<FileHandle | undefined> {
    return this.inDirectory(path.dirname(file), create, async (dir) => {
      try {
        return await open(`${dir}/${path.basename(file)}`, flags | O_NOFOLLOW, 0o644);
      } catch (error) {
        if (errorCode(error) === 'ELOOP') throw this.linkRefused(file);
        if (errorCode(error) === 'ENOENT' && !create) return undefined;
        throw error;
      }
    });
  }

  private async openDirectory(directory: string, create: boolean): Promise<OpenDirectory | undefined> {
    const relative = directory === this.root ? '' : this.relative(directory);
    if (!HAS_PROC_FD) return this.checkedDirectory(directory, relative, create);
    let handle = await open(this.root, O_RDONLY | O_DIRECTORY);
    let reached = this.root;
    try {
      for (const segment of relative === '' ? [] : relative.split('/')) {
        reached = path.join(reached, segment);
        const name = `${PROC_FD}/${handle.fd}/${segment}`;
        let next: FileHandle;
        try {
          next = await open(name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        } catch (error) {
          const code = errorCode(error);
          if (code === 'ENOENT' && create) {
            await mkdir(name).catch((e: unknown) => {
              if (errorCode(e) !== 'EEXIST') throw e;
            });
            try {
              next = await open(name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
            } catch (e) {
              // A link planted between the mkdir and the open.
              throw errorCode(e) === 'ELOOP' || errorCode(e) === 'ENOTDIR' ? await this.linkOrFile(reached) : e;
            }
          } else if (code === 'ENOENT') {
            await handle.close();
            return undefined;
          } else if (code === 'ELOOP' || code === 'ENOTDIR') {
            throw await this.linkOrFile(reached);
          } else {
            throw error;
          }
        }
        await handle.close();
        handle = next;
      }
    } catch (error) {
      await handle.close();
      throw error;
    }
    const opened = handle;
    return { path: `${PROC_FD}/${opened.fd}`, close: () => opened.close() };
  }

  /** Without /proc: the lstat walk, then the ordinary path. */
  private async checkedDirectory(directory: string, relative: string, create: boolean): Promise<OpenDirectory | undefined> {
    await this.assertNoLinks(relative === '' ? [] : [directory]);
    if (create) await mkdir(directory, { recursive: true });
    else if (!existsSync(directory)) return undefined;
    await this.assertNoLinks(relative === '' ? [] : [directory]);
    return { path: directory, close: async () => undefined };
  }

  private async linkOrFile(reached: string): Promise<DriverError> {
    const stats = await lstat(reached).catch(() => undefined);
    if (stats?.isSymbolicLink() === true) return this.linkRefused(reached);
    return new DriverError('InvalidState', `${this.shown(reached)} on system ${this.system} is not a directory`);
  }

  private linkRefused(at: string): DriverError {
    return new DriverError(
      'PathOutsideRoot',
      `${this.shown(at)} on system ${this.system} is a symbolic link; the local driver follows no link in ${this.guarded}`,
    );
  }

  private relative(target: string): string {
    const relative = path.relative(this.root, target);
    if (relative === '' || relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) {
      throw new DriverError('Internal', `${target} is not below the root of system ${this.system}`);
    }
    return relative.split(path.sep).join('/');
  }

  private shown(target: string): string {
    return path.relative(this.root, target).split(path.sep).join('/') || '.';
  }
}

/**
 * Removes `name` in the directory `dir` (a name bound to an open directory):
 * a file or a link is unlinked; a directory is opened with O_NOFOLLOW, its
 * entries removed through that open directory, and then removed itself.
 * Missing entries are fine.
 */
export async function removeEntry(dir: string, name: string): Promise<void> {
  const entry = `${dir}/${name}`;
  let stats: Stats;
  try {
    stats = await lstat(entry);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return;
    throw error;
  }
  if (!stats.isDirectory()) {
    await rm(entry, { force: true });
    return;
  }
  let handle: FileHandle;
  try {
    handle = await open(entry, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT') return;
    // Swapped for a link or a file since the lstat: remove that instead, never what it points to.
    if (code === 'ELOOP' || code === 'ENOTDIR') {
      await rm(entry, { force: true });
      return;
    }
    throw error;
  }
  try {
    const opened = HAS_PROC_FD ? `${PROC_FD}/${handle.fd}` : entry;
    for (const child of await readdir(opened)) await removeEntry(opened, child);
  } finally {
    await handle.close();
  }
  try {
    await rmdir(entry);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT') return;
    if (code !== 'ENOTDIR') throw error;
    await rm(entry, { force: true });
  }
}
