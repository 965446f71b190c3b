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

/** What a schedule generation pass needs of a resource's capacity over time. */
export interface CapacityProfile {
  /** Back to the resource's capacity with nothing scheduled. */
  reset(): void;
  earliestFit(t: number, duration: number, demand: number): number;
  latestFit(t: number, duration: number, demand: number): number;
  reserve(start: number, duration: number, demand: number): void;
}

export class Profile implements CapacityProfile {
  /** The profile `reset` returns to; this one itself when none. */
  private origin: Profile = this;

  /** Segments in use; the arrays grow by doubling and are never shrunk, so a reused profile allocates nothing. */
  private length: number;

  private constructor(
    private times: Float64Array,
    private free: Float64Array,
    length: number,
  ) {
    this.length = length;
  }

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
    return new Profile(Float64Array.from(times), Float64Array.from(free), times.length);
  }

  copy(): Profile {
    return new Profile(this.times.slice(), this.free.slice(), this.length);
  }

  /** A copy to schedule on, which `reset` returns to this profile. */
  workCopy(): Profile {
    const copy = this.copy();
    copy.origin = this;
    return copy;
  }

  reset(): void {
    if (this.origin !== this) this.resetTo(this.origin);
  }

  /** Makes this profile equal to `other` again (reusing its arrays). */
  resetTo(other: Profile): void {
    const n = other.length;
    if (this.times.length < n) {
      this.times = new Float64Array(other.times.length);
      this.free = new Float64Array(other.times.length);
    }
    this.times.set(other.times.subarray(0, n));
    this.free.set(other.free.subarray(0, n));
    this.length = n;
  }

  /** The index of the segment holding time `t`. */
  private segment(t: number): number {
    const times = this.times;
    let lo = 0;
    let hi = this.length - 1;
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
    const n = this.length;
    let k = this.segment(t);
    let start = t;
    for (;;) {
      const end = start + duration;
      let i = k;
      let moved = false;
      while (i < n && (times[i] as number) < end) {
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
    const n = this.length;
    let start = t;
    for (;;) {
      let i = this.segment(start + duration - 1);
      let moved = false;
      while (i >= 0) {
        const segmentEnd = i + 1 < n ? (times[i + 1] as number) : Infinity;
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
    const free = this.free;
    for (let k = first; k < last; k++) free[k] = (free[k] as number) - demand;
  }

  /** Makes `t` a segment boundary; returns the index of the segment starting at `t`. */
  private split(t: number): number {
    const k = this.segment(t);
    if (this.times[k] === t) return k;
    if (this.length === this.times.length) {
      const times = new Float64Array(this.length * 2);
      const free = new Float64Array(this.length * 2);
      times.set(this.times);
      free.set(this.free);
      this.times = times;
      this.free = free;
    }
    const times = this.times;
    const free = this.free;
    // A plain loop: the profiles are short, and copyWithin's call costs more there.
    for (let i = this.length; i > k + 1; i--) {
      times[i] = times[i - 1] as number;
      free[i] = free[i - 1] as number;
    }
    times[k + 1] = t;
    free[k + 1] = free[k] as number;
    this.length++;
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
      const end = k + 1 < this.length ? (this.times[k + 1] as number) : Infinity;
      if (level > 0 && t + left / level <= end) return t + Math.ceil(left / level);
      if (end === Infinity) return Infinity;
      left -= level * (end - t);
      t = end;
      k++;
    }
  }
}
