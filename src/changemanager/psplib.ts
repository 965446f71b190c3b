/**
 * PSPLIB's single-mode `.sm` format (Kolisch and Sprecher, EJOR 96, 1996):
 * reading an instance into a scheduling problem, writing one, and reading a
 * table of optimal or best known makespans (`j30opt.sm`, Latin-1).
 */
import type { SchedulingProblem } from './scheduler/model';

export interface PsplibJob {
  /** Job number as in the file: 1 the source, the last the sink. */
  readonly number: number;
  readonly duration: number;
  readonly successors: readonly number[];
  /** Demand per renewable resource, in the file's resource order. */
  readonly demands: readonly number[];
}

export interface PsplibInstance {
  readonly jobs: readonly PsplibJob[];
  /** Capacity of each renewable resource. */
  readonly capacities: readonly number[];
  /** The file's horizon (an upper bound on the makespan); 0 when absent. */
  readonly horizon: number;
}

/** The text is not a valid `.sm` instance; `line` is 1-based. */
export class PsplibFormatError extends Error {
  override readonly name = 'PsplibFormatError';
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
  }
}

function numbers(text: string, line: number, what: string): number[] {
  const fields = text.trim().split(/\s+/).filter((f) => f !== '');
  return fields.map((f) => {
    if (!/^\d+$/.test(f)) throw new PsplibFormatError(line, `${what}: expected whole numbers, got "${f}"`);
    return Number(f);
  });
}

/** Parses a single-mode `.sm` instance. */
export function parsePsplib(text: string): PsplibInstance {
  const lines = text.split(/\r?\n/);
  const find = (pattern: RegExp, what: string, from = 0): number => {
    for (let i = from; i < lines.length; i++) if (pattern.test(lines[i] as string)) return i;
    throw new PsplibFormatError(lines.length, `no ${what} found`);
  };
  const valueAfterColon = (pattern: RegExp, what: string): { value: number; line: number } => {
    const i = find(pattern, `"${what}" line`);
    const match = /:\s*(\d+)/.exec(lines[i] as string);
    if (match === null) throw new PsplibFormatError(i + 1, `"${what}": expected a whole number after the colon`);
    return { value: Number(match[1]), line: i + 1 };
  };
  const jobs = valueAfterColon(/^jobs\b/i, 'jobs (incl. supersource/sink )');
  if (jobs.value < 1) throw new PsplibFormatError(jobs.line, 'the instance has no jobs');
  const horizonLine = lines.findIndex((l) => /^horizon\b/i.test(l));
  const horizon = horizonLine === -1 ? 0 : valueAfterColon(/^horizon\b/i, 'horizon').value;
  const renewable = valueAfterColon(/^\s*-\s*renewable\b/i, 'renewable');
  const n = jobs.value;
  const k = renewable.value;

  const precedence = find(/^PRECEDENCE RELATIONS/i, '"PRECEDENCE RELATIONS:" section');
  const successors = new Map<number, number[]>();
  let i = precedence + 2;
  for (let job = 1; job <= n; job++, i++) {
    if (i >= lines.length) throw new PsplibFormatError(lines.length, `precedence relations: expected ${n} jobs, found ${job - 1}`);
    const row = numbers(lines[i] as string, i + 1, 'precedence relations');
    const [number, , count] = row;
    if (number !== job || count === undefined || row.length !== 3 + count) {
      throw new PsplibFormatError(i + 1, `precedence relations: expected job ${job}, its number of modes, its number of successors and that many successors`);
    }
    const list = row.slice(3);
    for (const s of list) if (s < 1 || s > n || s === job) throw new PsplibFormatError(i + 1, `precedence relations: job ${job} has successor ${s}, not a job of 1 to ${n} other than itself`);
    successors.set(job, list);
  }

  const requests = find(/^REQUESTS\/DURATIONS/i, '"REQUESTS/DURATIONS:" section', i);
  const dashes = find(/^-{5,}/, 'line of dashes under the requests header', requests);
  const parsed: PsplibJob[] = [];
  i = dashes + 1;
  for (let job = 1; job <= n; job++, i++) {
    if (i >= lines.length) throw new PsplibFormatError(lines.length, `requests/durations: expected ${n} jobs, found ${job - 1}`);
    const row = numbers(lines[i] as string, i + 1, 'requests/durations');
    if (row[0] !== job || row.length !== 3 + k) {
      throw new PsplibFormatError(i + 1, `requests/durations: expected job ${job}, mode, duration and ${k} resource requests`);
    }
    if (row[1] !== 1) throw new PsplibFormatError(i + 1, `requests/durations: job ${job} has mode ${String(row[1])}; only single-mode instances are supported`);
    parsed.push({ number: job, duration: row[2] as number, successors: successors.get(job) ?? [], demands: row.slice(3) });
  }

  const availability = find(/^RESOURCEAVAILABILITIES/i, '"RESOURCEAVAILABILITIES:" section', i);
  const capacityLine = availability + 2;
  if (capacityLine >= lines.length) throw new PsplibFormatError(lines.length, 'resource availabilities: the line of capacities is missing');
  const capacities = numbers(lines[capacityLine] as string, capacityLine + 1, 'resource availabilities');
  if (capacities.length < k) throw new PsplibFormatError(capacityLine + 1, `resource availabilities: expected ${k} capacities, found ${capacities.length}`);
  return { jobs: parsed, capacities: capacities.slice(0, k), horizon };
}

/** The instance as a scheduling problem: task ids are the job numbers, resources `R1`, `R2`, …, precedences finish-to-start. */
export function psplibProblem(instance: PsplibInstance): SchedulingProblem {
  return {
    tasks: instance.jobs.map((job) => ({
      id: String(job.number),
      duration: job.duration,
      demands: Object.fromEntries(job.demands.map((amount, r) => [`R${r + 1}`, amount]).filter(([, amount]) => (amount as number) > 0)) as Record<string, number>,
    })),
    precedences: instance.jobs.flatMap((job) => job.successors.map((s) => ({ from: String(job.number), to: String(s), type: 'FS' as const }))),
    resources: instance.capacities.map((capacity, r) => ({ id: `R${r + 1}`, capacity })),
  };
}

const STARS = '*'.repeat(72);

/** Writes `instance` in the `.sm` format (as ProGen does, so PSPLIB tools read it). */
export function formatPsplib(instance: PsplibInstance, note = 'generated'): string {
  const k = instance.capacities.length;
  const n = instance.jobs.length;
  const pad = (value: number | string, width: number): string => String(value).padStart(width);
  const horizon = instance.horizon > 0 ? instance.horizon : instance.jobs.reduce((sum, j) => sum + j.duration, 0);
  const out = [
    STARS,
    `file with basedata            : ${note}`,
    'initial value random generator: 0',
    STARS,
    'projects                      :  1',
    `jobs (incl. supersource/sink ):  ${n}`,
    `horizon                       :  ${horizon}`,
    'RESOURCES',
    `  - renewable                 :  ${k}   R`,
    '  - nonrenewable              :  0   N',
    '  - doubly constrained        :  0   D',
    STARS,
    'PROJECT INFORMATION:',
    'pronr.  #jobs rel.date duedate tardcost  MPM-Time',
    `    1    ${pad(n - 2, 3)}      0       0        0        0`,
    STARS,
    'PRECEDENCE RELATIONS:',
    'jobnr.    #modes  #successors   successors',
    ...instance.jobs.map((j) => `${pad(j.number, 4)}        1      ${pad(j.successors.length, 5)}      ${j.successors.map((s) => pad(s, 3)).join(' ')}`.trimEnd()),
    STARS,
    'REQUESTS/DURATIONS:',
    `jobnr. mode duration ${instance.capacities.map((_, r) => ` R ${r + 1}`).join(' ')}`,
    '-'.repeat(72),
    ...instance.jobs.map((j) => `${pad(j.number, 3)}      1  ${pad(j.duration, 4)}    ${j.demands.map((d) => pad(d, 4)).join(' ')}`),
    STARS,
    'RESOURCEAVAILABILITIES:',
    instance.capacities.map((_, r) => `  R ${r + 1}`).join(''),
    instance.capacities.map((c) => pad(c, 5)).join(' '),
    STARS,
    '',
  ];
  return out.join('\n');
}

/** A known makespan: the optimum, or the best known upper bound. */
export interface KnownMakespan {
  readonly group: number;
  readonly instance: number;
  readonly makespan: number;
}

/** Reads a table like `j30opt.sm` (decode it as Latin-1): rows of group, instance, makespan, anything after. */
export function parseMakespanTable(text: string): KnownMakespan[] {
  const rows: KnownMakespan[] = [];
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*(\d+)\s+(\d+)\s+(\d+)\b/.exec(line);
    if (match !== null) rows.push({ group: Number(match[1]), instance: Number(match[2]), makespan: Number(match[3]) });
  }
  return rows;
}
