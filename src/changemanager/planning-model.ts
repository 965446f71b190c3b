/**
 * What the change manager plans over: a snapshot of the managed systems and
 * their facts, the packages the repositories offer with what each version
 * declares, and what is installed where (the resource model). A plan starts
 * from one snapshot, taken when planning begins; the planner reads nothing
 * else, so it is a pure function of the snapshot and the request.
 */
import type { ComponentState } from '../../entities/installed-component';

/** The provisioning operations a change may ask for, as SoftwareService names them. */
export const SOFTWARE_OPERATIONS = ['Install', 'Uninstall', 'Update', 'Rollback', 'InitialConfigure', 'Configure', 'Start', 'Stop'] as const;
export type SoftwareOperation = (typeof SOFTWARE_OPERATIONS)[number];

/** Days of the week as ISO numbers them: 1 Monday … 7 Sunday. */
export type Weekday = 1 | 2 | 3 | 4 | 5 | 6 | 7;

/**
 * A recurring maintenance window: changes to the system may run only inside
 * one of its windows (a system without windows may be changed at any time).
 * A window starts at `start` local time in `timeZone` on each of `days` and
 * lasts `durationMinutes` (it may run past midnight).
 */
export interface MaintenanceWindow {
  readonly days: readonly Weekday[];
  /** `HH:MM`, 24-hour, local time. */
  readonly start: string;
  readonly durationMinutes: number;
  /** An IANA zone, e.g. `Europe/Berlin`; `UTC` when not given. */
  readonly timeZone: string;
}

/** Hardware facts, declared by an operator or gathered by a driver; null where unknown. */
export interface HardwareFacts {
  readonly cpus: number | null;
  readonly memoryMb: number | null;
  readonly diskGb: number | null;
}

/** A managed system as the planner sees it. */
export interface SystemFacts {
  readonly name: string;
  readonly driver: string;
  /** Roles and tags declared for the system (e.g. `app-server`, `web`). */
  readonly roles: readonly string[];
  /** The cluster it belongs to, if any. */
  readonly cluster: string | null;
  /** How many provisioning tasks may run on it at once (≥ 1). */
  readonly capacity: number;
  readonly hardware: HardwareFacts;
  readonly maintenanceWindows: readonly MaintenanceWindow[];
}

/** Where a requirement must be met. */
export type Placement =
  /** On the same system as the requiring component. */
  | { readonly kind: 'same-system' }
  /** On some system that has the role (declared, or provided by an installed component). */
  | { readonly kind: 'role'; readonly role: string };

/** A component that must be present (installed, at a version in `range`) for this one to work. */
export interface Requirement {
  readonly component: string;
  /** A version range as `src/packaging/versions.ts` reads it; `*` for any. */
  readonly range: string;
  readonly placement: Placement;
}

/** A component that must not be on the same system (at a version in `range`). */
export interface Conflict {
  readonly component: string;
  readonly range: string;
}

/** How a component is drained before it is stopped for a change. */
export interface QuiesceSpec {
  /** The package's hook that stops it taking new work and waits for the work in hand. */
  readonly hook: string;
  /** How long draining may take, in seconds. */
  readonly timeoutSeconds: number;
}

/** One version of a package, with what its manifest declares. */
export interface PackageVersionFacts {
  readonly name: string;
  readonly version: string;
  readonly requires: readonly Requirement[];
  readonly conflicts: readonly Conflict[];
  /** Roles a system has while this component is installed on it (e.g. `db-server`). */
  readonly provides: readonly string[];
  /** Null: cannot be quiesced (only stopped). */
  readonly quiesce: QuiesceSpec | null;
  /** Whether it runs a process (can be started and stopped). */
  readonly startable: boolean;
  /** Estimated duration of each operation, in seconds; absent ones use the planner's default. */
  readonly durations: Readonly<Partial<Record<SoftwareOperation, number>>>;
}

/** A component installed on a system, as the resource model last recorded it. */
export interface InstalledFacts {
  readonly system: string;
  readonly component: string;
  readonly version: string;
  readonly state: ComponentState;
  /** The parameters of its current configuration (for undoing a Configure). */
  readonly parameters: Readonly<Record<string, string>>;
}

/** The snapshot a plan starts from. */
export interface PlanningModel {
  /** When the snapshot was taken; the plan's time 0 is no earlier. */
  readonly takenAt: Date;
  readonly systems: readonly SystemFacts[];
  /** Every version every repository offers. */
  readonly packages: readonly PackageVersionFacts[];
  readonly installed: readonly InstalledFacts[];
}
