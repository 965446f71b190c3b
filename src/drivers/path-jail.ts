/**
 * The path jail: every path a task names is relative to a root (a system's
 * root, or a package repository folder) and must stay inside it.
 *
 * Two levels:
 * - {@link toJailedRelativePath} is a pure string check (absolute paths and
 *   `..` escapes), cheap enough for any driver's `validate()`;
 * - {@link resolveInsideRoot} also follows symbolic links on disk: the
 *   deepest existing ancestor of the path (dangling links followed by hand)
 *   must resolve inside the real root.
 *
 * These are checks made before the operation. The `local` driver does not
 * trust them when it uses the path: its Copy and Delete open the directory
 * holding the path walking from the root without following links
 * (local/root-files.ts, local/file-tasks.ts), so a link swapped in after the
 * check is refused rather than followed. The `ssh` driver checks for links
 * on the host just before it uses a path, which narrows the window without
 * closing it.
 */
import { lstat, readlink, realpath } from 'node:fs/promises';
import path from 'node:path';
import { DriverError } from './driver';

/** How deep a chain of dangling symbolic links is followed before giving up. */
const MAX_LINK_HOPS = 40;
/** The longest file name (one path segment) Linux file systems take, in bytes (NAME_MAX). */
export const MAX_SEGMENT_BYTES = 255;
/** The longest relative path a task may name, in bytes; with the root it stays under PATH_MAX (4096). */
export const MAX_PATH_BYTES = 3072;

/**
 * Normalises `requested` as a path relative to a root and refuses any that
 * could leave it. Pure: touches no file.
 *
 * @param where names the root in messages, e.g. `the root of system "web1"`.
 * @returns the normalised relative path, without `.` segments or a trailing slash.
 * An absolute path is taken as a path on the system: resolved under the
 * root (as a chroot would), never outside it.
 *
 * @throws DriverError `PathOutsideRoot` for `..` escapes of a relative path,
 *   `InvalidParameter` for empty paths, NUL characters and the root itself.
 */
export function toJailedRelativePath(requested: string, where: string): string {
  if (typeof requested !== 'string' || requested.length === 0) {
    throw new DriverError('InvalidParameter', `an empty path was given for ${where}`);
  }
  if (requested.includes('\0')) {
    throw new DriverError('InvalidParameter', `path ${JSON.stringify(requested)} contains a NUL character`);
  }
  checkPathLength(requested);
  // An absolute path is a path on the system, resolved under its root as a
  // chroot would: `/srv/www` is `<root>/srv/www`, and `/..` stays at the root.
  const normalized = path.posix.isAbsolute(requested)
    ? path.posix.normalize(requested).replace(/^\/+/, '').replace(/\/+$/, '')
    : path.posix.normalize(requested).replace(/\/+$/, '');
  if (normalized === '..' || normalized.startsWith('../')) {
    throw new DriverError('PathOutsideRoot', `path ${JSON.stringify(requested)} leaves ${where}`);
  }
  if (normalized === '.' || normalized === '') {
    throw new DriverError('InvalidParameter', `path ${JSON.stringify(requested)} names ${where} itself`);
  }
  return normalized;
}

/**
 * Refuses paths the file system would refuse with ENAMETOOLONG, so the
 * caller hears about it when the request is submitted.
 * @throws DriverError `InvalidParameter` naming the segment (shortened) and the limit.
 */
export function checkPathLength(requested: string): void {
  const total = Buffer.byteLength(requested, 'utf8');
  if (total > MAX_PATH_BYTES) {
    throw new DriverError('InvalidParameter', `path ${JSON.stringify(`${requested.slice(0, 60)}…`)} is ${total} bytes long; paths are at most ${MAX_PATH_BYTES} bytes`);
  }
  for (const segment of requested.split('/')) {
    const bytes = Buffer.byteLength(segment, 'utf8');
    if (bytes > MAX_SEGMENT_BYTES) {
      throw new DriverError('InvalidParameter', `path segment ${JSON.stringify(`${segment.slice(0, 40)}…`)} is ${bytes} bytes long; a file name is at most ${MAX_SEGMENT_BYTES} bytes`);
    }
  }
}

/** Options of {@link resolveInsideRoot}. */
export interface ResolveInsideRootOptions {
  /** Names the root in messages, e.g. `the root of system "web1"`. */
  readonly where: string;
  /**
   * Whether the last segment is followed when it is a symbolic link. `true`
   * for anything read or written through the path; `false` for Delete, which
   * removes the link itself and never what it points to.
   */
  readonly followFinal: boolean;
}

/**
 * Resolves `requested` inside `root` and checks, on disk, that it does not
 * escape through a symbolic link.
 *
 * @returns the absolute path (under the real path of `root`).
 * @throws DriverError as {@link toJailedRelativePath}; `PathOutsideRoot` when
 *   a link leads outside; `InvalidState` when the root itself is missing.
 */
export async function resolveInsideRoot(
  root: string,
  requested: string,
  options: ResolveInsideRootOptions,
): Promise<string> {
  const relative = toJailedRelativePath(requested, options.where);
  const realRoot = await realRootOf(root, options.where);
  const candidate = path.join(realRoot, ...relative.split('/'));
  const checked = options.followFinal ? candidate : path.dirname(candidate);
  const resolved = await realpathOfDeepestExisting(checked);
  if (resolved === undefined || !isInside(realRoot, resolved)) {
    throw new DriverError(
      'PathOutsideRoot',
      `path ${JSON.stringify(requested)} resolves outside ${options.where} through a symbolic link`,
    );
  }
  return candidate;
}

/** The real path of a root directory, or `InvalidState` when it does not exist. */
export async function realRootOf(root: string, where: string): Promise<string> {
  try {
    return await realpath(root);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') {
      throw new DriverError('InvalidState', `${where} (${root}) does not exist`);
    }
    throw error;
  }
}

/** True when `candidate` is `root` or below it (both absolute and real). */
export function isInside(root: string, candidate: string): boolean {
  return candidate === root || candidate.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

/**
 * The real path of the deepest existing ancestor of `target` (or of the
 * target itself), following dangling symbolic links by hand since
 * `realpath` refuses them. Undefined for link loops.
 */
async function realpathOfDeepestExisting(target: string): Promise<string | undefined> {
  let current = target;
  for (let hops = 0; hops < MAX_LINK_HOPS; ) {
    try {
      return await realpath(current);
    } catch (error) {
      const code = errorCode(error);
      if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'ELOOP') throw error;
      if (code === 'ELOOP') return undefined;
    }
    const link = await danglingLinkTarget(current);
    if (link !== undefined) {
      hops += 1;
      current = path.resolve(path.dirname(current), link);
      continue;
    }
    const parent = path.dirname(current);
    if (parent === current) return current;
    current = parent;
  }
  return undefined;
}

async function danglingLinkTarget(candidate: string): Promise<string | undefined> {
  try {
    const stats = await lstat(candidate);
    return stats.isSymbolicLink() ? await readlink(candidate) : undefined;
  } catch {
    return undefined;
  }
}

/** The `code` of a Node.js system error, if any. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
