/**
 * The `ssh` driver's software operations, with the `local` driver's
 * semantics (see `local/local-driver.ts`) and the same layout under the
 * system's root on the remote host:
 *
 * - the same `state.json`, `config.json`, log and pid files, written over
 *   SFTP (state and configuration atomically);
 * - packages streamed from the repository over SFTP, their SHA-256 checked
 *   on the host against the manifest (or against what was sent), unpacked
 *   through a staging directory;
 * - hooks run with the same environment (`PROVISOR_*`, parameters as
 *   `PROVISOR_PARAM_*`), given as environment values, never on a command
 *   line; the same undo on failure;
 * - Start launches the manifest's command in its own session with a pid
 *   file; Stop ends its process group (TERM, then KILL after the timeout);
 *   Update and Rollback keep the previous version.
 */
import { createReadStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { DriverError, type SoftwareOperation, type SoftwareTask, type TaskContext, type TaskResult } from '../driver';
import { type ComponentInstallation, type InstalledVersion, activeVersion, installationText, parseInstallation } from '../local/component-store';
import { hookEnvironment } from '../local/hook-environment';
import { tailOf } from '../local/output-tail';
import { type HookName, NAME_PATTERN, type PackageManifest, requirementsOf } from '../local/package-manifest';
import type { PackageRepositories, ResolvedPackage } from '../local/package-repositories';
import { satisfies } from '../../packaging/versions';
import { REMOTE_PATH, mustRun, runRemote } from './remote-command';
import type { RemoteFiles } from './remote-files';

/** What the operations need from the driver. */
export interface SshTaskSettings {
  readonly hookTimeoutMs: number;
  readonly startupGraceMs: number;
  readonly stopTimeoutMs: number;
  readonly outputLimitBytes: number;
  /** The base environment of hooks and processes on the host. */
  readonly env: Readonly<Record<string, string>>;
}

interface Paths {
  readonly componentDir: string;
  readonly stateFile: string;
  readonly configDir: string;
  readonly configFile: string;
  readonly logFile: string;
  readonly pidFile: string;
  versionDir(version: string): string;
}

interface Job {
  readonly task: SoftwareTask;
  readonly ctx: TaskContext;
  readonly files: RemoteFiles;
  readonly repositories: PackageRepositories;
  readonly settings: SshTaskSettings;
  readonly paths: Paths;
  readonly system: string;
  readonly transcript: string[];
}

type Outcome = Omit<TaskResult, 'output'>;

const HANDLERS: { readonly [K in SoftwareOperation]: (job: Job) => Promise<Outcome> } = {
  Install: install,
  Update: update,
  Rollback: rollback,
  Uninstall: uninstall,
  InitialConfigure: (job) => configure(job, 'replace'),
  Configure: (job) => configure(job, 'merge'),
  Start: start,
  Stop: stop,
};

/** The paths of a component under a remote root. */
export function remoteComponentPaths(root: string, component: string): Paths {
  const componentDir = path.posix.join(root, 'opt', component);
  const configDir = path.posix.join(root, 'etc', component);
  return {
    componentDir,
    stateFile: `${componentDir}/state.json`,
    configDir,
    configFile: `${configDir}/config.json`,
    logFile: path.posix.join(root, 'var', 'log', `${component}.log`),
    pidFile: path.posix.join(root, 'var', 'run', `${component}.pid`),
    versionDir: (version) => `${componentDir}/${version}`,
  };
}

export async function executeSshSoftwareTask(
  task: SoftwareTask,
  ctx: TaskContext,
  files: RemoteFiles,
  repositories: PackageRepositories,
  settings: SshTaskSettings,
): Promise<TaskResult> {
  const paths = remoteComponentPaths(files.root, task.component);
  const job: Job = { task, ctx, files, repositories, settings, paths, system: files.system, transcript: [] };
  const limit = settings.outputLimitBytes;
  try {
    await files.assertNoLinks([paths.componentDir, paths.stateFile, paths.configDir, paths.configFile, paths.logFile, paths.pidFile]);
    const outcome = await HANDLERS[task.operation](job);
    return { output: tailOf(job.transcript.join('\n'), limit), ...outcome };
  } catch (error) {
    if (!(error instanceof DriverError) || job.transcript.length === 0) throw error;
    const output = [...job.transcript, error.output].filter((part) => part !== '').join('\n');
    throw new DriverError(error.type, error.message, { retryable: error.retryable, output: tailOf(output, limit), cause: error.options.cause });
  }
}

async function readInstallation(job: Job, component = job.task.component): Promise<ComponentInstallation | undefined> {
  const file = remoteComponentPaths(job.files.root, component).stateFile;
  const text = await job.files.readFile(file);
  return text === undefined ? undefined : parseInstallation(text, job.files.shown(file));
}

async function writeInstallation(job: Job, installation: ComponentInstallation): Promise<void> {
  await job.files.writeFile(job.paths.stateFile, installationText(installation));
}

async function install(job: Job): Promise<Outcome> {
  const { task, ctx, paths } = job;
  const existing = await readInstallation(job);
  if (existing !== undefined) {
    if (task.version === undefined || task.version === existing.active) {
      note(job, `${task.component} ${existing.active} is already installed on system ${job.system}; nothing to do`);
      return { version: existing.active };
    }
    throw new DriverError(
      'InvalidState',
      `${task.component} is already installed on system ${job.system} at version ${existing.active}; use Update to change it to ${task.version}`,
    );
  }
  const resolved = await job.repositories.resolve(ctx.repositories, task.component, task.version);
  const { version } = resolved.manifest;
  await checkDependencies(job, resolved.manifest);
  await checkConflicts(job, resolved.manifest);
  try {
    const record = await unpack(job, resolved);
    await runPackageHook(job, 'install', version, record);
    await writeInstallation(job, { component: task.component, active: version, history: [], versions: { [version]: record } });
  } catch (error) {
    await job.files.remove(paths.componentDir).catch(() => undefined);
    throw error;
  }
  note(job, `installed ${task.component} ${version} on system ${job.system} from ${resolved.repository}`);
  return { version };
}

async function update(job: Job): Promise<Outcome> {
  const { task, ctx, paths } = job;
  const current = await requireInstallation(job);
  const resolved = await job.repositories.resolve(ctx.repositories, task.component, task.version);
  const target = resolved.manifest.version;
  if (target === current.active) {
    note(job, `${task.component} is already at ${target} on system ${job.system}; nothing to do`);
    return { version: target };
  }
  await checkDependencies(job, resolved.manifest);
  await checkConflicts(job, resolved.manifest);
  const kept = current.versions[target];
  const reuse = kept !== undefined && (await job.files.exists(paths.versionDir(target)));
  const record = reuse ? kept : await unpack(job, resolved);
  const next: ComponentInstallation = {
    ...current,
    active: target,
    history: [current.active, ...current.history.filter((v) => v !== target)],
    versions: { ...current.versions, [target]: record },
  };
  return switchVersion(job, current, next, reuse ? undefined : target);
}

async function rollback(job: Job): Promise<Outcome> {
  const { task } = job;
  const current = await requireInstallation(job);
  const index = task.version === undefined ? 0 : current.history.indexOf(task.version);
  const target = current.history[index];
  if (index < 0 || target === undefined) {
    const wanted = task.version === undefined ? 'previous version' : `previous version ${task.version}`;
    const history = current.history.length === 0 ? 'none' : current.history.join(', ');
    throw new DriverError('InvalidState', `${task.component} on system ${job.system} has no ${wanted} to roll back to (previous versions: ${history})`);
  }
  if (current.versions[target] === undefined || !(await job.files.exists(job.paths.versionDir(target)))) {
    throw new DriverError('InvalidState', `the files of ${task.component} ${target} are gone from system ${job.system}`);
  }
  return switchVersion(job, current, { ...current, active: target, history: current.history.slice(index + 1) }, undefined);
}

async function uninstall(job: Job): Promise<Outcome> {
  const { task, paths } = job;
  const current = await requireInstallation(job);
  if (task.version !== undefined && task.version !== current.active) {
    throw new DriverError('InvalidState', `${task.component} is installed at version ${current.active}, not ${task.version}, on system ${job.system}`);
  }
  await checkNoDependents(job);
  const running = await runningProcess(job);
  if (running !== undefined) await stopProcess(job, current, running);
  await runPackageHook(job, 'uninstall', current.active, activeVersion(current));
  // The state file goes first, so an interrupted removal leaves debris, never half an installation.
  await job.files.remove(paths.stateFile);
  await job.files.remove(paths.configDir, paths.logFile, paths.pidFile, paths.componentDir);
  note(job, `uninstalled ${task.component} ${current.active} from system ${job.system}`);
  return {};
}

async function configure(job: Job, mode: 'replace' | 'merge'): Promise<Outcome> {
  const { task, paths } = job;
  const current = await requireInstallation(job);
  const previousText = await job.files.readFile(paths.configFile);
  let previous: Record<string, unknown> | undefined;
  if (previousText !== undefined) {
    try {
      const parsed: unknown = JSON.parse(previousText);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) previous = parsed as Record<string, unknown>;
    } catch {
      // Not JSON: only InitialConfigure can fix it.
    }
  }
  if (mode === 'merge' && previousText !== undefined && previous === undefined) {
    throw new DriverError('InvalidState', `etc/${task.component}/config.json on system ${job.system} is not a JSON object; InitialConfigure replaces it`);
  }
  const values: Record<string, unknown> = mode === 'merge' ? { ...previous } : {};
  for (const parameter of task.parameters) values[parameter.name] = parameter.value;
  await job.files.writeFile(paths.configFile, `${JSON.stringify(values, null, 2)}\n`);
  try {
    await runPackageHook(job, 'configure', current.active, activeVersion(current));
  } catch (error) {
    if (previousText === undefined) await job.files.remove(paths.configFile);
    else await job.files.writeFile(paths.configFile, previousText);
    throw error;
  }
  const names = Object.keys(values);
  note(
    job,
    `${mode === 'replace' ? 'wrote' : 'updated'} etc/${task.component}/config.json on system ${job.system}` +
      (names.length === 0 ? ' (empty)' : ` (${names.join(', ')})`),
  );
  return {};
}

async function start(job: Job): Promise<Outcome> {
  const current = await requireInstallation(job);
  const running = await runningProcess(job);
  if (running !== undefined) {
    note(job, `${job.task.component} ${current.active} is already running on system ${job.system} (pid ${running.pid})`);
    return { pid: running.pid };
  }
  return { pid: (await startProcess(job, current, job.ctx.signal)).pid };
}

async function stop(job: Job): Promise<Outcome> {
  const current = await requireInstallation(job);
  const drainValue = job.task.parameters.filter((p) => p.name === 'drain').pop()?.value;
  if (drainValue !== undefined && drainValue !== 'true' && drainValue !== 'false') {
    throw new DriverError('InvalidParameter', `Stop parameter drain must be "true" or "false", got ${JSON.stringify(drainValue)}`);
  }
  const quiesce = activeVersion(current).package.quiesce;
  if (drainValue === 'true' && quiesce === undefined) {
    throw new DriverError('InvalidParameter', `${job.task.component} ${current.active} cannot be drained (drain=true): its package declares no quiesce hook`);
  }
  const running = await runningProcess(job);
  if (running !== undefined && drainValue === 'true' && quiesce !== undefined) {
    await runPackageHook(job, 'quiesce', current.active, activeVersion(current), job.ctx.signal, { script: quiesce.hook, timeoutMs: quiesce.timeoutSeconds * 1000 });
  }
  if (running === undefined) {
    await job.files.remove(job.paths.pidFile);
    note(job, `${job.task.component} is not running on system ${job.system}; nothing to stop`);
    return { pid: null };
  }
  await stopProcess(job, current, running);
  return { pid: null };
}

async function switchVersion(job: Job, current: ComponentInstallation, next: ComponentInstallation, unpackedNow: string | undefined): Promise<Outcome> {
  const running = await runningProcess(job);
  if (running !== undefined) await stopProcess(job, current, running);
  try {
    await activate(job, next, job.ctx.signal);
    await writeInstallation(job, next);
    note(job, `${job.task.component} on system ${job.system} switched from ${current.active} to ${next.active}`);
    if (running === undefined) return { version: next.active };
    const started = await startProcess(job, next, job.ctx.signal);
    return { version: next.active, pid: started.pid };
  } catch (error) {
    // Best effort, not cancellable: the system should not stay half switched.
    const signal = new AbortController().signal;
    note(job, `switching ${job.task.component} back to ${current.active}`);
    try {
      const stray = await runningProcess(job);
      if (stray !== undefined) await stopProcess(job, current, stray);
      await writeInstallation(job, current);
      await activate(job, current, signal);
      if (running !== undefined) await startProcess(job, current, signal);
      if (unpackedNow !== undefined) await job.files.remove(job.paths.versionDir(unpackedNow));
    } catch (undo) {
      note(job, `switching back failed: ${undo instanceof Error ? undo.message : String(undo)}`);
    }
    throw error;
  }
}

async function activate(job: Job, installation: ComponentInstallation, signal: AbortSignal): Promise<void> {
  const record = activeVersion(installation);
  await runPackageHook(job, 'install', installation.active, record, signal);
  if (await job.files.exists(job.paths.configFile)) await runPackageHook(job, 'configure', installation.active, record, signal);
}

/** Started in its own session, output appended to the log; still running after the grace period, or the start failed. */
const LAUNCH = [
  'log=$1; pidfile=$2; grace=$3; shift 3',
  'setsid "$@" >> "$log" 2>&1 < /dev/null &',
  'p=$!',
  'st=$(cat /proc/$p/stat 2>/dev/null); st=${st##*) }; set -- $st; printf "%s\\n%s\\n" "$p" "${20:-}" > "$pidfile"',
  'sleep "$grace"',
  'state=$(cat /proc/$p/stat 2>/dev/null); state=${state##*) }; state=${state%% *}',
  'if [ -z "$state" ] || [ "$state" = Z ] || [ "$state" = X ]; then wait "$p"; echo "exited $?"; exit 0; fi',
  'echo "running $p"',
].join('\n');

async function startProcess(job: Job, installation: ComponentInstallation, signal: AbortSignal): Promise<{ pid: number }> {
  const { paths, task } = job;
  const version = installation.active;
  const record = activeVersion(installation);
  const label = `${task.component} ${version}`;
  const command = record.package.start;
  if (command === undefined || command.length === 0) {
    throw new DriverError('InvalidState', `${label} has no start command: its package is not something that runs`);
  }
  await runPackageHook(job, 'start', version, record, signal);
  await job.files.ensureDirectory(path.posix.dirname(paths.logFile));
  await job.files.ensureDirectory(path.posix.dirname(paths.pidFile));
  const grace = (job.settings.startupGraceMs / 1000).toFixed(3);
  const result = await runRemote(job.files.connection, {
    cwd: paths.versionDir(version),
    env: environment(job, version),
    argv: ['/bin/sh', '-c', LAUNCH, 'provisor', paths.logFile, paths.pidFile, grace, ...command.map((arg) => (arg === '$NODE' ? 'node' : arg))],
    what: `starting ${label}`,
    timeoutMs: job.settings.startupGraceMs + job.settings.hookTimeoutMs,
    outputLimit: job.settings.outputLimitBytes,
    signal,
  });
  const answer = /^(running|exited) (\d+)$/m.exec(result.output);
  if (result.code !== 0 || answer === null) {
    throw new DriverError('Internal', `starting ${label} on system ${job.system} failed: ${result.lastError || result.output.trim()}`, { output: result.output });
  }
  if (answer[1] === 'exited') {
    await job.files.remove(paths.pidFile);
    const log = (await job.files.readFile(paths.logFile))?.trimEnd().split('\n').slice(-5).join('\n') ?? '';
    throw new DriverError('HookFailed', `${label} exited with code ${answer[2]} during its start-up`, { output: log });
  }
  const pid = Number(answer[2]);
  note(job, `started ${label} on system ${job.system} (pid ${pid}); its output goes to var/log/${task.component}.log`);
  return { pid };
}

/** TERM to the group, KILL after the timeout (in tenths of a second). */
const TERMINATE = [
  'pid=$1; tenths=$2',
  'kill -TERM -"$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || { echo exited; exit 0; }',
  'i=0',
  'while kill -0 -"$pid" 2>/dev/null; do',
  '  i=$((i+1)); if [ "$i" -gt "$tenths" ]; then kill -KILL -"$pid" 2>/dev/null; echo killed; exit 0; fi',
  '  sleep 0.1',
  'done',
  'echo exited',
].join('\n');

async function stopProcess(job: Job, installation: ComponentInstallation, running: { pid: number }): Promise<void> {
  const label = `${job.task.component} ${installation.active}`;
  const output = await mustRun(job.files.connection, {
    cwd: job.files.root,
    argv: ['/bin/sh', '-c', TERMINATE, 'provisor', String(running.pid), String(Math.ceil(job.settings.stopTimeoutMs / 100))],
    what: `stopping ${label}`,
    timeoutMs: job.settings.stopTimeoutMs + 30_000,
  });
  await job.files.remove(job.paths.pidFile);
  note(job, `stopped ${label} on system ${job.system} (pid ${running.pid}${output.includes('killed') ? ', killed after the stop timeout' : ''})`);
  await runPackageHook(job, 'stop', installation.active, activeVersion(installation), new AbortController().signal);
}

/** Running when the pid is alive, not a zombie, and started when the pid file says (pids are reused). */
const PROBE = 'st=$(cat /proc/$1/stat 2>/dev/null) || { echo gone; exit 0; }; st=${st##*) }; set -- $st; if [ "$1" = Z ] || [ "$1" = X ]; then echo gone; else echo "alive ${20:-}"; fi';

async function runningProcess(job: Job): Promise<{ pid: number } | undefined> {
  const text = await job.files.readFile(job.paths.pidFile);
  if (text === undefined) return undefined;
  const [pidLine, startLine] = text.split('\n');
  const pid = Number(pidLine);
  if (!Number.isSafeInteger(pid) || pid <= 1) return undefined;
  const output = await mustRun(job.files.connection, { cwd: job.files.root, argv: ['/bin/sh', '-c', PROBE, 'provisor', String(pid)], what: 'checking a process' });
  const alive = /^alive ?(\S*)$/m.exec(output);
  if (alive === null) return undefined;
  const recorded = startLine?.trim() ?? '';
  return recorded === '' || alive[1] === '' || alive[1] === recorded ? { pid } : undefined;
}

async function runPackageHook(
  job: Job,
  hook: HookName | 'quiesce',
  version: string,
  record: InstalledVersion,
  signal: AbortSignal = job.ctx.signal,
  declared?: { readonly script: string; readonly timeoutMs: number },
): Promise<void> {
  const script = declared?.script ?? (hook === 'quiesce' ? undefined : record.package.hooks[hook]);
  if (script === undefined) return;
  const label = `${job.task.component} ${version}`;
  const what = `${hook} hook of ${label}`;
  const dir = job.paths.versionDir(version);
  const result = await runRemote(job.files.connection, {
    cwd: dir,
    env: environment(job, version),
    argv: ['/bin/sh', '-c', 'if [ -f "$1" ]; then exec /bin/sh "$1"; fi; echo "$1 is missing from the package" >&2; exit 127', 'provisor', path.posix.join(dir, script)],
    what,
    timeoutMs: declared?.timeoutMs ?? job.settings.hookTimeoutMs,
    outputLimit: job.settings.outputLimitBytes,
    signal,
  });
  if (result.code !== 0) {
    throw new DriverError('HookFailed', `${what} exited with code ${result.code}${result.lastError === '' ? '' : `: ${result.lastError}`}`, { output: result.output });
  }
  const text = result.output.trimEnd();
  note(job, `${hook} hook of ${label}:${text === '' ? ' (no output)' : `\n${text}`}`);
}

/** Checks the archive on the host, then unpacks it through a staging directory. */
const UNPACK = [
  'archive=$1; target=$2; staging=$3; want=$4',
  'got=$(sha256sum -- "$archive" | cut -d" " -f1)',
  'if [ "$got" != "$want" ]; then rm -f -- "$archive"; echo "checksum mismatch: expected $want, the host has $got" >&2; exit 3; fi',
  'rm -rf -- "$staging" && mkdir -p -- "$staging" || exit 4',
  'if ! tar -xzf "$archive" -C "$staging" --no-same-owner; then rm -rf -- "$staging" "$archive"; exit 4; fi',
  'rm -f -- "$archive"; rm -rf -- "$target" && mv -- "$staging" "$target"',
].join('\n');

async function unpack(job: Job, resolved: ResolvedPackage): Promise<InstalledVersion> {
  const { paths, ctx } = job;
  const { version, sha256 } = resolved.manifest;
  const archive = await job.repositories.archiveOf(resolved, ctx.signal);
  await job.files.ensureDirectory(paths.componentDir);
  const nonce = randomBytes(6).toString('hex');
  const remoteArchive = `${paths.componentDir}/.upload-${version}-${nonce}.tar.gz`;
  const sent = await job.files.upload(createReadStream(archive), remoteArchive, ctx.signal);
  if (sha256 !== undefined && sent !== sha256) {
    await job.files.remove(remoteArchive);
    throw new DriverError('Internal', `archive ${resolved.manifest.archive} of ${resolved.manifest.name} ${version} does not match its sha256 (expected ${sha256}, read ${sent})`);
  }
  const result = await runRemote(job.files.connection, {
    cwd: paths.componentDir,
    argv: ['/bin/sh', '-c', UNPACK, 'provisor', remoteArchive, paths.versionDir(version), `${paths.componentDir}/.unpack-${version}-${nonce}`, sha256 ?? sent],
    env: { PATH: REMOTE_PATH, LANG: 'C' },
    what: `unpacking ${resolved.manifest.archive}`,
    timeoutMs: job.settings.hookTimeoutMs,
    outputLimit: job.settings.outputLimitBytes,
    signal: ctx.signal,
  });
  if (result.code !== 0) {
    throw new DriverError('Internal', `unpacking ${resolved.manifest.archive} on system ${job.system} failed: ${result.lastError || `exit code ${result.code}`}`, {
      output: result.output,
    });
  }
  note(job, `copied ${resolved.manifest.archive} over SFTP (sha256 ${sent.slice(0, 12)}…) and unpacked it into opt/${job.task.component}/${version}`);
  return { installedAt: new Date().toISOString(), repository: resolved.repository, package: resolved.manifest };
}

async function checkDependencies(job: Job, manifest: PackageManifest): Promise<void> {
  for (const requirement of requirementsOf(manifest)) {
    if (requirement.placement.kind !== 'same-system') continue;
    const installed = await readInstallation(job, requirement.component);
    const range = requirement.range === '*' ? '' : ` ${requirement.range}`;
    const needs = `${manifest.name} ${manifest.version} requires ${requirement.component}${range} on the same system`;
    if (installed === undefined) throw new DriverError('InvalidState', `${needs}, which is not installed on system ${job.system}`);
    if (!satisfies(installed.active, requirement.range)) {
      throw new DriverError('InvalidState', `${needs}; system ${job.system} has ${requirement.component} ${installed.active}`);
    }
  }
}

async function checkConflicts(job: Job, manifest: PackageManifest): Promise<void> {
  for (const { name, installation } of await otherInstallations(job)) {
    const other = activeVersion(installation).package;
    const ours = manifest.conflicts.find((c) => c.component === name && satisfies(installation.active, c.range));
    if (ours !== undefined) {
      throw new DriverError('InvalidState', `${manifest.name} ${manifest.version} conflicts with ${name} ${ours.range}, and system ${job.system} has ${name} ${installation.active}`);
    }
    const theirs = other.conflicts.find((c) => c.component === manifest.name && satisfies(manifest.version, c.range));
    if (theirs !== undefined) {
      throw new DriverError(
        'InvalidState',
        `${name} ${installation.active} on system ${job.system} conflicts with ${manifest.name} ${theirs.range}, so ${manifest.name} ${manifest.version} cannot be installed beside it`,
      );
    }
  }
}

async function checkNoDependents(job: Job): Promise<void> {
  const { component } = job.task;
  for (const { name, installation } of await otherInstallations(job)) {
    const needs = requirementsOf(activeVersion(installation).package).some((r) => r.component === component && r.placement.kind === 'same-system');
    if (needs) throw new DriverError('InvalidState', `${component} is needed by ${name} ${installation.active} on system ${job.system}; uninstall ${name} first`);
  }
}

async function otherInstallations(job: Job): Promise<{ name: string; installation: ComponentInstallation }[]> {
  const found: { name: string; installation: ComponentInstallation }[] = [];
  for (const name of (await job.files.list(path.posix.join(job.files.root, 'opt'))).sort()) {
    if (name === job.task.component || !NAME_PATTERN.test(name)) continue;
    const installation = await readInstallation(job, name);
    if (installation !== undefined) found.push({ name, installation });
  }
  return found;
}

async function requireInstallation(job: Job): Promise<ComponentInstallation> {
  const installation = await readInstallation(job);
  if (installation === undefined) throw new DriverError('NotFound', `${job.task.component} is not installed on system ${job.system}`);
  return installation;
}

function environment(job: Job, version: string): Record<string, string> {
  return hookEnvironment({
    base: job.settings.env,
    systemRoot: job.files.root,
    component: job.task.component,
    version,
    packageDir: job.paths.versionDir(version),
    configFile: job.paths.configFile,
    parameters: job.task.parameters,
    requestId: job.ctx.requestId,
  });
}

function note(job: Job, line: string): void {
  job.transcript.push(line);
}
