/**
 * Durations learned from what happened: the planner's estimate of a task is
 * what tasks of the same kind took on these systems lately, once there are
 * enough of them, and the package manifest's estimate (or the planner's
 * default) until then.
 *
 * A kind is a component and an operation, with its version where the
 * request named one (Install, Update, Rollback): the most recent
 * {@link LEARNING.samplesPerKind} successful tasks of the last
 * {@link LEARNING.windowDays} days count, and the estimate is their 90th
 * percentile, rounded up to a second — a plan built on it is kept by nine
 * tasks in ten. A version's own samples win over the component's when it has
 * {@link LEARNING.minSamples} of them. A drained Stop is left out: its time
 * is mostly the drain, which the planner adds from the package's quiesce
 * timeout. Failed and cancelled tasks are left out too (what a failure
 * takes says nothing of what the work takes).
 */
import type { DataSource } from 'typeorm';
import { fromSqlDate, toSqlDate } from '../db/sql';
import { type PackageVersionFacts, SOFTWARE_OPERATIONS, type SoftwareOperation } from './planning-model';
import { CHANGE_SQL } from './sql';

export const LEARNING = {
  /** Tasks of a kind needed before they replace the manifest's estimate. */
  minSamples: 3,
  /** The most recent tasks of a kind that count. */
  samplesPerKind: 50,
  /** How far back tasks count. */
  windowDays: 90,
  /** Tasks read at most for one snapshot (newest first). */
  maxRows: 5_000,
  /** The share of samples the estimate covers. */
  percentile: 0.9,
} as const;

/** What tasks of one kind took, in seconds. */
export interface ObservedDuration {
  readonly seconds: number;
  readonly samples: number;
}

/** Observed durations by component, then `operation` or `operation@version`. */
export type ObservedDurations = ReadonlyMap<string, ReadonlyMap<string, ObservedDuration>>;

interface Row {
  component: unknown;
  version: unknown;
  operation: unknown;
  task: unknown;
  startedAt: unknown;
  endedAt: unknown;
}

/** Reads the recent successful software tasks and what each kind of them took. */
export async function loadObservedDurations(dataSource: DataSource, now: Date): Promise<ObservedDurations> {
  const since = new Date(now.getTime() - LEARNING.windowDays * 86_400_000);
  const rows = (await dataSource.query(CHANGE_SQL.observedTasks, [toSqlDate(since), LEARNING.maxRows])) as Row[];
  const samples = new Map<string, Map<string, number[]>>();
  const add = (component: string, kind: string, seconds: number): void => {
    let kinds = samples.get(component);
    if (kinds === undefined) samples.set(component, (kinds = new Map()));
    let list = kinds.get(kind);
    if (list === undefined) kinds.set(kind, (list = []));
    if (list.length < LEARNING.samplesPerKind) list.push(seconds);
  };
  for (const row of rows) {
    const operation = String(row.operation);
    if (!(SOFTWARE_OPERATIONS as readonly string[]).includes(operation)) continue;
    const started = fromSqlDate(row.startedAt);
    const ended = fromSqlDate(row.endedAt);
    if (started === null || ended === null || ended < started) continue;
    if (operation === 'Stop' && drained(row.task)) continue;
    const seconds = (ended.getTime() - started.getTime()) / 1000;
    const component = String(row.component);
    add(component, operation, seconds);
    if (typeof row.version === 'string' && row.version !== '') add(component, `${operation}@${row.version}`, seconds);
  }
  const out = new Map<string, Map<string, ObservedDuration>>();
  for (const [component, kinds] of samples) {
    const learned = new Map<string, ObservedDuration>();
    for (const [kind, list] of kinds) {
      if (list.length >= LEARNING.minSamples) learned.set(kind, { seconds: percentileSeconds(list), samples: list.length });
    }
    if (learned.size > 0) out.set(component, learned);
  }
  return out;
}

/**
 * A package version's facts with the learned durations in place of the
 * manifest's estimates, where there are enough samples (the version's own
 * first, then the component's).
 */
export function withObservedDurations(facts: PackageVersionFacts, observed: ObservedDurations): PackageVersionFacts {
  const kinds = observed.get(facts.name);
  if (kinds === undefined) return facts;
  const durations: Partial<Record<SoftwareOperation, number>> = { ...facts.durations };
  let changed = false;
  for (const operation of SOFTWARE_OPERATIONS) {
    const learned = kinds.get(`${operation}@${facts.version}`) ?? kinds.get(operation);
    if (learned === undefined) continue;
    durations[operation] = learned.seconds;
    changed = true;
  }
  return changed ? { ...facts, durations } : facts;
}

/** The nearest-rank percentile of the samples, rounded up to a whole second, at least 1. */
function percentileSeconds(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(LEARNING.percentile * sorted.length));
  return Math.max(1, Math.ceil(sorted[rank - 1] ?? 1));
}

/** Whether a stored Stop task asked to drain the component first. */
function drained(task: unknown): boolean {
  if (typeof task !== 'string') return false;
  try {
    const parsed = JSON.parse(task) as { parameters?: unknown };
    if (!Array.isArray(parsed.parameters)) return false;
    const values = (parsed.parameters as unknown[]).flatMap((p) =>
      typeof p === 'object' && p !== null && (p as { name?: unknown }).name === 'drain' ? [String((p as { value?: unknown }).value)] : [],
    );
    return values[values.length - 1] === 'true';
  } catch {
    return false;
  }
}
