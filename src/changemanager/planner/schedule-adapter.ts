/**
 * The scheduling adapter: a task graph becomes a SchedulingProblem in whole
 * seconds from the plan's start, and the scheduler's plan becomes a
 * ChangeSchedule with the critical tasks marked.
 *
 * - Each system is a resource of its capacity; outside its maintenance
 *   windows it offers none (windows expanded over a horizon long enough for
 *   every task to wait a week and still run).
 * - Each cluster is a resource of capacity max(1, ⌊share × members⌋). A
 *   member's down time (its stop/quiesce → update → start chain) is one
 *   scheduler task, a block, demanding one unit of it, so the member counts
 *   as unavailable from its stop until its start and the chain runs without
 *   gaps; the block's tasks are placed back to back inside it.
 * - An optional global limit, and each `max-concurrent` policy, are
 *   resources every task in their scope demands one unit of.
 * - The earliest start is every task's release; the deadline the problem's.
 */
import type { ChangeRequest, ChangeSchedule, PlannedPrecedence, PlannedTask } from '../change-plan';
import type { Plan } from '../scheduler';
import type { Precedence, PrecedenceType, Resource, SchedulingProblem, Task, UnavailabilityWindow } from '../scheduler/model';
import type { MemberDownBlock } from './graph';
import { PLANNER_LIMITS } from './limits';
import { openIntervals } from '../windows';
import type { ModelView, SystemsState } from './model-view';
import { appliesTo, type PolicyDefinition } from './policy-definition';
import { PlanRejection } from './rejection';

/** A span of time as numbers, `from` inclusive, `to` exclusive. */
interface Span {
  readonly from: number;
  readonly to: number;
}

const WEEK = 7 * 24 * 3600;

export interface AdapterInput {
  readonly tasks: readonly PlannedTask[];
  readonly precedences: readonly PlannedPrecedence[];
  readonly blocks: readonly MemberDownBlock[];
  readonly view: ModelView;
  readonly initial: SystemsState;
  readonly request: ChangeRequest;
  readonly policies: readonly PolicyDefinition[];
  /** The plan's time 0, in milliseconds since the epoch (a whole second). */
  readonly plannedStart: number;
  readonly globalLimit?: number;
}

export interface Adapted {
  readonly problem: SchedulingProblem;
  /** Where each task of the graph is in the problem: its own task, or a block at an offset. */
  readonly placement: ReadonlyMap<string, { readonly scheduled: string; readonly offset: number }>;
  /** Open intervals of each system with windows, in seconds from the plan's start, over the horizon. */
  readonly open: ReadonlyMap<string, readonly Span[]>;
  readonly horizon: number;
  /** Capacity of each cluster's availability resource. */
  readonly clusterCapacity: ReadonlyMap<string, number>;
}

/** Capacity of a cluster's availability resource: the share of its members that may be down at once, at least one. */
export function clusterCapacity(members: number, share: number | undefined): number {
  return Math.max(1, Math.floor((share ?? 0.25) * members + 1e-9));
}

/** The SS distance of a precedence: start(to) ≥ start(from) + distance. */
export function distance(type: PrecedenceType, lag: number, fromDuration: number, toDuration: number): number {
  switch (type) {
    case 'FS':
      return fromDuration + lag;
    case 'SS':
      return lag;
    case 'FF':
      return fromDuration - toDuration + lag;
    case 'SF':
      return lag - toDuration;
  }
}

export function toProblem(input: AdapterInput): Adapted {
  const { tasks, view, request } = input;
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const placement = new Map<string, { scheduled: string; offset: number }>();
  const blockOf = new Map<string, string>();
  const scheduled: Array<{ id: string; duration: number; system: string; cluster?: string }> = [];
  input.blocks.forEach((b, i) => {
    const id = `block:${b.system}:${i}`;
    let offset = 0;
    for (const t of b.tasks) {
      placement.set(t, { scheduled: id, offset });
      blockOf.set(t, id);
      offset += byId.get(t)?.duration ?? 0;
    }
    scheduled.push({ id, duration: offset, system: b.system, cluster: b.cluster });
  });
  for (const t of tasks) {
    if (placement.has(t.id)) continue;
    placement.set(t.id, { scheduled: t.id, offset: 0 });
    scheduled.push({ id: t.id, duration: t.duration, system: t.system });
  }

  const release = request.earliestStart === undefined ? 0 : Math.max(0, Math.ceil((request.earliestStart.getTime() - input.plannedStart) / 1000));
  const totalWork = tasks.reduce((s, t) => s + t.duration, 0) + input.precedences.reduce((s, p) => s + p.lag, 0);
  const horizon = Math.min(PLANNER_LIMITS.maxHorizonDays * 24 * 3600, release + totalWork + WEEK + 24 * 3600);

  // Resources: systems (windows), clusters, global, max-concurrent policies.
  const resources: Resource[] = [];
  const open = new Map<string, Span[]>();
  const expandedWindows = new Map<string, Span[]>();
  for (const s of view.model.systems) {
    const unavailable: UnavailabilityWindow[] = [];
    if (s.maintenanceWindows.length > 0) {
      // Systems often share their windows: expand each set once.
      const windowKey = JSON.stringify(s.maintenanceWindows);
      let expanded = expandedWindows.get(windowKey);
      if (expanded === undefined) expandedWindows.set(windowKey, (expanded = openIntervals(s.maintenanceWindows, new Date(input.plannedStart), new Date(input.plannedStart + horizon * 1000)).map((i) => ({ from: i.from.getTime(), to: i.to.getTime() }))));
      const intervals = expanded.map((i) => ({
        from: Math.ceil((i.from - input.plannedStart) / 1000),
        to: Math.floor((i.to - input.plannedStart) / 1000),
      }));
      const usable = intervals.filter((i) => i.to > i.from);
      open.set(s.name, usable);
      let at = 0;
      for (const i of usable) {
        if (i.from > at) unavailable.push({ from: at, to: i.from });
        at = i.to;
      }
      if (at < horizon) unavailable.push({ from: at, to: horizon });
      const longest = usable.reduce((m, i) => Math.max(m, i.to - i.from), 0);
      for (const t of scheduled) {
        if (t.system === s.name && t.duration > longest) {
          throw new PlanRejection('WindowTooShort', `"${t.id}" takes ${t.duration}s, longer than every maintenance window of "${s.name}" (the longest is ${longest}s)`, [t.id, s.name]);
        }
      }
    }
    resources.push({ id: `system:${s.name}`, capacity: s.capacity, ...(unavailable.length > 0 ? { unavailable } : {}) });
  }
  const clusterCapacities = new Map<string, number>();
  for (const [cluster, members] of view.clusters) {
    const capacity = clusterCapacity(members.length, request.maxUnavailableShare);
    clusterCapacities.set(cluster, capacity);
    resources.push({ id: `cluster:${cluster}`, capacity });
  }
  if (input.globalLimit !== undefined) resources.push({ id: 'global', capacity: input.globalLimit });
  const policyResources: Array<{ id: string; covers: (system: string) => boolean }> = [];
  for (const p of input.policies.filter((q) => q.kind === 'max-concurrent')) {
    const limit = Number(p.parameters.limit);
    p.scopes.forEach((scope, i) => {
      const id = `policy:${p.name}:${i}`;
      resources.push({ id, capacity: limit });
      policyResources.push({
        id,
        covers: (system) => appliesTo({ ...p, scopes: [scope] }, { roles: view.rolesIn(input.initial, system), cluster: view.systems.get(system)?.cluster ?? null }),
      });
    });
  }

  const problemTasks: Task[] = scheduled.map((t) => {
    const demands: Record<string, number> = { [`system:${t.system}`]: 1 };
    if (t.cluster !== undefined) demands[`cluster:${t.cluster}`] = 1;
    if (input.globalLimit !== undefined) demands.global = 1;
    for (const r of policyResources) if (r.covers(t.system)) demands[r.id] = 1;
    return { id: t.id, duration: t.duration, demands, ...(release > 0 ? { earliestStart: release } : {}) };
  });

  const precedences: Precedence[] = [];
  const seen = new Set<string>();
  const push = (p: Precedence): void => {
    const k = `${p.from}\u0000${p.to}\u0000${p.type ?? 'FS'}\u0000${p.lag ?? 0}`;
    if (!seen.has(k)) precedences.push(p), seen.add(k);
  };
  for (const p of input.precedences) {
    const from = placement.get(p.from);
    const to = placement.get(p.to);
    const fromTask = byId.get(p.from);
    const toTask = byId.get(p.to);
    if (from === undefined || to === undefined || fromTask === undefined || toTask === undefined) continue;
    if (from.scheduled === to.scheduled) continue; // inside one block: its order is the chain's
    if (!blockOf.has(p.from) && !blockOf.has(p.to)) {
      push({ from: p.from, to: p.to, type: p.type, lag: p.lag });
      continue;
    }
    // From a point of the source (its start or finish, at an offset in its block)…
    const fromAtFinish = p.type === 'FS' || p.type === 'FF';
    const a = from.offset + (fromAtFinish ? fromTask.duration : 0) + p.lag;
    const toAtFinish = p.type === 'FF' || p.type === 'SF';
    if (blockOf.has(p.to)) {
      // …into a block: the block starts no earlier (its tasks then start and finish no earlier either).
      push({ from: from.scheduled, to: to.scheduled, type: 'SS', lag: Math.max(0, a) });
    } else {
      push({ from: from.scheduled, to: to.scheduled, type: toAtFinish ? 'SF' : 'SS', lag: Math.max(0, a) });
    }
  }
  const problem: SchedulingProblem = {
    tasks: problemTasks,
    precedences,
    resources,
    ...(request.deadline !== undefined ? { deadline: Math.floor((request.deadline.getTime() - input.plannedStart) / 1000) } : {}),
    objective: request.objective ?? 'makespan',
  };
  return { problem, placement, open, horizon, clusterCapacity: clusterCapacities };
}

/** Start of each graph task, from the scheduler's starts. */
export function taskStarts(adapted: Adapted, plan: Plan): Map<string, number> {
  const out = new Map<string, number>();
  for (const [id, p] of adapted.placement) out.set(id, (plan.starts[p.scheduled] ?? 0) + p.offset);
  return out;
}

/**
 * The tasks on a critical path: those finishing at the makespan, and, going
 * back, every task that holds up a critical one, through a tight precedence
 * (the successor starts exactly when the precedence allows) or by finishing
 * exactly when the critical task starts on the same system. Delaying any of
 * them delays the end of the plan unless something else moves.
 */
export function criticalTasks(
  tasks: readonly PlannedTask[],
  precedences: readonly PlannedPrecedence[],
  starts: ReadonlyMap<string, number>,
  /** The limited resources a task holds: its system, and its cluster's availability for a member's down block. */
  resourcesOf: (task: PlannedTask) => readonly string[] = (t) => [`system:${t.system}`],
  /** Down blocks: their tasks run back to back, and a precedence into one of them holds the whole block (as the adapter schedules it). */
  blocks: readonly MemberDownBlock[] = [],
): Set<string> {
  const blockOfFirst = new Map<string, readonly string[]>();
  const inBlock = new Set<string>();
  for (const b of blocks) {
    if (b.tasks[0] !== undefined) blockOfFirst.set(b.tasks[0], b.tasks);
    for (const t of b.tasks) inBlock.add(t);
  }
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const finish = (t: PlannedTask): number => (starts.get(t.id) ?? 0) + t.duration;
  const makespan = tasks.reduce((m, t) => Math.max(m, finish(t)), 0);
  const into = new Map<string, PlannedPrecedence[]>();
  for (const p of precedences) into.set(p.to, [...(into.get(p.to) ?? []), p]);
  const finishingAt = new Map<string, PlannedTask[]>();
  for (const t of tasks) {
    for (const r of resourcesOf(t)) {
      const k = `${r}\u0000${finish(t)}`;
      finishingAt.set(k, [...(finishingAt.get(k) ?? []), t]);
    }
  }
  const critical = new Set<string>();
  const work: PlannedTask[] = tasks.filter((t) => finish(t) === makespan);
  for (const t of work) critical.add(t.id);
  while (work.length > 0) {
    const s = work.pop() as PlannedTask;
    const start = starts.get(s.id) ?? 0;
    const preds: PlannedTask[] = [];
    for (const p of into.get(s.id) ?? []) {
      const f = byId.get(p.from);
      if (f !== undefined && !inBlock.has(s.id) && start === (starts.get(f.id) ?? 0) + distance(p.type, p.lag, f.duration, s.duration)) preds.push(f);
    }
    for (const member of blockOfFirst.get(s.id) ?? []) {
      for (const p of into.get(member) ?? []) {
        const f = byId.get(p.from);
        if (f === undefined || inBlock.has(f.id) && blockOfFirst.get(s.id)?.includes(f.id) === true) continue;
        const fromAtFinish = p.type === 'FS' || p.type === 'FF';
        if (start === (starts.get(f.id) ?? 0) + (fromAtFinish ? f.duration : 0) + p.lag) preds.push(f);
      }
    }
    if (inBlock.has(s.id) && !blockOfFirst.has(s.id)) {
      // Inside a block, the task before it holds it up.
      for (const b of blocks) {
        const i = b.tasks.indexOf(s.id);
        const before = i > 0 ? byId.get(b.tasks[i - 1] as string) : undefined;
        if (before !== undefined) preds.push(before);
      }
    }
    for (const r of resourcesOf(s)) preds.push(...(finishingAt.get(`${r}\u0000${start}`) ?? []));
    for (const f of preds) {
      if (critical.has(f.id) || f.duration === 0) continue;
      critical.add(f.id);
      work.push(f);
    }
  }
  return critical;
}

export function toChangeSchedule(
  tasks: readonly PlannedTask[],
  precedences: readonly PlannedPrecedence[],
  blocks: readonly MemberDownBlock[],
  starts: ReadonlyMap<string, number>,
  plan: Plan,
  plannedStart: number,
): ChangeSchedule {
  const clusterOf = new Map<string, string>();
  for (const b of blocks) for (const t of b.tasks) clusterOf.set(t, `cluster:${b.cluster}`);
  const critical = criticalTasks(tasks, precedences, starts, (t) => {
    const c = clusterOf.get(t.id);
    return c === undefined ? [`system:${t.system}`] : [`system:${t.system}`, c];
  }, blocks);
  const scheduled = tasks
    .map((t) => ({ id: t.id, start: starts.get(t.id) ?? 0, finish: (starts.get(t.id) ?? 0) + t.duration, critical: critical.has(t.id) }))
    .sort((a, b) => a.start - b.start || a.id.localeCompare(b.id));
  return {
    plannedStart: new Date(plannedStart),
    tasks: scheduled,
    makespan: scheduled.reduce((m, t) => Math.max(m, t.finish), 0),
    lowerBound: { criticalPath: plan.lowerBound.criticalPath, resource: plan.lowerBound.resource, makespan: plan.lowerBound.makespan },
    provenOptimal: plan.provenOptimal,
    lateness: plan.lateness === null ? null : plan.lateness.max,
    search: { seed: plan.search.seed, schedules: plan.search.schedules, elapsedMs: plan.search.elapsedMs },
  };
}
