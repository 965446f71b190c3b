/**
 * The deployment driver interface: how the deployment engine makes a task
 * happen on a managed system.
 *
 * A driver is stateless between calls as far as the engine is concerned: the
 * engine passes everything a task needs (the system, the package
 * repositories, the component's last known record) and records what the
 * driver reports back in the managed-resource model. A driver may keep its own
 * state on the system itself (the `local` driver keeps installed versions and
 * pid files under the system's root), which is the truth the engine's rows
 * mirror.
 *
 * Deliberately not part of this interface:
 * - queueing, leases, retries and idempotency: the engine owns them; a driver
 *   runs exactly the task it is handed, once;
 * - the managed-resource rows: drivers never touch the database;
 * - serialisation of conflicting tasks: the engine never runs two tasks on
 *   the same component of the same system at once.
 */
import type { ComponentState } from '../../entities';

/** The provisioning operations a driver performs. */
export const TASK_OPERATIONS = [
  'Install',
  'Uninstall',
  'Update',
  'Rollback',
  'InitialConfigure',
  'Configure',
  'Start',
  'Stop',
  'Copy',
  'Delete',
] as const;
export type TaskOperation = (typeof TASK_OPERATIONS)[number];

/** Operations on a software component (the SoftwareService). */
export const SOFTWARE_OPERATIONS = [
  'Install',
  'Uninstall',
  'Update',
  'Rollback',
  'InitialConfigure',
  'Configure',
  'Start',
  'Stop',
] as const;
export type SoftwareOperation = (typeof SOFTWARE_OPERATIONS)[number];

export interface Parameter {
  readonly name: string;
  readonly value: string;
}

/** A managed system as a driver sees it. */
export interface SystemDescriptor {
  readonly name: string;
  readonly driver: string;
  /** Driver options (for `local`: `root`, the absolute directory of the system). */
  readonly options: Readonly<Record<string, string>>;
}

/** Lifecycle state of an installed component, declared and documented with the entity. */
export type { ComponentState } from '../../entities';

/** What the engine last recorded about a component, handed to the driver. */
export interface ComponentRecord {
  readonly name: string;
  readonly version: string;
  readonly state: ComponentState;
  /** Previous versions, most recent first (for Rollback). */
  readonly history: readonly string[];
  readonly pid: number | null;
}

export type SoftwareTask = {
  readonly operation: SoftwareOperation;
  readonly component: string;
  readonly version?: string;
  readonly parameters: readonly Parameter[];
};

export type CopyTask = {
  readonly operation: 'Copy';
  /** Absent: copy from the package repositories. */
  readonly sourceSystem?: SystemDescriptor;
  readonly sourcePath: string;
  readonly targetPath: string;
};

export type DeleteTask = {
  readonly operation: 'Delete';
  readonly path: string;
};

export type Task = SoftwareTask | CopyTask | DeleteTask;

export interface TaskContext {
  /** The system the task acts on (for Copy, the target). */
  readonly system: SystemDescriptor;
  /** Package repository locations (folders or http(s) URLs), in priority order. */
  readonly repositories: readonly string[];
  /** The component's record, when the task names a component that is installed. */
  readonly component?: ComponentRecord;
  /** Aborted when the request is cancelled or the engine shuts down. */
  readonly signal: AbortSignal;
  /** The provisioning request id, for logs and process names. */
  readonly requestId: string;
}

/** What a successful task reports back; the engine records it. */
export interface TaskResult {
  /** Human-readable output (hook output, summary); stored with the request. */
  readonly output: string;
  /** The component's version after the task (Install, Update, Rollback). */
  readonly version?: string;
  /** The pid of the started process (Start), or null once stopped. */
  readonly pid?: number | null;
}

export const DRIVER_ERROR_TYPES = [
  /** The named package or version is in no repository. */
  'UnknownPackage',
  /** A path names something outside the system's root. */
  'PathOutsideRoot',
  /** A source file or component does not exist. */
  'NotFound',
  /** The component is not in a state that allows the operation. */
  'InvalidState',
  /** A package hook exited non-zero. */
  'HookFailed',
  /** A parameter was rejected by the driver. */
  'InvalidParameter',
  /** The task was aborted (cancel or shutdown). */
  'Cancelled',
  /** The simulated driver's injected failure. */
  'Simulated',
  /**
   * The task's outcome cannot be known: the connection to a remote host
   * dropped while it ran (the engine records UNKNOWN, not a failure).
   */
  'OutcomeUnknown',
  /** Anything else: I/O errors, a repository that cannot be reached. */
  'Internal',
] as const;
export type DriverErrorType = (typeof DRIVER_ERROR_TYPES)[number];

/**
 * A failure created by a driver. Callers decide on `type` and `retryable`,
 * never on the message text. `output` carries whatever the task printed
 * before it failed.
 */
export class DriverError extends Error {
  override readonly name = 'DriverError';
  constructor(
    readonly type: DriverErrorType,
    message: string,
    readonly options: { readonly retryable?: boolean; readonly output?: string; readonly cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
  get retryable(): boolean {
    return this.options.retryable ?? false;
  }
  get output(): string {
    return this.options.output ?? '';
  }
}

/** Hardware facts a driver read from a system; null where it could not tell. */
export interface GatheredHardware {
  readonly cpus: number | null;
  readonly memoryMb: number | null;
  readonly diskGb: number | null;
}

/** Facts about a system's host: its hardware, the free space of its root's filesystem, its OS and kernel; null where unknown. */
export interface HostFacts {
  readonly hardware: GatheredHardware;
  /** Free space, in MB, of the filesystem holding the system's root (for its user). */
  readonly freeDiskMb: number | null;
  /** The operating system as it names itself, e.g. `Debian GNU/Linux 12 (bookworm)`. */
  readonly os: string | null;
  /** The kernel, e.g. `Linux 6.1.0-18-amd64`. */
  readonly kernel: string | null;
}

/** What `validate` learned about a task. */
export interface ValidatedTask {
  /** The exact version an Install or Update will use. */
  readonly version?: string;
}

export interface Driver {
  readonly name: string;
  /**
   * Cheap checks done when a request is submitted, before it is persisted:
   * paths inside the root, the package known to a repository. Throws a
   * non-retryable DriverError (`UnknownPackage`, `PathOutsideRoot`,
   * `InvalidParameter`) naming what is wrong. Must not change anything.
   * A driver that resolves the package may say which version an Install or
   * Update will use (a prefix such as `1.0` read as the highest `1.0.x`).
   */
  validate(task: Task, ctx: Omit<TaskContext, 'signal' | 'requestId' | 'component'>): Promise<ValidatedTask | void>;
  /** Performs the task. Resolves with its result, or rejects with a DriverError. */
  execute(task: Task, ctx: TaskContext): Promise<TaskResult>;
  /**
   * Completes the options of a system being registered, before anything is
   * stored: checks them and returns the options to store (the `ssh` driver
   * seals its secrets and pins the host key). Drivers without it store the
   * options given.
   */
  completeOptions?(name: string, options: Readonly<Record<string, string>>): Promise<Record<string, string>>;
  /**
   * Re-reads the identity of a system's host and returns its options with
   * the new key pinned (the `ssh` driver; when `fingerprint` is given, the
   * host must offer that one).
   */
  acceptHostKey?(system: SystemDescriptor, fingerprint?: string): Promise<Record<string, string>>;
  /** Reads the facts of the system's host now (hardware, free disk, OS, kernel); the registry stores them on the system. */
  facts?(system: SystemDescriptor): Promise<HostFacts>;
  /**
   * Applies an operator's change of a registered system's options (the
   * `ssh` driver: host, port, user, key file, root, passphrase, password),
   * checked and with secrets sealed, and returns the options to store. The
   * pinned host key is kept as it is: a system moved to another host is
   * refused until an administrator accepts that host's key.
   * @throws DriverError `InvalidParameter` naming the option.
   */
  changeOptions?(system: SystemDescriptor, change: Readonly<Record<string, string>>): Promise<Record<string, string>>;
  /** Prepares a newly registered system (the `local` driver creates its root). */
  prepareSystem(system: SystemDescriptor): Promise<void>;
  /**
   * Reads the system's hardware, where the driver can: CPUs, memory in MB,
   * and the size in GB of the disk its files live on; null for what it
   * cannot tell. Drivers that cannot read any leave it out, and operators
   * declare the facts (`provisor system set`).
   */
  gatherHardware?(system: SystemDescriptor): Promise<GatheredHardware>;
  /** Releases resources (child process handles, caches) at shutdown. Does not stop started components. */
  close(): Promise<void>;
}
