import { expect } from 'chai';
import { formatWindow, openIntervals, parseWindow, WindowSyntaxError } from '../../src/changemanager/windows';

const iso = (intervals: { from: Date; to: Date }[]): string[][] => intervals.map((i) => [i.from.toISOString(), i.to.toISOString()]);
const open = (windows: string[], from: string, to: string): string[][] => iso(openIntervals(windows.map(parseWindow), new Date(from), new Date(to)));

describe('maintenance windows', () => {
  describe('when written as text', () => {
    it('reads days, ranges, start, duration and zone', () => {
      expect(parseWindow('mon-fri 22:00+4h Europe/Berlin')).to.deep.equal({ days: [1, 2, 3, 4, 5], start: '22:00', durationMinutes: 240, timeZone: 'Europe/Berlin' });
      expect(parseWindow('sat,sun 01:30+1h30m')).to.deep.equal({ days: [6, 7], start: '01:30', durationMinutes: 90, timeZone: 'UTC' });
      expect(parseWindow('fri-mon 03:00+45m UTC').days).to.deep.equal([1, 5, 6, 7]);
      expect(parseWindow('daily 00:00+24h').days).to.deep.equal([1, 2, 3, 4, 5, 6, 7]);
    });

    it('writes back what it reads', () => {
      for (const text of ['mon-fri 22:00+4h Europe/Berlin', 'mon,wed 01:30+1h30m UTC', 'daily 03:00+20m America/New_York', 'sat,sun 01:00+2h UTC']) {
        expect(formatWindow(parseWindow(text))).to.equal(text);
      }
    });

    const bad: [string, string][] = [
      ['mon-fri 22:00', 'HH:MM+DURATION'],
      ['funday 22:00+1h', '"funday" is not a day'],
      ['mon 24:00+1h', 'start "24:00"'],
      ['mon 22:00+0m', 'duration 0 minutes'],
      ['mon 22:00+200h', 'duration 12000 minutes'],
      ['mon 22:00+4x', 'duration "4x"'],
      ['mon 22:00+4h Mars/Olympus', 'time zone "Mars/Olympus"'],
      ['mon 22:00+4h UTC extra', 'must read "DAYS HH:MM+DURATION [ZONE]"'],
      ['mon-tue-wed 22:00+1h', '"mon-tue-wed" is not a day or a range'],
    ];
    for (const [text, message] of bad) {
      it(`refuses ${JSON.stringify(text)}, naming what is wrong`, () => {
        expect(() => parseWindow(text)).to.throw(WindowSyntaxError, message);
      });
    }
  });

  describe('openIntervals', () => {
    it('opens a weekday window each weekday, past midnight, and not at the weekend', () => {
      // 2026-07-03 is a Friday; Berlin is UTC+2 in summer.
      expect(open(['mon-fri 22:00+4h Europe/Berlin'], '2026-07-03T00:00:00Z', '2026-07-07T00:00:00Z')).to.deep.equal([
        ['2026-07-03T20:00:00.000Z', '2026-07-04T00:00:00.000Z'],
        ['2026-07-06T20:00:00.000Z', '2026-07-07T00:00:00.000Z'],
      ]);
    });

    it('clips to the span, including a window that opened before it', () => {
      expect(open(['daily 22:00+4h UTC'], '2026-07-04T01:00:00Z', '2026-07-04T23:00:00Z')).to.deep.equal([
        ['2026-07-04T01:00:00.000Z', '2026-07-04T02:00:00.000Z'],
        ['2026-07-04T22:00:00.000Z', '2026-07-04T23:00:00.000Z'],
      ]);
    });

    it('merges overlapping windows', () => {
      expect(open(['sat 01:00+2h UTC', 'sat 02:00+2h UTC', 'sat 04:00+1h UTC'], '2026-07-04T00:00:00Z', '2026-07-05T00:00:00Z')).to.deep.equal([
        ['2026-07-04T01:00:00.000Z', '2026-07-04T05:00:00.000Z'],
      ]);
    });

    it('lasts the elapsed duration on the night clocks go forward (Europe/Berlin, 2026-03-29)', () => {
      // Saturday 22:00 CET = 21:00Z; four hours later is 01:00Z (03:00 CEST).
      expect(open(['sat 22:00+4h Europe/Berlin'], '2026-03-28T00:00:00Z', '2026-03-30T00:00:00Z')).to.deep.equal([['2026-03-28T21:00:00.000Z', '2026-03-29T01:00:00.000Z']]);
    });

    it('lasts the elapsed duration on the night clocks go back (Europe/Berlin, 2026-10-25)', () => {
      // Saturday 22:00 CEST = 20:00Z; four hours later is 00:00Z (01:00 CET).
      expect(open(['sat 22:00+4h Europe/Berlin'], '2026-10-24T00:00:00Z', '2026-10-26T00:00:00Z')).to.deep.equal([['2026-10-24T20:00:00.000Z', '2026-10-25T00:00:00.000Z']]);
    });

    it('opens a start time skipped by the clocks going forward just after the gap', () => {
      // 02:30 does not exist on 2026-03-29 in Berlin: it opens at 03:30 CEST = 01:30Z.
      expect(open(['sun 02:30+1h Europe/Berlin'], '2026-03-28T00:00:00Z', '2026-03-30T00:00:00Z')).to.deep.equal([['2026-03-29T01:30:00.000Z', '2026-03-29T02:30:00.000Z']]);
    });

    it('opens a start time that occurs twice at its second occurrence', () => {
      // 02:30 happens at 00:30Z (CEST) and 01:30Z (CET) on 2026-10-25.
      expect(open(['sun 02:30+1h Europe/Berlin'], '2026-10-24T00:00:00Z', '2026-10-26T00:00:00Z')).to.deep.equal([['2026-10-25T01:30:00.000Z', '2026-10-25T02:30:00.000Z']]);
    });

    it('keeps the local start time across a change of offset (New York, March 2026)', () => {
      // 2026-03-08: EST (UTC-5) becomes EDT (UTC-4).
      expect(open(['daily 09:00+1h America/New_York'], '2026-03-07T00:00:00Z', '2026-03-09T00:00:00Z')).to.deep.equal([
        ['2026-03-07T14:00:00.000Z', '2026-03-07T15:00:00.000Z'],
        ['2026-03-08T13:00:00.000Z', '2026-03-08T14:00:00.000Z'],
      ]);
    });

    it('leaves a system without windows open all the time', () => {
      expect(open([], '2026-07-04T00:00:00Z', '2026-07-05T00:00:00Z')).to.deep.equal([['2026-07-04T00:00:00.000Z', '2026-07-05T00:00:00.000Z']]);
    });

    it('refuses a reversed or overlong span', () => {
      expect(() => openIntervals([], new Date('2026-07-05T00:00:00Z'), new Date('2026-07-04T00:00:00Z'))).to.throw(RangeError);
      expect(() => openIntervals([], new Date('2026-01-01T00:00:00Z'), new Date('2028-01-01T00:00:00Z'))).to.throw(RangeError, '400 days');
    });
  });
});
