/**
 * Cancellation helpers shared by the drivers: a task's `ctx.signal` turns
 * into a `Cancelled` DriverError, decided here once.
 */
import { DriverError } from './driver';

/**
 * Throws `Cancelled` when the signal is already aborted.
 * @param what names the work that was refused, e.g. `Install of demo-httpd on web1`.
 */
export function throwIfCancelled(signal: AbortSignal, what: string): void {
  if (signal.aborted) throw cancelled(what);
}

/** The error every driver reports for a cancelled task. */
export function cancelled(what: string, output?: string): DriverError {
  return new DriverError('Cancelled', `${what} was cancelled`, { retryable: false, output });
}

/**
 * Resolves after `ms` milliseconds, or rejects with `Cancelled` as soon as
 * the signal aborts.
 */
export function sleep(ms: number, signal: AbortSignal, what = 'wait'): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(cancelled(what));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(cancelled(what));
    };
    // Node's timer: stands in for the real time a task takes on its system (callers of the simulated driver pass their own wait).
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
