/**
 * What `provisor repository add` accepts as a folder repository. Any
 * operator can copy a repository's files onto a managed system (File.Copy
 * without a sourceSystem), so a repository is whatever Provisor is willing
 * to hand out: system folders and Provisor's own data are refused, and so is
 * any folder that contains one of them, whatever links lead there.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../../src/config';

/** Folders refused as a repository, and refused in any folder that contains them. */
const SYSTEM_FOLDERS = ['/', '/etc', '/root', '/home', '/proc', '/sys', '/dev', '/boot', '/var', '/usr', '/bin', '/sbin', '/run', '/srv', '/opt', '/tmp', '/mnt', '/media'];
/** System folders nothing inside of which may be a repository either. */
const SEALED_FOLDERS = ['/etc', '/root', '/proc', '/sys', '/dev', '/boot', '/run'];

export class RepositoryLocationError extends Error {
  override readonly name = 'RepositoryLocationError';
}

/**
 * Checks a folder given to `repository add` and returns its real path (what
 * is registered, so a link changed later cannot redirect it).
 * @throws RepositoryLocationError naming the folder and the rule it breaks.
 */
export function checkRepositoryFolder(location: string, config: Pick<Config, 'dataDir' | 'secretKeyFile' | 'drivers'>): string {
  const given = path.resolve(location);
  let real: string;
  try {
    real = fs.realpathSync(given);
  } catch {
    throw new RepositoryLocationError(`repository folder ${given} does not exist`);
  }
  if (!fs.statSync(real).isDirectory()) throw new RepositoryLocationError(`repository ${given} is not a folder`);
  const shown = real === given ? given : `${given} (which resolves to ${real})`;
  const why = 'operators can copy any file of a repository onto the systems they manage, so a repository must hold nothing but packages and files meant for them';
  for (const { folder, what } of protectedFolders(config)) {
    if (real === folder || isInside(real, folder)) {
      const relation = real === folder ? 'is' : 'contains';
      throw new RepositoryLocationError(`refused: ${shown} ${relation} ${what} ${folder}; ${why}`);
    }
  }
  for (const { folder, what } of sealedFolders(config)) {
    if (isInside(folder, real)) throw new RepositoryLocationError(`refused: ${shown} is inside ${what} ${folder}; ${why}`);
  }
  return real;
}

function protectedFolders(config: Pick<Config, 'dataDir' | 'secretKeyFile' | 'drivers'>): Array<{ folder: string; what: string }> {
  const rootEntries = safeList('/').filter((name) => /^lib/.test(name)).map((name) => `/${name}`);
  const home = os.homedir();
  const system = [...SYSTEM_FOLDERS, ...rootEntries, ...(home === '/' ? [] : [home])].map((folder) => ({ folder, what: 'the system folder' }));
  const own = [
    { folder: config.dataDir, what: "Provisor's data folder" },
    { folder: path.dirname(config.secretKeyFile), what: "the folder of Provisor's secret key" },
    { folder: config.drivers.systemsDir, what: "the managed systems' roots folder" },
  ];
  return withRealPaths([...system, ...own]);
}

function sealedFolders(config: Pick<Config, 'drivers'>): Array<{ folder: string; what: string }> {
  return withRealPaths([...SEALED_FOLDERS.map((folder) => ({ folder, what: 'the system folder' })), { folder: config.drivers.systemsDir, what: "the managed systems' roots folder" }]);
}

/** Each folder, and its real path too when a link leads there (/lib → /usr/lib, /var/run → /run). */
function withRealPaths(folders: Array<{ folder: string; what: string }>): Array<{ folder: string; what: string }> {
  const all = [...folders];
  for (const entry of folders) {
    try {
      const real = fs.realpathSync(entry.folder);
      if (real !== entry.folder) all.push({ folder: real, what: entry.what });
    } catch {
      // Not on this machine: nothing to protect.
    }
  }
  return all;
}

/** True when `candidate` is strictly below `folder`. */
function isInside(folder: string, candidate: string): boolean {
  const prefix = folder.endsWith(path.sep) ? folder : folder + path.sep;
  return candidate !== folder && candidate.startsWith(prefix);
}

function safeList(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
