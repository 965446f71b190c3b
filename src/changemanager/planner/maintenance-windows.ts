/**
 * Recurring maintenance windows as UTC intervals. A window opens at its local
 * start time in its zone on each of its days and lasts its duration in real
 * time, so a window across a daylight-saving change is as long as declared.
 * A start inside the spring-forward gap moves forward by the gap (02:30 in
 * Berlin on the last Sunday of March opens at 03:30 summer time); a start in
 * the autumn's repeated hour is its second occurrence, in standard time (as
 * luxon resolves it).
 */
import { DateTime } from 'luxon';
import type { MaintenanceWindow } from '../planning-model';

export interface Interval {
  /** Milliseconds since the epoch, `from` inclusive, `to` exclusive. */
  readonly from: number;
  readonly to: number;
}

/** Whether a window can be read: days 1–7, `HH:MM`, 1 minute to 7 days, a zone luxon knows. Returns the problem or undefined. */
export function windowProblem(w: MaintenanceWindow): string | undefined {
  if (!Array.isArray(w.days) || w.days.length === 0 || w.days.some((d) => !Number.isInteger(d) || d < 1 || d > 7)) return 'days must list weekdays 1 (Monday) to 7 (Sunday)';
  if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(w.start)) return `start must be HH:MM, got ${JSON.stringify(w.start)}`;
  if (!Number.isInteger(w.durationMinutes) || w.durationMinutes < 1 || w.durationMinutes > 7 * 24 * 60) return `durationMinutes must be a whole number from 1 to ${7 * 24 * 60}`;
  if (!DateTime.now().setZone(w.timeZone || 'UTC').isValid) return `time zone ${JSON.stringify(w.timeZone)} is unknown`;
  return undefined;
}

/**
 * The times in `[from, to)` when at least one of the windows is open, as
 * sorted, disjoint intervals. Throws on a window `windowProblem` refuses.
 */
export function openIntervals(windows: readonly MaintenanceWindow[], from: number, to: number): Interval[] {
  const raw: Interval[] = [];
  for (const w of windows) {
    const problem = windowProblem(w);
    if (problem !== undefined) throw new RangeError(`maintenance window: ${problem}`);
    const zone = w.timeZone || 'UTC';
    const [hour, minute] = w.start.split(':').map(Number) as [number, number];
    // Start a week early: a window opened before `from` may still be open at it.
    let day = DateTime.fromMillis(from, { zone }).startOf('day').minus({ days: 7 });
    const lastDay = DateTime.fromMillis(to, { zone }).endOf('day');
    for (; day <= lastDay; day = day.plus({ days: 1 })) {
      if (!w.days.includes(day.weekday as MaintenanceWindow['days'][number])) continue;
      const opens = DateTime.fromObject({ year: day.year, month: day.month, day: day.day, hour, minute }, { zone });
      const start = opens.toMillis();
      const end = start + w.durationMinutes * 60_000;
      if (end <= from || start >= to) continue;
      raw.push({ from: Math.max(from, start), to: Math.min(to, end) });
    }
  }
  raw.sort((a, b) => a.from - b.from);
  const merged: Interval[] = [];
  for (const i of raw) {
    const last = merged[merged.length - 1];
    if (last !== undefined && i.from <= last.to) merged[merged.length - 1] = { from: last.from, to: Math.max(last.to, i.to) };
    else merged.push(i);
  }
  return merged;
}
