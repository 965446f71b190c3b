import { expect } from 'chai';
import { openIntervals } from '../../../src/changemanager/planner';
import { window } from './model';

const iso = (ms: number): string => new Date(ms).toISOString();
const show = (windows: Parameters<typeof openIntervals>[0], from: string, to: string): string[] => openIntervals(windows, Date.parse(from), Date.parse(to)).map((i) => `${iso(i.from)} ${iso(i.to)}`);
const daily = [1, 2, 3, 4, 5, 6, 7] as const;

describe('maintenance windows as UTC intervals', () => {
  it('follows the zone across the spring change: a start in the missing hour moves forward by the gap', () => {
    expect(show([window([...daily], '02:30', 60, 'Europe/Berlin')], '2030-03-30T00:00:00Z', '2030-04-02T00:00:00Z')).to.deep.equal([
      '2030-03-30T01:30:00.000Z 2030-03-30T02:30:00.000Z', // 02:30 CET
      '2030-03-31T01:30:00.000Z 2030-03-31T02:30:00.000Z', // 02:30 does not exist that day: 03:30 CEST
      '2030-04-01T00:30:00.000Z 2030-04-01T01:30:00.000Z', // 02:30 CEST
    ]);
  });

  it('follows the zone across the autumn change: the repeated hour is taken in standard time', () => {
    expect(show([window([...daily], '02:30', 60, 'Europe/Berlin')], '2030-10-26T00:00:00Z', '2030-10-29T00:00:00Z')).to.deep.equal([
      '2030-10-26T00:30:00.000Z 2030-10-26T01:30:00.000Z', // 02:30 CEST
      '2030-10-27T01:30:00.000Z 2030-10-27T02:30:00.000Z', // 02:30 CET, the second 02:30 of the night
      '2030-10-28T01:30:00.000Z 2030-10-28T02:30:00.000Z', // 02:30 CET
    ]);
  });

  it('keeps a window’s real length across a change inside it', () => {
    // 01:00 local for 3 hours on the spring-forward night: 00:00 to 03:00 UTC, ending at 05:00 local summer time.
    expect(show([window([7], '01:00', 180, 'Europe/Berlin')], '2030-03-30T00:00:00Z', '2030-04-01T00:00:00Z')).to.deep.equal(['2030-03-31T00:00:00.000Z 2030-03-31T03:00:00.000Z']);
  });

  it('only the given weekdays, windows past midnight, clipped to the span and merged where they overlap', () => {
    const windows = [window([5], '23:00', 180), window([6], '01:00', 60)];
    // Friday 2030-01-04 23:00 for 3 h, Saturday 01:00 for 1 h (inside it): one interval, clipped at the start.
    expect(show(windows, '2030-01-04T23:30:00Z', '2030-01-06T00:00:00Z')).to.deep.equal(['2030-01-04T23:30:00.000Z 2030-01-05T02:00:00.000Z']);
    expect(show([window([1], '02:00', 60, 'America/New_York')], '2030-01-07T00:00:00Z', '2030-01-14T00:00:00Z')).to.deep.equal(['2030-01-07T07:00:00.000Z 2030-01-07T08:00:00.000Z']);
    // A window opened the day before the span is still open at its start.
    expect(show([window([7], '22:00', 240)], '2030-01-07T00:00:00Z', '2030-01-07T12:00:00Z')).to.deep.equal(['2030-01-07T00:00:00.000Z 2030-01-07T02:00:00.000Z']);
  });

  it('refuses a window it cannot read, saying what is wrong', () => {
    expect(() => openIntervals([window([8 as 1], '02:00', 60)], 0, 1)).to.throw(RangeError, 'days must list weekdays');
    expect(() => openIntervals([window([1], '2:00', 60)], 0, 1)).to.throw(RangeError, 'start must be HH:MM');
    expect(() => openIntervals([window([1], '02:00', 0)], 0, 1)).to.throw(RangeError, 'durationMinutes');
    expect(() => openIntervals([window([1], '02:00', 60, 'Mars/Olympus')], 0, 1)).to.throw(RangeError, 'time zone "Mars/Olympus" is unknown');
  });
});
