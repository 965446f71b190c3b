/**
 * A validated problem in the form the search works on: tasks by index,
 * every precedence turned into a start-to-start distance (`start[to] ≥
 * start[from] + distance`), resource demands as index lists, and the
 * precedence graph's topological order, heads and tails.
 */
import { checkValues, formatCycle, SchedulingError, type Objective, type PrecedenceType, type SchedulingProblem } from './model';
import { Profile } from './profile';

export interface Edge {
  readonly task: number;
  readonly distance: number;
}

export interface Demand {
  readonly resource: number;
  readonly amount: number;
}

export interface Instance {
  readonly size: number;
  readonly ids: readonly string[];
  readonly duration: readonly number[];
  readonly release: readonly number[];
  /** The task's deadline, the problem's if earlier; Infinity when none. */
  readonly deadline: readonly number[];
  readonly hasDeadlines: boolean;
  readonly objective: Objective;
  readonly successors: readonly (readonly Edge[])[];
  readonly predecessors: readonly (readonly Edge[])[];
  readonly demands: readonly (readonly Demand[])[];
  readonly resourceIds: readonly string[];
  /** Largest capacity of each resource (outside its windows). */
  readonly capacity: readonly number[];
  /** Each resource's profile with its windows and nothing scheduled. */
  readonly profiles: readonly Profile[];
  /** Tasks in an order where every precedence runs forwards. */
  readonly order: readonly number[];
  /** Earliest start of each task: releases, distances and each task's own fit in its resources' windows. */
  readonly head: readonly number[];
  /** Longest distance from each task's start to the end of the project (at least its duration). */
  readonly tail: readonly number[];
  /** `adjacent.has(i * size + j)`: a precedence links i and j directly, either way. */
  readonly adjacent: ReadonlySet<number>;
  /**
   * Half the width of a time grid holding every start a forward or backward
   * pass can produce, when such a grid is small enough to schedule on;
   * undefined when it is not (long horizons or long tasks).
   */
  readonly gridSpan: number | undefined;
}

/** Grids are used up to this many cells in all, and for tasks up to this long. */
const GRID_MAX_CELLS = 4_000_000;
const GRID_MAX_DURATION = 64;

/**
 * Every start of a forward pass lies below the latest release or window end
 * plus, for each task, its duration and its largest distance; a backward pass
 * stays as far below zero. Twice that, to be safe.
 */
function gridSpan(duration: readonly number[], release: readonly number[], successors: readonly (readonly Edge[])[], predecessors: readonly (readonly Edge[])[], windowEnd: number, resources: number): number | undefined {
  let reach = Math.max(windowEnd, ...release);
  let longest = 0;
  duration.forEach((p, j) => {
    let distance = 0;
    for (const e of successors[j] ?? []) distance = Math.max(distance, Math.abs(e.distance));
    for (const e of predecessors[j] ?? []) distance = Math.max(distance, Math.abs(e.distance));
    reach += p + distance;
    longest = Math.max(longest, p);
  });
  const span = 2 * (reach + longest) + 16;
  if (resources === 0 || longest > GRID_MAX_DURATION || 2 * span * resources > GRID_MAX_CELLS) return undefined;
  return span;
}

/** `start[to] - start[from]` at least, for a precedence of `type` with `lag`. */
export function startDistance(type: PrecedenceType, lag: number, fromDuration: number, toDuration: number): number {
  switch (type) {
    case 'FS':
      return fromDuration + lag;
    case 'SS':
      return lag;
    case 'FF':
      return fromDuration + lag - toDuration;
    case 'SF':
      return lag - toDuration;
  }
}

/** A cycle of the graph as task indexes, or undefined when it has none. */
function findCycle(size: number, successors: readonly (readonly Edge[])[]): number[] | undefined {
  const state = new Uint8Array(size); // 0 unseen, 1 on the path, 2 done
  const parent = new Int32Array(size).fill(-1);
  for (let root = 0; root < size; root++) {
    if (state[root] !== 0) continue;
    const stack: { task: number; next: number }[] = [{ task: root, next: 0 }];
    state[root] = 1;
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as { task: number; next: number };
      const edges = successors[top.task] as readonly Edge[];
      if (top.next === edges.length) {
        state[top.task] = 2;
        stack.pop();
        continue;
      }
      const to = (edges[top.next++] as Edge).task;
      if (state[to] === 1) {
        const cycle = [to];
        for (let at = top.task; at !== to; at = parent[at] as number) cycle.push(at);
        return cycle.slice(0, 1).concat(cycle.slice(1).reverse());
      }
      if (state[to] === 0) {
        state[to] = 1;
        parent[to] = top.task;
        stack.push({ task: to, next: 0 });
      }
    }
  }
  return undefined;
}

function topologicalOrder(size: number, successors: readonly (readonly Edge[])[], predecessors: readonly (readonly Edge[])[]): number[] {
  const waiting = predecessors.map((p) => p.length);
  const ready: number[] = [];
  for (let i = size - 1; i >= 0; i--) if (waiting[i] === 0) ready.push(i);
  const order: number[] = [];
  while (ready.length > 0) {
    const task = ready.pop() as number;
    order.push(task);
    const edges = successors[task] as readonly Edge[];
    for (let e = edges.length - 1; e >= 0; e--) {
      const to = (edges[e] as Edge).task;
      waiting[to] = (waiting[to] as number) - 1;
      if (waiting[to] === 0) ready.push(to);
    }
  }
  return order;
}

/** Validates `problem` and builds its instance; throws a SchedulingError listing every issue. */
export function compile(problem: SchedulingProblem): Instance {
  const issues = checkValues(problem);
  if (issues.length > 0) throw new SchedulingError(issues);

  const size = problem.tasks.length;
  const ids = problem.tasks.map((t) => t.id);
  const index = new Map(ids.map((id, i) => [id, i]));
  const duration = problem.tasks.map((t) => t.duration);
  const release = problem.tasks.map((t) => t.earliestStart ?? 0);
  const deadline = problem.tasks.map((t) => Math.min(t.deadline ?? Infinity, problem.deadline ?? Infinity));
  const resources = problem.resources ?? [];
  const resourceIndex = new Map(resources.map((r, i) => [r.id, i]));

  // Parallel precedences between the same two tasks keep the largest distance.
  const distances = new Map<number, number>();
  for (const p of problem.precedences ?? []) {
    const from = index.get(p.from) as number;
    const to = index.get(p.to) as number;
    const distance = startDistance(p.type ?? 'FS', p.lag ?? 0, duration[from] as number, duration[to] as number);
    const key = from * size + to;
    distances.set(key, Math.max(distances.get(key) ?? -Infinity, distance));
  }
  const successors: Edge[][] = ids.map(() => []);
  const predecessors: Edge[][] = ids.map(() => []);
  const adjacent = new Set<number>();
  for (const [key, distance] of distances) {
    const from = Math.floor(key / size);
    const to = key % size;
    (successors[from] as Edge[]).push({ task: to, distance });
    (predecessors[to] as Edge[]).push({ task: from, distance });
    adjacent.add(from * size + to).add(to * size + from);
  }

  const cycle = findCycle(size, successors);
  if (cycle !== undefined) {
    const names = cycle.map((i) => ids[i] as string);
    throw new SchedulingError([{ kind: 'cycle', path: 'precedences', message: `the precedences form a cycle: ${formatCycle(names)}` }]);
  }
  const order = topologicalOrder(size, successors, predecessors);

  const demands = problem.tasks.map((t) =>
    Object.entries(t.demands ?? {})
      .filter(([, amount]) => amount > 0)
      .map(([rid, amount]) => ({ resource: resourceIndex.get(rid) as number, amount })),
  );
  const capacity = resources.map((r) => r.capacity);
  const profiles = resources.map((r) => Profile.of(r.capacity, (r.unavailable ?? []).map((w) => ({ from: w.from, to: w.to, capacity: w.capacity ?? 0 }))));

  const head = new Array<number>(size).fill(0);
  for (const j of order) {
    let t = release[j] as number;
    for (const e of predecessors[j] as Edge[]) t = Math.max(t, (head[e.task] as number) + e.distance);
    head[j] = fitAlone(profiles, demands[j] as Demand[], duration[j] as number, t);
  }
  const tail = new Array<number>(size).fill(0);
  for (let k = size - 1; k >= 0; k--) {
    const j = order[k] as number;
    let t = duration[j] as number;
    for (const e of successors[j] as Edge[]) t = Math.max(t, e.distance + (tail[e.task] as number));
    tail[j] = t;
  }

  return {
    size,
    ids,
    duration,
    release,
    deadline,
    hasDeadlines: deadline.some((d) => d !== Infinity),
    objective: problem.objective ?? 'makespan',
    successors,
    predecessors,
    demands,
    resourceIds: resources.map((r) => r.id),
    capacity,
    profiles,
    order,
    head,
    tail,
    adjacent,
    gridSpan: gridSpan(duration, release, successors, predecessors, Math.max(0, ...resources.flatMap((r) => (r.unavailable ?? []).map((w) => w.to))), resources.length),
  };
}

/** The earliest start ≥ `t` at which a task fits in the given profiles. */
export function fitAlone(profiles: readonly Profile[], demands: readonly Demand[], duration: number, t: number): number {
  let start = t;
  for (let settled = 0; settled < demands.length; ) {
    settled = 0;
    for (const d of demands) {
      const fit = (profiles[d.resource] as Profile).earliestFit(start, duration, d.amount);
      if (fit === start) settled++;
      else {
        start = fit;
        break;
      }
    }
  }
  return start;
}
