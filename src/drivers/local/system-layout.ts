/**
 * Where a component's files are inside a system root, on every driver with
 * a file system (the layout is described at the top of `local-driver.ts`;
 * the `ssh` driver keeps the same one on its host).
 */
import path from 'node:path';
import { DriverError, type SystemDescriptor } from '../driver';
import { NAME_PATTERN } from './package-manifest';
import type { SystemFiles } from '../system-port';

/** The files of one component on one system. */
export interface ComponentPaths {
  /** The real path of the system root. */
  readonly root: string;
  /** Link-free operations on these paths: every read and write of them goes through it. */
  readonly files: SystemFiles;
  /** `opt/<component>`: unpacked versions and `state.json`. */
  readonly componentDir: string;
  /** `opt/<component>/state.json`: active version, history, installed versions. */
  readonly stateFile: string;
  /** `etc/<component>`. */
  readonly configDir: string;
  /** `etc/<component>/config.json`: the configuration parameters. */
  readonly configFile: string;
  /** `var/log/<component>.log`: output of the started process. */
  readonly logFile: string;
  /** `var/run/<component>.pid`: pid (and start time) of the started process. */
  readonly pidFile: string;
  /** `opt/<component>/<version>`: one unpacked package version. */
  versionDir(version: string): string;
}

/** The paths of `component` under the real system root of `files` (POSIX paths: a root here or on a remote host). */
export function componentPaths(files: SystemFiles, component: string): ComponentPaths {
  const { root } = files;
  const componentDir = path.posix.join(root, 'opt', component);
  const configDir = path.posix.join(root, 'etc', component);
  return {
    root,
    files,
    componentDir,
    stateFile: path.posix.join(componentDir, 'state.json'),
    configDir,
    configFile: path.posix.join(configDir, 'config.json'),
    logFile: path.posix.join(root, 'var', 'log', `${component}.log`),
    pidFile: path.posix.join(root, 'var', 'run', `${component}.pid`),
    versionDir: (version) => path.posix.join(componentDir, version),
  };
}

/** Every path of a component that the driver reads or writes (checked for links before a task). */
export function allComponentPaths(paths: ComponentPaths): string[] {
  return [paths.componentDir, paths.stateFile, paths.configDir, paths.configFile, paths.logFile, paths.pidFile];
}

/** The top-level directories `prepareSystem` creates. */
export const SYSTEM_DIRECTORIES = ['opt', 'etc', 'var/log', 'var/run'] as const;

/**
 * The `root` option of a local system.
 * @throws DriverError `InvalidParameter` when it is missing or not absolute.
 */
export function systemRootOption(system: SystemDescriptor): string {
  const root = system.options.root;
  if (root === undefined || root === '' || !path.isAbsolute(root)) {
    throw new DriverError(
      'InvalidParameter',
      `system "${system.name}" needs an absolute "root" option for the local driver, got ${JSON.stringify(root ?? null)}`,
    );
  }
  return path.resolve(root);
}

/**
 * Checks a component name or version, which become directory names.
 * @throws DriverError `InvalidParameter` naming the value.
 */
export function assertPlainName(kind: 'component' | 'version', value: string): void {
  if (!NAME_PATTERN.test(value)) {
    throw new DriverError(
      'InvalidParameter',
      `${kind} ${JSON.stringify(value)} must start with a letter or digit and contain only letters, digits and . _ + -`,
    );
  }
}

/** How messages name a system root. */
export function rootLabel(system: SystemDescriptor): string {
  return `the root of system "${system.name}"`;
}
