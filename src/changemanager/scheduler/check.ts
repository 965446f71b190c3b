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

  for (const resource of problem.resources ?? []) {
    const users = problem.tasks.filter((t) => t.duration > 0 && (t.demands?.[resource.id] ?? 0) > 0);
    const points = new Set<number>();
    for (const t of users) points.add(starts[t.id] as number);
    for (const w of resource.unavailable ?? []) points.add(w.from);
    for (const at of [...points].sort((a, b) => a - b)) {
      let capacity = resource.capacity;
      for (const w of resource.unavailable ?? []) if (w.from <= at && at < w.to) capacity = Math.min(capacity, w.capacity ?? 0);
      let used = 0;
      const running: string[] = [];
      for (const t of users) {
        const start = starts[t.id] as number;
        if (start <= at && at < start + t.duration) {
          used += t.demands?.[resource.id] ?? 0;
          running.push(t.id);
        }
      }
      if (used > capacity) violations.push(`resource "${resource.id}" holds ${used} at time ${at}, over its capacity ${capacity} there (tasks ${running.join(', ')})`);
    }
  }
  return violations;
}
