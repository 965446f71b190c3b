/**
 * A renewable resource's free capacity over time, as a step function: segment
 * `k` spans `[times[k], times[k + 1])` (the last one runs for ever) with
 * `free[k]` units free. Maintenance windows lower the starting capacity;
 * scheduled tasks take their demand from the segments they overlap.
 */

/** Before any time the scheduler can use: the first segment starts here. */
const DAWN = -Number.MAX_SAFE_INTEGER;

export interface CapacityWindow {
  readonly from: number;
  readonly to: number;
  readonly capacity: number;
}

export class Profile {
  private constructor(
    private times: number[],
    private free: number[],
  ) {}

  /** The profile of a resource with `capacity`, lowered to each window's capacity within it (the lowest where windows overlap). */
  static of(capacity: number, windows: readonly CapacityWindow[]): Profile {
    const points = [...new Set(windows.flatMap((w) => [w.from, w.to]))].sort((a, b) => a - b);
    const times = [DAWN];
    const free = [capacity];
    for (const t of points) {
      let level = capacity;
      for (const w of windows) if (w.from <= t && t < w.to) level = Math.min(level, w.capacity);
      if (level === free[free.length - 1]) continue;
      times.push(t);
      free.push(level);
    }
    return new Profile(times, free);
  }

  copy(): Profile {
    return new Profile(this.times.slice(), this.free.slice());
  }

  /** Makes this profile equal to `other` again (reusing its arrays). */
  resetTo(other: Profile): void {
    const n = other.times.length;
    this.times.length = n;
    this.free.length = n;
    for (let k = 0; k < n; k++) {
      this.times[k] = other.times[k] as number;
      this.free[k] = other.free[k] as number;
    }
  }

  /** The index of the segment holding time `t`. */
  private segment(t: number): number {
    const times = this.times;
    let lo = 0;
    let hi = times.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((times[mid] as number) <= t) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * The earliest time ≥ `t` at which `demand` units are free for `duration`.
   * Always found, as the last segment holds the full capacity and no demand
   * exceeds it (validation sees to that).
   */
  earliestFit(t: number, duration: number, demand: number): number {
    if (duration === 0 || demand === 0) return t;
    const times = this.times;
    const free = this.free;
    let k = this.segment(t);
    let start = t;
    for (;;) {
      const end = start + duration;
      let i = k;
      let moved = false;
      while (i < times.length && (times[i] as number) < end) {
        if ((free[i] as number) < demand) {
          start = times[i + 1] as number;
          k = i + 1;
          moved = true;
          break;
        }
        i++;
      }
      if (!moved) return start;
    }
  }

  /** The latest time ≤ `t` at which `demand` units are free for `duration`. */
  latestFit(t: number, duration: number, demand: number): number {
    if (duration === 0 || demand === 0) return t;
    const times = this.times;
    const free = this.free;
    let start = t;
    for (;;) {
      let i = this.segment(start + duration - 1);
      let moved = false;
      while (i >= 0) {
        const segmentEnd = i + 1 < times.length ? (times[i + 1] as number) : Infinity;
        if (segmentEnd <= start) break;
        if ((free[i] as number) < demand) {
          start = (times[i] as number) - duration;
          moved = true;
          break;
        }
        i--;
      }
      if (!moved) return start;
    }
  }

  /** Takes `demand` units during `[start, start + duration)`. */
  reserve(start: number, duration: number, demand: number): void {
    if (duration === 0 || demand === 0) return;
    const first = this.split(start);
    const last = this.split(start + duration);
    for (let k = first; k < last; k++) this.free[k] = (this.free[k] as number) - demand;
  }

  /** Makes `t` a segment boundary; returns the index of the segment starting at `t`. */
  private split(t: number): number {
    const k = this.segment(t);
    if (this.times[k] === t) return k;
    this.times.splice(k + 1, 0, t);
    this.free.splice(k + 1, 0, this.free[k] as number);
    return k + 1;
  }

  /** Units free at time `t`. */
  freeAt(t: number): number {
    return this.free[this.segment(t)] as number;
  }

  /**
   * The earliest time `T` ≥ `from` by which the capacity offered in
   * `[from, T)` adds up to `energy` (capacity × time).
   */
  timeToSupply(from: number, energy: number): number {
    if (energy <= 0) return from;
    let left = energy;
    let k = this.segment(from);
    let t = from;
    for (;;) {
      const level = this.free[k] as number;
      const end = k + 1 < this.times.length ? (this.times[k + 1] as number) : Infinity;
      if (level > 0 && t + left / level <= end) return t + Math.ceil(left / level);
      if (end === Infinity) return Infinity;
      left -= level * (end - t);
      t = end;
      k++;
    }
  }
}
