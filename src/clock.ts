/** The injected clock: waits, leases and token windows go through it, so tests can move time. */
export interface Clock {
  now(): number;
  date(): Date;
  /**
   * Calls `fn` once `ms` of this clock's time have passed; returns a function
   * that cancels it. Absent: Node's own timers. Like Node's `setTimeout`, a
   * delay above {@link MAX_TIMER_MS} is not honoured, so callers that may wait
   * longer use {@link sleepUntil}.
   */
  timer?(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  date: () => new Date(),
};

/**
 * The longest delay a Node timer honours (2^31 − 1 ms, about 24.8 days);
 * Node runs a longer one after 1 ms.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** How {@link arm} uses Node's timers when the clock has none of its own. */
export interface ArmOptions {
  /** The process may exit while only this timer is armed (a background loop's next round). */
  readonly unref?: boolean;
}

/** Calls `fn` once `ms` of `clock`'s time have passed (its own timers when it has them); returns the cancel function. */
export function arm(clock: Clock, ms: number, fn: () => void, options: ArmOptions = {}): () => void {
  if (clock.timer !== undefined) return clock.timer(ms, fn);
  const handle = setTimeout(fn, ms);
  if (options.unref === true) handle.unref();
  return () => clearTimeout(handle);
}

/**
 * Arms the next round of a poll loop: on the next turn of the event loop
 * when `ms` is 0 (a wake-up by an event, which takes no time, so a test's
 * clock need not move for it), otherwise once `ms` of `clock`'s time have
 * passed (the fallback for work another server adds). The process may exit
 * while only such a round is armed. Returns the cancel function.
 */
export function armRound(clock: Clock, ms: number, fn: () => void): () => void {
  if (ms > 0) return arm(clock, ms, fn, { unref: true });
  const handle = setImmediate(fn);
  handle.unref();
  return () => clearImmediate(handle);
}

/** Why a {@link sleepUntil} ended early. */
export class SleepAborted extends Error {
  override readonly name = 'SleepAborted';
}

/**
 * Resolves once `clock` reads `dueAt` (epoch ms) or later; rejects with
 * SleepAborted when `signal` aborts first. A wait of any length is armed in
 * steps of at most MAX_TIMER_MS, each ending with a fresh look at the clock,
 * so a due time months away neither fires at once (Node's overflow) nor early.
 */
export function sleepUntil(clock: Clock, dueAt: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new SleepAborted('aborted'));
      return;
    }
    let cancel: () => void = () => undefined;
    const onAbort = (): void => {
      cancel();
      reject(new SleepAborted('aborted'));
    };
    const step = (): void => {
      const remaining = dueAt - clock.now();
      if (remaining <= 0) {
        signal.removeEventListener('abort', onAbort);
        resolve();
        return;
      }
      cancel = arm(clock, Math.min(remaining, MAX_TIMER_MS), step);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    step();
  });
}

/**
 * A clock that moves only when told (tests, simulations). Its timers behave
 * like Node's, overflow included: a delay above MAX_TIMER_MS fires after 1 ms
 * of clock time, so code that forgets the limit fails here as it would in
 * production.
 */
export class ManualClock implements Clock {
  private current: number;
  private readonly timers = new Map<number, { due: number; fn: () => void }>();
  private nextId = 1;

  constructor(start: number | Date = Date.now()) {
    this.current = typeof start === 'number' ? start : start.getTime();
  }

  now(): number {
    return this.current;
  }

  date(): Date {
    return new Date(this.current);
  }

  timer(ms: number, fn: () => void): () => void {
    const delay = !Number.isFinite(ms) || ms > MAX_TIMER_MS || ms < 1 ? 1 : ms;
    const id = this.nextId++;
    this.timers.set(id, { due: this.current + delay, fn });
    return () => void this.timers.delete(id);
  }

  /** Timers armed and not yet fired. */
  get pending(): number {
    return this.timers.size;
  }

  /** Whether a timer is armed to fire at `due` (other parts' timers, a lease keeper's, may fire earlier). */
  armedAt(due: number): boolean {
    for (const t of this.timers.values()) if (t.due === due) return true;
    return false;
  }

  /** The due time of the earliest armed timer, if any. */
  nextDue(): number | undefined {
    let next: number | undefined;
    for (const t of this.timers.values()) if (next === undefined || t.due < next) next = t.due;
    return next;
  }

  /** Moves the clock forward, firing every timer that falls due on the way, in due order. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      let first: [number, { due: number; fn: () => void }] | undefined;
      for (const entry of this.timers) if (entry[1].due <= target && (first === undefined || entry[1].due < first[1].due)) first = entry;
      if (first === undefined) break;
      this.timers.delete(first[0]);
      this.current = Math.max(this.current, first[1].due);
      first[1].fn();
    }
    this.current = target;
  }
}
