/**
 * The search: a genetic algorithm on activity lists (Hartmann, Naval
 * Research Logistics 45, 1998) decoded by the serial SGS, with two-point
 * crossover, a mutation that moves tasks within their precedence-feasible
 * range, and ranking selection; every child is improved by forward-backward
 * justification (the improved order goes back into the child), the first
 * population is drawn by regret-based biased random sampling on the
 * latest-finish priority, and a stalled search starts a fresh population.
 * The constants were tuned on PSPLIB J30 at a fixed schedule budget.
 */
import type { Instance } from './instance';
import type { Random } from './random';
import { better, type Decoder, type Evaluation } from './sgs';

export interface Limits {
  /** Stop once this many schedules were generated. */
  readonly maxSchedules: number;
  /** Stop once `now()` reaches this. */
  readonly until: number;
  readonly now: () => number;
  /** Stop once the objective reaches this (its lower bound). */
  readonly target: number;
}

/** Why the search stopped. */
export type StopReason = 'lower-bound' | 'time-limit' | 'schedule-limit';

export interface Individual {
  readonly list: Int32Array;
  readonly start: Int32Array;
  evaluation: Evaluation;
}

export interface SearchResult {
  readonly best: Individual;
  readonly generations: number;
  readonly stoppedBy: StopReason;
}

const POPULATION = 40;
const MUTATION_RATE = 0.1;
/** Generations without a better best before the population is drawn afresh. */
const STALL_GENERATIONS = 40;

class Stop extends Error {
  constructor(readonly reason: StopReason) {
    super(reason);
  }
}

export class GeneticSearch {
  private best: Individual | undefined;
  /** How long the first forward pass took on the limits' clock; -1 before it ran. */
  private passMs = -1;
  private readonly backup: Int32Array;
  private readonly backupList: Int32Array;
  private readonly taken: Uint8Array;
  private readonly position: Int32Array;

  constructor(
    private readonly instance: Instance,
    private readonly decoder: Decoder,
    private readonly random: Random,
    private readonly limits: Limits,
  ) {
    this.backup = new Int32Array(instance.size);
    this.backupList = new Int32Array(instance.size);
    this.taken = new Uint8Array(instance.size);
    this.position = new Int32Array(instance.size);
  }

  run(): SearchResult {
    let generations = 0;
    try {
      let population = this.initialPopulation();
      let stalled = 0;
      for (;;) {
        generations++;
        const before = (this.best as Individual).evaluation;
        // A problem with a single schedule leaves one survivor; keep drawing so the limits are checked.
        if (population.length < 2) population.push(this.evaluate(this.sampledList()));
        const children: Individual[] = [];
        const order = this.shuffled(population.length);
        for (let k = 0; k + 1 < order.length; k += 2) {
          const mother = population[order[k] as number] as Individual;
          const father = population[order[k + 1] as number] as Individual;
          const [q1, q2] = this.cutPoints();
          children.push(this.child(mother.list, father.list, q1, q2));
          children.push(this.child(father.list, mother.list, q1, q2));
        }
        population = this.survivors(population.concat(children));
        stalled = better((this.best as Individual).evaluation, before) ? 0 : stalled + 1;
        if (stalled >= STALL_GENERATIONS) {
          stalled = 0;
          population = this.restart();
        }
      }
    } catch (err) {
      if (!(err instanceof Stop)) throw err;
      return { best: this.best as Individual, generations, stoppedBy: err.reason };
    }
  }

  /** Decodes and justifies `list` (changed in place to the justified order); stops the search when a limit is reached. */
  private evaluate(list: Int32Array): Individual {
    const { decoder, limits } = this;
    const start = new Int32Array(this.instance.size);
    const began = limits.now();
    decoder.forward(list, start);
    // One pass's time is kept free at the end of the budget for the feasibility check, which costs about as much.
    if (this.passMs < 0) this.passMs = limits.now() - began;
    const plain = decoder.evaluate(start);
    this.backup.set(start);
    this.backupList.set(list);
    let evaluation = plain;
    if (!this.outOfTime()) {
      decoder.justify(start, list);
      const justified = decoder.evaluate(start);
      // An equal schedule after justification is kept: it is the compacted one.
      if (better(plain, justified)) {
        start.set(this.backup);
        list.set(this.backupList);
      } else evaluation = justified;
    }
    const individual = { list, start, evaluation };
    if (this.best === undefined || better(evaluation, this.best.evaluation)) this.best = { list: list.slice(), start: start.slice(), evaluation };
    if ((this.best as Individual).evaluation.objective <= limits.target) throw new Stop('lower-bound');
    if (decoder.schedules >= limits.maxSchedules) throw new Stop('schedule-limit');
    if (this.outOfTime()) throw new Stop('time-limit');
    return individual;
  }

  /** No time is left for another pass and the final check. */
  private outOfTime(): boolean {
    return this.limits.now() + 2 * Math.max(0, this.passMs) >= this.limits.until;
  }

  /** Regret-based biased random sampling: among the tasks whose predecessors are placed, a longer tail is likelier first. */
  private sampledList(): Int32Array {
    const { tail } = this.instance;
    return this.precedenceList((eligible) => {
      let least = Infinity;
      for (const j of eligible) least = Math.min(least, tail[j] as number);
      let total = 0;
      const weights = eligible.map((j) => {
        const w = Math.sqrt((tail[j] as number) - least + 1);
        total += w;
        return w;
      });
      let pick = this.random.next() * total;
      for (let e = 0; e < eligible.length; e++) {
        pick -= weights[e] as number;
        if (pick < 0) return e;
      }
      return eligible.length - 1;
    });
  }

  /** The latest-finish list: the longest tail first among eligible tasks. */
  private priorityList(): Int32Array {
    const { tail } = this.instance;
    return this.precedenceList((eligible) => {
      let chosen = 0;
      for (let e = 1; e < eligible.length; e++) if ((tail[eligible[e] as number] as number) > (tail[eligible[chosen] as number] as number)) chosen = e;
      return chosen;
    });
  }

  /** An activity list in precedence order: at each step `choose` names (by index) the next of the tasks whose predecessors are all placed. */
  private precedenceList(choose: (eligible: readonly number[]) => number): Int32Array {
    const { size, predecessors, successors } = this.instance;
    const waiting = predecessors.map((p) => p.length);
    const eligible: number[] = [];
    for (let j = 0; j < size; j++) if (waiting[j] === 0) eligible.push(j);
    const list = new Int32Array(size);
    for (let k = 0; k < size; k++) {
      const chosen = choose(eligible);
      const j = eligible[chosen] as number;
      eligible.splice(chosen, 1);
      list[k] = j;
      for (const edge of successors[j] ?? []) {
        waiting[edge.task] = (waiting[edge.task] as number) - 1;
        if (waiting[edge.task] === 0) eligible.push(edge.task);
      }
    }
    return list;
  }

  private initialPopulation(): Individual[] {
    const population = [this.evaluate(this.priorityList())];
    while (population.length < POPULATION) population.push(this.evaluate(this.sampledList()));
    return this.survivors(population);
  }

  /** After a stall: a fresh population, so the search leaves the basin it converged in (the best so far is kept aside). */
  private restart(): Individual[] {
    const population: Individual[] = [];
    while (population.length < POPULATION) population.push(this.evaluate(this.sampledList()));
    return this.survivors(population);
  }

  private cutPoints(): [number, number] {
    const n = this.instance.size;
    const a = this.random.below(n + 1);
    const b = this.random.below(n + 1);
    return a <= b ? [a, b] : [b, a];
  }

  /** Two-point crossover: `first`'s head to q1, then `second`'s order to q2, then `first`'s order; stays precedence-feasible. */
  private child(first: Int32Array, second: Int32Array, q1: number, q2: number): Individual {
    const n = this.instance.size;
    const taken = this.taken;
    taken.fill(0);
    const list = new Int32Array(n);
    let k = 0;
    for (; k < q1; k++) {
      const j = first[k] as number;
      list[k] = j;
      taken[j] = 1;
    }
    for (let i = 0; k < q2 && i < n; i++) {
      const j = second[i] as number;
      if (taken[j] === 1) continue;
      list[k++] = j;
      taken[j] = 1;
    }
    for (let i = 0; k < n && i < n; i++) {
      const j = first[i] as number;
      if (taken[j] === 1) continue;
      list[k++] = j;
      taken[j] = 1;
    }
    this.mutate(list, MUTATION_RATE);
    return this.evaluate(list);
  }

  /**
   * Moves tasks, each with probability `rate`, to a random place between
   * their last predecessor and first successor in the list.
   */
  private mutate(list: Int32Array, rate: number): void {
    const { size, predecessors, successors } = this.instance;
    const position = this.position;
    for (let k = 0; k < size; k++) position[list[k] as number] = k;
    for (let k = 0; k < size; k++) {
      if (this.random.next() >= rate) continue;
      const j = list[k] as number;
      let low = 0;
      let high = size - 1;
      for (const e of predecessors[j] ?? []) low = Math.max(low, (position[e.task] as number) + 1);
      for (const e of successors[j] ?? []) high = Math.min(high, (position[e.task] as number) - 1);
      if (high <= low) continue;
      const to = low + this.random.below(high - low + 1);
      if (to > k) for (let i = k; i < to; i++) {
        list[i] = list[i + 1] as number;
        position[list[i] as number] = i;
      }
      else for (let i = k; i > to; i--) {
        list[i] = list[i - 1] as number;
        position[list[i] as number] = i;
      }
      list[to] = j;
      position[j] = to;
    }
  }

  private shuffled(n: number): number[] {
    const order = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.random.below(i + 1);
      const t = order[i] as number;
      order[i] = order[j] as number;
      order[j] = t;
    }
    return order;
  }

  /** The best POPULATION of `candidates`, one of each distinct schedule. */
  private survivors(candidates: Individual[]): Individual[] {
    const ranked = candidates
      .map((individual, i) => ({ individual, i }))
      .sort((x, y) => x.individual.evaluation.objective - y.individual.evaluation.objective || x.individual.evaluation.makespan - y.individual.evaluation.makespan || x.i - y.i)
      .map((x) => x.individual);
    const seen = new Set<number>();
    const kept: Individual[] = [];
    for (const individual of ranked) {
      // A hash of the starts; a rare collision only drops one candidate.
      let key = 0x811c9dc5;
      for (let j = 0; j < individual.start.length; j++) key = Math.imul(key ^ (individual.start[j] as number), 0x01000193);
      if (seen.has(key)) continue;
      seen.add(key);
      kept.push(individual);
      if (kept.length === POPULATION) break;
    }
    return kept;
  }
}
