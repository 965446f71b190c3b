/**
 * The change manager's scheduler: places the tasks of a task graph on the
 * available systems for the shortest plan (or the least lateness against the
 * deadlines) under generalised precedences, capacities and maintenance
 * windows, and reports the plan with its lower bounds. See docs/scheduler.md.
 */
import { lowerBounds, type LowerBounds } from './bounds';
import { checkSchedule } from './check';
import { GeneticSearch, type StopReason } from './genetic';
import { compile } from './instance';
import type { Objective, SchedulingProblem } from './model';
import { Random } from './random';
import { Decoder } from './sgs';

export { checkSchedule } from './check';
export type { LowerBounds } from './bounds';
export type { StopReason } from './genetic';
export * from './model';

export interface ScheduleOptions {
  /** Seed of the search; equal seeds and inputs give equal plans under a schedule budget. Default 1. */
  readonly seed?: number;
  /** Time budget of the whole call, checking and bounds included, in milliseconds. Default 1000. */
  readonly timeLimitMs?: number;
  /** Budget in generated schedules (each SGS pass counts one); a search bounded only by this is repeatable. Default unbounded. */
  readonly maxSchedules?: number;
  /** The clock the time budget is measured on, in milliseconds. Default `Date.now`. */
  readonly now?: () => number;
}

export interface LateTask {
  readonly id: string;
  readonly finish: number;
  readonly deadline: number;
}

export interface Plan {
  readonly objective: Objective;
  /** Start of each task by id. */
  readonly starts: Readonly<Record<string, number>>;
  readonly makespan: number;
  /** With deadlines: the largest lateness (negative: every task early by at least that much) and the late tasks; null without. */
  readonly lateness: { readonly max: number; readonly late: readonly LateTask[] } | null;
  readonly lowerBound: LowerBounds;
  /** The objective equals its lower bound: no plan is better. */
  readonly provenOptimal: boolean;
  readonly search: {
    readonly seed: number;
    readonly schedules: number;
    readonly generations: number;
    readonly stoppedBy: StopReason;
    readonly elapsedMs: number;
  };
}

/** The plan was found but fails the independent feasibility check: a defect of the scheduler, not of the caller's problem. */
export class InfeasiblePlanError extends Error {
  override readonly name = 'InfeasiblePlanError';
  constructor(readonly violations: readonly string[]) {
    super(`the scheduler produced an infeasible plan: ${violations.slice(0, 5).join('; ')}`);
  }
}

/**
 * Plans `problem`. Throws a SchedulingError (the caller's mistake) when the
 * problem is invalid, naming each issue: a cycle names its tasks, a demand
 * above a capacity names the task and the resource.
 */
export function schedule(problem: SchedulingProblem, options: ScheduleOptions = {}): Plan {
  const now = options.now ?? Date.now;
  const began = now();
  const seed = options.seed ?? 1;
  const instance = compile(problem);
  const bounds = lowerBounds(instance);
  const target = instance.objective === 'lateness' && bounds.lateness !== null ? bounds.lateness : bounds.makespan;
  const decoder = new Decoder(instance);
  const limit = options.timeLimitMs ?? 1000;
  const search = new GeneticSearch(instance, decoder, new Random(seed), {
    maxSchedules: options.maxSchedules ?? Infinity,
    // The search ends a little early (2% of the budget, at most 50 ms) so that the feasibility check and the answer fit in it.
    until: began + limit - Math.min(50, 0.02 * limit),
    now,
    target,
  });
  const result = search.run();
  const { start, evaluation } = result.best;

  const starts: Record<string, number> = {};
  instance.ids.forEach((id, j) => (starts[id] = start[j] as number));
  const violations = checkSchedule(problem, starts);
  if (violations.length > 0) throw new InfeasiblePlanError(violations);

  let lateness: Plan['lateness'] = null;
  if (instance.hasDeadlines) {
    const late: LateTask[] = [];
    let max = -Infinity;
    instance.ids.forEach((id, j) => {
      const deadline = instance.deadline[j] as number;
      if (deadline === Infinity) return;
      const finish = (start[j] as number) + (instance.duration[j] as number);
      max = Math.max(max, finish - deadline);
      if (finish > deadline) late.push({ id, finish, deadline });
    });
    lateness = { max, late };
  }
  return {
    objective: instance.objective,
    starts,
    makespan: evaluation.makespan,
    lateness,
    lowerBound: bounds,
    provenOptimal: evaluation.objective <= target,
    search: { seed, schedules: decoder.schedules, generations: result.generations, stoppedBy: result.stoppedBy, elapsedMs: now() - began },
  };
}
