/**
 * The local driver's side of the system port (../system-port.ts): a root
 * directory of this machine, its files opened without following links
 * (root-files.ts), hooks and processes run here.
 */
import { mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { SystemPort } from '../system-port';
import { unpackArchive } from './archive';
import { acceptsConnections, isRunning, launchDetached, readPidFile, terminate } from './component-process';
import { runHook } from './hook-runner';
import { RootFiles, removeEntry } from './root-files';

/**
 * The port of the system whose real root is `root`.
 * @param system the system's name, quoted, for messages (`"web1"`).
 */
export function localSystem(root: string, system: string): SystemPort {
  const files = new RootFiles(root, system);
  return {
    system,
    files,
    async unpack(archive, manifest, componentDir, signal) {
      const { version } = manifest;
      // The directory stays open while the version is unpacked into it: a link swapped in meanwhile is not followed.
      await files.inDirectory(componentDir, true, async (dir) => {
        // Version names never start with a dot, so staging names cannot collide.
        const staging = await mkdtemp(`${dir}/.unpack-${version}-`);
        try {
          await unpackArchive(archive, staging, signal);
          await rm(`${dir}/${version}`, { recursive: true, force: true });
          await rename(staging, `${dir}/${version}`);
        } catch (error) {
          await rm(staging, { recursive: true, force: true });
          throw error;
        }
      });
      return `unpacked ${manifest.archive} into ${path.posix.relative(root, componentDir)}/${version}`;
    },
    async removeComponent(componentDir) {
      // Renaming first makes the state file vanish at once.
      const name = path.posix.basename(componentDir);
      await files.inDirectory(path.posix.dirname(componentDir), false, async (parent) => {
        const debris = await mkdtemp(`${parent}/.removing-${name}-`);
        await rename(`${parent}/${name}`, `${debris}/component`);
        await removeEntry(parent, path.posix.basename(debris));
      });
    },
    runHook,
    launch: (spec) =>
      launchDetached({ ...spec, command: spec.command.map((arg) => (arg === '$NODE' ? process.execPath : arg)), files }),
    async running(pidFile) {
      const record = await readPidFile(files, pidFile);
      return record !== undefined && (await isRunning(record)) ? record : undefined;
    },
    terminate,
    acceptsConnections,
  };
}
