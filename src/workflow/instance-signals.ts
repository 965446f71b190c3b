/**
 * Signals of what happened to instances in this process, for the callers
 * waiting on a process endpoint for an instance's reply: a commit carrying
 * an instance's reply or its end, and a message taken by an instance. A
 * waiter reads the database again at each signal; what happened on another
 * server sharing the database it sees at its next poll on the clock.
 */
import { EventEmitter } from 'node:events';
import { arm, type Clock } from '../clock';

function instanceEvent(instanceId: string): string {
  return `instance\u0000${instanceId}`;
}

function messageEvent(messageId: number): string {
  return `message\u0000${messageId}`;
}

export class InstanceSignals {
  private readonly events = new EventEmitter();

  constructor() {
    // One listener per waiting caller.
    this.events.setMaxListeners(0);
  }

  /** A commit carrying the instance's reply, or its end, landed. */
  answered(instanceId: string): void {
    this.events.emit(instanceEvent(instanceId));
  }

  /** An instance of this process took the message. */
  taken(messageId: number): void {
    this.events.emit(messageEvent(messageId));
  }

  /**
   * Starts listening, before the first read of the database, so that what
   * happens between a read and the wait after it is not missed. The caller
   * closes the listener when it is done.
   */
  listen(): SignalListener {
    return new SignalListener(this.events);
  }

  /**
   * Reads until `read` has an answer, or gives undefined once `deadline`
   * (the clock's ms) has passed. `read` subscribes its listener to what it
   * waits for; it reads again at each signal, and otherwise after 5 ms,
   * doubling up to 100 ms, for what another server wrote.
   */
  async readUntil<T>(clock: Clock, deadline: number, read: (listener: SignalListener) => Promise<T | undefined>): Promise<T | undefined> {
    const listener = this.listen();
    try {
      for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
        const answer = await read(listener);
        if (answer !== undefined) return answer;
        if (clock.now() > deadline) return undefined;
        await listener.next(clock, delay);
      }
    } finally {
      listener.close();
    }
  }
}

/** One waiter's subscriptions, and the wait between two of its reads. */
export class SignalListener {
  private signalled = false;
  private wake: (() => void) | undefined;
  private readonly subscriptions: Array<() => void> = [];
  private readonly subscribed = new Set<string>();
  private readonly onSignal = (): void => {
    this.signalled = true;
    this.wake?.();
  };

  constructor(private readonly events: EventEmitter) {}

  /**
   * Listens to an instance's replies and end too. Begun after a read (the
   * reader learnt of the instance there), it counts as a signal: what was
   * committed between that read and now is read at once.
   */
  instance(instanceId: string): void {
    if (this.subscribe(instanceEvent(instanceId))) this.signalled = true;
  }

  /** Listens to the take of a message too. */
  message(messageId: number): void {
    this.subscribe(messageEvent(messageId));
  }

  /** Resolves at the first signal since the last wait (at once when one came meanwhile), or once `ms` of `clock`'s time have passed. */
  async next(clock: Clock, ms: number): Promise<void> {
    if (!this.signalled) {
      await new Promise<void>((resolve) => {
        const cancel = arm(clock, ms, () => this.wake?.());
        this.wake = () => {
          this.wake = undefined;
          cancel();
          resolve();
        };
      });
    }
    this.signalled = false;
  }

  close(): void {
    for (const unsubscribe of this.subscriptions.splice(0)) unsubscribe();
    this.wake?.();
  }

  /** False when already subscribed. */
  private subscribe(event: string): boolean {
    if (this.subscribed.has(event)) return false;
    this.subscribed.add(event);
    this.events.on(event, this.onSignal);
    this.subscriptions.push(() => this.events.off(event, this.onSignal));
    return true;
  }
}
