/**
 * The change manager scheduler's benchmark, measured the way the scheduling
 * field measures it:
 * 1. PSPLIB J30 through `provisor schedule --json` (one process, one core):
 *    mean deviation from the optimum, share solved optimally, time and
 *    schedules per instance;
 * 2. generated instances of 120 activities in the same format, written to a
 *    folder this script creates: deviation from the critical-path bound and
 *    from the best plan a long budget finds;
 * 3. a generated change graph of 1,000 tasks on 200 systems: the time to plan;
 * 4. instances made to PSPLIB's own J30 and J120 designs: deviation from the
 *    critical-path bound, the figure the field publishes for J120.
 *
 * Usage: node dist/scripts/bench/psplib.js [--psplib DIR] [--time-limit S]
 *   [--only j30|j120|graph|designed] [--j120-count N] [--j120-long S] [--limit N]
 *   [--per-group N]
 * DIR holds j30/*.sm and j30opt.sm (PSPLIB's J30 set and its optima); default
 * data/psplib. Generated instances go to data/bench/psplib-j120/.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatPsplib, parseMakespanTable, parsePsplib, type PsplibInstance, type PsplibJob } from '../../src/changemanager/psplib';
import { schedule, type Precedence, type Resource, type SchedulingProblem, type Task } from '../../src/changemanager/scheduler';
import { projectRoot } from '../../src/project-root';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
}

const root = projectRoot();
const timeLimit = Number(arg('--time-limit') ?? '1');
const only = arg('--only');

interface CliLine {
  readonly file: string;
  readonly makespan: number;
  readonly lowerBound: number;
  readonly schedules: number;
  readonly elapsedMs: number;
}

/** Runs `provisor schedule --json` over `files`, one process, and collects its lines. */
function scheduleFiles(files: readonly string[], seconds: number, seed = 1): Promise<CliLine[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'scripts', 'provisor.js'), 'schedule', ...files, '--time-limit', String(seconds), '--seed', String(seed), '--json'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    let done = 0;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const lines = out.split('\n').length - 1;
      if (lines - done >= 40) {
        done = lines;
        process.stderr.write(`  ${lines}/${files.length}\n`);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`provisor schedule ended with code ${String(code)}`));
      else resolve(out.trimEnd().split('\n').map((l) => JSON.parse(l) as CliLine));
    });
  });
}

const load = (): string => os.loadavg().map((l) => l.toFixed(1)).join(' / ');
const pct = (x: number, digits = 2): string => `${(100 * x).toFixed(digits)}%`;
const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

async function j30(): Promise<void> {
  const dir = path.resolve(arg('--psplib') ?? path.join(root, 'data', 'psplib'));
  const optFile = path.join(dir, 'j30opt.sm');
  if (!fs.existsSync(optFile)) throw new Error(`${optFile} not found: pass --psplib DIR, the folder holding j30/ and j30opt.sm`);
  const optima = new Map(parseMakespanTable(fs.readFileSync(optFile, 'latin1')).map((r) => [`j30${r.group}_${r.instance}.sm`, r.makespan]));
  let files = fs
    .readdirSync(path.join(dir, 'j30'))
    .filter((f) => optima.has(f))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const limit = arg('--limit');
  if (limit !== undefined) files = files.filter((_, i) => i % Math.ceil(files.length / Number(limit)) === 0);
  const loadBefore = load();
  const began = Date.now();
  const lines = await scheduleFiles(
    files.map((f) => path.join(dir, 'j30', f)),
    timeLimit,
  );
  const wall = (Date.now() - began) / 1000;
  const deviations = lines.map((l) => (l.makespan - (optima.get(path.basename(l.file)) as number)) / (optima.get(path.basename(l.file)) as number));
  const optimal = deviations.filter((d) => d === 0).length;
  const proven = lines.filter((l) => l.makespan === l.lowerBound).length;
  const worst = lines.map((l, i) => ({ file: path.basename(l.file), dev: deviations[i] as number })).sort((a, b) => b.dev - a.dev).slice(0, 3);
  console.log(`\n### J30 (${lines.length} instances, ${timeLimit} s per instance)\n`);
  console.log('| mean deviation from the optimum | solved optimally | proven optimal by the lower bound | mean / max time per instance | mean schedules per instance | load average before → after |');
  console.log('|---|---|---|---|---|---|');
  console.log(
    `| ${pct(mean(deviations), 3)} | ${optimal}/${lines.length} (${pct(optimal / lines.length)}) | ${proven} | ${mean(lines.map((l) => l.elapsedMs)).toFixed(0)} ms / ${Math.max(...lines.map((l) => l.elapsedMs))} ms | ${mean(lines.map((l) => l.schedules)).toFixed(0)} | ${loadBefore} → ${load()} |`,
  );
  console.log(`\nWorst: ${worst.map((w) => `${w.file} +${pct(w.dev)}`).join(', ')}; wall time ${wall.toFixed(0)} s.`);
}

/** A small seeded generator for the instances (not the scheduler's own). */
function lcg(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return Math.floor((state / 4294967296) * n);
  };
}

/**
 * A single-mode instance in the manner of ProGen (Kolisch, Sprecher and
 * Drexl 1995): `n` activities between a dummy source and sink, 1–3
 * predecessors each among earlier activities, durations 1–10, each activity
 * using each of four resources with probability `factor` (1–10 units), and
 * capacities at `strength` between the largest single demand and the peak of
 * the earliest-start schedule.
 */
function generateInstance(n: number, factor: number, strength: number, seed: number): PsplibInstance {
  const rand = lcg(seed);
  const count = n + 2;
  const preds: number[][] = Array.from({ length: count + 1 }, () => []);
  for (let j = 2; j <= n + 1; j++) {
    const earlier = j - 2; // real activities before j
    const k = earlier === 0 ? 0 : Math.min(earlier, 1 + rand(3));
    const chosen = new Set<number>();
    while (chosen.size < k) chosen.add(2 + Math.max(0, j - 2 - 1 - rand(Math.min(earlier, 25))));
    preds[j] = chosen.size === 0 ? [1] : [...chosen];
  }
  const hasSuccessor = new Set(preds.flat());
  for (let j = 2; j <= n + 1; j++) if (!hasSuccessor.has(j)) (preds[count] as number[]).push(j);
  for (let j = 2; j <= n + 1; j++) if ((preds[j] as number[]).every((p) => p === 1)) preds[j] = [1];
  const duration = Array.from({ length: count + 1 }, (_, j) => (j === 1 || j === count ? 0 : 1 + rand(10)));
  const demands = Array.from({ length: count + 1 }, (_, j) => [0, 1, 2, 3].map(() => (j === 1 || j === count || rand(1000) >= factor * 1000 ? 0 : 1 + rand(10))));
  // Every real activity uses at least one resource.
  for (let j = 2; j <= n + 1; j++) if ((demands[j] as number[]).every((d) => d === 0)) (demands[j] as number[])[rand(4)] = 1 + rand(10);
  const es = new Array<number>(count + 1).fill(0);
  for (let j = 2; j <= count; j++) es[j] = Math.max(...(preds[j] as number[]).map((p) => (es[p] as number) + (duration[p] as number)));
  const capacities = [0, 1, 2, 3].map((r) => {
    const kmin = Math.max(...demands.map((d) => d[r] as number));
    const horizon = (es[count] as number) + 1;
    const usage = new Array<number>(horizon).fill(0);
    for (let j = 1; j <= count; j++) for (let t = es[j] as number; t < (es[j] as number) + (duration[j] as number); t++) usage[t] = (usage[t] as number) + ((demands[j] as number[])[r] as number);
    const kmax = Math.max(...usage);
    return Math.max(kmin, Math.round(kmin + strength * (kmax - kmin)));
  });
  const successors: number[][] = Array.from({ length: count + 1 }, () => []);
  for (let j = 2; j <= count; j++) for (const p of preds[j] as number[]) (successors[p] as number[]).push(j);
  const jobs: PsplibJob[] = [];
  for (let j = 1; j <= count; j++) jobs.push({ number: j, duration: duration[j] as number, successors: (successors[j] as number[]).sort((a, b) => a - b), demands: demands[j] as number[] });
  return { jobs, capacities, horizon: duration.reduce((a, b) => a + b, 0) };
}

/**
 * An instance built to PSPLIB's own design (ProGen: Kolisch, Sprecher and
 * Drexl 1995; the J30 and J120 sets of Kolisch and Sprecher 1996): `n`
 * activities; the source has three successors and the sink three
 * predecessors; every activity has at most three predecessors and three
 * successors; non-redundant arcs are added until there are `complexity` per
 * activity (dummies included); durations 1–10; each activity uses exactly
 * `factor` × 4 of the four resources, 1–10 units each; capacities at
 * `strength` between the largest single demand and the peak of the
 * earliest-start schedule. Unlike {@link generateInstance} it aims at the
 * same parameters as the published sets, so that figures from those sets
 * can be compared with figures from these.
 */
function generateDesigned(n: number, complexity: number, factor: number, strength: number, seed: number): PsplibInstance {
  const rand = lcg(seed);
  const count = n + 2;
  const sink = count;
  const preds: Set<number>[] = Array.from({ length: count + 1 }, () => new Set<number>());
  const succs: Set<number>[] = Array.from({ length: count + 1 }, () => new Set<number>());
  // reach[i] holds every activity reachable from i (bit j), kept up to date as arcs are added.
  const words = Math.ceil((count + 1) / 32);
  const reach = Array.from({ length: count + 1 }, () => new Uint32Array(words));
  const reaches = (i: number, j: number): boolean => (((reach[i] as Uint32Array)[j >>> 5] as number) & (1 << (j & 31))) !== 0;
  const addArc = (i: number, j: number): void => {
    (preds[j] as Set<number>).add(i);
    (succs[i] as Set<number>).add(j);
    // Everything that reaches i (and i) now reaches j and all j reaches.
    for (let h = 1; h <= count; h++) {
      if (h !== i && !reaches(h, i)) continue;
      const row = reach[h] as Uint32Array;
      row[j >>> 5] = (row[j >>> 5] as number) | (1 << (j & 31));
      const from = reach[j] as Uint32Array;
      for (let w = 0; w < words; w++) row[w] = (row[w] as number) | (from[w] as number);
    }
  };
  /** (i, j) adds precedence not implied already and makes no arc redundant: j not reachable from i, no successor of i reaches j's… */
  const nonRedundant = (i: number, j: number): boolean => {
    if (i === j || reaches(i, j) || reaches(j, i)) return false;
    for (const p of preds[j] as Set<number>) if (p === i || reaches(p, i) || p === i) return false;
    for (const s of succs[i] as Set<number>) if (reaches(j, s)) return false;
    // An arc h → k with h reaching i and j reaching k would become redundant.
    for (let h = 1; h <= count; h++) {
      if (h !== i && !reaches(h, i)) continue;
      for (const k of succs[h] as Set<number>) if (k === j || reaches(j, k)) return false;
    }
    return true;
  };
  const real = Array.from({ length: n }, (_, k) => k + 2);
  const starts = real.slice(0, 3);
  const ends = real.slice(-3);
  for (const a of starts) addArc(1, a);
  for (const a of ends) addArc(a, sink);
  const room = (i: number, j: number): boolean => (succs[i] as Set<number>).size < 3 && (preds[j] as Set<number>).size < 3;
  // Every other activity gets a predecessor among the earlier ones, and every one not at the end a successor among the later ones.
  for (const j of real) {
    if (starts.includes(j)) continue;
    const candidates = real.filter((i) => i < j && !ends.includes(i) && room(i, j));
    const i = candidates[rand(candidates.length)];
    addArc(i ?? 1, j);
  }
  for (const i of real) {
    if (ends.includes(i) || (succs[i] as Set<number>).size > 0) continue;
    const candidates = real.filter((j) => j > i && !starts.includes(j) && room(i, j) && nonRedundant(i, j));
    const j = candidates[rand(candidates.length)] ?? ends.find((e) => (preds[e] as Set<number>).size < 3 && !reaches(i, e));
    if (j !== undefined) addArc(i, j);
    else addArc(i, sink);
  }
  const arcs = (): number => succs.reduce((a, set) => a + set.size, 0);
  const target = Math.round(complexity * count);
  for (let tries = 0; arcs() < target && tries < 200 * count; tries++) {
    const i = real[rand(n)] as number;
    const j = real[rand(n)] as number;
    if (i >= j || ends.includes(i) || starts.includes(j) || !room(i, j) || !nonRedundant(i, j)) continue;
    addArc(i, j);
  }
  const duration = Array.from({ length: count + 1 }, (_, j) => (j === 1 || j === sink ? 0 : 1 + rand(10)));
  const used = Math.max(1, Math.round(factor * 4));
  const demands = Array.from({ length: count + 1 }, (_, j) => {
    const d = [0, 0, 0, 0];
    if (j === 1 || j === sink) return d;
    const order = [0, 1, 2, 3].sort(() => rand(3) - 1);
    for (const r of order.slice(0, used)) d[r] = 1 + rand(10);
    return d;
  });
  const order = Array.from({ length: count }, (_, k) => k + 1); // arcs only run forward
  const es = new Array<number>(count + 1).fill(0);
  for (const j of order) for (const p of preds[j] as Set<number>) es[j] = Math.max(es[j] as number, (es[p] as number) + (duration[p] as number));
  const capacities = [0, 1, 2, 3].map((r) => {
    const kmin = Math.max(...demands.map((d) => d[r] as number));
    const usage = new Array<number>((es[sink] as number) + 1).fill(0);
    for (let j = 1; j <= count; j++) for (let t = es[j] as number; t < (es[j] as number) + (duration[j] as number); t++) usage[t] = (usage[t] as number) + ((demands[j] as number[])[r] as number);
    const kmax = Math.max(...usage);
    return Math.max(kmin, Math.round(kmin + strength * (kmax - kmin)));
  });
  const jobs: PsplibJob[] = [];
  for (let j = 1; j <= count; j++) jobs.push({ number: j, duration: duration[j] as number, successors: [...(succs[j] as Set<number>)].sort((a, b) => a - b), demands: demands[j] as number[] });
  return { jobs, capacities, horizon: duration.reduce((a, b) => a + b, 0) };
}

/**
 * PSPLIB's designs, made again with {@link generateDesigned}: the J30 design
 * (network complexity 1.5/1.8/2.1 × resource factor 0.25–1 × resource
 * strength 0.2/0.5/0.7/1), checked against the real J30 by the deviation of
 * the makespans from the critical-path bound (on the real set the optima lie
 * 13.4% above it), then the J120 design (strength 0.1–0.5, 60 groups), whose
 * published figure is the same deviation.
 */
async function designed(): Promise<void> {
  const dir = path.join(root, 'data', 'bench', 'psplib-designed');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const perGroup = Number(arg('--per-group') ?? '1');
  const run = async (label: string, n: number, strengths: readonly number[]): Promise<void> => {
    const files: string[] = [];
    let k = 0;
    for (const nc of [1.5, 1.8, 2.1]) {
      for (const rf of [0.25, 0.5, 0.75, 1]) {
        for (const rs of strengths) {
          for (let i = 0; i < perGroup; i++) {
            k += 1;
            const file = path.join(dir, `${label}_${k}.sm`);
            fs.writeFileSync(file, formatPsplib(generateDesigned(n, nc, rf, rs, 7000 + k), `generated to the ${label.toUpperCase()} design: network complexity ${nc}, resource factor ${rf}, resource strength ${rs}`));
            files.push(file);
          }
        }
      }
    }
    const loadBefore = load();
    const lines = await scheduleFiles(files, timeLimit);
    const instances = files.map((f) => parsePsplib(fs.readFileSync(f, 'latin1')));
    const cpm = instances.map(criticalPath);
    const arcs = mean(instances.map((inst) => inst.jobs.reduce((a, j) => a + j.successors.length, 0) / inst.jobs.length));
    const fromCpm = mean(lines.map((l, i) => (l.makespan - (cpm[i] as number)) / (cpm[i] as number)));
    const fromBound = mean(lines.map((l) => (l.makespan - l.lowerBound) / l.lowerBound));
    console.log(`| ${label.toUpperCase()} design, ${files.length} instances of ${n} | ${arcs.toFixed(2)} | ${pct(fromCpm)} | ${pct(fromBound)} | ${mean(lines.map((l) => l.schedules)).toFixed(0)} | ${mean(lines.map((l) => l.elapsedMs)).toFixed(0)} ms | ${loadBefore} → ${load()} |`);
  };
  console.log(`\n### Instances made to PSPLIB's designs (${perGroup} per parameter group, ${timeLimit} s each, in ${path.relative(root, dir)}/)\n`);
  console.log('| set | arcs per activity | mean deviation from the critical-path bound | mean deviation from the reported lower bound | mean schedules per instance | mean time per instance | load average before → after |');
  console.log('|---|---|---|---|---|---|---|');
  await run('j30', 30, [0.2, 0.5, 0.7, 1.0]);
  await run('j120', 120, [0.1, 0.2, 0.3, 0.4, 0.5]);
}

/** The critical-path bound of an instance: the longest path through its durations, resources ignored. */
function criticalPath(instance: PsplibInstance): number {
  const finish = new Map<number, number>();
  const start = new Map<number, number>();
  for (const job of instance.jobs) {
    const f = (start.get(job.number) ?? 0) + job.duration;
    finish.set(job.number, f);
    for (const s of job.successors) start.set(s, Math.max(start.get(s) ?? 0, f));
  }
  return Math.max(...finish.values());
}

async function j120(): Promise<void> {
  const dir = path.join(root, 'data', 'bench', 'psplib-j120');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const count = Number(arg('--j120-count') ?? '12');
  const long = Number(arg('--j120-long') ?? '20');
  const settings: [number, number][] = [
    [0.5, 0.2],
    [1.0, 0.2],
    [0.5, 0.3],
    [1.0, 0.3],
    [0.75, 0.5],
    [1.0, 0.5],
  ];
  const files: string[] = [];
  for (let k = 0; k < count; k++) {
    const [factor, strength] = settings[k % settings.length] as [number, number];
    const file = path.join(dir, `gen120_${k + 1}.sm`);
    fs.writeFileSync(file, formatPsplib(generateInstance(120, factor, strength, 1000 + k), `generated: 120 activities, resource factor ${factor}, resource strength ${strength}`));
    files.push(file);
  }
  const loadBefore = load();
  const short = await scheduleFiles(files, timeLimit);
  process.stderr.write(`  long budget (${long} s each)\n`);
  const longer = await scheduleFiles(files, long, 2);
  const best = short.map((s, i) => Math.min(s.makespan, (longer[i] as CliLine).makespan));
  const cpm = files.map((f) => criticalPath(parsePsplib(fs.readFileSync(f, 'latin1'))));
  const fromCpm = (ls: readonly CliLine[]): number => mean(ls.map((l, i) => (l.makespan - (cpm[i] as number)) / (cpm[i] as number)));
  const fromBound = (ls: readonly CliLine[]): number => mean(ls.map((l) => (l.makespan - l.lowerBound) / l.lowerBound));
  console.log(`\n### Generated 120-activity instances (${count}, in ${path.relative(root, dir)}/)\n`);
  console.log('| budget | mean deviation from the critical-path bound | mean deviation from the reported lower bound | mean deviation from the best found | mean schedules per instance | mean time per instance | load average before → after |');
  console.log('|---|---|---|---|---|---|---|');
  console.log(`| ${timeLimit} s | ${pct(fromCpm(short))} | ${pct(fromBound(short))} | ${pct(mean(short.map((s, i) => (s.makespan - (best[i] as number)) / (best[i] as number))))} | ${mean(short.map((s) => s.schedules)).toFixed(0)} | ${mean(short.map((s) => s.elapsedMs)).toFixed(0)} ms | ${loadBefore} → ${load()} |`);
  console.log(`| ${long} s (seed 2) | ${pct(fromCpm(longer))} | ${pct(fromBound(longer))} | ${pct(mean(longer.map((s, i) => (s.makespan - (best[i] as number)) / (best[i] as number))))} | ${mean(longer.map((s) => s.schedules)).toFixed(0)} | ${mean(longer.map((s) => s.elapsedMs)).toFixed(0)} ms | |`);
}

/**
 * A change graph: 200 systems in 20 clusters, five tasks per system
 * (deploy, install, configure, start, verify) linked by every precedence
 * type, application systems waiting for their cluster's database, each
 * system running one task at a time (two for the larger ones), at most four
 * systems of a cluster busy at once, 40 tasks at once in all, and a
 * maintenance window on every tenth system. Durations in seconds.
 */
function changeGraph(): SchedulingProblem {
  const rand = lcg(42);
  const tasks: Task[] = [];
  const precedences: Precedence[] = [];
  const resources: Resource[] = [{ id: 'global', capacity: 40 }];
  for (let c = 0; c < 20; c++) resources.push({ id: `cluster${c}`, capacity: 4 });
  for (let s = 0; s < 200; s++) {
    const system = `sys${s}`;
    const cluster = `cluster${Math.floor(s / 10)}`;
    resources.push({ id: system, capacity: s % 3 === 0 ? 2 : 1, unavailable: s % 10 === 5 ? [{ from: 300, to: 1500 }] : [] });
    const steps: [string, number][] = [
      ['deploy', 30 + rand(120)],
      ['install', 60 + rand(300)],
      ['configure', 10 + rand(60)],
      ['start', 5 + rand(30)],
      ['verify', 5 + rand(20)],
    ];
    for (const [step, duration] of steps) tasks.push({ id: `${system}.${step}`, duration, demands: { [system]: 1, [cluster]: 1, global: 1 } });
    precedences.push({ from: `${system}.deploy`, to: `${system}.install`, type: 'FS' });
    precedences.push({ from: `${system}.install`, to: `${system}.configure`, type: 'FS', lag: 5 });
    precedences.push({ from: `${system}.configure`, to: `${system}.start`, type: 'FS' });
    precedences.push({ from: `${system}.start`, to: `${system}.verify`, type: 'SS', lag: 5 });
    precedences.push({ from: `${system}.start`, to: `${system}.verify`, type: 'FF' });
    // Application systems (all but the first of a cluster) start after their cluster's database started.
    if (s % 10 !== 0) {
      const db = `sys${s - (s % 10)}`;
      precedences.push({ from: `${db}.start`, to: `${system}.start`, type: 'SS', lag: 10 });
      precedences.push({ from: `${db}.verify`, to: `${system}.verify`, type: 'SF' });
    }
  }
  return { tasks, precedences, resources };
}

function graph(): void {
  const problem = changeGraph();
  const loadBefore = load();
  const t0 = Date.now();
  const first = schedule(problem, { maxSchedules: 1, timeLimitMs: 60_000 });
  const firstMs = Date.now() - t0;
  const t1 = Date.now();
  const plan = schedule(problem, { timeLimitMs: timeLimit * 1000 });
  const planMs = Date.now() - t1;
  console.log(`\n### Change graph: ${problem.tasks.length} tasks, ${problem.resources?.length ?? 0} resources (200 systems, 20 clusters, a global limit), ${problem.precedences?.length ?? 0} precedences of all four types\n`);
  console.log('| run | wall time | schedules | makespan | lower bound | gap to the bound | stopped by | load average before → after |');
  console.log('|---|---|---|---|---|---|---|---|');
  console.log(`| first plan (validation, bounds, one justified schedule) | ${firstMs} ms | ${first.search.schedules} | ${first.makespan} s | ${first.lowerBound.makespan} s | ${pct((first.makespan - first.lowerBound.makespan) / first.lowerBound.makespan)} | ${first.search.stoppedBy} | |`);
  console.log(`| default budget (${timeLimit} s) | ${planMs} ms | ${plan.search.schedules} | ${plan.makespan} s | ${plan.lowerBound.makespan} s | ${pct((plan.makespan - plan.lowerBound.makespan) / plan.lowerBound.makespan)} | ${plan.search.stoppedBy} | ${loadBefore} → ${load()} |`);
}

async function main(): Promise<void> {
  console.log(`Scheduler benchmark: node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), time limit ${timeLimit} s, load average ${load()}`);
  if (only === undefined || only === 'graph') graph();
  if (only === undefined || only === 'j30') await j30();
  if (only === undefined || only === 'j120') await j120();
  if (only === undefined || only === 'designed') await designed();
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
