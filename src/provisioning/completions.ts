import { arm, type Clock } from '../clock';

/**
 * Who is waiting for which request to end (a long-polling GetStatus). The
 * engine of this process says when it finished one; a request finished by
 * another process is noticed by the waiter's own periodic re-read.
 */
export class RequestCompletions {
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(
    /** The waits' time runs on it. */
    private readonly clock: Clock,
  ) {}

  /** Resolves when `requestId` is reported finished, or after `ms`, whichever comes first. */
  wait(requestId: string, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let set = this.waiters.get(requestId);
      if (set === undefined) {
        set = new Set();
        this.waiters.set(requestId, set);
      }
      const waiters = set;
      const done = (): void => {
        cancel();
        waiters.delete(done);
        if (waiters.size === 0 && this.waiters.get(requestId) === waiters) this.waiters.delete(requestId);
        resolve();
      };
      const cancel = arm(this.clock, ms, done);
      waiters.add(done);
    });
  }

  /** The request ended: wakes its waiters. */
  notify(requestId: string): void {
    const set = this.waiters.get(requestId);
    if (set === undefined) return;
    for (const done of [...set]) done();
  }
}
