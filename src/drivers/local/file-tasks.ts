/**
 * The local driver's file operations: Copy (from another local system's
 * root or from the package repositories) and Delete, both jailed inside the
 * roots they touch.
 */
import { spawn } from 'node:child_process';
import { cp, lstat, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
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
import { errorCode, resolveInsideRoot } from '../path-jail';
import type { PackageRepositories } from './package-repositories';
import { rootLabel, systemRootOption } from './system-layout';

/**
 * Copies `sourcePath` to `targetPath` in `ctx.system`, creating parent
 * directories and replacing what is there. Directories are copied
 * recursively; symbolic links are copied as links, verbatim.
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
    const repository = await repositories.copyOut(ctx.repositories, task.sourcePath, target, ctx.signal);
    return { output: `copied ${task.sourcePath} from package repository ${repository} to ${targetName}` };
  }
  const source = await resolveSourcePath(task.sourceSystem, task.sourcePath, driverName);
  const kind = await kindOf(source, task.sourcePath, task.sourceSystem);
  await mkdir(path.dirname(target), { recursive: true });
  try {
    await cp(source, target, { recursive: true, force: true, verbatimSymlinks: true });
  } catch (error) {
    throw copyFailure(error, `copying ${task.sourceSystem.name}:${task.sourcePath} to ${targetName}`);
  }
  return { output: `copied ${kind} ${task.sourceSystem.name}:${task.sourcePath} to ${targetName}` };
}

/**
 * Copies a path of a system of another driver (an `ssh` host) to
 * `targetPath`: its tar stream, read by that driver, is unpacked by the
 * local `tar` into a staging directory beside the target and renamed over
 * it, so nothing is held in memory and a failed copy leaves the target as
 * it was.
 */
export async function executeRemoteCopy(
  task: CopyTask,
  source: SystemDescriptor,
  ctx: TaskContext,
  reader: { read(system: SystemDescriptor, sourcePath: string, sink: PassThrough, signal: AbortSignal): Promise<string> },
): Promise<TaskResult> {
  const target = await resolveInsideRoot(systemRootOption(ctx.system), task.targetPath, { where: rootLabel(ctx.system), followFinal: true });
  await mkdir(path.dirname(target), { recursive: true });
  const staging = await mkdtemp(path.join(path.dirname(target), '.copy-'));
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
    await rm(target, { recursive: true, force: true });
    await rename(path.join(staging, name), target);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
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
  const kind = await kindOf(target, task.path, ctx.system);
  await rm(target, { recursive: true });
  return { output: `deleted ${kind} ${task.path} on system ${JSON.stringify(ctx.system.name)}` };
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

function copyFailure(error: unknown, what: string): unknown {
  const code = errorCode(error);
  // Node's fs.cp refuses nonsense (a directory onto a file, into itself) with ERR_FS_CP_* codes.
  if (code !== undefined && code.startsWith('ERR_FS_CP_')) {
    return new DriverError('InvalidParameter', `${what}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  return error;
}
