/**
 * Planning on a thread of its own: `planChange` is CPU work of up to its time
 * budget (1 s by default), which on the server's event loop would hold every
 * SOAP call and /health that long. The server sends each plan's input (the
 * model snapshot, the request, the policies, the options) to one worker
 * thread and awaits its outcome; the worker plans one change at a time.
 *
 * This file is both sides: imported, it is the server's client
 * ({@link PlanningThread}); run as a worker, it plans.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { ChangeRequest, PlanOutcome } from './change-plan';
import { planChange, type PlanOptions, type PolicyDefinition } from './planner';
import type { PlanningModel } from './planning-model';

/** The workerData that marks the planning thread. */
const PLANNING_THREAD = 'provisor-planning-thread';

interface PlanMessage {
  readonly id: number;
  readonly model: PlanningModel;
  readonly request: ChangeRequest;
  readonly policies: readonly PolicyDefinition[];
  /** The options that can cross a thread (no clock function: the budget is real time). */
  readonly options: Omit<PlanOptions, 'now'>;
}

type Answer = { readonly id: number; readonly outcome: PlanOutcome } | { readonly id: number; readonly error: string };

/** The server's side: one worker, started on first use, replaced when it dies. */
export class PlanningThread {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (outcome: PlanOutcome) => void; reject: (err: Error) => void }>();

  /** Plans on the worker; rejects when planning threw or the worker died. */
  plan(model: PlanningModel, request: ChangeRequest, policies: readonly PolicyDefinition[], options: Omit<PlanOptions, 'now'>): Promise<PlanOutcome> {
    const worker = this.started();
    const id = this.nextId++;
    return new Promise<PlanOutcome>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      const message: PlanMessage = { id, model, request, policies, options };
      worker.postMessage(message);
    });
  }

  private started(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(__filename, { workerData: PLANNING_THREAD });
    // An idle planner does not keep the process alive.
    worker.unref();
    worker.on('message', (answer: Answer) => {
      const waiter = this.waiting.get(answer.id);
      if (waiter === undefined) return;
      this.waiting.delete(answer.id);
      if ('outcome' in answer) waiter.resolve(answer.outcome);
      else waiter.reject(new Error(`planning failed: ${answer.error}`));
    });
    const fail = (err: Error): void => {
      if (this.worker === worker) this.worker = undefined;
      for (const waiter of this.waiting.values()) waiter.reject(err);
      this.waiting.clear();
    };
    worker.on('error', (err) => fail(err));
    worker.on('exit', (code) => fail(new Error(`the planning thread ended (exit code ${code})`)));
    this.worker = worker;
    return worker;
  }

  /** Ends the worker; plans in flight are rejected. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker !== undefined) await worker.terminate();
  }
}

// Only the thread started above plans: any other worker thread of the process that loads this module (a program's own workers) is left alone.
if (!isMainThread && parentPort !== null && workerData === PLANNING_THREAD) {
  const port = parentPort;
  port.on('message', (message: PlanMessage) => {
    let answer: Answer;
    try {
      answer = { id: message.id, outcome: planChange(message.model, message.request, message.policies, message.options) };
    } catch (err) {
      answer = { id: message.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
    }
    port.postMessage(answer);
  });
}
