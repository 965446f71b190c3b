/**
 * Package repositories: locations (an absolute directory, a `file:` URL or
 * an http(s) URL) holding an `index.json` (see `package-manifest.ts`) and
 * `.tar.gz` archives.
 *
 * - Indexes are cached in memory for a short TTL, so resolving a package on
 *   the request path costs a map lookup; a failed load is not cached.
 * - Archives of directory repositories are used in place; archives fetched
 *   over HTTP are kept in a cache directory, keyed by URL and checksum, and
 *   written there atomically (several processes may share it).
 * - Resolution: with a version, the first repository (in priority order)
 *   listing that version wins; without one, the highest version across all
 *   repositories wins, an earlier repository winning ties. An unreachable
 *   repository is skipped when another one answers, and reported when no
 *   repository has the package (it might have been there).
 */
import { randomBytes, createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { cp, lstat, mkdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { fileURLToPath } from 'node:url';
import { DriverError } from '../driver';
import { errorCode, resolveInsideRoot, toJailedRelativePath } from '../path-jail';
import { sha256OfFile } from './archive';
import { copyFailure } from './copy-failure';
import { type PackageManifest, type RepositoryIndex, parseRepositoryIndex } from './package-manifest';
import { compareVersions } from '../../packaging/versions';

/** A package version found in a repository. */
export interface ResolvedPackage {
  readonly manifest: PackageManifest;
  /** The repository location it came from. */
  readonly repository: string;
}

/** Options of {@link PackageRepositories}. */
export interface PackageRepositoriesOptions {
  /** Where archives fetched over HTTP are kept. */
  readonly cacheDir: string;
  /** How long a loaded index is trusted. */
  readonly indexTtlMs: number;
  /** Limit for one HTTP request (index or archive). */
  readonly fetchTimeoutMs: number;
  /** The clock, in milliseconds. */
  readonly now: () => number;
  /** Largest index.json read from an HTTP repository (default 16 MiB); past it the read stops and the load fails. */
  readonly maxIndexBytes?: number;
  /** Largest archive downloaded from an HTTP repository (default 1 GiB); past it the download stops and fails. */
  readonly maxArchiveBytes?: number;
}

const DEFAULT_MAX_INDEX_BYTES = 16 * 1024 * 1024;
const DEFAULT_MAX_ARCHIVE_BYTES = 1024 * 1024 * 1024;

/** Thrown inside a capped read when the cap is passed. */
class TooLarge extends Error {}

/** Counts the bytes going through and fails the stream past `max`. */
async function* capped(source: AsyncIterable<Uint8Array>, max: number): AsyncGenerator<Uint8Array> {
  let total = 0;
  for await (const chunk of source) {
    total += chunk.byteLength;
    if (total > max) throw new TooLarge(`more than ${max} bytes`);
    yield chunk;
  }
}

type Location = { readonly kind: 'directory'; readonly dir: string } | { readonly kind: 'http'; readonly base: URL };

interface CachedIndex {
  readonly expiresAt: number;
  readonly index: Promise<RepositoryIndex>;
}

/** Reads package repositories for the local driver. */
export class PackageRepositories {
  private readonly indexes = new Map<string, CachedIndex>();

  constructor(private readonly options: PackageRepositoriesOptions) {}

  /**
   * Finds `name` in `locations`: at `version` exactly, else the highest
   * version that `version` is a prefix of (`1.0` picks the highest `1.0.x`,
   * `1` the highest `1.x.y`), as package managers read it; with no
   * `version`, the highest version. An exact match in any repository wins
   * over prefix matches.
   * @throws DriverError `UnknownPackage` naming package and version, or the
   *   `Internal` error of a repository that could not be read.
   */
  async resolve(locations: readonly string[], name: string, version?: string): Promise<ResolvedPackage> {
    const wanted = version === undefined ? name : `${name} ${version}`;
    if (locations.length === 0) {
      throw new DriverError('UnknownPackage', `package ${wanted} is in no repository: no repository is configured`);
    }
    const loaded = await Promise.allSettled(locations.map((location) => this.index(location)));
    let best: ResolvedPackage | undefined;
    let failure: unknown;
    const known = new Set<string>();
    loaded.forEach((outcome, i) => {
      const repository = locations[i] as string;
      if (outcome.status === 'rejected') {
        failure ??= outcome.reason;
        return;
      }
      const candidates = outcome.value.byName.get(name) ?? [];
      for (const candidate of candidates) known.add(candidate.version);
      const match = version === undefined ? candidates[0] : matchVersion(candidates, version);
      if (match === undefined) return;
      if (best === undefined || preferred(match.version, best.manifest.version, version)) {
        best = { manifest: match, repository };
      }
    });
    if (best !== undefined) return best;
    if (failure !== undefined) throw failure;
    const versions = [...known].sort((a, b) => compareVersions(b, a));
    throw new DriverError(
      'UnknownPackage',
      `package ${wanted} is in no repository` + (versions.length > 0 ? ` (known versions: ${versions.join(', ')})` : ''),
    );
  }

  /**
   * A local path of the package's archive: in place for directory
   * repositories, downloaded into the cache for HTTP ones; the checksum is
   * verified when the manifest has one.
   */
  async archiveOf(resolved: ResolvedPackage, signal: AbortSignal): Promise<string> {
    const { manifest } = resolved;
    const location = parseLocation(resolved.repository);
    const label = `archive ${manifest.archive} of ${manifest.name} ${manifest.version}`;
    if (location.kind === 'directory') {
      const file = await resolveInsideRoot(location.dir, manifest.archive, {
        where: `package repository ${resolved.repository}`,
        followFinal: true,
      });
      if (!(await exists(file))) {
        throw new DriverError('Internal', `${label} is missing from package repository ${resolved.repository}`);
      }
      await verifyChecksum(file, manifest, label);
      return file;
    }
    const url = new URL(manifest.archive, location.base);
    const key = createHash('sha256').update(`${url.href}\n${manifest.sha256 ?? ''}`).digest('hex').slice(0, 24);
    const cached = path.join(this.options.cacheDir, `${key}-${path.posix.basename(manifest.archive)}`);
    if (await exists(cached)) {
      if (manifest.sha256 === undefined || (await sha256OfFile(cached)) === manifest.sha256) return cached;
    }
    await mkdir(this.options.cacheDir, { recursive: true, mode: 0o700 });
    const partial = `${cached}.${process.pid}.${randomBytes(4).toString('hex')}.part`;
    try {
      const found = await this.download(url, partial, signal, label);
      if (!found) throw new DriverError('Internal', `${label} is missing from package repository ${resolved.repository}`);
      await verifyChecksum(partial, manifest, label);
      await rename(partial, cached);
    } finally {
      await rm(partial, { force: true });
    }
    return cached;
  }

  /**
   * Copies `sourcePath` (relative to a repository) to the absolute
   * `target`, from the first repository holding it. Directories are copied
   * recursively from directory repositories (merged into a directory
   * already at `target`); HTTP repositories serve files.
   * @param shownTarget names the target in messages.
   * @throws DriverError `NotFound` when no repository has it;
   *   `InvalidParameter` for a directory onto a file or a file onto a directory.
   */
  async copyOut(
    locations: readonly string[],
    sourcePath: string,
    target: string,
    signal: AbortSignal,
    shownTarget: string = target,
  ): Promise<string> {
    let failure: unknown;
    for (const repository of locations) {
      const location = parseLocation(repository);
      try {
        if (location.kind === 'directory') {
          const source = await resolveInsideRoot(location.dir, sourcePath, {
            where: `package repository ${repository}`,
            followFinal: true,
          });
          if (!(await exists(source))) continue;
          await mkdir(path.dirname(target), { recursive: true });
          try {
            await cp(source, target, { recursive: true, force: true, verbatimSymlinks: true });
          } catch (error) {
            throw copyFailure(error, `copying ${sourcePath} from package repository ${repository} to ${shownTarget}`);
          }
          return repository;
        }
        const relative = toJailedRelativePath(sourcePath, `package repository ${repository}`);
        const partial = `${target}.${randomBytes(4).toString('hex')}.part`;
        await mkdir(path.dirname(target), { recursive: true });
        try {
          if (!(await this.download(new URL(relative, location.base), partial, signal, sourcePath))) continue;
          await rename(partial, target);
        } finally {
          await rm(partial, { force: true });
        }
        return repository;
      } catch (error) {
        if (error instanceof DriverError && error.type !== 'Internal') throw error;
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
    throw new DriverError('NotFound', `path ${JSON.stringify(sourcePath)} is in no package repository`);
  }

  /**
   * Every package version each repository offers, repository by repository
   * in the order given (the change manager's planning snapshot reads them).
   * @throws the `Internal` DriverError of the first repository that cannot be read.
   */
  async offered(locations: readonly string[]): Promise<{ readonly repository: string; readonly packages: readonly PackageManifest[] }[]> {
    const indexes = await Promise.all(locations.map((location) => this.index(location)));
    return indexes.map((index, i) => ({ repository: locations[i] as string, packages: index.packages }));
  }

  /** Forgets every cached index. */
  clear(): void {
    this.indexes.clear();
  }

  private index(location: string): Promise<RepositoryIndex> {
    const now = this.options.now();
    const cached = this.indexes.get(location);
    if (cached !== undefined && cached.expiresAt > now) return cached.index;
    const entry: CachedIndex = { expiresAt: now + this.options.indexTtlMs, index: this.loadIndex(location) };
    this.indexes.set(location, entry);
    void entry.index.catch(() => {
      if (this.indexes.get(location) === entry) this.indexes.delete(location);
    });
    return entry.index;
  }

  private async loadIndex(repository: string): Promise<RepositoryIndex> {
    const location = parseLocation(repository);
    let text: string;
    if (location.kind === 'directory') {
      try {
        text = await readFile(path.join(location.dir, 'index.json'), 'utf8');
      } catch (error) {
        const missing = errorCode(error) === 'ENOENT';
        throw new DriverError(
          'Internal',
          `package repository ${repository} cannot be read: ${missing ? 'it has no index.json' : String(error)}`,
          { retryable: !missing, cause: error },
        );
      }
    } else {
      const label = `package repository ${repository}`;
      const response = await this.get(new URL('index.json', location.base), undefined, label);
      if (!response.ok || response.body === null) {
        await response.body?.cancel();
        throw httpFailure(`package repository ${repository} cannot be read: index.json`, response.status);
      }
      const max = this.options.maxIndexBytes ?? DEFAULT_MAX_INDEX_BYTES;
      const chunks: Uint8Array[] = [];
      const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
      try {
        for await (const chunk of capped(body, max)) chunks.push(chunk);
      } catch (error) {
        body.destroy();
        if (error instanceof TooLarge) throw new DriverError('Internal', `package repository ${repository}: index.json is larger than ${max} bytes; the read was stopped`);
        throw new DriverError('Internal', `package repository ${repository} cannot be read: index.json: ${String(error)}`, { retryable: true, cause: error });
      }
      text = Buffer.concat(chunks).toString('utf8');
    }
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch (error) {
      throw new DriverError('Internal', `index.json of package repository ${repository} is not JSON: ${String(error)}`, {
        cause: error,
      });
    }
    return parseRepositoryIndex(document, repository);
  }

  /** Downloads `url` into `file`; false on 404. */
  private async download(url: URL, file: string, signal: AbortSignal, label: string): Promise<boolean> {
    const response = await this.get(url, signal, label);
    if (response.status === 404) {
      await response.body?.cancel();
      return false;
    }
    if (!response.ok || response.body === null) {
      await response.body?.cancel();
      throw httpFailure(`${label} cannot be fetched from ${url.href}`, response.status);
    }
    const max = this.options.maxArchiveBytes ?? DEFAULT_MAX_ARCHIVE_BYTES;
    try {
      await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), (source: AsyncIterable<Uint8Array>) => capped(source, max), createWriteStream(file));
    } catch (error) {
      if (signal.aborted) throw new DriverError('Cancelled', `fetching ${label} was cancelled`, { cause: error });
      if (error instanceof TooLarge) throw new DriverError('Internal', `${label} from ${url.href} is larger than ${max} bytes; the download was stopped`, { cause: error });
      throw new DriverError('Internal', `${label} could not be fetched from ${url.href}: ${String(error)}`, {
        retryable: true,
        cause: error,
      });
    }
    return true;
  }

  private async get(url: URL, signal: AbortSignal | undefined, label: string): Promise<Response> {
    const timeout = AbortSignal.timeout(this.options.fetchTimeoutMs);
    try {
      return await fetch(url, { signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]) });
    } catch (error) {
      if (signal?.aborted) throw new DriverError('Cancelled', `fetching ${label} was cancelled`, { cause: error });
      throw new DriverError('Internal', `${label} cannot be reached at ${url.href}: ${describeFetchError(error)}`, {
        retryable: true,
        cause: error,
      });
    }
  }
}

/**
 * Classifies a repository location.
 * @throws DriverError `InvalidParameter` for anything but an absolute
 *   directory, a `file:` URL or an http(s) URL.
 */
export function parseLocation(repository: string): Location {
  if (/^https?:\/\//i.test(repository)) {
    const base = new URL(repository);
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    return { kind: 'http', base };
  }
  if (/^file:/i.test(repository)) return { kind: 'directory', dir: fileURLToPath(repository) };
  if (path.isAbsolute(repository)) return { kind: 'directory', dir: repository };
  throw new DriverError(
    'InvalidParameter',
    `package repository ${JSON.stringify(repository)} is neither an absolute directory nor an http(s) URL`,
  );
}

async function verifyChecksum(file: string, manifest: PackageManifest, label: string): Promise<void> {
  if (manifest.sha256 === undefined) return;
  const actual = await sha256OfFile(file);
  if (actual !== manifest.sha256) {
    throw new DriverError('Internal', `${label} has checksum ${actual}, the index says ${manifest.sha256}`);
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await lstat(file);
    return true;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw error;
  }
}

function httpFailure(what: string, status: number): DriverError {
  // Server trouble and throttling pass; a missing or forbidden file does not.
  const retryable = status >= 500 || status === 408 || status === 429;
  return new DriverError('Internal', `${what} answered HTTP ${status}`, { retryable });
}

function describeFetchError(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}


/**
 * The candidate (sorted highest first) whose version is `version`, else the
 * highest one `version` is a dotted prefix of.
 */
export function matchVersion<T extends { readonly version: string }>(candidates: readonly T[], version: string): T | undefined {
  const exact = candidates.find((c) => c.version === version);
  if (exact !== undefined) return exact;
  // Pre-releases are chosen only by their exact name.
  return candidates.find((c) => c.version.startsWith(`${version}.`) && !c.version.includes('-'));
}

/** Whether a later repository's match replaces the one found first: an exact match stays, otherwise the higher version wins. */
function preferred(candidate: string, current: string, wanted: string | undefined): boolean {
  if (wanted !== undefined && current === wanted) return false;
  if (wanted !== undefined && candidate === wanted) return true;
  return compareVersions(candidate, current) > 0;
}
