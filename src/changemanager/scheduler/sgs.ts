/**
 * Schedule generation: the serial schedule generation scheme turns an
 * activity list (tasks in an order where every precedence runs forwards) into
 * a schedule, each task at the earliest time its predecessors' distances and
 * the resources allow. Forward-backward improvement (justification: Valls,
 * Ballestín and Quintanilla, EJOR 165, 2005) then shifts every task as late as
 * possible and back as early as possible, which often shortens the schedule.
 */
import type { Demand, Edge, Instance } from './instance';
import { GridProfile } from './grid-profile';
import type { CapacityProfile } from './profile';

/** Orders lexicographically: the objective, then the makespan. */
export interface Evaluation {
  readonly objective: number;
  readonly makespan: number;
}

export function better(a: Evaluation, b: Evaluation): boolean {
  return a.objective < b.objective || (a.objective === b.objective && a.makespan < b.makespan);
}

/** A binary min-heap of task indexes by key, for the priority-ordered topological sorts. */
class TaskHeap {
  private readonly items: number[] = [];
  constructor(private readonly key: Float64Array) {}

  get size(): number {
    return this.items.length;
  }

  clear(): void {
    this.items.length = 0;
  }

  push(task: number): void {
    const items = this.items;
    const key = this.key;
    let i = items.length;
    items.push(task);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent] as number;
      if ((key[p] as number) < (key[task] as number) || ((key[p] as number) === (key[task] as number) && p < task)) break;
      items[i] = p;
      i = parent;
    }
    items[i] = task;
  }

  pop(): number {
    const items = this.items;
    const key = this.key;
    const top = items[0] as number;
    const last = items.pop() as number;
    const n = items.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      const l = items[left] as number;
      if (right < n) {
        const r = items[right] as number;
        if ((key[r] as number) < (key[l] as number) || ((key[r] as number) === (key[l] as number) && r < l)) child = right;
      }
      const c = items[child] as number;
      if ((key[last] as number) < (key[c] as number) || ((key[last] as number) === (key[c] as number) && last < c)) break;
      items[i] = c;
      i = child;
    }
    items[i] = last;
    return top;
  }
}

export class Decoder {
  /** Schedules generated so far (each forward or backward pass counts one). */
  schedules = 0;
  private readonly work: CapacityProfile[];
  private readonly key: Float64Array;
  private readonly waiting: Int32Array;
  private readonly other: Int32Array;
  private readonly heap: TaskHeap;

  /** `grid`: schedule on time grids (when the instance allows them) rather than segment lists; both give the same schedules. */
  constructor(
    private readonly instance: Instance,
    grid = true,
  ) {
    const span = grid ? instance.gridSpan : undefined;
    this.work = instance.profiles.map((p) => (span === undefined ? p.workCopy() : new GridProfile(p, span)));
    this.key = new Float64Array(instance.size);
    this.heap = new TaskHeap(this.key);
    this.waiting = new Int32Array(instance.size);
    this.other = new Int32Array(instance.size);
  }

  private reset(): void {
    const work = this.work;
    for (let r = 0; r < work.length; r++) (work[r] as CapacityProfile).reset();
  }

  private earliest(demands: readonly Demand[], duration: number, t: number): number {
    let start = t;
    for (let settled = 0; settled < demands.length; ) {
      settled = 0;
      for (let d = 0; d < demands.length; d++) {
        const demand = demands[d] as Demand;
        const fit = (this.work[demand.resource] as CapacityProfile).earliestFit(start, duration, demand.amount);
        if (fit === start) settled++;
        else {
          start = fit;
          break;
        }
      }
    }
    return start;
  }

  private latest(demands: readonly Demand[], duration: number, t: number): number {
    let start = t;
    for (let settled = 0; settled < demands.length; ) {
      settled = 0;
      for (let d = 0; d < demands.length; d++) {
        const demand = demands[d] as Demand;
        const fit = (this.work[demand.resource] as CapacityProfile).latestFit(start, duration, demand.amount);
        if (fit === start) settled++;
        else {
          start = fit;
          break;
        }
      }
    }
    return start;
  }

  private take(demands: readonly Demand[], duration: number, start: number): void {
    for (let d = 0; d < demands.length; d++) {
      const demand = demands[d] as Demand;
      (this.work[demand.resource] as CapacityProfile).reserve(start, duration, demand.amount);
    }
  }

  /** Serial SGS: fills `start` from the activity list `list`. */
  forward(list: ArrayLike<number>, start: Int32Array): void {
    this.schedules++;
    this.reset();
    const { release, predecessors, demands, duration } = this.instance;
    for (let k = 0; k < list.length; k++) {
      const j = list[k] as number;
      let t = release[j] as number;
      const preds = predecessors[j] as readonly Edge[];
      for (let e = 0; e < preds.length; e++) {
        const edge = preds[e] as Edge;
        const earliest = (start[edge.task] as number) + edge.distance;
        if (earliest > t) t = earliest;
      }
      const p = duration[j] as number;
      const ds = demands[j] as readonly Demand[];
      if (ds.length > 0) t = this.earliest(ds, p, t);
      start[j] = t;
      this.take(ds, p, t);
    }
  }

  /** Backward serial SGS: every task of `list` (successors first) as late as possible, finishing by `end`. */
  private backward(list: ArrayLike<number>, end: number, start: Int32Array): void {
    this.schedules++;
    this.reset();
    const { successors, demands, duration } = this.instance;
    for (let k = 0; k < list.length; k++) {
      const j = list[k] as number;
      const p = duration[j] as number;
      let t = end - p;
      const succs = successors[j] as readonly Edge[];
      for (let e = 0; e < succs.length; e++) {
        const edge = succs[e] as Edge;
        const latest = (start[edge.task] as number) - edge.distance;
        if (latest < t) t = latest;
      }
      const ds = demands[j] as readonly Demand[];
      if (ds.length > 0) t = this.latest(ds, p, t);
      start[j] = t;
      this.take(ds, p, t);
    }
  }

  /**
   * Tasks in a precedence-respecting order, smallest `key` first among those
   * whose predecessors (`reverse`: successors) are all placed.
   */
  private orderBy(reverse: boolean, into: Int32Array): void {
    const { size, successors, predecessors } = this.instance;
    const before = reverse ? successors : predecessors;
    const after = reverse ? predecessors : successors;
    const heap = this.heap;
    heap.clear();
    for (let j = 0; j < size; j++) {
      const n = (before[j] as readonly Edge[]).length;
      this.waiting[j] = n;
      if (n === 0) heap.push(j);
    }
    let k = 0;
    while (heap.size > 0) {
      const j = heap.pop();
      into[k++] = j;
      const next = after[j] as readonly Edge[];
      for (let e = 0; e < next.length; e++) {
        const to = (next[e] as Edge).task;
        const left = (this.waiting[to] as number) - 1;
        this.waiting[to] = left;
        if (left === 0) heap.push(to);
      }
    }
  }

  /**
   * Forward-backward improvement of the schedule in `start`: a backward pass
   * in order of decreasing finish, then a forward pass in order of the
   * backward starts. Writes the new schedule to `start` and its activity list
   * to `list`.
   */
  justify(start: Int32Array, list: Int32Array): void {
    const { size, duration } = this.instance;
    let end = -Infinity;
    for (let j = 0; j < size; j++) {
      const finish = (start[j] as number) + (duration[j] as number);
      if (finish > end) end = finish;
      this.key[j] = -finish;
    }
    this.orderBy(true, this.other);
    this.backward(this.other, end, start);
    for (let j = 0; j < size; j++) this.key[j] = start[j] as number;
    this.orderBy(false, list);
    this.forward(list, start);
  }

  evaluate(start: Int32Array): Evaluation {
    const { size, duration, deadline, hasDeadlines, objective } = this.instance;
    let makespan = 0;
    let lateness = -Infinity;
    for (let j = 0; j < size; j++) {
      const finish = (start[j] as number) + (duration[j] as number);
      if (finish > makespan) makespan = finish;
      if (hasDeadlines) {
        const late = finish - (deadline[j] as number);
        if (late > lateness) lateness = late;
      }
    }
    return { objective: objective === 'lateness' && hasDeadlines ? lateness : makespan, makespan };
  }
}
