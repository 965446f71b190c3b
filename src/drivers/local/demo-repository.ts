/**
 * Builds Provisor's demo package repository from the package sources
 * committed under `scripts/demo-repo/` (see its README): an `index.json`,
 * one `.tar.gz` per package version, and the `files/` folder.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { errorCode } from '../path-jail';
import { packDirectory, sha256OfFile } from './archive';
import { writeFileAtomic } from './atomic-file';
import { parseRepositoryIndex } from './package-manifest';
import { compareVersions } from '../../packaging/versions';

/** Where the sources live, relative to the project root. */
const SOURCES = path.join('scripts', 'demo-repo');

/** An index entry as the build writes it: the manifest plus what the build adds. */
type BuiltEntry = Record<string, unknown> & {
  readonly name: string;
  readonly version: string;
  readonly archive: string;
  readonly sha256: string;
  /** SHA-256 over the package's source files, so unchanged packages are not packed again. */
  readonly sourceDigest: string;
};

/**
 * Creates (or brings up to date) the demo repository in `targetDir` and
 * returns its absolute path. Idempotent: archives whose sources did not
 * change are kept as they are, so their checksums stay valid for caches and
 * for readers of the previous index; every file is replaced atomically.
 */
export async function buildDemoRepository(targetDir: string): Promise<string> {
  const sources = demoSourcesDir();
  const target = path.resolve(targetDir);
  await mkdir(target, { recursive: true });
  const previous = await previousEntries(target);
  const entries: BuiltEntry[] = [];
  for (const dir of await packageDirs(path.join(sources, 'packages'))) {
    const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    const name = String(manifest.name);
    const version = String(manifest.version);
    const archive = `${name}-${version}.tar.gz`;
    const sourceDigest = await digestDirectory(dir);
    const before = previous.get(`${name}@${version}`);
    const archivePath = path.join(target, archive);
    let sha256: string;
    if (
      before !== undefined &&
      before.sourceDigest === sourceDigest &&
      before.archive === archive &&
      existsSync(archivePath) &&
      (await sha256OfFile(archivePath)) === before.sha256
    ) {
      sha256 = before.sha256;
    } else {
      const partial = path.join(target, `.${archive}.${randomBytes(4).toString('hex')}.part`);
      try {
        await packDirectory(dir, partial);
        sha256 = await sha256OfFile(partial);
        await rename(partial, archivePath);
      } finally {
        await rm(partial, { force: true });
      }
    }
    entries.push({ ...manifest, name, version, archive, sha256, sourceDigest });
  }
  entries.sort((a, b) => (a.name === b.name ? compareVersions(a.version, b.version) : a.name < b.name ? -1 : 1));
  const index = { packages: entries };
  // The driver's own parser is the judge of the manifests committed here.
  parseRepositoryIndex(index, target);
  await cp(path.join(sources, 'files'), path.join(target, 'files'), { recursive: true, force: true });
  await writeFileAtomic(path.join(target, 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
  return target;
}

/**
 * `scripts/demo-repo` of the project this module belongs to: found by
 * walking up from the module (which runs from `dist/src/drivers/local` once
 * compiled) to the directory holding both `package.json` and the sources.
 */
export function demoSourcesDir(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, SOURCES);
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(candidate, 'packages'))) return candidate;
    if (path.dirname(dir) === dir) {
      throw new Error(`the demo repository sources (${SOURCES}) were not found above ${__dirname}`);
    }
  }
}

/** `packages/<name>/<version>` folders holding a manifest.json, sorted. */
async function packageDirs(packagesDir: string): Promise<string[]> {
  const found: string[] = [];
  for (const name of (await readdir(packagesDir)).sort()) {
    const nameDir = path.join(packagesDir, name);
    if (!(await stat(nameDir)).isDirectory()) continue;
    for (const version of (await readdir(nameDir)).sort()) {
      const dir = path.join(nameDir, version);
      if (existsSync(path.join(dir, 'manifest.json'))) found.push(dir);
    }
  }
  return found;
}

/** Entries of an earlier build in `target`, by `name@version`. */
async function previousEntries(target: string): Promise<Map<string, BuiltEntry>> {
  const entries = new Map<string, BuiltEntry>();
  let document: unknown;
  try {
    document = JSON.parse(await readFile(path.join(target, 'index.json'), 'utf8'));
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || error instanceof SyntaxError) return entries;
    throw error;
  }
  const packages = (document as { packages?: unknown } | null)?.packages;
  if (!Array.isArray(packages)) return entries;
  for (const entry of packages as unknown[]) {
    if (typeof entry !== 'object' || entry === null) continue;
    const { name, version, archive, sha256, sourceDigest } = entry as Record<string, unknown>;
    if ([name, version, archive, sha256, sourceDigest].every((field) => typeof field === 'string')) {
      entries.set(`${String(name)}@${String(version)}`, entry as BuiltEntry);
    }
  }
  return entries;
}

/** SHA-256 over the relative paths, modes and contents of every file below `dir`. */
async function digestDirectory(dir: string): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (current: string): Promise<void> => {
    for (const entry of (await readdir(current, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) {
        await walk(full);
      } else {
        const { mode } = await stat(full);
        hash.update(`${path.relative(dir, full)}\0${mode & 0o777}\0`);
        hash.update(await readFile(full));
        hash.update('\0');
      }
    }
  };
  await walk(dir);
  return hash.digest('hex');
}
