/**
 * The software operations (Install, Update, Rollback, Uninstall,
 * InitialConfigure, Configure, Start, Stop) on one component of one system,
 * for every driver with a file system: the steps are written once here
 * against the system port (system-port.ts), which the `local` driver
 * implements on a root of this machine and the `ssh` driver over SFTP. The
 * layout they work on is described at the top of `local/local-driver.ts`.
 *
 * A failed task leaves the component as it found it where it can: a failed
 * install removes what it unpacked, a failed configure hook restores the
 * previous configuration, and a failed switch of versions (Update,
 * Rollback) switches back and restarts the old version if it was running.
 */
import path from 'node:path';
import {
  DriverError,
  type SoftwareOperation,
  type SoftwareTask,
  type TaskContext,
  type TaskResult,
} from './driver';
import {
  type ComponentInstallation,
  type InstalledVersion,
  activeVersion,
  readInstallation,
  writeInstallation,
} from './local/component-store';
import { hookEnvironment } from './local/hook-environment';
import { tailOf } from './local/output-tail';
import { type HookName, NAME_PATTERN, type PackageManifest, parameterProblem, type ReadySpec, requirementsOf } from './local/package-manifest';
import type { PackageRepositories, ResolvedPackage } from './local/package-repositories';
import { type ComponentPaths, allComponentPaths, componentPaths } from './local/system-layout';
import type { ProcessLaunch, ProcessRecord, SystemFiles, SystemPort } from './system-port';
import { satisfies } from '../packaging/versions';

/** The limits and environment of the software operations (each driver's settings). */
export interface SoftwareSettings {
  /** Longest run of one hook. */
  readonly hookTimeoutMs: number;
  /** How long a started process must stay up for Start to succeed. */
  readonly startupGraceMs: number;
  /** How long Stop waits after SIGTERM before SIGKILL. */
  readonly stopTimeoutMs: number;
  /** Bytes of output kept per task (the end of it). */
  readonly outputLimitBytes: number;
  /** The base environment of hooks and started processes. */
  readonly env: Readonly<Record<string, string>>;
}

/** What the software operations need from the driver. */
export interface SoftwareTaskDependencies {
  readonly repositories: PackageRepositories;
  readonly settings: SoftwareSettings;
}

/** One software task in progress: its inputs and the transcript it reports. */
interface Job {
  readonly task: SoftwareTask;
  readonly ctx: TaskContext;
  readonly deps: SoftwareTaskDependencies;
  readonly port: SystemPort;
  readonly paths: ComponentPaths;
  /** `"web1"`, quoted, for messages. */
  readonly system: string;
  readonly transcript: string[];
}

type Outcome = Omit<TaskResult, 'output'>;

/** One handler per operation: adding an operation fails to compile until it has one. */
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

/**
 * Performs a software task on the system behind `port`.
 * Errors keep their type; their output is prefixed with what the task did
 * before it failed.
 */
export async function executeSoftwareTask(
  task: SoftwareTask,
  ctx: TaskContext,
  port: SystemPort,
  deps: SoftwareTaskDependencies,
): Promise<TaskResult> {
  const job: Job = {
    task,
    ctx,
    deps,
    port,
    paths: componentPaths(port.files, task.component),
    system: port.system,
    transcript: [],
  };
  const limit = deps.settings.outputLimitBytes;
  try {
    // Refused before anything changes; each file operation checks again as it goes.
    await job.paths.files.assertNoLinks(allComponentPaths(job.paths));
    const outcome = await HANDLERS[task.operation](job);
    return { output: tailOf(job.transcript.join('\n'), limit), ...outcome };
  } catch (error) {
    if (!(error instanceof DriverError) || job.transcript.length === 0) throw error;
    const output = [...job.transcript, error.output].filter((part) => part !== '').join('\n');
    throw new DriverError(error.type, error.message, {
      retryable: error.retryable,
      output: tailOf(output, limit),
      cause: error.options.cause,
    });
  }
}

async function install(job: Job): Promise<Outcome> {
  const { task, ctx, paths } = job;
  const existing = await readInstallation(paths);
  if (existing !== undefined) {
    if (task.version === undefined || task.version === existing.active || existing.active.startsWith(`${task.version}.`)) {
      note(job, `${task.component} ${existing.active} is already installed on system ${job.system}; nothing to do`);
      return { version: existing.active };
    }
    throw new DriverError(
      'InvalidState',
      `${task.component} is already installed on system ${job.system} at version ${existing.active}; ` +
        `use Update to change it to ${task.version}`,
    );
  }
  const resolved = await job.deps.repositories.resolve(ctx.repositories, task.component, task.version);
  const { version } = resolved.manifest;
  checkDeclaredParameters(resolved.manifest, task);
  await checkDependencies(job, resolved.manifest);
  await checkConflicts(job, resolved.manifest);
  try {
    const record = await unpack(job, resolved);
    await runPackageHook(job, 'install', version, record);
    await writeInstallation(paths, {
      component: task.component,
      active: version,
      history: [],
      versions: { [version]: record },
    });
  } catch (error) {
    // Nothing else of this component exists: leave no trace of the attempt.
    await undo(job, `removing opt/${task.component}`, () => paths.files.remove(paths.componentDir));
    throw error;
  }
  note(job, `installed ${task.component} ${version} on system ${job.system} from ${resolved.repository}`);
  return { version };
}

async function update(job: Job): Promise<Outcome> {
  const { task, ctx, paths } = job;
  const current = await requireInstallation(job);
  const resolved = await job.deps.repositories.resolve(ctx.repositories, task.component, task.version);
  const target = resolved.manifest.version;
  if (target === current.active) {
    note(job, `${task.component} is already at ${target} on system ${job.system}; nothing to do`);
    return { version: target };
  }
  checkDeclaredParameters(resolved.manifest, task);
  await checkDependencies(job, resolved.manifest);
  await checkConflicts(job, resolved.manifest);
  const kept = current.versions[target];
  const reuse = kept !== undefined && (await paths.files.exists(paths.versionDir(target)));
  const record = reuse ? kept : await unpack(job, resolved);
  const next: ComponentInstallation = {
    ...current,
    active: target,
    history: [current.active, ...current.history.filter((version) => version !== target)],
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
    throw new DriverError(
      'InvalidState',
      `${task.component} on system ${job.system} has no ${wanted} to roll back to (previous versions: ${history})`,
    );
  }
  if (current.versions[target] === undefined || !(await job.paths.files.exists(job.paths.versionDir(target)))) {
    throw new DriverError('InvalidState', `the files of ${task.component} ${target} are gone from system ${job.system}`);
  }
  const next: ComponentInstallation = { ...current, active: target, history: current.history.slice(index + 1) };
  return switchVersion(job, current, next, undefined);
}

async function uninstall(job: Job): Promise<Outcome> {
  const { task, paths } = job;
  const current = await requireInstallation(job);
  if (task.version !== undefined && task.version !== current.active) {
    throw new DriverError(
      'InvalidState',
      `${task.component} is installed at version ${current.active}, not ${task.version}, on system ${job.system}`,
    );
  }
  await checkNoDependents(job);
  const running = await runningProcess(job);
  if (running !== undefined) await stopProcess(job, current, running);
  await runPackageHook(job, 'uninstall', current.active, activeVersion(current));
  await paths.files.remove(paths.configDir);
  await paths.files.remove(paths.logFile);
  await paths.files.remove(paths.pidFile);
  // A crash mid-removal leaves either an installed component or debris, never half of one.
  await job.port.removeComponent(paths.componentDir);
  note(job, `uninstalled ${task.component} ${current.active} from system ${job.system}`);
  return {};
}

async function configure(job: Job, mode: 'replace' | 'merge'): Promise<Outcome> {
  const { task, paths } = job;
  const current = await requireInstallation(job);
  checkDeclaredParameters(activeVersion(current).package, task);
  const previous = await readConfig(paths);
  if (mode === 'merge' && previous !== undefined && previous.values === undefined) {
    throw new DriverError(
      'InvalidState',
      `etc/${task.component}/config.json on system ${job.system} is not a JSON object; InitialConfigure replaces it`,
    );
  }
  const values: Record<string, unknown> = mode === 'merge' ? { ...previous?.values } : {};
  for (const parameter of task.parameters) values[parameter.name] = parameter.value;
  await paths.files.writeFile(paths.configFile, `${JSON.stringify(values, null, 2)}\n`);
  try {
    await runPackageHook(job, 'configure', current.active, activeVersion(current));
  } catch (error) {
    await undo(job, `restoring etc/${task.component}/config.json`, () =>
      previous === undefined ? paths.files.remove(paths.configFile) : paths.files.writeFile(paths.configFile, previous.text),
    );
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
  const started = await startProcess(job, current, job.ctx.signal);
  return { pid: started.pid };
}

async function stop(job: Job): Promise<Outcome> {
  const current = await requireInstallation(job);
  const drain = drainRequested(job);
  const quiesce = activeVersion(current).package.quiesce;
  if (drain && quiesce === undefined) {
    throw new DriverError(
      'InvalidParameter',
      `${job.task.component} ${current.active} cannot be drained (drain=true): its package declares no quiesce hook`,
    );
  }
  const running = await runningProcess(job);
  if (running !== undefined && drain && quiesce !== undefined) {
    await runPackageHook(job, 'quiesce', current.active, activeVersion(current), job.ctx.signal, {
      script: quiesce.hook,
      timeoutMs: quiesce.timeoutSeconds * 1000,
    });
  }
  if (running === undefined) {
    await job.paths.files.remove(job.paths.pidFile);
    note(job, `${job.task.component} is not running on system ${job.system}; nothing to stop`);
    return { pid: null };
  }
  await stopProcess(job, current, running);
  return { pid: null };
}

/**
 * Makes `next.active` the active version: stops the process if it runs,
 * runs the new version's install hook (and its configure hook when the
 * component is configured), records the switch, and starts the new version
 * if the old one was running. On failure it switches back.
 */
async function switchVersion(
  job: Job,
  current: ComponentInstallation,
  next: ComponentInstallation,
  unpackedNow: string | undefined,
): Promise<Outcome> {
  const running = await runningProcess(job);
  if (running !== undefined) await stopProcess(job, current, running);
  try {
    await activate(job, next, job.ctx.signal);
    await writeInstallation(job.paths, next);
    note(job, `${job.task.component} on system ${job.system} switched from ${current.active} to ${next.active}`);
    if (running === undefined) return { version: next.active };
    const started = await startProcess(job, next, job.ctx.signal);
    return { version: next.active, pid: started.pid };
  } catch (error) {
    await switchBack(job, current, running !== undefined, unpackedNow);
    throw error;
  }
}

/** Best effort, and deliberately not cancellable: the system should not stay half switched. */
async function switchBack(
  job: Job,
  current: ComponentInstallation,
  restart: boolean,
  unpackedNow: string | undefined,
): Promise<void> {
  const signal = new AbortController().signal;
  note(job, `switching ${job.task.component} back to ${current.active}`);
  try {
    const stray = await runningProcess(job);
    if (stray !== undefined) await stopProcess(job, current, stray);
    await writeInstallation(job.paths, current);
    await activate(job, current, signal);
    if (restart) await startProcess(job, current, signal);
    if (unpackedNow !== undefined) await job.paths.files.remove(job.paths.versionDir(unpackedNow));
  } catch (error) {
    note(job, `switching back failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The hooks that make a version the one in use: install, then configure if there is a configuration. */
async function activate(job: Job, installation: ComponentInstallation, signal: AbortSignal): Promise<void> {
  const record = activeVersion(installation);
  await runPackageHook(job, 'install', installation.active, record, signal);
  if (await job.paths.files.exists(job.paths.configFile)) {
    await runPackageHook(job, 'configure', installation.active, record, signal);
  }
}

async function startProcess(
  job: Job,
  installation: ComponentInstallation,
  signal: AbortSignal,
): Promise<ProcessRecord> {
  const { paths, task } = job;
  const version = installation.active;
  const record = activeVersion(installation);
  const label = `${task.component} ${version}`;
  const command = record.package.start;
  if (command === undefined) {
    throw new DriverError('InvalidState', `${label} has no start command: its package is not something that runs`);
  }
  await runPackageHook(job, 'start', version, record, signal);
  const started = await job.port.launch({
    label,
    command,
    cwd: paths.versionDir(version),
    env: environment(job, version),
    logFile: paths.logFile,
    pidFile: paths.pidFile,
    startupGraceMs: job.deps.settings.startupGraceMs,
    outputLimit: job.deps.settings.outputLimitBytes,
    ...(record.package.ready === undefined ? {} : { ready: readinessCheck(job, version, record, record.package.ready, signal) }),
  });
  note(
    job,
    `started ${label} on system ${job.system} (pid ${started.pid}); its output goes to var/log/${task.component}.log`,
  );
  return started;
}

/** The package's readiness check as the launcher calls it: a listening port that accepts, and/or its ready hook exiting 0. */
function readinessCheck(job: Job, version: string, record: InstalledVersion, ready: ReadySpec, signal: AbortSignal): NonNullable<ProcessLaunch['ready']> {
  const what = [ready.listen ? 'accepting connections' : undefined, ready.hook === undefined ? undefined : `its ready hook ${ready.hook} exiting 0`].filter((w) => w !== undefined).join(' and ');
  return {
    what,
    timeoutMs: ready.timeoutSeconds * 1000,
    async check(pid) {
      if (ready.listen && !(await job.port.acceptsConnections(pid))) return false;
      if (ready.hook === undefined) return true;
      try {
        await job.port.runHook({
          hook: 'ready',
          label: `${job.task.component} ${version}`,
          packageDir: job.paths.versionDir(version),
          script: ready.hook,
          env: environment(job, version),
          timeoutMs: ready.timeoutSeconds * 1000,
          outputLimit: job.deps.settings.outputLimitBytes,
          signal,
        });
        return true;
      } catch (err) {
        if (err instanceof DriverError && err.type === 'HookFailed') return false;
        throw err;
      }
    },
  };
}

async function stopProcess(job: Job, installation: ComponentInstallation, running: ProcessRecord): Promise<void> {
  const label = `${job.task.component} ${installation.active}`;
  const how = await job.port.terminate(running, job.deps.settings.stopTimeoutMs, label);
  await job.paths.files.remove(job.paths.pidFile);
  const killed = how === 'killed' ? ', killed after the stop timeout' : '';
  note(job, `stopped ${label} on system ${job.system} (pid ${running.pid}${killed})`);
  await runPackageHook(job, 'stop', installation.active, activeVersion(installation), new AbortController().signal);
}

/** The component's process when it is running (by its pid file). */
function runningProcess(job: Job): Promise<ProcessRecord | undefined> {
  return job.port.running(job.paths.pidFile);
}

/**
 * The Stop parameter `drain`: `true` drains the component through its
 * quiesce hook before it is stopped; `false` or absent stops it at once.
 */
function drainRequested(job: Job): boolean {
  const values = job.task.parameters.filter((p) => p.name === 'drain').map((p) => p.value);
  const value = values[values.length - 1];
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw new DriverError('InvalidParameter', `Stop parameter drain must be "true" or "false", got ${JSON.stringify(value)}`);
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
  const output = await job.port.runHook({
    hook,
    label,
    packageDir: job.paths.versionDir(version),
    script,
    env: environment(job, version),
    timeoutMs: declared?.timeoutMs ?? job.deps.settings.hookTimeoutMs,
    outputLimit: job.deps.settings.outputLimitBytes,
    signal,
  });
  const text = output.trimEnd();
  note(job, `${hook} hook of ${label}:${text === '' ? ' (no output)' : `\n${text}`}`);
}

/** Unpacks a resolved package into `opt/<component>/<version>`, which never carries a half-unpacked version. */
async function unpack(job: Job, resolved: ResolvedPackage): Promise<InstalledVersion> {
  const { paths, ctx } = job;
  const archive = await job.deps.repositories.archiveOf(resolved, ctx.signal);
  note(job, await job.port.unpack(archive, resolved.manifest, paths.componentDir, ctx.signal));
  return { installedAt: new Date().toISOString(), repository: resolved.repository, package: resolved.manifest };
}

/**
 * Same-system requirements (the `dependencies` and the `requires` placed on
 * `same-system`) must already be installed, active at a version in range.
 * Role placements are the change manager's to order, not checked here.
 */
async function checkDependencies(job: Job, manifest: PackageManifest): Promise<void> {
  for (const requirement of requirementsOf(manifest)) {
    if (requirement.placement.kind !== 'same-system') continue;
    const installed = await readInstallation(componentPaths(job.paths.files, requirement.component));
    const range = requirement.range === '*' ? '' : ` ${requirement.range}`;
    const needs = `${manifest.name} ${manifest.version} requires ${requirement.component}${range} on the same system`;
    if (installed === undefined) {
      throw new DriverError('InvalidState', `${needs}, which is not installed on system ${job.system}`);
    }
    if (!satisfies(installed.active, requirement.range)) {
      throw new DriverError('InvalidState', `${needs}; system ${job.system} has ${requirement.component} ${installed.active}`);
    }
  }
}

/**
 * Neither the package nor a component installed beside it may declare a
 * conflict with the other (at the version in question).
 */
async function checkConflicts(job: Job, manifest: PackageManifest): Promise<void> {
  for (const { name, installation } of await otherInstallations(job)) {
    const other = activeVersion(installation).package;
    const ours = manifest.conflicts.find((c) => c.component === name && satisfies(installation.active, c.range));
    if (ours !== undefined) {
      throw new DriverError(
        'InvalidState',
        `${manifest.name} ${manifest.version} conflicts with ${name} ${ours.range}, and system ${job.system} has ${name} ${installation.active}`,
      );
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

/** Uninstall refuses to pull a component from under another that requires it on the same system. */
async function checkNoDependents(job: Job): Promise<void> {
  const { component } = job.task;
  for (const { name, installation } of await otherInstallations(job)) {
    const needs = requirementsOf(activeVersion(installation).package).some(
      (requirement) => requirement.component === component && requirement.placement.kind === 'same-system',
    );
    if (needs) {
      throw new DriverError(
        'InvalidState',
        `${component} is needed by ${name} ${installation.active} on system ${job.system}; uninstall ${name} first`,
      );
    }
  }
}

/** The other components installed on the system, by name. */
async function otherInstallations(job: Job): Promise<{ name: string; installation: ComponentInstallation }[]> {
  const found: { name: string; installation: ComponentInstallation }[] = [];
  const names = await job.paths.files.list(path.posix.join(job.paths.root, 'opt'));
  for (const name of names.sort()) {
    if (name === job.task.component || !NAME_PATTERN.test(name)) continue;
    const installation = await readInstallation(componentPaths(job.paths.files, name));
    if (installation !== undefined) found.push({ name, installation });
  }
  return found;
}

/**
 * Refuses parameters the package does not declare, or values of the wrong
 * type, naming the parameter and the declared ones.
 * @throws DriverError `InvalidParameter`
 */
export function checkDeclaredParameters(manifest: PackageManifest, task: SoftwareTask): void {
  const problem = parameterProblem(manifest, task.operation, task.parameters);
  if (problem !== undefined) throw new DriverError('InvalidParameter', problem);
}

/** The manifest of the version of `component` active on the system of `files`, if it is installed (for checks before a task runs). */
export async function installedManifest(files: () => Promise<SystemFiles>, component: string): Promise<PackageManifest | undefined> {
  try {
    const installation = await readInstallation(componentPaths(await files(), component));
    return installation === undefined ? undefined : activeVersion(installation).package;
  } catch {
    // An unreadable record is the task's to report when it runs.
    return undefined;
  }
}

async function requireInstallation(job: Job): Promise<ComponentInstallation> {
  const installation = await readInstallation(job.paths);
  if (installation === undefined) {
    throw new DriverError('NotFound', `${job.task.component} is not installed on system ${job.system}`);
  }
  return installation;
}

function environment(job: Job, version: string): Record<string, string> {
  return hookEnvironment({
    base: job.deps.settings.env,
    systemRoot: job.paths.root,
    component: job.task.component,
    version,
    packageDir: job.paths.versionDir(version),
    configFile: job.paths.configFile,
    parameters: job.task.parameters,
    requestId: job.ctx.requestId,
  });
}

/** The current configuration: its text, and its values when it is a JSON object. */
async function readConfig(paths: ComponentPaths): Promise<{ text: string; values?: Record<string, unknown> } | undefined> {
  const text = await paths.files.readFile(paths.configFile);
  if (text === undefined) return undefined;
  try {
    const values: unknown = JSON.parse(text);
    if (typeof values === 'object' && values !== null && !Array.isArray(values)) {
      return { text, values: values as Record<string, unknown> };
    }
  } catch {
    // Not JSON: only InitialConfigure can fix it.
  }
  return { text };
}

/**
 * Undoes part of a failed task. Its own failure (a connection that dropped
 * with the task) is noted, never put in place of the task's error.
 */
async function undo(job: Job, what: string, step: () => Promise<void>): Promise<void> {
  try {
    await step();
  } catch (error) {
    note(job, `${what} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function note(job: Job, line: string): void {
  job.transcript.push(line);
}
