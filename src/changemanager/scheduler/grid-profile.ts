/**
 * A resource's free capacity as one cell per time unit over `[-span, span)`:
 * for short horizons and short tasks (PSPLIB instances, plans in minutes) a
 * fit is a scan of a few cells and a reservation never moves memory, where
 * the segment list of `Profile` shifts its arrays. Same answers as `Profile`.
 */
import type { CapacityProfile, Profile } from './profile';

export class GridProfile implements CapacityProfile {
  private readonly base: Int32Array;
  private readonly free: Int32Array;
  /** Cells changed since the last reset: `[low, high)`. */
  private low: number;
  private high = 0;

  constructor(
    profile: Profile,
    private readonly span: number,
  ) {
    this.base = new Int32Array(2 * span);
    for (let i = 0; i < 2 * span; i++) this.base[i] = profile.freeAt(i - span);
    this.free = this.base.slice();
    this.low = 2 * span;
  }

  reset(): void {
    if (this.low < this.high) this.free.set(this.base.subarray(this.low, this.high), this.low);
    this.low = 2 * this.span;
    this.high = 0;
  }

  private outside(start: number, duration: number): RangeError {
    return new RangeError(`time ${start} to ${start + duration} is outside the scheduling grid [${-this.span}, ${this.span})`);
  }

  earliestFit(t: number, duration: number, demand: number): number {
    if (duration === 0 || demand === 0) return t;
    const free = this.free;
    const span = this.span;
    let start = t;
    for (let u = start; u < start + duration; ) {
      if ((free[u + span] as number) < demand) {
        start = u + 1;
        u = start;
      } else u++;
    }
    if (start < -span || start + duration > span) throw this.outside(start, duration);
    return start;
  }

  latestFit(t: number, duration: number, demand: number): number {
    if (duration === 0 || demand === 0) return t;
    const free = this.free;
    const span = this.span;
    let start = t;
    for (let u = start + duration - 1; u >= start; ) {
      if ((free[u + span] as number) < demand) {
        start = u - duration;
        u = start + duration - 1;
      } else u--;
    }
    if (start < -span || start + duration > span) throw this.outside(start, duration);
    return start;
  }

  reserve(start: number, duration: number, demand: number): void {
    if (duration === 0 || demand === 0) return;
    const from = start + this.span;
    const to = from + duration;
    if (from < 0 || to > 2 * this.span) throw this.outside(start, duration);
    const free = this.free;
    for (let i = from; i < to; i++) free[i] = (free[i] as number) - demand;
    if (from < this.low) this.low = from;
    if (to > this.high) this.high = to;
  }
}
