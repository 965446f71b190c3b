/**
 * The `ssh` driver's file operations. Copy brings a file or a directory
 * tree from the package repositories, from a `local` system or from
 * another `ssh` system (over its own pooled connection) to a path under
 * this system's root; Delete removes one. Paths are jailed in the root as
 * on `local` (an absolute path is resolved under the root); no symbolic
 * link is followed on the way to them.
 *
 * A copy travels as a tar stream, produced where the source is (the local
 * `tar`, or `tar` on the source host) and piped through Provisor into an
 * SFTP upload: never held whole in memory. It is unpacked on the target
 * into a staging directory. A file, or a directory whose target does not
 * exist, is then renamed over the target path, so a failed copy leaves the
 * target as it was; a directory copied onto an existing directory is merged
 * into it, as `cp -r` and the `local` driver do (files of the same name are
 * replaced, others kept). A directory onto a file, or a file onto a
 * directory, is refused (`InvalidParameter`).
 *
 * A full disk on the target fails the copy naming the host and the cause
 * (not retryable); a connection that drops mid-copy leaves its outcome
 * unknown (`OutcomeUnknown`).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstat, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { type CopyTask, type DeleteTask, DriverError, type SystemDescriptor, type TaskContext, type TaskResult } from '../driver';
import type { PackageRepositories } from '../local/package-repositories';
import { errorCode, resolveInsideRoot, toJailedRelativePath } from '../path-jail';
import { rootLabel, systemRootOption } from '../local/system-layout';
import { REMOTE_PATH, runRemote } from './remote-command';
import type { RemoteFiles } from './remote-files';
import { hostLabel } from './ssh-target';

/** Opens the remote files of another `ssh` system (a Copy source). */
export type RemoteOpener = (system: SystemDescriptor) => Promise<RemoteFiles>;

/** A path under a remote root, checked as a string (absolute paths resolved under the root). */
export function remotePath(files: RemoteFiles, requested: string, system: SystemDescriptor): string {
  return path.posix.join(files.root, toJailedRelativePath(requested, rootLabel(system)));
}

const EXTRACT = [
  'archive=$1; target=$2; staging=$3',
  'mkdir -p -- "$staging" || exit 4',
  'if ! tar -xf "$archive" -C "$staging" --no-same-owner; then rm -rf -- "$staging" "$archive"; exit 4; fi',
  'rm -f -- "$archive"',
  'mkdir -p -- "$(dirname -- "$target")" || { rm -rf -- "$staging"; exit 4; }',
  'set -- "$staging"/* "$staging"/.[!.]*; item=',
  'for f; do [ -e "$f" ] || [ -L "$f" ] || continue; item=$f; done',
  '[ -n "$item" ] || { rm -rf -- "$staging"; echo "the source is empty" >&2; exit 5; }',
  'if [ -d "$item" ] && [ ! -L "$item" ]; then',
  '  if [ -d "$target" ] && [ ! -L "$target" ]; then cp -PRp -- "$item"/. "$target"/; s=$?; rm -rf -- "$staging"; exit $s; fi',
  '  if [ -e "$target" ] || [ -L "$target" ]; then rm -rf -- "$staging"; exit 6; fi',
  'elif [ -d "$target" ] && [ ! -L "$target" ]; then rm -rf -- "$staging"; exit 7; fi',
  'rm -rf -- "$target" && mv -- "$item" "$target"; s=$?; rm -rf -- "$staging"; exit $s',
].join('\n');

/** EXTRACT's exit codes for a copy that cannot be made. */
const KIND_MISMATCH: Readonly<Record<number, string>> = {
  6: 'a directory cannot be copied onto a file',
  7: 'a file cannot be copied onto a directory (copy it to a path inside the directory)',
};

export async function executeSshCopy(
  task: CopyTask,
  ctx: TaskContext,
  files: RemoteFiles,
  repositories: PackageRepositories,
  openRemote: RemoteOpener,
  outputLimit: number,
): Promise<TaskResult> {
  const target = remotePath(files, task.targetPath, ctx.system);
  await files.assertNoLinks([target]);
  const targetName = `${ctx.system.name}:${task.targetPath}`;
  const nonce = randomBytes(6).toString('hex');
  const archive = path.posix.join(files.root, 'var', 'run', `.copy-${nonce}.tar`);
  let from: string;
  let scratch: string | undefined;
  let produce: (sink: PassThrough) => { done: Promise<void>; stop: () => void };
  try {
    if (task.sourceSystem === undefined) {
      scratch = await mkdtemp(path.join(tmpdir(), 'provisor-copy-'));
      const staged = path.join(scratch, 'item');
      const repository = await repositories.copyOut(ctx.repositories, task.sourcePath, staged, ctx.signal);
      from = `package repository ${repository}`;
      produce = (sink) => localTar(scratch as string, 'item', sink);
    } else if (task.sourceSystem.driver === 'local') {
      const source = await resolveInsideRoot(systemRootOption(task.sourceSystem), task.sourcePath, { where: rootLabel(task.sourceSystem), followFinal: true });
      try {
        await lstat(source);
      } catch (error) {
        if (errorCode(error) !== 'ENOENT' && errorCode(error) !== 'ENOTDIR') throw error;
        throw new DriverError('NotFound', `path ${JSON.stringify(task.sourcePath)} does not exist on system "${task.sourceSystem.name}"`);
      }
      from = `"${task.sourceSystem.name}":${task.sourcePath}`;
      produce = (sink) => localTar(path.dirname(source), path.basename(source), sink);
    } else if (task.sourceSystem.driver === 'ssh') {
      const sourceFiles = await openRemote(task.sourceSystem);
      const source = remotePath(sourceFiles, task.sourcePath, task.sourceSystem);
      await sourceFiles.assertNoLinks([source]);
      if ((await sourceFiles.kindOf(source)) === undefined) {
        throw new DriverError('NotFound', `path ${JSON.stringify(task.sourcePath)} does not exist on system "${task.sourceSystem.name}"`);
      }
      from = `"${task.sourceSystem.name}":${task.sourcePath}`;
      produce = (sink) => remoteTar(sourceFiles, source, sink, ctx.signal, outputLimit);
    } else {
      throw new DriverError(
        'InvalidParameter',
        `source system "${task.sourceSystem.name}" uses driver "${task.sourceSystem.driver}"; the ssh driver copies from the package repositories, local and ssh systems`,
      );
    }
    await files.ensureDirectory(path.posix.dirname(archive));
    const stream = new PassThrough();
    const producer = produce(stream);
    // The first failure is the cause: a source that fails ends the upload's stream early, and a failed upload stops the source.
    const failures: unknown[] = [];
    const fail = (error: unknown): void => {
      failures.push(error);
      producer.stop();
      stream.destroy();
    };
    const upload = files.upload(stream, archive, ctx.signal);
    upload.catch(fail);
    producer.done.catch(fail);
    await Promise.allSettled([upload, producer.done]);
    if (failures.length > 0) {
      await files.remove(archive).catch(() => undefined);
      throw failures[0];
    }
    const result = await runRemote(files.connection, {
      cwd: files.root,
      env: { PATH: REMOTE_PATH, LANG: 'C' },
      argv: ['/bin/sh', '-c', EXTRACT, 'provisor', archive, target, path.posix.join(files.root, 'var', 'run', `.copy-${nonce}`)],
      what: `unpacking the copy of ${from}`,
      timeoutMs: 30 * 60_000,
      outputLimit,
      signal: ctx.signal,
    });
    const mismatch = KIND_MISMATCH[result.code];
    if (mismatch !== undefined) throw new DriverError('InvalidParameter', `copying ${from} to ${targetName}: ${mismatch}`);
    if (result.code !== 0) {
      const full = /no space left/i.test(result.output);
      throw new DriverError(
        'Internal',
        `copying ${from} to ${targetName} failed on ${hostLabel(files.connection.target)}: ${full ? "no space left on the host's disk: " : ''}${result.lastError || `exit code ${result.code}`}`,
        { output: result.output, retryable: false },
      );
    }
  } finally {
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  }
  return { output: `copied ${from} to ${targetName}` };
}

export async function executeSshDelete(task: DeleteTask, ctx: TaskContext, files: RemoteFiles): Promise<TaskResult> {
  const target = remotePath(files, task.path, ctx.system);
  // The final component may itself be a link: Delete removes the link, never what it points to.
  await files.assertNoLinks([path.posix.dirname(target)]);
  const kind = await files.kindOf(target);
  if (kind === undefined) throw new DriverError('NotFound', `path ${JSON.stringify(task.path)} does not exist on system "${ctx.system.name}"`);
  await files.remove(target);
  return { output: `deleted ${kind} ${task.path} on system ${JSON.stringify(ctx.system.name)}` };
}

/** `tar -c` of one entry of a local directory into `sink`. */
function localTar(dir: string, name: string, sink: PassThrough): { done: Promise<void>; stop: () => void } {
  const child = spawn('tar', ['-cf', '-', '-C', dir, '--', name], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-2000);
  });
  child.stdout.pipe(sink);
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve();
      else reject(new DriverError('Internal', `tar failed reading ${name}: ${stderr.trim().split('\n').pop() ?? `exit code ${code}`}`));
    });
  });
  return { done, stop: () => child.kill('SIGKILL') };
}

/**
 * Writes a tar of one path of an ssh system into `sink` (ending it), and
 * resolves with the name of the path's entry in the tar.
 */
export type RemoteTreeReader = (system: SystemDescriptor, sourcePath: string, sink: PassThrough, signal: AbortSignal) => Promise<string>;

/** `tar -c` on the source host, streamed through this process into `sink`. */
export function remoteTar(files: RemoteFiles, source: string, sink: PassThrough, signal: AbortSignal, outputLimit: number): { done: Promise<void>; stop: () => void } {
  const stop = new AbortController();
  const both = AbortSignal.any([signal, stop.signal]);
  const done = runRemote(files.connection, {
    cwd: path.posix.dirname(source),
    env: { PATH: REMOTE_PATH, LANG: 'C' },
    argv: ['tar', '-cf', '-', '--', path.posix.basename(source)],
    what: `reading ${files.shown(source)} on system ${files.system}`,
    timeoutMs: 30 * 60_000,
    outputLimit,
    signal: both,
    stdout: sink,
  }).then((result) => {
    sink.end();
    if (result.code !== 0) throw new DriverError('Internal', `tar failed reading ${files.shown(source)} on system ${files.system}: ${result.lastError}`);
  });
  done.catch(() => sink.destroy());
  return { done, stop: () => stop.abort() };
}
