/**
 * The scheduling problem the change manager hands to the scheduler: tasks
 * with durations and resource demands, generalised precedence constraints,
 * renewable resources whose capacity may drop in maintenance windows, and
 * deadlines. Times are whole numbers in a unit the caller chooses (seconds,
 * minutes) counted from the plan's start.
 */
import { ProvisorError } from '../../errors';

/**
 * The four precedence types of a task graph, each read "from X to Y":
 * - `FS` finish-to-start: Y begins no earlier than `lag` after X finishes;
 * - `SS` start-to-start: Y starts no earlier than `lag` after X starts;
 * - `FF` finish-to-finish: Y finishes no earlier than `lag` after X finishes;
 * - `SF` start-to-finish: Y finishes no earlier than `lag` after X starts.
 */
export const PRECEDENCE_TYPES = ['FS', 'SS', 'FF', 'SF'] as const;
export type PrecedenceType = (typeof PRECEDENCE_TYPES)[number];

/** What the search minimises. */
export const OBJECTIVES = ['makespan', 'lateness'] as const;
/**
 * - `makespan`: the finish of the last task;
 * - `lateness`: the largest lateness against the deadlines (a task's own, and
 *   the problem's for every task), ties broken by the makespan.
 */
export type Objective = (typeof OBJECTIVES)[number];

export interface Task {
  readonly id: string;
  /** Estimated duration; 0 for a milestone. */
  readonly duration: number;
  /** Units of each resource the task holds while it runs, by resource id. */
  readonly demands?: Readonly<Record<string, number>>;
  /** Release time: the task starts no earlier. */
  readonly earliestStart?: number;
  /** The task should finish by then; a later finish counts as lateness (deadlines are soft). */
  readonly deadline?: number;
}

export interface Precedence {
  readonly from: string;
  readonly to: string;
  /** Default `FS`. */
  readonly type?: PrecedenceType;
  /** Minimum lag, ≥ 0; default 0. */
  readonly lag?: number;
}

/** A time span `[from, to)` in which a resource offers `capacity` (default 0) instead of its full capacity. */
export interface UnavailabilityWindow {
  readonly from: number;
  readonly to: number;
  readonly capacity?: number;
}

/** A renewable resource: a system's capacity, a cluster's availability, a global limit. */
export interface Resource {
  readonly id: string;
  readonly capacity: number;
  /** Maintenance windows; where windows overlap the lowest capacity holds. */
  readonly unavailable?: readonly UnavailabilityWindow[];
}

export interface SchedulingProblem {
  readonly tasks: readonly Task[];
  readonly precedences?: readonly Precedence[];
  readonly resources?: readonly Resource[];
  /** Every task should finish by then (soft, like a task's own deadline). */
  readonly deadline?: number;
  /** Default `makespan`. */
  readonly objective?: Objective;
}

/** Kinds of problems `validateProblem` reports. */
export const PROBLEM_KINDS = ['invalid-value', 'duplicate-id', 'unknown-task', 'unknown-resource', 'over-capacity', 'cycle'] as const;
export type ProblemKind = (typeof PROBLEM_KINDS)[number];

export interface ProblemIssue {
  readonly kind: ProblemKind;
  /** Where in the problem, e.g. `tasks[3].duration` or `precedences[0].to`. */
  readonly path: string;
  readonly message: string;
}

/**
 * The problem handed to the scheduler is unusable: the caller's mistake.
 * Lists every issue found; `field` is the path of the first.
 */
export class SchedulingError extends ProvisorError {
  constructor(readonly issues: readonly ProblemIssue[]) {
    super('InvalidField', issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues[0]?.path);
  }
}

/** Task ids of a cycle, first repeated at the end: `a → b → c → a`. */
export function formatCycle(ids: readonly string[]): string {
  return [...ids, ids[0] ?? ''].map((id) => JSON.stringify(id)).join(' → ');
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

/**
 * Checks everything but cycles (the precedence graph finds those): numbers
 * are whole and in range, ids are unique and known, no task demands more
 * than a resource ever offers. Returns the issues, empty when none.
 */
export function checkValues(problem: SchedulingProblem): ProblemIssue[] {
  const issues: ProblemIssue[] = [];
  const add = (kind: ProblemKind, path: string, message: string): void => void issues.push({ kind, path, message });
  const resources = new Map<string, Resource>();
  (problem.resources ?? []).forEach((resource, r) => {
    const at = `resources[${r}]`;
    if (typeof resource.id !== 'string' || resource.id === '') add('invalid-value', `${at}.id`, 'must be a non-empty string');
    else if (resources.has(resource.id)) add('duplicate-id', `${at}.id`, `resource "${resource.id}" is defined twice`);
    else resources.set(resource.id, resource);
    if (!isTime(resource.capacity) || resource.capacity < 0) add('invalid-value', `${at}.capacity`, `must be a whole number ≥ 0, got ${String(resource.capacity)}`);
    (resource.unavailable ?? []).forEach((w, k) => {
      const wat = `${at}.unavailable[${k}]`;
      if (!isTime(w.from) || !isTime(w.to) || w.from < 0 || w.to <= w.from) add('invalid-value', wat, `must have whole times 0 ≤ from < to, got from ${String(w.from)} to ${String(w.to)}`);
      if (w.capacity !== undefined && (!isTime(w.capacity) || w.capacity < 0 || w.capacity > resource.capacity)) {
        add('invalid-value', `${wat}.capacity`, `must be a whole number between 0 and the resource's capacity ${resource.capacity}, got ${String(w.capacity)}`);
      }
    });
  });
  const tasks = new Set<string>();
  if (problem.tasks.length === 0) add('invalid-value', 'tasks', 'must hold at least one task');
  problem.tasks.forEach((task, t) => {
    const at = `tasks[${t}]`;
    if (typeof task.id !== 'string' || task.id === '') add('invalid-value', `${at}.id`, 'must be a non-empty string');
    else if (tasks.has(task.id)) add('duplicate-id', `${at}.id`, `task "${task.id}" is defined twice`);
    else tasks.add(task.id);
    const name = `task "${String(task.id)}"`;
    if (!isTime(task.duration) || task.duration < 0) add('invalid-value', `${at}.duration`, `${name}: duration must be a whole number ≥ 0, got ${String(task.duration)}`);
    if (task.earliestStart !== undefined && (!isTime(task.earliestStart) || task.earliestStart < 0)) add('invalid-value', `${at}.earliestStart`, `${name}: must be a whole number ≥ 0, got ${String(task.earliestStart)}`);
    if (task.deadline !== undefined && !isTime(task.deadline)) add('invalid-value', `${at}.deadline`, `${name}: must be a whole number, got ${String(task.deadline)}`);
    for (const [rid, amount] of Object.entries(task.demands ?? {})) {
      const resource = resources.get(rid);
      if (resource === undefined) add('unknown-resource', `${at}.demands.${rid}`, `${name} demands resource "${rid}", which is not defined`);
      else if (!isTime(amount) || amount < 0) add('invalid-value', `${at}.demands.${rid}`, `${name}: demand must be a whole number ≥ 0, got ${String(amount)}`);
      else if (amount > resource.capacity) add('over-capacity', `${at}.demands.${rid}`, `${name} demands ${amount} of resource "${rid}", whose capacity is ${resource.capacity}`);
    }
  });
  (problem.precedences ?? []).forEach((p, k) => {
    const at = `precedences[${k}]`;
    if (!tasks.has(p.from)) add('unknown-task', `${at}.from`, `task "${String(p.from)}" is not defined`);
    if (!tasks.has(p.to)) add('unknown-task', `${at}.to`, `task "${String(p.to)}" is not defined`);
    if (p.type !== undefined && !(PRECEDENCE_TYPES as readonly string[]).includes(p.type)) add('invalid-value', `${at}.type`, `must be one of ${PRECEDENCE_TYPES.join(', ')}, got ${JSON.stringify(p.type)}`);
    if (p.lag !== undefined && (!isTime(p.lag) || p.lag < 0)) add('invalid-value', `${at}.lag`, `must be a whole number ≥ 0, got ${String(p.lag)}`);
  });
  if (problem.deadline !== undefined && !isTime(problem.deadline)) add('invalid-value', 'deadline', `must be a whole number, got ${String(problem.deadline)}`);
  if (problem.objective !== undefined && !(OBJECTIVES as readonly string[]).includes(problem.objective)) add('invalid-value', 'objective', `must be one of ${OBJECTIVES.join(', ')}, got ${JSON.stringify(problem.objective)}`);
  return issues;
}
