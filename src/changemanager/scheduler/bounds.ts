/**
 * Lower bounds on the makespan, reported with every plan so an operator sees
 * how far from the best possible a plan can at most be.
 */
import type { Edge, Instance } from './instance';

export interface LowerBounds {
  /** The largest of the bounds below. */
  readonly makespan: number;
  /** Longest path through the precedences with their lags, from the releases, each task fitted into its resources' windows. */
  readonly criticalPath: number;
  /** Energy bound: no resource can supply its tasks' total demand × duration sooner. */
  readonly resource: number;
  /**
   * Tasks no two of which can run at once (together they need more than a
   * resource offers, or a precedence keeps them apart) run one after another:
   * the earliest head, their durations and the shortest tail add up.
   */
  readonly disjunctive: number;
  /** With deadlines: the least possible largest lateness; null without. */
  readonly lateness: number | null;
}

/** Above this many tasks the disjunctive bound (quadratic in tasks) is left out. */
const DISJUNCTIVE_MAX_TASKS = 2000;
/** Greedy sets tried for the disjunctive bound. */
const DISJUNCTIVE_SEEDS = 64;

function energyBound(instance: Instance): number {
  let bound = 0;
  instance.profiles.forEach((profile, r) => {
    let energy = 0;
    let from = Infinity;
    for (let j = 0; j < instance.size; j++) {
      for (const d of instance.demands[j] ?? []) {
        if (d.resource !== r || instance.duration[j] === 0) continue;
        energy += d.amount * (instance.duration[j] as number);
        from = Math.min(from, instance.head[j] as number);
      }
    }
    if (energy > 0) bound = Math.max(bound, profile.timeToSupply(from, energy));
  });
  return bound;
}

/** Longest start-to-start distance from every task to every other (-Infinity: none). */
function allDistances(instance: Instance): Float64Array[] {
  const { size, order, successors } = instance;
  const rank = new Int32Array(size);
  order.forEach((task, k) => (rank[task] = k));
  return Array.from({ length: size }, (_, from) => {
    const dist = new Float64Array(size).fill(-Infinity);
    dist[from] = 0;
    for (let k = rank[from] as number; k < size; k++) {
      const j = order[k] as number;
      const dj = dist[j] as number;
      if (dj === -Infinity) continue;
      for (const e of successors[j] as readonly Edge[]) if (dj + e.distance > (dist[e.task] as number)) dist[e.task] = dj + e.distance;
    }
    return dist;
  });
}

function disjunctiveBound(instance: Instance): number {
  const { size, duration, demands, capacity, head, tail } = instance;
  if (size > DISJUNCTIVE_MAX_TASKS) return 0;
  const dist = allDistances(instance);
  const amount = Array.from({ length: size }, (_, j) => {
    const row = new Array<number>(capacity.length).fill(0);
    for (const d of demands[j] ?? []) row[d.resource] = d.amount;
    return row;
  });
  const apart = (i: number, j: number): boolean => {
    if (((dist[i] as Float64Array)[j] as number) >= (duration[i] as number) || ((dist[j] as Float64Array)[i] as number) >= (duration[j] as number)) return true;
    const other = amount[j] as number[];
    for (const d of demands[i] ?? []) if (d.amount + (other[d.resource] as number) > (capacity[d.resource] as number)) return true;
    return false;
  };
  const candidates = Array.from({ length: size }, (_, j) => j)
    .filter((j) => (duration[j] as number) > 0)
    .sort((x, y) => (duration[y] as number) - (duration[x] as number) || x - y);
  let bound = 0;
  // One greedy set grown from each of the longest tasks.
  for (const seed of candidates.slice(0, DISJUNCTIVE_SEEDS)) {
    const set = [seed];
    for (const j of candidates) if (j !== seed && set.every((i) => apart(i, j))) set.push(j);
    let first = Infinity;
    let total = 0;
    let last = Infinity;
    for (const j of set) {
      first = Math.min(first, head[j] as number);
      total += duration[j] as number;
      last = Math.min(last, (tail[j] as number) - (duration[j] as number));
    }
    bound = Math.max(bound, first + total + last);
  }
  return bound;
}

export function lowerBounds(instance: Instance): LowerBounds {
  const { size, head, tail, duration, deadline, hasDeadlines } = instance;
  let criticalPath = 0;
  for (let j = 0; j < size; j++) criticalPath = Math.max(criticalPath, (head[j] as number) + (tail[j] as number));
  const resource = energyBound(instance);
  const disjunctive = disjunctiveBound(instance);
  const makespan = Math.max(criticalPath, resource, disjunctive);
  let lateness: number | null = null;
  if (hasDeadlines) {
    // No task finishes before its head plus its duration…
    let bound = -Infinity;
    for (let j = 0; j < size; j++) {
      if (deadline[j] === Infinity) continue;
      bound = Math.max(bound, (head[j] as number) + (duration[j] as number) - (deadline[j] as number));
    }
    // …and when every task has a deadline, the last one to finish is at least the makespan bound minus the latest deadline late.
    if (deadline.every((d) => d !== Infinity)) bound = Math.max(bound, makespan - Math.max(...deadline));
    lateness = bound;
  }
  return { makespan, criticalPath, resource, disjunctive, lateness };
}
