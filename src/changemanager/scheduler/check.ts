/**
 * The independent feasibility check of a schedule against the problem as
 * given (not the scheduler's compiled form): every start a whole number at or
 * after the task's release, every precedence of its own type and lag, and no
 * resource over its capacity at any time, maintenance windows included.
 */
import type { Precedence, SchedulingProblem } from './model';

/** Whether a precedence holds for tasks starting at `from` and `to` with durations `pf` and `pt`. */
function holds(p: Precedence, from: number, pf: number, to: number, pt: number): boolean {
  const lag = p.lag ?? 0;
  switch (p.type ?? 'FS') {
    case 'FS':
      return to >= from + pf + lag;
    case 'SS':
      return to >= from + lag;
    case 'FF':
      return to + pt >= from + pf + lag;
    case 'SF':
      return to + pt >= from + lag;
  }
}

/** Every way `starts` breaks `problem`; empty when the schedule is feasible. */
export function checkSchedule(problem: SchedulingProblem, starts: Readonly<Record<string, number>>): string[] {
  const violations: string[] = [];
  const byId = new Map(problem.tasks.map((t) => [t.id, t]));
  for (const task of problem.tasks) {
    const start = starts[task.id];
    if (start === undefined || !Number.isSafeInteger(start)) violations.push(`task "${task.id}" has no whole start time`);
    else if (start < (task.earliestStart ?? 0)) violations.push(`task "${task.id}" starts at ${start}, before its earliest start ${task.earliestStart ?? 0}`);
  }
  for (const id of Object.keys(starts)) if (!byId.has(id)) violations.push(`task "${id}" is not part of the problem`);
  if (violations.length > 0) return violations;

  for (const p of problem.precedences ?? []) {
    const from = byId.get(p.from);
    const to = byId.get(p.to);
    if (from === undefined || to === undefined) continue;
    if (!holds(p, starts[p.from] as number, from.duration, starts[p.to] as number, to.duration)) {
      violations.push(`precedence ${p.type ?? 'FS'} "${p.from}" → "${p.to}" (lag ${p.lag ?? 0}) does not hold: starts ${starts[p.from] as number} and ${starts[p.to] as number}`);
    }
  }

  // A sweep over each resource's changes in time: usage rises only where a
  // task starts and capacity drops only where a window opens, so those are
  // the instants to check.
  const users = new Map<string, { id: string; start: number; end: number; amount: number }[]>();
  for (const t of problem.tasks) {
    if (t.duration === 0) continue;
    for (const [rid, amount] of Object.entries(t.demands ?? {})) {
      if (amount === 0) continue;
      const start = starts[t.id] as number;
      const list = users.get(rid) ?? [];
      list.push({ id: t.id, start, end: start + t.duration, amount });
      users.set(rid, list);
    }
  }
  for (const resource of problem.resources ?? []) {
    const changes: { at: number; usage: number }[] = [];
    for (const u of users.get(resource.id) ?? []) changes.push({ at: u.start, usage: u.amount }, { at: u.end, usage: -u.amount });
    const windows = resource.unavailable ?? [];
    for (const w of windows) changes.push({ at: w.from, usage: 0 });
    changes.sort((a, b) => a.at - b.at || a.usage - b.usage);
    let used = 0;
    for (let k = 0; k < changes.length; k++) {
      const change = changes[k] as { at: number; usage: number };
      used += change.usage;
      const next = changes[k + 1];
      if (next !== undefined && next.at === change.at) continue;
      let capacity = resource.capacity;
      for (const w of windows) if (w.from <= change.at && change.at < w.to) capacity = Math.min(capacity, w.capacity ?? 0);
      if (used > capacity) {
        const running = (users.get(resource.id) ?? []).filter((u) => u.start <= change.at && change.at < u.end);
        violations.push(`resource "${resource.id}" holds ${used} at time ${change.at}, over its capacity ${capacity} there (tasks ${running.map((u) => u.id).join(', ')})`);
      }
    }
  }
  return violations;
}
