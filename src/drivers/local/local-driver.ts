/**
 * The `local` driver: really performs provisioning tasks on this machine.
 * A managed system is a directory (its root, `system.options.root`, an
 * absolute path); every path a task names is jailed inside it.
 *
 * Layout inside a system root:
 *
 * ```
 * <root>/
 *   opt/<component>/state.json         active version, history (for Rollback), and the
 *                                      manifest of every unpacked version (component-store.ts)
 *   opt/<component>/<version>/         an unpacked package: the cwd of its hooks and process
 *   etc/<component>/config.json        the configuration parameters, a JSON object of strings
 *                                      (InitialConfigure replaces it, Configure merges into it)
 *   var/log/<component>.log            output of the started process, appended
 *   var/run/<component>.pid            pid of the started process (and its start time)
 *   …                                  anything else is the packages' business (demo-httpd
 *                                      serves srv/www) or put there by Copy
 * ```
 *
 * The driver follows no symbolic link in these paths (root-files.ts): a
 * software task refuses with `PathOutsideRoot` naming the path when any
 * directory or file on the way is a link, and every read and write checks
 * again as it opens, so a link planted mid-task is refused too.
 *
 * Operations:
 * - Install unpacks the package (from the first repository that has the
 *   version, or the highest version anywhere) and runs its `install` hook.
 *   Its same-system requirements (`dependencies`, and `requires` placed on
 *   `same-system`) must already be installed at a version in range, and
 *   nothing installed may conflict with it either way (`conflicts`): the
 *   driver never installs a component the engine did not ask for, so the
 *   engine's records stay true. Role placements are not checked here.
 *   Installing the installed version (or no version) again succeeds doing
 *   nothing; another version is refused (`InvalidState`: use Update).
 * - Update unpacks the new version beside the old one, runs its `install`
 *   hook (and `configure` hook if the component is configured), switches,
 *   and pushes the old version onto the history; the new version's
 *   requirements and conflicts are checked first, as for Install. A running component is
 *   stopped first and started again on the new version. Rollback switches
 *   back to the most recent previous version (or the named one) the same
 *   way, re-running that version's hooks, which must therefore be idempotent.
 * - Uninstall stops the process, runs the `uninstall` hook and removes the
 *   component's files (opt, etc, log and pid file). It refuses while another
 *   installed component depends on it.
 * - InitialConfigure / Configure write `config.json` and run the `configure`
 *   hook; a failing hook restores the previous configuration. A running
 *   process is not restarted: the caller sends Stop and Start.
 * - Start runs the `start` hook, if any, then launches the manifest's start
 *   command detached; it must stay up for the start-up grace period. Stop
 *   ends the process group (SIGTERM, then SIGKILL) and then runs the `stop`
 *   hook. Both succeed doing nothing when there is nothing to do. Stop with
 *   the parameter `drain=true` first runs the package's `quiesce` hook
 *   (bounded by its `timeoutSeconds`; a failure or timeout fails the Stop
 *   and leaves the process running); a package without one refuses it
 *   (`InvalidParameter`).
 * - Copy and Delete work on the roots of local systems and on directory
 *   repositories, and Copy takes sources from systems of the driver given
 *   as `remoteSources` (the `ssh` driver); see file-tasks.ts.
 *
 * `ctx.component` is not consulted: the files under the root are the truth
 * the engine's rows mirror. Cancellation kills a running hook; a Stop
 * already under way is finished rather than abandoned halfway.
 */
import { mkdir, readFile, realpath, statfs } from 'node:fs/promises';
import os, { availableParallelism, totalmem } from 'node:os';
import path from 'node:path';
import {
  type Driver,
  DriverError,
  type GatheredHardware,
  type SoftwareTask,
  type SystemDescriptor,
  type Task,
  type TaskContext,
  type TaskResult,
  type ValidatedTask,
} from '../driver';
import { throwIfCancelled } from '../cancellation';
import { errorCode, realRootOf, resolveInsideRoot, toJailedRelativePath } from '../path-jail';
import { executeCopy, executeDelete, executeRemoteCopy, resolveSourcePath } from './file-tasks';
import { type LocalDriverOptions, compileLocalSettings } from './local-settings';
import { PackageRepositories } from './package-repositories';
import { checkDeclaredParameters, executeSoftwareTask, installedManifest } from '../software-tasks';
import { localSystem } from './local-system';
import { RootFiles } from './root-files';
import { SYSTEM_DIRECTORIES, assertPlainName, rootLabel, systemRootOption } from './system-layout';

export type { LocalDriverOptions } from './local-settings';

/** The name systems give to use this driver. */
export const LOCAL_DRIVER_NAME = 'local';

type ValidationContext = Omit<TaskContext, 'signal' | 'requestId' | 'component'>;

/**
 * Creates the local driver.
 * @throws RangeError when an option is out of range.
 */
export function createLocalDriver(options: LocalDriverOptions = {}): Driver {
  const settings = compileLocalSettings(options);
  const repositories = new PackageRepositories({
    cacheDir: settings.cacheDir,
    indexTtlMs: settings.indexTtlMs,
    fetchTimeoutMs: settings.fetchTimeoutMs,
    now: settings.now,
  });

  async function validate(task: Task, ctx: ValidationContext): Promise<ValidatedTask | void> {
    const root = systemRootOption(ctx.system);
    switch (task.operation) {
      case 'Copy':
        await checkPath(root, task.targetPath, ctx.system, true);
        if (task.sourceSystem === undefined) {
          toJailedRelativePath(task.sourcePath, 'the package repository');
        } else if (task.sourceSystem.driver === settings.remoteSources?.driver) {
          toJailedRelativePath(task.sourcePath, rootLabel(task.sourceSystem));
        } else {
          const source = resolveSourcePath(task.sourceSystem, task.sourcePath, LOCAL_DRIVER_NAME);
          await tolerateMissingRoot(source, task.sourcePath, rootLabel(task.sourceSystem));
        }
        return;
      case 'Delete':
        await checkPath(root, task.path, ctx.system, false);
        return;
      default:
        checkSoftwareTask(task);
        if (task.operation === 'Install' || task.operation === 'Update') {
          const { manifest } = await repositories.resolve(ctx.repositories, task.component, task.version);
          checkDeclaredParameters(manifest, task);
          return { version: manifest.version };
        }
        if (task.operation === 'InitialConfigure' || task.operation === 'Configure') {
          // The installed version's declarations; a component not installed yet is reported when the task runs.
          const system = JSON.stringify(ctx.system.name);
          const installed = await installedManifest(async () => new RootFiles(await realpath(root), system), task.component);
          if (installed !== undefined) checkDeclaredParameters(installed, task);
        }
    }
  }

  async function execute(task: Task, ctx: TaskContext): Promise<TaskResult> {
    try {
      throwIfCancelled(ctx.signal, describe(task, ctx.system));
      switch (task.operation) {
        case 'Copy':
          if (task.sourceSystem !== undefined && settings.remoteSources !== undefined && task.sourceSystem.driver === settings.remoteSources.driver) {
            return await executeRemoteCopy(task, task.sourceSystem, ctx, settings.remoteSources);
          }
          return await executeCopy(task, ctx, repositories, LOCAL_DRIVER_NAME);
        case 'Delete':
          return await executeDelete(task, ctx);
        default: {
          checkSoftwareTask(task);
          const root = await realRootOf(systemRootOption(ctx.system), rootLabel(ctx.system));
          return await executeSoftwareTask(task, ctx, localSystem(root, JSON.stringify(ctx.system.name)), { repositories, settings });
        }
      }
    } catch (error) {
      throw asDriverError(error, `${describe(task, ctx.system)} failed`);
    }
  }

  async function prepareSystem(system: SystemDescriptor): Promise<void> {
    const root = systemRootOption(system);
    try {
      await mkdir(root, { recursive: true });
      for (const dir of SYSTEM_DIRECTORIES) await mkdir(path.join(root, dir), { recursive: true });
    } catch (error) {
      throw asDriverError(error, `preparing the root of system "${system.name}" (${root}) failed`);
    }
  }

  return {
    name: LOCAL_DRIVER_NAME,
    validate: async (task, ctx) => {
      try {
        return await validate(task, ctx);
      } catch (error) {
        throw asDriverError(error, `validating ${describe(task, ctx.system)} failed`);
      }
    },
    execute,
    prepareSystem,
    gatherHardware,
    facts: async (system) => {
      let freeDiskMb: number | null = null;
      try {
        const fs = await statfs(systemRootOption(system));
        freeDiskMb = Math.round((fs.bavail * fs.bsize) / 1024 ** 2);
      } catch {
        freeDiskMb = null;
      }
      return { hardware: await gatherHardware(system), freeDiskMb, os: await operatingSystem(), kernel: `${os.type()} ${os.release()}` };
    },
    close: async () => repositories.clear(),
  };
}

/** A local system is a directory of this host: its hardware is the host's, its disk the filesystem holding its root. */
async function gatherHardware(system: SystemDescriptor): Promise<GatheredHardware> {
  let diskGb: number | null = null;
  try {
    const fs = await statfs(systemRootOption(system));
    diskGb = Math.max(1, Math.round((fs.blocks * fs.bsize) / 1024 ** 3));
  } catch {
    diskGb = null;
  }
  return { cpus: Math.max(1, availableParallelism()), memoryMb: Math.round(totalmem() / 1024 ** 2), diskGb };
}

/** This host's operating system as os-release names it; null where there is none. */
async function operatingSystem(): Promise<string | null> {
  const text = await readFile('/etc/os-release', 'utf8').catch(() => '');
  const value = /^PRETTY_NAME=(.*)$/m.exec(text)?.[1] ?? /^NAME=(.*)$/m.exec(text)?.[1];
  return value === undefined ? null : value.trim().replace(/^(["'])(.*)\1$/, '$2') || null;
}

/** `Install of demo-httpd 1.0.0 on system "web1"`, for messages. */
export function describe(task: Task, system: SystemDescriptor): string {
  const on = `on system "${system.name}"`;
  switch (task.operation) {
    case 'Copy': {
      const from = task.sourceSystem === undefined ? 'repository' : `"${task.sourceSystem.name}"`;
      return `Copy of ${from}:${task.sourcePath} to ${task.targetPath} ${on}`;
    }
    case 'Delete':
      return `Delete of ${task.path} ${on}`;
    default:
      return `${task.operation} of ${task.component}${task.version === undefined ? '' : ` ${task.version}`} ${on}`;
  }
}

/** Refuses component and version names that are not plain, and parameters without a name or with a NUL character. */
export function checkSoftwareTask(task: SoftwareTask): void {
  assertPlainName('component', task.component);
  if (task.version !== undefined) assertPlainName('version', task.version);
  for (const parameter of task.parameters) {
    if (parameter.name === '' || parameter.name.includes('\0') || parameter.value.includes('\0')) {
      throw new DriverError(
        'InvalidParameter',
        `parameter ${JSON.stringify(parameter.name)} of ${task.operation} of ${task.component} ` +
          'must have a name and contain no NUL character',
      );
    }
  }
}

/** The jail checks of `validate`: on disk when the root exists, as a string check otherwise. */
async function checkPath(
  root: string,
  requested: string,
  system: SystemDescriptor,
  followFinal: boolean,
): Promise<void> {
  const where = rootLabel(system);
  await tolerateMissingRoot(resolveInsideRoot(root, requested, { where, followFinal }), requested, where);
}

async function tolerateMissingRoot(check: Promise<string>, requested: string, where: string): Promise<void> {
  try {
    await check;
  } catch (error) {
    // A root that does not exist yet has no links to escape through; the
    // string check has already passed. Execute reports the missing root.
    if (error instanceof DriverError && error.type === 'InvalidState') {
      toJailedRelativePath(requested, where);
      return;
    }
    throw error;
  }
}

/** Codes of failures that may pass on their own. */
const TRANSIENT_CODES = new Set(['EAGAIN', 'EBUSY', 'EMFILE', 'ENFILE', 'ENOSPC', 'ETIMEDOUT', 'ECONNRESET', 'EINTR']);

/** Anything thrown below that is not already a DriverError becomes `Internal`. */
function asDriverError(error: unknown, context: string): DriverError {
  if (error instanceof DriverError) return error;
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  return new DriverError('Internal', `${context}: ${message}`, {
    retryable: code !== undefined && TRANSIENT_CODES.has(code),
    cause: error,
  });
}
