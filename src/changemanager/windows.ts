/**
 * Maintenance windows: their written form and the intervals they open.
 *
 * A window is written `DAYS HH:MM+DURATION [ZONE]`, for example
 * `mon-fri 22:00+4h Europe/Berlin`, `sat,sun 01:30+90m`, `daily 03:00+1h30m UTC`:
 *
 * - `DAYS`: `daily` (or `*`), or a comma-separated list of days
 *   (`mon`, `tue`, `wed`, `thu`, `fri`, `sat`, `sun`) and ranges of days
 *   (`mon-fri`; a range may wrap, `fri-mon` is Friday to Monday);
 * - `HH:MM`: the local start time, 24-hour;
 * - `DURATION`: hours and/or minutes (`4h`, `90m`, `1h30m`), from 1 minute
 *   to 7 days; a window may run past midnight;
 * - `ZONE`: an IANA time zone; `UTC` when left out.
 *
 * Time-zone rules: the window opens at the local start time of each of its
 * days in its zone, and stays open for its duration of elapsed time (so on
 * the night clocks go back, `22:00+4h` closes at 01:00 local, not 02:00).
 * A start time that does not exist that day (it falls in the gap when
 * clocks go forward) opens at the same distance after the gap's start
 * (02:30 becomes 03:30 when 02:00 jumps to 03:00); a start time that occurs
 * twice (clocks go back) opens at its second occurrence, after the change.
 */
import { DateTime, IANAZone } from 'luxon';
import type { MaintenanceWindow, Weekday } from './planning-model';

/** A window that cannot be read; the message names the part that is wrong. */
export class WindowSyntaxError extends Error {
  override readonly name = 'WindowSyntaxError';
}

/** A half-open span of time, [from, to). */
export interface Interval {
  readonly from: Date;
  readonly to: Date;
}

const DAY_NAMES = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const MAX_WINDOW_TEXT = 120;
/** Longest window: a week. */
export const MAX_WINDOW_MINUTES = 7 * 24 * 60;
/** Longest span {@link openIntervals} answers for, in days. */
export const MAX_SPAN_DAYS = 400;
const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

/** Reads a window written as described at the top of this module. */
export function parseWindow(text: string): MaintenanceWindow {
  if (text.length > MAX_WINDOW_TEXT) throw new WindowSyntaxError(`maintenance window is longer than ${MAX_WINDOW_TEXT} characters`);
  const words = text.trim().split(/\s+/);
  if (words.length < 2 || words.length > 3) {
    throw new WindowSyntaxError(`maintenance window ${JSON.stringify(text)} must read "DAYS HH:MM+DURATION [ZONE]", e.g. "mon-fri 22:00+4h Europe/Berlin"`);
  }
  const [daysText = '', timeText = '', zone = 'UTC'] = words;
  const match = /^(\d{2}:\d{2})\+(.+)$/.exec(timeText);
  if (match === null) throw new WindowSyntaxError(`maintenance window ${JSON.stringify(text)}: "${timeText}" must read HH:MM+DURATION, e.g. 22:00+4h`);
  return validateWindow({ days: parseDays(daysText, text), start: match[1] as string, durationMinutes: parseDuration(match[2] as string, text), timeZone: zone });
}

/**
 * Checks a window given field by field (as the SOAP service receives them)
 * and returns it with its days sorted and unique.
 */
export function validateWindow(window: MaintenanceWindow): MaintenanceWindow {
  const { start, durationMinutes, timeZone } = window;
  if (window.days.length === 0) throw new WindowSyntaxError('maintenance window has no days');
  for (const day of window.days) {
    if (!Number.isInteger(day) || day < 1 || day > 7) throw new WindowSyntaxError(`maintenance window day ${String(day)} is not 1 (Monday) to 7 (Sunday)`);
  }
  const time = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(start);
  if (time === null) throw new WindowSyntaxError(`maintenance window start "${start}" is not a time HH:MM from 00:00 to 23:59`);
  if (!Number.isInteger(durationMinutes) || durationMinutes < 1 || durationMinutes > MAX_WINDOW_MINUTES) {
    throw new WindowSyntaxError(`maintenance window duration ${durationMinutes} minutes is not a whole number from 1 to ${MAX_WINDOW_MINUTES}`);
  }
  if (timeZone.length > 64 || !IANAZone.isValidZone(timeZone)) throw new WindowSyntaxError(`maintenance window time zone "${timeZone}" is not a known IANA zone`);
  const days = [...new Set(window.days)].sort((a, b) => a - b);
  return { days, start, durationMinutes, timeZone };
}

/** Writes a window the way {@link parseWindow} reads it (day ranges joined up). */
export function formatWindow(window: MaintenanceWindow): string {
  const days = window.days.length === 7 ? 'daily' : formatDays(window.days);
  const hours = Math.floor(window.durationMinutes / 60);
  const minutes = window.durationMinutes % 60;
  const duration = `${hours > 0 ? `${hours}h` : ''}${minutes > 0 || hours === 0 ? `${minutes}m` : ''}`;
  return `${days} ${window.start}+${duration} ${window.timeZone}`;
}

/**
 * The spans of [from, to) during which at least one of the windows is
 * open, sorted and merged (overlapping or touching spans become one).
 * No windows at all means no restriction: the whole span is open.
 * @throws RangeError when `to` is before `from` or the span is longer than {@link MAX_SPAN_DAYS} days.
 */
export function openIntervals(windows: readonly MaintenanceWindow[], from: Date, to: Date): Interval[] {
  const start = from.getTime();
  const end = to.getTime();
  if (!Number.isFinite(start) || !Number.isFinite(end) || end < start) throw new RangeError('openIntervals: "to" must not be before "from"');
  if (end - start > MAX_SPAN_DAYS * DAY_MS) throw new RangeError(`openIntervals: the span is longer than ${MAX_SPAN_DAYS} days`);
  if (end === start) return [];
  if (windows.length === 0) return [{ from: new Date(start), to: new Date(end) }];
  const spans: [number, number][] = [];
  for (const window of windows) {
    const [hour, minute] = window.start.split(':').map(Number) as [number, number];
    const length = window.durationMinutes * MINUTE_MS;
    // A window that opened before `from` may still be open: start looking a window's length (plus a day) earlier.
    let day = DateTime.fromMillis(start - length - DAY_MS, { zone: window.timeZone }).startOf('day');
    const last = DateTime.fromMillis(end, { zone: window.timeZone }).endOf('day');
    while (day <= last) {
      if ((window.days as readonly number[]).includes(day.weekday)) {
        const opens = DateTime.fromObject({ year: day.year, month: day.month, day: day.day, hour, minute }, { zone: window.timeZone }).toMillis();
        const closes = opens + length;
        if (closes > start && opens < end) spans.push([Math.max(opens, start), Math.min(closes, end)]);
      }
      day = day.plus({ days: 1 }).startOf('day');
    }
  }
  spans.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const span of spans) {
    const previous = merged[merged.length - 1];
    if (previous !== undefined && span[0] <= previous[1]) previous[1] = Math.max(previous[1], span[1]);
    else merged.push([span[0], span[1]]);
  }
  return merged.map(([a, b]) => ({ from: new Date(a), to: new Date(b) }));
}

function parseDays(text: string, whole: string): Weekday[] {
  const lower = text.toLowerCase();
  if (lower === 'daily' || lower === '*') return [1, 2, 3, 4, 5, 6, 7];
  const days = new Set<Weekday>();
  for (const part of lower.split(',')) {
    const [first, second, extra] = part.split('-');
    if (extra !== undefined) throw new WindowSyntaxError(`maintenance window ${JSON.stringify(whole)}: "${part}" is not a day or a range of days`);
    const a = dayNumber(first ?? '', whole);
    const b = second === undefined ? a : dayNumber(second, whole);
    for (let day = a; ; day = (day % 7) + 1) {
      days.add(day as Weekday);
      if (day === b) break;
    }
  }
  return [...days].sort((x, y) => x - y);
}

function dayNumber(name: string, whole: string): number {
  const index = (DAY_NAMES as readonly string[]).indexOf(name);
  if (index < 0) throw new WindowSyntaxError(`maintenance window ${JSON.stringify(whole)}: "${name}" is not a day (${DAY_NAMES.join(', ')}, or daily)`);
  return index + 1;
}

function parseDuration(text: string, whole: string): number {
  const match = /^(?:(\d{1,3})h)?(?:(\d{1,5})m)?$/.exec(text);
  if (match === null || (match[1] === undefined && match[2] === undefined)) {
    throw new WindowSyntaxError(`maintenance window ${JSON.stringify(whole)}: duration "${text}" must read like 4h, 90m or 1h30m`);
  }
  return Number(match[1] ?? 0) * 60 + Number(match[2] ?? 0);
}

function formatDays(days: readonly Weekday[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < days.length) {
    let j = i;
    while (j + 1 < days.length && (days[j + 1] as number) === (days[j] as number) + 1) j += 1;
    const a = DAY_NAMES[(days[i] as number) - 1] as string;
    const b = DAY_NAMES[(days[j] as number) - 1] as string;
    parts.push(j === i ? a : j === i + 1 ? `${a},${b}` : `${a}-${b}`);
    i = j + 1;
  }
  return parts.join(',');
}
