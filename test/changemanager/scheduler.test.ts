import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { parsePsplib, psplibProblem } from '../../src/changemanager/psplib';
import { checkSchedule, schedule, SchedulingError, type Plan, type PrecedenceType, type SchedulingProblem } from '../../src/changemanager/scheduler';
import { loadConfig } from '../../src/config';
import { compile } from '../../src/changemanager/scheduler/instance';
import { Decoder } from '../../src/changemanager/scheduler/sgs';
import { projectRoot } from '../../src/project-root';

const fixtures = path.join(projectRoot(), 'test', 'fixtures', 'psplib');

/** Optimal makespans of the fixture instances (PSPLIB's j30opt.sm). */
const OPTIMA: Readonly<Record<string, number>> = {
  j3010_1: 42,
  j3013_1: 58,
  j3021_1: 84,
  j3025_2: 75,
  j3037_2: 69,
  j3041_1: 86,
  j3045_1: 82,
  j305_2: 82,
};

function j30(name: string): SchedulingProblem {
  return psplibProblem(parsePsplib(fs.readFileSync(path.join(fixtures, `${name}.sm`), 'latin1')));
}

/** A budget counted in schedules, so results do not depend on the machine; the time budget is out of the way. */
const repeatable = (maxSchedules: number, seed = 1) => ({ seed, maxSchedules, timeLimitMs: 3_600_000 });

function feasible(problem: SchedulingProblem, plan: Plan): void {
  expect(checkSchedule(problem, plan.starts)).to.deep.equal([]);
}

function rejection(problem: SchedulingProblem): SchedulingError {
  try {
    schedule(problem, repeatable(100));
  } catch (err) {
    expect(err).to.be.instanceOf(SchedulingError);
    return err as SchedulingError;
  }
  throw new Error('the problem was accepted');
}

/**
 * The optimum by enumeration: the serial SGS over every precedence-feasible
 * order of the tasks reaches an optimal schedule (Kolisch 1996), here written
 * independently of the scheduler on a time-indexed usage table. FS
 * precedences and constant capacities only.
 */
function bruteForceMakespan(problem: SchedulingProblem): number {
  const tasks = problem.tasks;
  const preds = tasks.map((t) => (problem.precedences ?? []).filter((p) => p.to === t.id).map((p) => tasks.findIndex((u) => u.id === p.from)));
  const horizon = tasks.reduce((sum, t) => sum + t.duration, 0) + 1;
  const resources = problem.resources ?? [];
  let best = Infinity;
  const order: number[] = [];
  const placed = new Set<number>();
  const visit = (): void => {
    if (order.length === tasks.length) {
      const usage = resources.map(() => new Array<number>(horizon).fill(0));
      const finish = new Array<number>(tasks.length).fill(0);
      let makespan = 0;
      for (const j of order) {
        const task = tasks[j] as SchedulingProblem['tasks'][number];
        let t = Math.max(0, ...(preds[j] as number[]).map((i) => finish[i] as number));
        const fits = (s: number): boolean => resources.every((r, k) => Array.from({ length: task.duration }, (_, d) => s + d).every((u) => ((usage[k] as number[])[u] as number) + (task.demands?.[r.id] ?? 0) <= r.capacity));
        while (!fits(t)) t++;
        resources.forEach((r, k) => {
          for (let u = t; u < t + task.duration; u++) (usage[k] as number[])[u] = ((usage[k] as number[])[u] as number) + (task.demands?.[r.id] ?? 0);
        });
        finish[j] = t + task.duration;
        makespan = Math.max(makespan, t + task.duration);
      }
      best = Math.min(best, makespan);
      return;
    }
    tasks.forEach((_, j) => {
      if (placed.has(j) || !(preds[j] as number[]).every((i) => placed.has(i))) return;
      placed.add(j);
      order.push(j);
      visit();
      order.pop();
      placed.delete(j);
    });
  };
  visit();
  return best;
}

/** A small random instance: FS precedences from lower to higher ids, two resources. */
function randomProblem(seed: number, size: number): SchedulingProblem {
  let state = seed;
  const next = (n: number): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 8) % n;
  };
  const tasks = Array.from({ length: size }, (_, i) => ({ id: `t${i}`, duration: 1 + next(4), demands: { A: next(4), B: next(3) } }));
  const precedences = [];
  for (let i = 0; i < size; i++) for (let j = i + 1; j < size; j++) if (next(5) === 0) precedences.push({ from: `t${i}`, to: `t${j}` });
  return { tasks, precedences, resources: [{ id: 'A', capacity: 4 }, { id: 'B', capacity: 3 }] };
}

describe('the change manager scheduler', () => {
  describe('precedence types, each with its minimum lag', () => {
    // X takes 5, Y takes 3, lag 2; Y starts as early as the precedence allows.
    const cases: readonly [PrecedenceType, number, string][] = [
      ['FS', 7, 'Y begins 2 after X finishes (5 + 2)'],
      ['SS', 2, 'Y starts 2 after X starts'],
      ['FF', 4, 'Y finishes (4 + 3 = 7) 2 after X finishes (5)'],
      ['SF', 0, 'Y finishes (0 + 3) no earlier than 2 after X starts'],
    ];
    for (const [type, start, why] of cases) {
      it(`${type}: ${why}`, () => {
        const problem: SchedulingProblem = {
          tasks: [
            { id: 'X', duration: 5 },
            { id: 'Y', duration: 3 },
          ],
          precedences: [{ from: 'X', to: 'Y', type, lag: 2 }],
        };
        const plan = schedule(problem, repeatable(100));
        feasible(problem, plan);
        expect(plan.starts).to.deep.equal({ X: 0, Y: start });
        expect(plan.provenOptimal).to.equal(true);
      });
    }

    it('FF with a lag larger than the gap in durations makes the successor wait, and the critical path counts the lags', () => {
      const problem: SchedulingProblem = {
        tasks: [
          { id: 'A', duration: 4 },
          { id: 'B', duration: 2 },
          { id: 'C', duration: 6 },
        ],
        precedences: [
          { from: 'A', to: 'B', type: 'FF', lag: 3 },
          { from: 'B', to: 'C', type: 'SS', lag: 1 },
        ],
      };
      const plan = schedule(problem, repeatable(100));
      feasible(problem, plan);
      // B finishes 3 after A does: 7, so starts at 5; C starts 1 after B: 6, ends 12.
      expect(plan.starts).to.deep.equal({ A: 0, B: 5, C: 6 });
      expect(plan.lowerBound.criticalPath).to.equal(12);
      expect(plan.makespan).to.equal(12);
    });
  });

  describe('resources', () => {
    it('never runs more than a resource\'s capacity at once', () => {
      const problem: SchedulingProblem = {
        tasks: ['a', 'b', 'c'].map((id) => ({ id, duration: 4, demands: { web1: 2 } })),
        resources: [{ id: 'web1', capacity: 3 }],
      };
      const plan = schedule(problem, repeatable(200));
      feasible(problem, plan);
      expect(plan.makespan).to.equal(12);
      expect(plan.lowerBound.disjunctive).to.equal(12);
      expect(plan.provenOptimal).to.equal(true);
    });

    it('runs tasks side by side where the capacity allows, for the most parallelism', () => {
      const problem: SchedulingProblem = {
        tasks: ['a', 'b', 'c', 'd'].map((id) => ({ id, duration: 3, demands: { cluster: 1 } })),
        resources: [{ id: 'cluster', capacity: 2 }],
      };
      const plan = schedule(problem, repeatable(200));
      feasible(problem, plan);
      expect(plan.makespan).to.equal(6);
      expect(plan.lowerBound.resource).to.equal(6);
    });

    it('keeps a task needing a system out of the system\'s maintenance window', () => {
      const problem: SchedulingProblem = {
        tasks: [
          { id: 'patch', duration: 4, demands: { db1: 1 } },
          { id: 'other', duration: 4, demands: { app1: 1 } },
        ],
        resources: [
          { id: 'db1', capacity: 1, unavailable: [{ from: 2, to: 10 }] },
          { id: 'app1', capacity: 1 },
        ],
      };
      const plan = schedule(problem, repeatable(100));
      feasible(problem, plan);
      expect(plan.starts.patch).to.equal(10);
      expect(plan.starts.other).to.equal(0);
      // The window is part of the critical-path bound: the task alone cannot start sooner.
      expect(plan.lowerBound.criticalPath).to.equal(14);
    });

    it('uses the capacity left during a window for the tasks that fit in it', () => {
      const problem: SchedulingProblem = {
        tasks: [
          { id: 'small', duration: 3, demands: { cluster: 1 } },
          { id: 'large', duration: 3, demands: { cluster: 3 } },
        ],
        resources: [{ id: 'cluster', capacity: 3, unavailable: [{ from: 0, to: 5, capacity: 1 }] }],
      };
      const plan = schedule(problem, repeatable(100));
      feasible(problem, plan);
      expect(plan.starts).to.deep.equal({ small: 0, large: 5 });
    });

    it('checks plans against windows: a task overlapping one is reported', () => {
      const problem: SchedulingProblem = {
        tasks: [{ id: 'patch', duration: 4, demands: { db1: 1 } }],
        resources: [{ id: 'db1', capacity: 1, unavailable: [{ from: 2, to: 10 }] }],
      };
      expect(checkSchedule(problem, { patch: 0 })).to.have.length(1);
      expect(checkSchedule(problem, { patch: 0 })[0]).to.contain('resource "db1" holds 1 at time 2, over its capacity 0');
    });
  });

  describe('deadlines and lateness', () => {
    const problem = (objective: 'makespan' | 'lateness', deadline?: number): SchedulingProblem => ({
      tasks: [
        { id: 'backup', duration: 5, demands: { db1: 1 } },
        { id: 'migrate', duration: 5, demands: { db1: 1 }, deadline: 5 },
        { id: 'report', duration: 2, demands: { db1: 1 } },
      ],
      resources: [{ id: 'db1', capacity: 1 }],
      objective,
      deadline,
    });

    it('minimising lateness runs the task with the earliest deadline first', () => {
      const plan = schedule(problem('lateness'), repeatable(500));
      feasible(problem('lateness'), plan);
      expect(plan.starts.migrate).to.equal(0);
      expect(plan.lateness).to.deep.equal({ max: 0, late: [] });
      expect(plan.lowerBound.lateness).to.equal(0);
      expect(plan.provenOptimal).to.equal(true);
    });

    it('reports the tasks that miss the problem\'s deadline, and the least lateness possible', () => {
      const plan = schedule(problem('lateness', 10), repeatable(500));
      expect(plan.makespan).to.equal(12);
      expect(plan.lateness?.max).to.equal(2);
      expect(plan.lateness?.late).to.have.length(1);
      expect(plan.lateness?.late[0]?.finish).to.equal(12);
      expect(plan.lowerBound.lateness).to.equal(2);
    });

    it('without deadlines a plan reports no lateness', () => {
      const plan = schedule({ tasks: [{ id: 'a', duration: 1 }] }, repeatable(10));
      expect(plan.lateness).to.equal(null);
      expect(plan.lowerBound.lateness).to.equal(null);
    });
  });

  describe('invalid problems are the caller\'s mistake, named', () => {
    it('rejects a cycle, naming the tasks on it', () => {
      const err = rejection({
        tasks: ['install', 'configure', 'start', 'verify'].map((id) => ({ id, duration: 1 })),
        precedences: [
          { from: 'install', to: 'configure' },
          { from: 'configure', to: 'start', type: 'SS' },
          { from: 'start', to: 'verify' },
          { from: 'start', to: 'install', type: 'FF' },
        ],
      });
      expect(err.sender).to.equal(true);
      expect(err.code).to.equal('InvalidField');
      expect(err.issues[0]?.kind).to.equal('cycle');
      expect(err.message).to.contain('"install" → "configure" → "start" → "install"');
      expect(err.message).not.to.contain('verify');
    });

    it('rejects a task that depends on itself', () => {
      const err = rejection({ tasks: [{ id: 'a', duration: 1 }], precedences: [{ from: 'a', to: 'a' }] });
      expect(err.message).to.contain('cycle: "a" → "a"');
    });

    it('rejects a demand above a resource\'s capacity, naming the task and the resource', () => {
      const err = rejection({ tasks: [{ id: 'install-db', duration: 1, demands: { db1: 3 } }], resources: [{ id: 'db1', capacity: 2 }] });
      expect(err.issues[0]?.kind).to.equal('over-capacity');
      expect(err.message).to.contain('task "install-db" demands 3 of resource "db1", whose capacity is 2');
    });

    it('lists every invalid value with where it is', () => {
      const err = rejection({
        tasks: [
          { id: 'a', duration: -1 },
          { id: 'a', duration: 1.5 },
          { id: 'c', duration: 1, demands: { nowhere: 1 }, earliestStart: -3 },
        ],
        precedences: [
          { from: 'a', to: 'ghost', lag: -2 },
          { from: 'a', to: 'c', type: 'XY' as PrecedenceType },
        ],
        resources: [{ id: 'r', capacity: 1, unavailable: [{ from: 5, to: 5 }] }],
      });
      const paths = err.issues.map((i) => i.path);
      expect(paths).to.include.members([
        'tasks[0].duration',
        'tasks[1].id',
        'tasks[1].duration',
        'tasks[2].demands.nowhere',
        'tasks[2].earliestStart',
        'precedences[0].to',
        'precedences[0].lag',
        'precedences[1].type',
        'resources[0].unavailable[0]',
      ]);
      expect(err.message).to.contain('tasks[0].duration: task "a": duration must be a whole number ≥ 0, got -1');
      expect(err.message).to.contain('precedences[0].to: task "ghost" is not defined');
    });
  });

  describe('the search', () => {
    it('gives the same plan for the same seed and schedule budget', () => {
      const problem = j30('j3021_1');
      const first = schedule(problem, repeatable(3000, 7));
      const second = schedule(problem, repeatable(3000, 7));
      expect(second.starts).to.deep.equal(first.starts);
      expect(second.search.schedules).to.equal(first.search.schedules);
      expect(first.search.stoppedBy).to.equal('schedule-limit');
    });

    it('stops at the time budget measured on the clock it is given', () => {
      let now = 0;
      // Every reading of the clock moves it 1 ms on; no real time passes.
      const plan = schedule(j30('j3021_1'), { seed: 1, timeLimitMs: 250, now: () => now++ });
      expect(plan.search.stoppedBy).to.equal('time-limit');
      expect(plan.search.elapsedMs).to.be.within(240, 252);
      feasible(j30('j3021_1'), plan);
    });

    it('stops as soon as a plan reaches the lower bound', () => {
      const problem: SchedulingProblem = { tasks: [{ id: 'a', duration: 3 }, { id: 'b', duration: 4 }], precedences: [{ from: 'a', to: 'b' }] };
      const plan = schedule(problem, repeatable(1_000_000));
      expect(plan.search.stoppedBy).to.equal('lower-bound');
      expect(plan.search.schedules).to.be.below(10);
    });

    it('finds the optimum of small random instances, as enumeration proves it', () => {
      for (let seed = 1; seed <= 12; seed++) {
        const problem = randomProblem(seed, 7);
        const plan = schedule(problem, repeatable(3000));
        feasible(problem, plan);
        expect(plan.makespan, `instance ${seed}`).to.equal(bruteForceMakespan(problem));
        expect(plan.lowerBound.makespan, `instance ${seed}`).to.be.at.most(plan.makespan);
      }
    });
  });

  it('schedules the same on time grids as on segment lists, windows, releases and every precedence type included', () => {
    let state = 99;
    const next = (n: number): number => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return (state >>> 8) % n;
    };
    const types: readonly PrecedenceType[] = ['FS', 'SS', 'FF', 'SF'];
    for (let round = 0; round < 20; round++) {
      const size = 14;
      const problem: SchedulingProblem = {
        tasks: Array.from({ length: size }, (_, i) => ({ id: `t${i}`, duration: next(6), earliestStart: next(3) === 0 ? next(10) : undefined, demands: { A: next(4), B: next(3) } })),
        precedences: Array.from({ length: size * size }, (_, k) => ({ i: Math.floor(k / size), j: k % size }))
          .filter(({ i, j }) => i < j && next(6) === 0)
          .map(({ i, j }) => ({ from: `t${i}`, to: `t${j}`, type: types[next(4)], lag: next(3) })),
        resources: [
          { id: 'A', capacity: 4, unavailable: [{ from: 3 + next(5), to: 12 + next(5), capacity: next(3) }] },
          { id: 'B', capacity: 3, unavailable: [{ from: next(20), to: 25, capacity: 1 }] },
        ],
      };
      const instance = compile(problem);
      expect(instance.gridSpan).to.be.a('number');
      const grid = new Decoder(instance);
      const segments = new Decoder(instance, false);
      const list = Int32Array.from(instance.order);
      const [a, b] = [new Int32Array(size), new Int32Array(size)];
      grid.forward(list, a);
      segments.forward(list, b);
      expect([...a], `forward, round ${round}`).to.deep.equal([...b]);
      const [la, lb] = [new Int32Array(size), new Int32Array(size)];
      grid.justify(a, la);
      segments.justify(b, lb);
      expect([...a], `justified, round ${round}`).to.deep.equal([...b]);
      const starts = Object.fromEntries(instance.ids.map((id, j) => [id, a[j] as number]));
      expect(checkSchedule(problem, starts), `round ${round}`).to.deep.equal([]);
    }
  });

  describe('on PSPLIB J30 instances', () => {
    for (const [name, optimum] of Object.entries(OPTIMA)) {
      it(`${name}: a feasible plan, between the lower bound and the optimum ${optimum} or above`, () => {
        const problem = j30(name);
        const plan = schedule(problem, repeatable(1000));
        feasible(problem, plan);
        expect(plan.lowerBound.makespan).to.be.at.most(optimum);
        expect(plan.makespan).to.be.at.least(optimum);
        expect(plan.lowerBound.criticalPath).to.be.at.most(plan.lowerBound.makespan);
      });
    }

    // Instances whose optimum lies well above every bound, so the search has to find it.
    for (const name of ['j3013_1', 'j3025_2', 'j3037_2', 'j3041_1', 'j305_2']) {
      it(`${name}: reaches the optimum ${OPTIMA[name] as number} within 8,000 schedules`, () => {
        const problem = j30(name);
        const plan = schedule(problem, repeatable(8000));
        feasible(problem, plan);
        expect(plan.lowerBound.makespan).to.be.below(OPTIMA[name] as number);
        expect(plan.makespan).to.equal(OPTIMA[name]);
      });
    }
  });
});

describe('docs/scheduler.md', () => {
  const doc = fs.readFileSync(path.join(projectRoot(), 'docs', 'scheduler.md'), 'utf8');

  it('runs its example, which returns a feasible plan with the lateness it promises', () => {
    const block = /```ts\n([\s\S]*?)```/.exec(doc)?.[1] ?? '';
    const literal = /schedule\((\{[\s\S]*\})\);/.exec(block)?.[1];
    expect(literal, 'the example calls schedule({...})').to.be.a('string');
    // The example's argument is a plain object literal: evaluate it as such.
    const problem = new Function(`return (${(literal as string).replace(/\/\/.*$/gm, '')});`)() as SchedulingProblem;
    const plan = schedule(problem, repeatable(500));
    feasible(problem, plan);
    // db1 is in maintenance until 120: install 120–420, start 420–440, web1 from 430 to 670, 70 after its deadline.
    expect(plan.starts).to.deep.equal({ 'db1.install': 120, 'db1.start': 420, 'web1.install': 430 });
    expect(plan.lateness?.max).to.equal(70);
    expect(plan.provenOptimal).to.equal(true);
  });

  it('documents the scheduler settings with their defaults', () => {
    expect(doc).to.contain('| `PROVISOR_SCHEDULER_TIME_LIMIT_MS` | `1000` |');
    expect(doc).to.contain('| `PROVISOR_SCHEDULER_SEED` | `1` |');
    expect(loadConfig({}).scheduler).to.deep.equal({ timeLimitMs: 1000, seed: 1 });
    expect(loadConfig({ PROVISOR_SCHEDULER_TIME_LIMIT_MS: '250', PROVISOR_SCHEDULER_SEED: '9' }).scheduler).to.deep.equal({ timeLimitMs: 250, seed: 9 });
    expect(() => loadConfig({ PROVISOR_SCHEDULER_TIME_LIMIT_MS: '0' })).to.throw('PROVISOR_SCHEDULER_TIME_LIMIT_MS must be between 1 and 3600000, got 0');
  });
});
