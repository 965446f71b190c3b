import type { DataSource } from 'typeorm';
import { armRound, type Clock } from '../clock';
import type { Config } from '../config';
import type { InstalledComponent } from '../../entities';
import { groupCommitter, WriteConflict, type Write } from '../db/group-commit';
import { transaction } from '../db/sql';
import { DriverError, type Driver, type SystemDescriptor, type Task, type TaskResult } from '../drivers/driver';
import { deadLocalOwners, localOwnerPattern } from '../lease';
import type { LeaseKeeper } from '../leases/keeper';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import { callbackStatement, queueCallback, type CallbackWaker } from './callbacks';
import type { EngineSignal, StoredTask } from './provisioning-service';
import type { RequestRow, RequestStore } from './request-store';
import { ComponentReader, componentRecord, softwareResultStatements } from './resources';
import type { SystemRegistry } from './systems';
import { RequestCompletions } from './completions';

const OUTPUT_LIMIT = 64 * 1024;

/** How many ended requests the engine keeps for the polls that see their end, and for how long (ms). */
const ENDED_KEPT = 10_000;
const ENDED_KEPT_MS = 60_000;

function tail(text: string): string {
  return text.length <= OUTPUT_LIMIT ? text : text.slice(text.length - OUTPUT_LIMIT);
}

/**
 * The deployment engine: a pool of workers that claim QUEUED requests for
 * this process (a request is its own while its node lease holds:
 * src/leases/keeper.ts), perform the task through the system's driver and
 * record the outcome with the managed-resource changes in one transaction,
 * fenced by that ownership.
 *
 * Recovery: a request IN_PROGRESS whose owner's node lease ran out (or whose
 * owner was this host's process that is no longer alive) becomes UNKNOWN: a task
 * interrupted half-way may or may not have taken effect, and Provisor does
 * not guess. The caller (or a workflow's fault handler) decides whether to
 * re-run it; a re-run is a new request.
 */
export class DeploymentEngine implements EngineSignal {
  private readonly running = new Map<string, { abort: AbortController; done: Promise<void>; row: RequestRow }>();
  /** Cancels the next poll, when one is armed. */
  private cancelPoll: (() => void) | undefined;
  /** Stops listening to the lease keeper. */
  private stopListening: (() => void) | undefined;
  private polling = false;
  private again = false;
  /** {@link wake} as one function, handed to the lease keeper when a poll found the lease not held. */
  private readonly pollAgain = (): void => this.wake();
  private stopped = true;
  private lastRecovery = 0;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly dataSource: DataSource,
    private readonly store: RequestStore,
    private readonly systems: SystemRegistry,
    private readonly drivers: ReadonlyMap<string, Driver>,
    private readonly callbacks: CallbackWaker,
    private readonly config: Config['engine'],
    private readonly clock: Clock,
    /** This process's node lease: the requests it claims are its own while it holds. */
    private readonly lease: LeaseKeeper,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {
    this.completions = new RequestCompletions(clock);
    this.components = new ComponentReader(dataSource);
  }

  /** The lease owner this engine writes into the requests it performs. */
  get owner(): string {
    return this.lease.owner;
  }

  /** Running requests whose outcome is being recorded. */
  private readonly finishing = new Set<string>();

  /** Requests this engine ended lately, as committed, until when they are kept. */
  private readonly ended = new Map<string, { readonly row: RequestRow; readonly until: number }>();

  /** Who waits for which request to end (long-polling readers). */
  private readonly completions: RequestCompletions;

  /** The rows of the components the starting tasks work on, read together. */
  private readonly components: ComponentReader;

  /** Resolves when this engine finishes the request, or after `ms`. */
  waitForEnd(requestId: string, ms: number): Promise<void> {
    return this.completions.wait(requestId, ms);
  }

  async start(): Promise<void> {
    // Started once per process (the server starts it first); a no-op when it runs.
    await this.lease.start();
    this.stopped = false;
    await this.recover(true);
    this.stopListening ??= this.lease.onRenewed(() => void this.review());
    this.schedule(0);
  }

  /** Stops claiming work, waits up to `graceMs` for running tasks, then aborts the rest. */
  async stop(graceMs = 5000): Promise<void> {
    this.stopped = true;
    this.cancelPoll?.();
    this.cancelPoll = undefined;
    // A claim under way finishes first, so what it claimed is run or aborted below, not left to its lease.
    await this.inFlight;
    const all = Promise.allSettled([...this.running.values()].map((r) => r.done));
    // Node's timer: the grace bounds a shutdown in real time, even when the service's clock stands still.
    const timeout = new Promise((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([all, timeout]);
    for (const r of this.running.values()) r.abort.abort(new Error('the server is shutting down'));
    await all;
    this.stopListening?.();
    this.stopListening = undefined;
  }

  wake(): void {
    if (this.stopped) return;
    if (this.polling) this.again = true;
    else this.schedule(0);
  }

  /** A request running here and not yet finishing: its row as claimed (IN_PROGRESS; nothing else changes what a reader sees until its end). */
  inProgressHere(requestId: string): RequestRow | undefined {
    if (this.finishing.has(requestId)) return undefined;
    return this.running.get(requestId)?.row;
  }

  endedHere(requestId: string): RequestRow | undefined {
    const kept = this.ended.get(requestId);
    if (kept === undefined) return undefined;
    if (kept.until > this.clock.now()) return kept.row;
    this.ended.delete(requestId);
    return undefined;
  }

  /** Keeps a request's committed end for the polls that come to see it (an ended request's row does not change). */
  private remember(row: RequestRow): void {
    if (this.ended.size >= ENDED_KEPT) {
      // The oldest go first (a Map iterates in insertion order).
      let drop = this.ended.size - ENDED_KEPT + 1;
      for (const id of this.ended.keys()) {
        if (drop-- <= 0) break;
        this.ended.delete(id);
      }
    }
    this.ended.set(row.id, { row, until: this.clock.now() + ENDED_KEPT_MS });
  }

  abortLocal(requestId: string): boolean {
    const r = this.running.get(requestId);
    if (r === undefined) return false;
    r.abort.abort(new Error('cancelled'));
    return true;
  }

  /** The origin to give requests queued in this process: this engine's owner while it runs. */
  origin(): string | null {
    return this.stopped ? null : this.owner;
  }

  /** Number of tasks this process is performing. */
  get activeCount(): number {
    return this.running.size;
  }

  /** Polls at once (0: woken by local work), or after `ms` of the clock's time (work another server queued). */
  private schedule(ms: number): void {
    this.cancelPoll?.();
    this.cancelPoll = armRound(this.clock, ms, () => {
      this.cancelPoll = undefined;
      this.inFlight = this.poll();
    });
  }

  private async poll(): Promise<void> {
    if (this.stopped || this.polling) return;
    this.polling = true;
    let claimedAny = false;
    try {
      if (this.clock.now() - this.lastRecovery > this.lease.leaseMs / 2) await this.recover(false);
      const free = this.config.concurrency - this.running.size;
      // Without its lease this process may own nothing: it waits for the keeper to take it again.
      const held = this.lease.held();
      if (!held) this.lease.whenRenewed(this.pollAgain);
      if (free > 0 && held) {
        const rows = await this.store.claim(this.owner, free, this.clock.date(), this.lease.leaseMs, this.config.affinityMs);
        claimedAny = rows.length > 0;
        for (const row of rows) this.launch(row);
      }
    } catch (err) {
      this.log.error('engine poll failed', { err: String(err) });
    } finally {
      this.polling = false;
      const more = this.again || (claimedAny && this.running.size < this.config.concurrency);
      this.again = false;
      if (!this.stopped) this.schedule(more ? 0 : this.config.pollMs);
    }
  }

  private launch(row: RequestRow): void {
    const abort = new AbortController();
    const done = this.perform(row, abort.signal)
      .catch((err: unknown) => {
        this.log.error('task bookkeeping failed', { requestId: row.id, err: String(err) });
      })
      .finally(() => {
        this.running.delete(row.id);
        this.finishing.delete(row.id);
        this.metrics.tasksRunning.set(this.running.size);
        // A slot is free, and a task on the same component may now be claimable.
        this.wake();
      });
    this.running.set(row.id, { abort, done, row });
    this.metrics.tasksRunning.set(this.running.size);
  }

  private async resolve(name: string): Promise<SystemDescriptor & { id: number }> {
    const system = await this.systems.get(name);
    if (system === null) throw new DriverError('NotFound', `system "${name}" is no longer registered`);
    return system;
  }

  private async perform(row: RequestRow, signal: AbortSignal): Promise<void> {
    const log = this.log.child({ requestId: row.id, operation: row.operation, system: row.systemName });
    const started = this.clock.now();
    log.info('task started');
    const stored = JSON.parse(row.task) as StoredTask;
    let result: TaskResult | undefined;
    let failure: DriverError | undefined;
    let systemId = 0;
    let componentRow: InstalledComponent | null = null;
    try {
      const system = await this.resolve(row.systemName);
      systemId = system.id;
      const driver = this.drivers.get(system.driver);
      if (driver === undefined) throw new DriverError('Internal', `no driver "${system.driver}" in this server`);
      let task: Task;
      if (stored.operation === 'Copy') {
        task = { ...stored, sourceSystem: stored.sourceSystem === undefined ? undefined : await this.resolve(stored.sourceSystem) };
      } else if (stored.operation === 'Delete') {
        task = stored;
      } else {
        task = stored;
        componentRow = await this.components.read(system.id, stored.component);
      }
      result = await driver.execute(task, {
        system,
        repositories: await this.systems.repositoryLocations(),
        component: componentRecord(componentRow),
        signal,
        requestId: row.id,
      });
    } catch (err) {
      failure = err instanceof DriverError ? err : new DriverError('Internal', (err as Error).message ?? String(err), { cause: err });
      if (signal.aborted && failure.type !== 'Cancelled') failure = new DriverError('Cancelled', `cancelled: ${String((signal.reason as Error | undefined)?.message ?? 'aborted')}`, { output: failure.output });
    }
    const ended = this.clock.date();
    const outcome = failure === undefined ? 'success' : 'failure';
    this.metrics.taskDuration.labels(row.operation, outcome).observe((ended.getTime() - started) / 1000);
    // From here the row leaves IN_PROGRESS: a renewal that no longer finds it has not lost it.
    this.finishing.add(row.id);
    // The request's end, the resource model and the callback, in one
    // group-committed transaction that holds only if the lease is still ours.
    const end = {
      status: failure === undefined ? 'COMPLETED_SUCCESS' : failure.type === 'OutcomeUnknown' ? 'UNKNOWN' : 'COMPLETED_FAILURE',
      message: failure === undefined ? null : failure.message,
      output: tail(failure === undefined ? (result?.output ?? '') : failure.output),
      endedAt: ended,
    } as const;
    const statements: Write[] = [this.store.finishStatement(row.id, this.owner, end)];
    if (failure === undefined && result !== undefined && stored.operation !== 'Copy' && stored.operation !== 'Delete') {
      statements.push(
        ...softwareResultStatements(componentRow, {
          systemId,
          component: stored.component,
          operation: stored.operation,
          requestedVersion: stored.version,
          parameters: stored.parameters,
          result,
          requestId: row.id,
          at: ended,
        }),
      );
    }
    if (row.callbackUrl !== null) statements.push(callbackStatement(row.id, row.callbackUrl, ended));
    if (!(await this.record(row.id, statements))) {
      log.warn('task finished after its request was taken from this process (its lease ran out while it ran); outcome not recorded', { outcome });
      return;
    }
    this.remember({ ...row, ...end, leaseOwner: null, leaseExpiresAt: null });
    this.completions.notify(row.id);
    if (row.callbackUrl !== null) this.callbacks.wake();
    if (failure === undefined) log.info('task succeeded', { ms: ended.getTime() - started });
    else log.warn('task failed', { ms: ended.getTime() - started, type: failure.type, message: failure.message });
  }

  /**
   * Commits a request's end, fenced by this process's ownership. When the
   * fence refuses it because this process's node lease ran out while the
   * task ran, and the request is still this process's (nobody recovered it
   * meanwhile), the end is recorded once the keeper holds a lease again.
   * False: the request was taken from this process; nothing was written.
   */
  private async record(requestId: string, statements: readonly Write[]): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        await groupCommitter(this.dataSource, 'provisioning').write(statements);
        return true;
      } catch (err) {
        if (!(err instanceof WriteConflict)) throw err;
        if (attempt > 0 || (await this.store.held(this.owner, [requestId])).kept.length === 0) return false;
        await this.lease.renewNow();
        if (!this.lease.held()) return false;
      }
    }
  }

  /**
   * After each renewal of the node lease: tasks whose request is no longer
   * this process's (recovered elsewhere while it was paused) or whose
   * cancellation was asked for are aborted.
   */
  private async review(): Promise<void> {
    if (this.running.size === 0) return;
    try {
      const ids = [...this.running.keys()];
      const { kept, cancel } = await this.store.held(this.owner, ids);
      for (const id of cancel) this.abortLocal(id);
      const keptSet = new Set(kept);
      for (const id of ids) {
        if (!keptSet.has(id) && this.running.has(id) && !this.finishing.has(id)) {
          this.log.warn('request taken from this process (its lease ran out); aborting task', { requestId: id });
          this.abortLocal(id);
        }
      }
    } catch (err) {
      this.log.warn('looking at the running requests\' rows failed; the next renewal looks again', { err: String(err) });
    }
  }

  /**
   * Marks lost requests UNKNOWN: expired leases, and at start-up also the
   * leases of this host's processes that are gone (a crash and restart need
   * not wait for the lease to run out).
   */
  private async recover(atStart: boolean): Promise<void> {
    this.lastRecovery = this.clock.now();
    // Without its own lease this process cannot tell others' lost work from its own.
    if (!this.lease.held()) return;
    const dead = atStart ? deadLocalOwners(await this.store.ownersLike(localOwnerPattern()), this.owner) : [];
    const lost = await this.store.findLost(this.clock.date(), dead);
    for (const row of lost) {
      const now = this.clock.date();
      const marked = await transaction(this.dataSource, async (manager) => {
        const ok = await this.store.markUnknown(manager, row, `the worker performing this task was lost (lease held by ${row.leaseOwner ?? '?'}); the outcome is unknown`, now, row.leaseOwner !== null && dead.includes(row.leaseOwner));
        if (ok && row.callbackUrl !== null) await queueCallback(manager, row.id, row.callbackUrl, now);
        return ok;
      });
      if (marked) this.log.warn('request recovered as UNKNOWN', { requestId: row.id, leaseOwner: row.leaseOwner });
    }
    if (lost.some((r) => r.callbackUrl !== null)) this.callbacks.wake();
  }
}
