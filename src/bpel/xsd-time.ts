/**
 * `xsd:duration`, `xsd:dateTime` and `xsd:date` lexical forms, as used by
 * `<wait>`, `<onAlarm>` and the `pv:` functions.
 */
import { DateTime, IANAZone } from 'luxon';

/** A parsed xsd:duration; years and months stay calendar units until applied to a start time. */
export interface XsdDuration {
  readonly negative: boolean;
  readonly years: number;
  readonly months: number;
  readonly days: number;
  readonly hours: number;
  readonly minutes: number;
  /** May be fractional. */
  readonly seconds: number;
}

const DURATION = /^(-)?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?|\.\d+)S)?)?$/;

/** Parses an xsd:duration (`PT45M`, `P1DT2H`, `PT0.5S`, `-P1D`); undefined when the text is not one. */
export function parseDuration(text: string): XsdDuration | undefined {
  const trimmed = text.trim();
  const m = DURATION.exec(trimmed);
  if (!m) return undefined;
  // "P" alone and "PT" without a time component are not durations.
  if (trimmed.endsWith('P') || trimmed.endsWith('T')) return undefined;
  if (m.slice(2).every((g) => g === undefined)) return undefined;
  const n = (g: string | undefined): number => (g === undefined ? 0 : Number(g));
  return {
    negative: m[1] === '-',
    years: n(m[2]),
    months: n(m[3]),
    days: n(m[4]),
    hours: n(m[5]),
    minutes: n(m[6]),
    seconds: n(m[7]),
  };
}

/**
 * The length of a duration in milliseconds. Years and months count from
 * `from` on the UTC calendar (P1M from 31 January is 28 or 29 days); days
 * are 24 hours.
 */
export function durationMillis(duration: XsdDuration, from: Date): number {
  const sign = duration.negative ? -1 : 1;
  const fixed =
    ((duration.days * 24 + duration.hours) * 60 + duration.minutes) * 60_000 + Math.round(duration.seconds * 1000);
  let calendar = 0;
  if (duration.years !== 0 || duration.months !== 0) {
    const start = DateTime.fromJSDate(from, { zone: 'utc' });
    const shifted = duration.negative
      ? start.minus({ years: duration.years, months: duration.months })
      : start.plus({ years: duration.years, months: duration.months });
    calendar = Math.abs(shifted.toMillis() - start.toMillis());
  }
  return sign * (calendar + fixed);
}

const DATE_TIME = /^(-?\d{4,})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2}(?:\.\d+)?)(Z|[+-]\d{2}:\d{2})?(?:\[([A-Za-z0-9_+\-/]+)\])?$/;
const DATE = /^(-?\d{4,})-(\d{2})-(\d{2})(Z|[+-]\d{2}:\d{2})?(?:\[([A-Za-z0-9_+\-/]+)\])?$/;

/**
 * Parses an xsd:dateTime or xsd:date into an instant. A value without a
 * time zone is UTC; Provisor also accepts an IANA zone in brackets after a
 * value without an offset (`2030-03-01T09:00:00[Europe/Paris]`). A date is
 * its midnight. Undefined when the text is neither.
 */
export function parseDeadline(text: string): Date | undefined {
  const trimmed = text.trim();
  const dt = DATE_TIME.exec(trimmed);
  const d = dt ? undefined : DATE.exec(trimmed);
  if (!dt && !d) return undefined;
  const [year, month, day] = dt ? [dt[1], dt[2], dt[3]] : [d?.[1], d?.[2], d?.[3]];
  const offset = dt ? dt[7] : d?.[4];
  const zoneName = dt ? dt[8] : d?.[5];
  if (offset !== undefined && zoneName !== undefined) return undefined;
  let hour = dt ? Number(dt[4]) : 0;
  const minute = dt ? Number(dt[5]) : 0;
  const secondText = dt ? dt[6] ?? '0' : '0';
  // xsd allows 24:00:00 for the midnight ending the day.
  let endOfDay = false;
  if (hour === 24) {
    if (minute !== 0 || Number(secondText) !== 0) return undefined;
    hour = 0;
    endOfDay = true;
  }
  let zone: string;
  if (zoneName !== undefined) {
    if (!IANAZone.isValidZone(zoneName)) return undefined;
    zone = zoneName;
  } else if (offset === undefined || offset === 'Z') {
    zone = 'utc';
  } else {
    zone = `UTC${offset}`;
  }
  const seconds = Number(secondText);
  const value = DateTime.fromObject(
    {
      year: Number(year),
      month: Number(month),
      day: Number(day),
      hour,
      minute,
      second: Math.floor(seconds),
      millisecond: Math.round((seconds - Math.floor(seconds)) * 1000),
    },
    { zone },
  );
  if (!value.isValid) return undefined;
  return (endOfDay ? value.plus({ days: 1 }) : value).toJSDate();
}

/** An instant as xsd:dateTime in UTC with milliseconds (`2030-01-01T00:00:00.000Z`). */
export function formatDateTime(date: Date): string {
  return date.toISOString();
}
