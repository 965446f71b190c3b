/**
 * What the software operations (software-tasks.ts) need from the system
 * they act on, so one set of steps serves every driver with a file system:
 * the `local` driver implements it on a root directory of this machine
 * (local/local-system.ts), the `ssh` driver over SFTP and remote commands
 * (ssh/ssh-system.ts).
 *
 * Every path given to a port is absolute and inside the system's root
 * (built by system-layout.ts from the root and checked names). Failures are
 * DriverErrors with their type decided where they happen.
 */
import type { HookName, PackageManifest } from './local/package-manifest';

/** File operations under a system's root that follow no symbolic link below it. */
export interface SystemFiles {
  /** The real path of the system root. */
  readonly root: string;
  /** The file's text, or undefined when it does not exist. */
  readFile(file: string): Promise<string | undefined>;
  /** Replaces a file's content atomically, creating its directories. */
  writeFile(file: string, data: string): Promise<void>;
  /** Removes a file, a link (never what it points to) or a directory tree; nothing when it is not there. */
  remove(target: string): Promise<void>;
  /** True when something is at the path. */
  exists(target: string): Promise<boolean>;
  /** The names in a directory; empty when it does not exist. */
  list(directory: string): Promise<string[]>;
  /**
   * Refuses when a symbolic link is any component of these paths below the root.
   * @throws DriverError `PathOutsideRoot` naming the link.
   */
  assertNoLinks(paths: readonly string[]): Promise<void>;
}

/** One package hook to run on the system. */
export interface HookRun {
  /** A lifecycle hook, `quiesce` (the drain of a Stop with drain=true) or `ready` (a readiness check). */
  readonly hook: HookName | 'quiesce' | 'ready';
  /** Names the package in messages, e.g. `demo-httpd 1.0.0`. */
  readonly label: string;
  /** The unpacked package directory: the working directory. */
  readonly packageDir: string;
  /** The script, relative to `packageDir` (as the manifest names it). */
  readonly script: string;
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** Bytes of output kept (the end of it). */
  readonly outputLimit: number;
  readonly signal: AbortSignal;
}

/** A started process as its pid file records it. */
export interface ProcessRecord {
  readonly pid: number;
  /** Start time in clock ticks since boot (`/proc/<pid>/stat`), when known. */
  readonly startTime?: string;
}

/** A component's process to launch. */
export interface ProcessLaunch {
  /** Names the component in messages, e.g. `demo-httpd 1.0.0`. */
  readonly label: string;
  /** The manifest's start command; `$NODE` stands for the system's Node.js. */
  readonly command: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly logFile: string;
  readonly pidFile: string;
  /** How long the process must stay up for the start to count. */
  readonly startupGraceMs: number;
  /** Bytes of log kept in an error's output. */
  readonly outputLimit: number;
  /**
   * When the process counts as started, after the grace period: `check`
   * answers true once it is ready (asked again every 50 ms), within
   * `timeoutMs`. Absent: once it stayed up for the grace period.
   */
  readonly ready?: { readonly what: string; readonly timeoutMs: number; check(pid: number): Promise<boolean> };
}

/** A system as the software operations use it. */
export interface SystemPort {
  /** `"web1"`, quoted, for messages. */
  readonly system: string;
  readonly files: SystemFiles;
  /**
   * Unpacks the package archive (a file on this machine) into
   * `<componentDir>/<version>` through a staging directory, replacing what
   * is there; a half-unpacked version never carries the name.
   * @returns the line the task's transcript shows.
   */
  unpack(archive: string, manifest: PackageManifest, componentDir: string, signal: AbortSignal): Promise<string>;
  /** Removes a component's directory so that its `state.json` vanishes first: an interrupted removal leaves debris, never half an installation. */
  removeComponent(componentDir: string): Promise<void>;
  /**
   * Runs a hook and resolves with its output.
   * @throws DriverError `HookFailed` (non-zero exit, timeout, missing script), `Cancelled`.
   */
  runHook(run: HookRun): Promise<string>;
  /**
   * Launches the process detached in its own process group, writes the pid
   * file and waits for it to be started.
   * @throws DriverError `HookFailed` when it exits during start-up or is not ready in time.
   */
  launch(spec: ProcessLaunch): Promise<ProcessRecord>;
  /** The process recorded in the pid file, when it is still running (not a zombie, not a reused pid). */
  running(pidFile: string): Promise<ProcessRecord | undefined>;
  /** Ends the process group: SIGTERM, then SIGKILL after `timeoutMs`. */
  terminate(record: ProcessRecord, timeoutMs: number, label: string): Promise<'exited' | 'killed'>;
  /** True when the process listens on a TCP port (and, where it can be tried, accepts a connection). */
  acceptsConnections(pid: number): Promise<boolean>;
}
