/**
 * The change manager's planner: a request for change becomes a task graph,
 * checked against the operational policies, scheduled, and written as a
 * WS-BPEL 2.0 change plan. A pure function of the planning model, the
 * request and the policies (no database, no SOAP); deterministic for a seed
 * under a schedule budget. See docs/changemanager.md.
 */
import type { ChangeRequest, PlannedTask, PlanOutcome, PolicyCheck } from '../change-plan';
import type { PlanningModel } from '../planning-model';
import { schedule, SchedulingError } from '../scheduler';
import { generateBpel, resourceOrder } from './bpel-generator';
import { instantiateFragment } from './fragments';
import { findCycle, GraphBuilder, type ActionPrecedence } from './graph';
import { PLANNER_LIMITS } from './limits';
import { validateWindow } from '../windows';
import { ModelView } from './model-view';
import { checkPlanPolicies, checkSchedulePolicies } from './policy-checks';
import { InvalidPolicyError, policiesInForce, type PolicyDefinition } from './policy-definition';
import { PlanRejection } from './rejection';
import { taskStarts, toChangeSchedule, toProblem } from './schedule-adapter';
import { validateChangeRequest } from './validate-request';

export { validateChangeRequest, validateFragment, type RequestIssue } from './validate-request';
export { instantiateFragment } from './fragments';
export { BUILT_IN_POLICIES, POLICY_KINDS, validatePolicy, type PolicyDefinition, type PolicyKind, type PolicyScope } from './policy-definition';
export { PLANNER_LIMITS } from './limits';
export { REJECTION_CODES, type RejectionCode } from './rejection';
export { DEFAULT_DURATIONS } from './graph';

export interface PlanOptions {
  /** Seed of the scheduler's search. Default 1. */
  readonly seed?: number;
  /** Time budget of the whole call, in milliseconds: the scheduler gets what building the graph left, less a reserve for checking and writing the plan. Default 1000. */
  readonly timeLimitMs?: number;
  /** Schedule budget of the scheduler; with it (and no time budget reached) the plan is repeatable. */
  readonly maxSchedules?: number;
  /** The clock the budget is read on. Default `Date.now`. */
  readonly now?: () => number;
  /** At most this many tasks at once in the whole change. */
  readonly globalLimit?: number;
  /** Name of the generated process. Default `Change` and the plan's start time. */
  readonly processName?: string;
  /** Wait between GetStatus calls in the generated plan (xsd:duration). Default: a tenth of each task’s planned duration, 2 to 60 s. */
  readonly pollInterval?: string;
}

function rejected(code: PlanRejection['code'], message: string, objects: readonly string[], tasks: readonly PlannedTask[] = [], checks: readonly PolicyCheck[] = []): PlanOutcome {
  return { state: 'REJECTED', code, message, objects, tasks, checks };
}

/**
 * Plans a request for change over a snapshot of the model. Returns the plan
 * (tasks, precedences, schedule, policy checks, BPEL) or a rejection with a
 * code and the objects at fault; never throws for a problem of the request,
 * the model or the policies.
 */
export function planChange(model: PlanningModel, request: ChangeRequest, policies: readonly PolicyDefinition[], options: PlanOptions = {}): PlanOutcome {
  const issues = validateChangeRequest(request);
  if (issues.length > 0) {
    const tooLarge = issues.some((i) => /must hold at most/.test(i.message) && (i.path === 'changes' || i.path === 'fragments'));
    return rejected(tooLarge ? 'RequestTooLarge' : 'InvalidRequest', issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues.map((i) => i.path));
  }
  let inForce: PolicyDefinition[];
  try {
    inForce = policiesInForce(policies);
  } catch (err) {
    if (err instanceof InvalidPolicyError) return rejected('InvalidRequest', err.message, [err.policy]);
    throw err;
  }
  for (const s of model.systems) {
    for (const w of s.maintenanceWindows) {
      const problem = windowProblem(w);
      if (problem !== undefined) return rejected('InvalidRequest', `system "${s.name}": ${problem}`, [s.name]);
    }
  }
  const now = options.now ?? Date.now;
  const began = now();
  const budget = options.timeLimitMs ?? 1000;
  let tasks: readonly PlannedTask[] = [];
  try {
    const view = new ModelView(model);
    const changes: Array<{ origin: string; change: ChangeRequest['changes'][number] }> = request.changes.map((change, i) => ({ origin: `changes[${i}]`, change }));
    const explicit: ActionPrecedence[] = [];
    (request.fragments ?? []).forEach((use, i) => {
      const inst = instantiateFragment(use, `fragments[${i}]`);
      changes.push(...inst.changes);
      explicit.push(...inst.precedences);
    });
    if (changes.length > PLANNER_LIMITS.maxChanges * 5) throw new PlanRejection('RequestTooLarge', `the request holds ${changes.length} changes with its fragments, more than ${PLANNER_LIMITS.maxChanges * 5}`, []);
    const graph = new GraphBuilder(view, inForce).build(changes, explicit);
    tasks = graph.tasks;
    if (graph.tasks.length === 0) throw new PlanRejection('InvalidRequest', 'nothing to do: every change asked for is already in place', []);
    const cycle = findCycle(graph.tasks, graph.precedences);
    if (cycle !== undefined) throw new PlanRejection('Cycle', `the precedences form a cycle: ${[...cycle, cycle[0] ?? ''].join(' → ')}`, cycle);

    const planChecks = checkPlanPolicies(inForce, view, graph.end, graph.shaped, graph.tasks);
    const violated = planChecks.find((c) => c.outcome === 'violated');
    if (violated !== undefined) throw new PlanRejection('PolicyViolation', `policy "${violated.policy}" is violated: ${violated.message}`, [violated.policy, ...violated.objects], planChecks);

    // Time 0: the snapshot, on a whole second.
    const plannedStart = Math.ceil(model.takenAt.getTime() / 1000) * 1000;
    const adapted = toProblem({ tasks: graph.tasks, precedences: graph.precedences, blocks: graph.blocks, view, initial: graph.initial, request, policies: inForce, plannedStart, globalLimit: options.globalLimit });
    // What is left of the budget, less a reserve (15%, at most 150 ms) for the schedule's checks and the BPEL.
    const left = Math.max(50, budget - (now() - began) - Math.min(150, 0.15 * budget));
    const plan = schedule(adapted.problem, { seed: options.seed, timeLimitMs: left, maxSchedules: options.maxSchedules, now });
    const starts = taskStarts(adapted, plan);
    const changeSchedule = toChangeSchedule(graph.tasks, graph.precedences, graph.blocks, starts, plan, plannedStart);
    const scheduleChecks = checkSchedulePolicies(inForce, view, graph.tasks, starts, adapted, graph.blocks);
    const checks = [...planChecks, ...scheduleChecks];
    const late = scheduleChecks.find((c) => c.outcome === 'violated');
    if (late !== undefined) throw new PlanRejection('PolicyViolation', `policy "${late.policy}" is violated by the schedule: ${late.message}`, [late.policy, ...late.objects], checks);

    const order = resourceOrder(orderGroups(graph.tasks, graph.blocks, starts, view, adapted.clusterCapacity));
    const bpel = generateBpel(graph.tasks, graph.precedences, changeSchedule.tasks, {
      processName: options.processName ?? `Change-${new Date(plannedStart).toISOString().replace(/[-:.]/g, '')}`,
      plannedStart: new Date(plannedStart),
      ...(request.deadline !== undefined ? { deadline: request.deadline } : {}),
      ...(options.pollInterval !== undefined ? { pollInterval: options.pollInterval } : {}),
      resourceOrder: order,
    });
    return { state: 'PLANNED', tasks: graph.tasks, precedences: graph.precedences, schedule: changeSchedule, checks, bpel };
  } catch (err) {
    if (err instanceof PlanRejection) return rejected(err.code, err.message, err.objects, tasks, err.checks);
    if (err instanceof SchedulingError) return rejected('InvalidRequest', err.message, err.issues.map((i) => i.path), tasks);
    throw err;
  }
}

/** Groups of tasks sharing a limited resource, for the run-time order: each system (tasks), each cluster (down blocks). */
function orderGroups(
  tasks: readonly PlannedTask[],
  blocks: readonly { readonly cluster: string; readonly system: string; readonly tasks: readonly string[] }[],
  starts: ReadonlyMap<string, number>,
  view: ModelView,
  clusterCapacity: ReadonlyMap<string, number>,
): Parameters<typeof resourceOrder>[0] {
  const item = (t: PlannedTask): { first: string; last: string; start: number; finish: number } => ({ first: t.id, last: t.id, start: starts.get(t.id) ?? 0, finish: (starts.get(t.id) ?? 0) + t.duration });
  const groups: Array<Parameters<typeof resourceOrder>[0][number]> = [];
  for (const s of view.model.systems) {
    const on = tasks.filter((t) => t.system === s.name);
    if (on.length > s.capacity) groups.push({ capacity: s.capacity, items: on.map(item) });
  }
  const byId = new Map(tasks.map((t) => [t.id, t]));
  for (const [cluster, capacity] of clusterCapacity) {
    const items = blocks
      .filter((b) => b.cluster === cluster && b.tasks.length > 0)
      .map((b) => {
        const first = byId.get(b.tasks[0] as string) as PlannedTask;
        const last = byId.get(b.tasks[b.tasks.length - 1] as string) as PlannedTask;
        return { first: first.id, last: last.id, start: starts.get(first.id) ?? 0, finish: (starts.get(last.id) ?? 0) + last.duration };
      });
    if (items.length > capacity) groups.push({ capacity, items });
  }
  return groups;
}


/** What is wrong with a maintenance window, or undefined when it can be used. */
function windowProblem(window: Parameters<typeof validateWindow>[0]): string | undefined {
  try {
    validateWindow(window);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
