/**
 * Why a request cannot be planned. Raised inside the planner where the
 * problem is found and turned into a REJECTED outcome by `planChange`, so
 * that no half-built plan leaves it.
 */
import type { PolicyCheck } from '../change-plan';

/** The codes a rejection carries, each naming a kind of mistake or impossibility. */
export const REJECTION_CODES = [
  /** The request's shape is wrong (a field missing, of the wrong type, or out of range). */
  'InvalidRequest',
  /** The request, expanded, is larger than the planner accepts. */
  'RequestTooLarge',
  'UnknownSystem',
  'UnknownRole',
  'UnknownCluster',
  'UnknownComponent',
  /** No version of the component lies in the range asked for. */
  'UnknownVersion',
  /** The change needs a component on a system that does not have it. */
  'NotInstalled',
  /** An Install of a component already there at another version (use Update). */
  'AlreadyInstalled',
  /** A requirement no available version (or no system of the role) meets. */
  'UnsatisfiableRequirement',
  /** A component would share a system with one it declares a conflict with. */
  'Conflict',
  /** The precedences form a cycle; the objects are its tasks in order. */
  'Cycle',
  /** A policy is violated and cannot shape the plan; the first object is the policy. */
  'PolicyViolation',
  /** A task is longer than every maintenance window of its system. */
  'WindowTooShort',
  /** A saved fragment cannot be instantiated (a placeholder without a value, an unknown task). */
  'InvalidFragment',
] as const;
export type RejectionCode = (typeof REJECTION_CODES)[number];

export class PlanRejection extends Error {
  override readonly name = 'PlanRejection';
  constructor(
    readonly code: RejectionCode,
    message: string,
    readonly objects: readonly string[],
    readonly checks: readonly PolicyCheck[] = [],
  ) {
    super(message);
  }
}
