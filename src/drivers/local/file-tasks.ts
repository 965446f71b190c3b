/**
 * The local driver's file operations: Copy (from another local system's
 * root or from the package repositories) and Delete, both jailed inside the
 * roots they touch.
 *
 * A path is checked first (path-jail.ts: links that stay inside the root
 * are allowed), then used without trusting the check: the directory that
 * holds it is opened by its real path, walking from the root without
 * following any link (root-files.ts), and the last name is used inside that
 * open directory. A link swapped in between the check and the use is
 * refused (`PathOutsideRoot`), never followed; a link at the last name of a
 * Copy's target is refused too, and Delete removes a tree directory by
 * directory without entering links. Below a copied directory, the copy is
 * Node's `fs.cp` of the opened paths.
 */
import { spawn } from 'node:child_process';
import { cp, lstat, mkdtemp, realpath, rename, rm } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import path from 'node:path';
import {
  type CopyTask,
  type DeleteTask,
  DriverError,
  type SystemDescriptor,
  type TaskContext,
  type TaskResult,
} from '../driver';
import { errorCode, isInside, realRootOf, resolveInsideRoot } from '../path-jail';
import { copyFailure } from './copy-failure';
import type { PackageRepositories } from './package-repositories';
import { RootFiles, removeEntry } from './root-files';
import { rootLabel, systemRootOption } from './system-layout';

/**
 * Copies `sourcePath` to `targetPath` in `ctx.system`, creating parent
 * directories. A file replaces the file there; a directory is copied
 * recursively, and merged into a directory already there as `cp -r` does
 * (files of the same name replaced, others kept); symbolic links are
 * copied as links, verbatim. A directory onto a file or a file onto a
 * directory is refused.
 * @throws DriverError `NotFound` for a missing source, `PathOutsideRoot`,
 *   `InvalidParameter` (a source system that is not local, a directory
 *   copied onto a file or into itself).
 */
export async function executeCopy(
  task: CopyTask,
  ctx: TaskContext,
  repositories: PackageRepositories,
  driverName: string,
): Promise<TaskResult> {
  const target = await resolveInsideRoot(systemRootOption(ctx.system), task.targetPath, {
    where: rootLabel(ctx.system),
    followFinal: true,
  });
  const targetName = `${ctx.system.name}:${task.targetPath}`;
  if (task.sourceSystem === undefined) {
    const repository = await inCheckedDirectory(ctx.system, target, true, (placed) => repositories.copyOut(ctx.repositories, task.sourcePath, placed, ctx.signal, targetName));
    return { output: `copied ${task.sourcePath} from package repository ${repository} to ${targetName}` };
  }
  const sourceSystem = task.sourceSystem;
  const source = await resolveSourcePath(sourceSystem, task.sourcePath, driverName);
  // The copy works on names of opened directories, in which fs.cp cannot see a directory copied into itself.
  const realSource = path.join(await realDirectory(await realRootOf(systemRootOption(sourceSystem), rootLabel(sourceSystem)), path.dirname(source), rootLabel(sourceSystem)), path.basename(source));
  const realTarget = path.join(await realDirectory(await realRootOf(systemRootOption(ctx.system), rootLabel(ctx.system)), path.dirname(target), rootLabel(ctx.system)), path.basename(target));
  if (realTarget !== realSource && isInside(realSource, realTarget)) {
    throw new DriverError('InvalidParameter', `copying ${sourceSystem.name}:${task.sourcePath} to ${targetName}: a directory cannot be copied into itself`);
  }
  const kind = await inCheckedDirectory(sourceSystem, source, false, async (opened) => {
    const found = await kindOf(opened, task.sourcePath, sourceSystem);
    await inCheckedDirectory(ctx.system, target, true, async (placed) => {
      try {
        await cp(opened, placed, { recursive: true, force: true, verbatimSymlinks: true });
      } catch (error) {
        throw copyFailure(error, `copying ${sourceSystem.name}:${task.sourcePath} to ${targetName}`);
      }
    });
    return found;
  });
  return { output: `copied ${kind} ${sourceSystem.name}:${task.sourcePath} to ${targetName}` };
}

/**
 * Copies a path of a system of another driver (an `ssh` host) to
 * `targetPath`: its tar stream, read by that driver, is unpacked by the
 * local `tar` into a staging directory beside the target and renamed over
 * it (or, for a directory onto a directory, merged into it as
 * {@link executeCopy} does), so nothing is held in memory and a failed
 * transfer leaves the target as it was.
 */
export async function executeRemoteCopy(
  task: CopyTask,
  source: SystemDescriptor,
  ctx: TaskContext,
  reader: { read(system: SystemDescriptor, sourcePath: string, sink: PassThrough, signal: AbortSignal): Promise<string> },
): Promise<TaskResult> {
  const target = await resolveInsideRoot(systemRootOption(ctx.system), task.targetPath, { where: rootLabel(ctx.system), followFinal: true });
  await inCheckedDirectory(ctx.system, target, true, async (placed, dir) => {
    const staging = await mkdtemp(`${dir}/.copy-`);
    try {
      const stream = new PassThrough();
      const untar = spawn('tar', ['-xf', '-', '-C', staging, '--no-same-owner'], { stdio: ['pipe', 'ignore', 'pipe'] });
      let stderr = '';
      untar.stderr.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString('utf8')).slice(-2000);
      });
      stream.pipe(untar.stdin);
      const unpacked = new Promise<void>((resolve, reject) => {
        untar.once('error', reject);
        untar.once('close', (code) => (code === 0 ? resolve() : reject(new DriverError('Internal', `tar failed unpacking the copy: ${stderr.trim().split('\n').pop() ?? `exit code ${code}`}`))));
      });
      // Observed below; a tar killed after the reader failed must not reject unobserved.
      unpacked.catch(() => undefined);
      let name: string;
      try {
        [name] = await Promise.all([reader.read(source, task.sourcePath, stream, ctx.signal), unpacked]);
      } catch (error) {
        untar.kill('SIGKILL');
        throw error;
      }
      await placeCopy(path.join(staging, name), placed, `copying "${source.name}":${task.sourcePath} to ${ctx.system.name}:${task.targetPath}`);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  });
  return { output: `copied "${source.name}":${task.sourcePath} to ${ctx.system.name}:${task.targetPath}` };
}

/**
 * Removes a file, a link (never what it points to) or a directory tree.
 * @throws DriverError `NotFound` when nothing is there.
 */
export async function executeDelete(task: DeleteTask, ctx: TaskContext): Promise<TaskResult> {
  const target = await resolveInsideRoot(systemRootOption(ctx.system), task.path, {
    where: rootLabel(ctx.system),
    followFinal: false,
  });
  const kind = await inCheckedDirectory(ctx.system, target, false, async (opened, dir, name) => {
    const found = await kindOf(opened, task.path, ctx.system);
    await removeEntry(dir, name);
    return found;
  });
  return { output: `deleted ${kind} ${task.path} on system ${JSON.stringify(ctx.system.name)}` };
}

/**
 * Runs `use` with a name of `checked` (a path resolveInsideRoot accepted)
 * bound to its directory opened now without following links: `opened` is
 * `<dir>/<name>`. The directory is created when `create`; a missing one is
 * `NotFound` otherwise. With `create` (a Copy target), a link at the last
 * name is refused.
 * @throws DriverError `PathOutsideRoot` when a link was swapped in since the check.
 */
async function inCheckedDirectory<T>(
  system: SystemDescriptor,
  checked: string,
  create: boolean,
  use: (opened: string, dir: string, name: string) => Promise<T>,
): Promise<T> {
  const where = rootLabel(system);
  const root = await realRootOf(systemRootOption(system), where);
  const parent = await realDirectory(root, path.dirname(checked), where);
  const files = new RootFiles(root, JSON.stringify(system.name), 'a path it checked (a link appeared after the check)');
  const name = path.basename(checked);
  const shown = path.relative(root, path.join(parent, name)).split(path.sep).join('/');
  const result = await files.inDirectory(parent, create, async (dir) => {
    const opened = `${dir}/${name}`;
    if (create && (await lstat(opened).catch(() => undefined))?.isSymbolicLink() === true) {
      throw new DriverError('PathOutsideRoot', `${shown} on system ${JSON.stringify(system.name)} is a symbolic link; Copy does not write through a link`);
    }
    return { value: await use(opened, dir, name) };
  });
  if (result === undefined) throw new DriverError('NotFound', `path ${JSON.stringify(shown)} does not exist on system "${system.name}"`);
  return result.value;
}

/** The real path of `dir` under `root`: its existing part resolved (links inside the root allowed), the rest as named. */
async function realDirectory(root: string, dir: string, where: string): Promise<string> {
  const missing: string[] = [];
  let existing = dir;
  for (;;) {
    let real: string;
    try {
      real = await realpath(existing);
    } catch (error) {
      const code = errorCode(error);
      const parent = path.dirname(existing);
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || parent === existing) throw error;
      missing.unshift(path.basename(existing));
      existing = parent;
      continue;
    }
    const full = path.join(real, ...missing);
    if (!isInside(root, full)) throw new DriverError('PathOutsideRoot', `${path.relative(root, dir) || '.'} resolves outside ${where} through a symbolic link`);
    return full;
  }
}

/**
 * Resolves a Copy source inside another system's root (also used by
 * `validate`). Only systems of this driver have a root on this machine.
 */
export async function resolveSourcePath(
  system: SystemDescriptor,
  sourcePath: string,
  driverName: string,
): Promise<string> {
  if (system.driver !== driverName) {
    throw new DriverError(
      'InvalidParameter',
      `source system "${system.name}" uses driver "${system.driver}"; ` +
        `the ${driverName} driver copies only from ${driverName} systems`,
    );
  }
  return resolveInsideRoot(systemRootOption(system), sourcePath, { where: rootLabel(system), followFinal: true });
}

async function kindOf(file: string, shown: string, system: SystemDescriptor): Promise<string> {
  try {
    const stats = await lstat(file);
    return stats.isDirectory() ? 'directory' : stats.isSymbolicLink() ? 'link' : 'file';
  } catch (error) {
    if (errorCode(error) !== 'ENOENT' && errorCode(error) !== 'ENOTDIR') throw error;
    throw new DriverError('NotFound', `path ${JSON.stringify(shown)} does not exist on system "${system.name}"`);
  }
}

/** Puts a staged copy at `target`: renamed over it, or merged into the directory there. */
async function placeCopy(staged: string, target: string, what: string): Promise<void> {
  const [from, to] = await Promise.all([lstat(staged), lstat(target).catch(() => undefined)]);
  if (from.isDirectory() && to?.isDirectory() === true) {
    try {
      await cp(staged, target, { recursive: true, force: true, verbatimSymlinks: true });
    } catch (error) {
      throw copyFailure(error, what);
    }
    return;
  }
  if (to !== undefined && (from.isDirectory() || to.isDirectory())) {
    throw new DriverError('InvalidParameter', `${what}: ${from.isDirectory() ? 'a directory cannot be copied onto a file' : 'a file cannot be copied onto a directory (copy it to a path inside the directory)'}`);
  }
  await rm(target, { recursive: true, force: true });
  await rename(staged, target);
}
