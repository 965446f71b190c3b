/**
 * A request for change, and the plan the change manager makes of it: the
 * shapes the planner, the ChangeManagerService, the CLI and the portal share.
 * Times in a plan are whole seconds from the plan's start (`plannedStart`).
 */
import type { PrecedenceType } from './scheduler/model';
import type { SoftwareOperation } from './planning-model';

/** Where a desired change applies. */
export type ChangeTarget =
  | { readonly kind: 'system'; readonly system: string }
  /** Every system that has the role. */
  | { readonly kind: 'role'; readonly role: string }
  /** Every member of the cluster. */
  | { readonly kind: 'cluster'; readonly cluster: string };

/** One desired change. */
export interface DesiredChange {
  readonly operation: SoftwareOperation;
  readonly component: string;
  /** An exact version or a range (`src/packaging/versions.ts`); absent: the highest available (Install, Update) or not applicable. */
  readonly version?: string;
  readonly parameters?: Readonly<Record<string, string>>;
  readonly target: ChangeTarget;
}

export const CHANGE_OBJECTIVES = ['makespan', 'lateness'] as const;
export type ChangeObjective = (typeof CHANGE_OBJECTIVES)[number];

export interface ChangeRequest {
  readonly changes: readonly DesiredChange[];
  /** No task starts earlier; absent: as soon as planned. */
  readonly earliestStart?: Date;
  /** The change should be complete by then; a plan that cannot meet it is still made, with how late it would be. */
  readonly deadline?: Date;
  /** The largest share (0 < share ≤ 1) of a cluster's members that may be unavailable at once; default 0.25, at least one member. */
  readonly maxUnavailableShare?: number;
  /** Higher first; default 0. */
  readonly priority?: number;
  /** Plan and check only; run nothing. */
  readonly dryRun?: boolean;
  /** Default `makespan`; `lateness` when a deadline is given and meeting it matters more. */
  readonly objective?: ChangeObjective;
  /** Saved fragments to instantiate, each with its arguments; their tasks join the request's changes. */
  readonly fragments?: readonly FragmentUse[];
}

/**
 * A saved, parameterised task graph (a reusable change plan). Texts of its
 * tasks may hold placeholders `${name}`, each a declared parameter, filled
 * when a request instantiates it. Storing fragments is the service's part;
 * `instantiateFragment` (planner) checks and fills them.
 */
export interface GraphFragment {
  readonly name: string;
  readonly description?: string;
  /** Names of the placeholders, e.g. `system`, `version`. */
  readonly parameters: readonly string[];
  readonly tasks: readonly FragmentTask[];
  readonly precedences: readonly FragmentPrecedence[];
}

/** One task of a fragment: a desired change on one system, known in the fragment by `key`. */
export interface FragmentTask {
  readonly key: string;
  readonly operation: SoftwareOperation;
  /** A system name or a placeholder, e.g. `${system}`. */
  readonly system: string;
  readonly component: string;
  readonly version?: string;
  readonly parameters?: Readonly<Record<string, string>>;
}

/** A precedence between two tasks of a fragment (by key), with its type and minimum lag in seconds. */
export interface FragmentPrecedence {
  readonly from: string;
  readonly to: string;
  readonly type?: PrecedenceType;
  readonly lag?: number;
}

/** A fragment named in a request, with a value for each of its parameters. */
export interface FragmentUse {
  readonly fragment: GraphFragment;
  readonly arguments: Readonly<Record<string, string>>;
}

/** The life of a change. */
export const CHANGE_STATES = ['PLANNING', 'PLANNED', 'REJECTED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED'] as const;
export type ChangeState = (typeof CHANGE_STATES)[number];

/** Why a task is in the graph. */
export const TASK_REASONS = [
  /** Asked for by the request. */
  'requested',
  /** A requirement of a requested component, installed first. */
  'requirement',
  /** Completes an Install: InitialConfigure, Start. */
  'lifecycle',
  /** Stops or quiesces a dependent before the change, or starts it after. */
  'dependent',
  /** Added by a policy (named in `policy`). */
  'policy',
] as const;
export type TaskReason = (typeof TASK_REASONS)[number];

/** An elementary provisioning task of the graph. */
export interface PlannedTask {
  /** Stable within the plan, readable: e.g. `app3.demo-app.Update`. */
  readonly id: string;
  readonly operation: SoftwareOperation;
  readonly system: string;
  readonly component: string;
  readonly version?: string;
  readonly parameters?: Readonly<Record<string, string>>;
  /** Estimated duration in seconds. */
  readonly duration: number;
  readonly reason: TaskReason;
  /** The policy that added or shaped it, when one did. */
  readonly policy?: string;
  /** For Stop: drain first with the package's quiesce hook. */
  readonly quiesce?: boolean;
  /** How to undo it (the compensation), or null when nothing needs undoing. */
  readonly undo: { readonly operation: SoftwareOperation; readonly version?: string; readonly parameters?: Readonly<Record<string, string>> } | null;
}

export interface PlannedPrecedence {
  readonly from: string;
  readonly to: string;
  readonly type: PrecedenceType;
  /** Minimum lag in seconds. */
  readonly lag: number;
  /** Why: e.g. `requirement demo-db>=2 of demo-app`. */
  readonly reason: string;
}

export const CHECK_OUTCOMES = ['satisfied', 'shaped', 'violated', 'not-applicable'] as const;
export type CheckOutcome = (typeof CHECK_OUTCOMES)[number];

/** One policy's verdict on the plan. */
export interface PolicyCheck {
  readonly policy: string;
  readonly outcome: CheckOutcome;
  /** What it found or did, naming the objects (systems, components, tasks). */
  readonly message: string;
  readonly objects: readonly string[];
}

export interface ScheduledTask {
  readonly id: string;
  /** Seconds from `plannedStart`. */
  readonly start: number;
  readonly finish: number;
  readonly critical: boolean;
}

export interface ChangeSchedule {
  /** The plan's time 0. */
  readonly plannedStart: Date;
  readonly tasks: readonly ScheduledTask[];
  readonly makespan: number;
  /** Critical path with lags, and the resource bound; the makespan is at least the larger. */
  readonly lowerBound: { readonly criticalPath: number; readonly resource: number; readonly makespan: number };
  readonly provenOptimal: boolean;
  /** Seconds past the deadline (≤ 0: met), null without a deadline. */
  readonly lateness: number | null;
  readonly search: { readonly seed: number; readonly schedules: number; readonly elapsedMs: number };
}

/** What planning produced: a plan, or a rejection naming the reason. */
export type PlanOutcome =
  | {
      readonly state: 'PLANNED';
      readonly tasks: readonly PlannedTask[];
      readonly precedences: readonly PlannedPrecedence[];
      readonly schedule: ChangeSchedule;
      readonly checks: readonly PolicyCheck[];
      /** The generated WS-BPEL 2.0 process, and the WSDL documents it imports, by file name. */
      readonly bpel: { readonly processName: string; readonly document: string; readonly imports: Readonly<Record<string, string>> };
    }
  | {
      readonly state: 'REJECTED';
      /** A fault-style code, e.g. `UnsatisfiableRequirement`, `PolicyViolation`, `Cycle`, `UnknownSystem`. */
      readonly code: string;
      readonly message: string;
      readonly objects: readonly string[];
      /** What was built before the rejection, for the operator to see (may be empty). */
      readonly tasks: readonly PlannedTask[];
      readonly checks: readonly PolicyCheck[];
    };
