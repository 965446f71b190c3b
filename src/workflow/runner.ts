/**
 * The runner: claims RUNNING instances for this process, like provisioning
 * requests and work orders (the row carries the process's owner id and is
 * its own while its node lease holds: src/leases/keeper.ts), runs them on
 * the interpreter to their end, and lets go of them at shutdown. Every
 * commit of an instance's rows is fenced by that ownership, so several
 * processes sharing one MySQL database never run one instance in two
 * places: a process paused past its lease, whose instance another took
 * over, has its first write refused and stops the instance here. A crashed
 * process's instances are resumed by whoever claims them next; an instance
 * whose servers died running it `crashLoopLimit` times in a row is
 * SUSPENDED instead of resumed again.
 */
import type { DataSource } from 'typeorm';
import type { InstanceStatus } from '../../entities';
import type { Principal } from '../auth/principal';
import type { VariableValue } from '../bpel/values';
import { deserializeValue, serializeValue, standalone } from '../bpel/xpath';
import { armRound, type Clock } from '../clock';
import type { Config } from '../config';
import { WriteConflict, type SqlWrite } from '../db/group-commit';
import { exclusive, execute, toSqlDate } from '../db/sql';
import { deadLocalOwners, localOwnerPattern } from '../lease';
import type { LeaseKeeper } from '../leases/keeper';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import type { CompiledProcess, ProcessDefinitions } from './definitions';
import { serializeFault } from './fault-codec';
import { INPUT_SCOPE, InstanceStore } from './instance-store';
import { Detached, Interpreter, type OperationMessages, type WorkflowObserver } from './interpreter';
import type { MessageBox } from './message-box';
import type { PartnerInvokers } from './partners';
import { INSTANCE_FENCE, WORKFLOW_SQL } from './sql';

export interface WorkflowSettings {
  readonly pollMs: number;
  readonly maxInstances: number;
  /** What a plan may use, the crash-loop limit and the retention of finished instances (docs/operations.md). */
  readonly planLimits: Config['planLimits'];
  /** How long a message for an instance not there yet is kept (0: refused); default 30 s. */
  readonly messageKeepMs?: number;
}

/** What this process knows of an instance it has just created. */
export interface Created {
  readonly definitionId: number;
  readonly startedBy: string;
  /** The serialized input message, if any. */
  readonly input: string | undefined;
  /** The same message as the caller gave it (values are never changed in place): not parsed back from `input`. */
  readonly value?: VariableValue;
  /** `partnerLink/operation` the input was sent to, when it came to a process endpoint. */
  readonly operation?: string;
}

const operationMessagesByPlan = new WeakMap<CompiledProcess, OperationMessages>();

/** The messages of a compiled plan's operations, each looked up in its WSDLs once (every receive and invoke of every instance asks). */
function operationMessagesOf(compiled: CompiledProcess): OperationMessages {
  let lookup = operationMessagesByPlan.get(compiled);
  if (lookup !== undefined) return lookup;
  const known = new Map<string, ReturnType<OperationMessages>>();
  lookup = (partnerLink, role, name) => {
    const key = `${partnerLink}\u0000${role}\u0000${name}`;
    if (known.has(key)) return known.get(key);
    const link = compiled.process.partnerLinks.find((p) => p.name === partnerLink);
    const roleName = role === 'my' ? link?.myRole : link?.partnerRole;
    const info = link === undefined || roleName === undefined ? undefined : compiled.catalog.portTypeOf(link.partnerLinkType, roleName)?.operations.get(name);
    const messages = info === undefined ? undefined : { ...(info.input !== undefined ? { input: info.input } : {}), ...(info.output !== undefined ? { output: info.output } : {}) };
    known.set(key, messages);
    return messages;
  };
  operationMessagesByPlan.set(compiled, lookup);
  return lookup;
}

/** A commit refused before it was sent: this process knows its node lease is not held. */
class LeaseNotHeld extends Error {
  override readonly name = 'LeaseNotHeld';
}

/** Instances claimed by one statement. */
const CLAIM_CHUNK = 200;

export class InstanceRunner {
  private readonly running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  /** Cancels the next poll, when one is armed. */
  private cancelPoll: (() => void) | undefined;
  /** {@link wake} as one function, handed to the lease keeper when a poll found the lease not held. */
  private readonly pollAgain = (): void => this.wake();
  /** Stops listening to the lease keeper. */
  private unsubscribe: Array<() => void> = [];
  /**
   * Instances this process stopped running without ending them (its lease
   * was lost, a write was refused) may still be its own: the next claims
   * look at its own rows too.
   */
  private reclaimOwn = false;
  /** Instances whose run stopped on a refused write (see {@link lostHere}). */
  private readonly lost = new Set<string>();
  private stopped = true;
  private polling = false;
  /** Woken while a poll was under way: the next poll runs at once. */
  private again = false;
  private inFlight: Promise<void> = Promise.resolve();
  /** Leased starts whose insert is under way (they count against maxInstances). */
  private starting = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly definitions: ProcessDefinitions,
    /** Reaches the partners each instance invokes. */
    private readonly invokers: PartnerInvokers,
    private readonly settings: WorkflowSettings,
    private readonly clock: Clock,
    /** This process's node lease: the instances it claims are its own while it holds. */
    private readonly lease: LeaseKeeper,
    private readonly log: Logger,
    private readonly observer: WorkflowObserver,
    /** Filled with instance id → process name for the instances this process runs (the notifier reads it). */
    private readonly processNames: Map<string, string>,
    private readonly messages: MessageBox,
    private readonly metrics?: Metrics,
  ) {}

  /** The lease owner this process writes into the instances it runs. */
  get owner(): string {
    return this.lease.owner;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.unsubscribe = [
      // Until the keeper holds a lease again, every write of this process's instances is refused;
      // those that stop on it, and are still this process's once it does, are claimed again.
      this.lease.onLost(() => {
        this.reclaimOwn = true;
      }),
      this.lease.onRenewed(() => void this.review()),
    ];
    this.schedule(0);
  }

  /** Stops claiming instances and stops running ones (they stay RUNNING and are resumed later). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelPoll?.();
    this.cancelPoll = undefined;
    for (const stop of this.unsubscribe.splice(0)) stop();
    await this.inFlight;
    const held = [...this.running.keys()];
    for (const r of this.running.values()) r.abort.abort(new Detached('shutdown'));
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
    // Let go of them in order: the next claim is a plain resume, not a recovery from a crash.
    for (let i = 0; i < held.length; i += CLAIM_CHUNK) {
      const chunk = held.slice(i, i + CLAIM_CHUNK);
      try {
        await execute(this.dataSource, WORKFLOW_SQL.releaseInstances(chunk.length), [this.owner, ...chunk]);
      } catch (err) {
        this.log.warn('releasing instances at shutdown failed; their leases run out instead', { err: String(err) });
      }
    }
  }

  /** Polls now for instances to claim (after the poll under way, if any; nothing while stopped). */
  wake(): void {
    if (this.stopped) return;
    if (this.polling) this.again = true;
    else this.schedule(0);
  }

  /**
   * Makes room for an instance about to be created already leased to this
   * runner, when there is room; false when it must wait for a claim. A
   * reservation is ended by {@link release}.
   */
  reserve(): boolean {
    if (this.stopped || !this.lease.held() || this.running.size + this.starting >= this.settings.maxInstances) return false;
    this.starting++;
    return true;
  }

  release(): void {
    this.starting--;
  }

  /** Until when an instance created or claimed now is recorded as held (the node lease decides). */
  leaseUntil(now: Date): Date {
    return new Date(now.getTime() + this.lease.leaseMs);
  }

  /**
   * Runs an instance this process has just created leased to itself; when
   * the runner stopped meanwhile, its lease runs out and whoever runs next
   * claims it.
   */
  runCreated(instanceId: string, created: Created): void {
    if (this.stopped) this.wake();
    else this.launch(instanceId, created);
  }

  /** Stops the instance's run here, if it runs here, and waits for it to end. */
  async abortLocal(instanceId: string, reason: Error): Promise<void> {
    const local = this.running.get(instanceId);
    local?.abort.abort(reason);
    if (local !== undefined) await local.done;
  }

  /** Number of instances this process is executing now. */
  get activeCount(): number {
    return this.running.size;
  }

  /** Polls at once (0: woken by local work), or after `ms` of the clock's time (instances another server left). */
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
    try {
      const now = this.clock.date();
      const free = this.settings.maxInstances - this.running.size;
      // Without its lease this process owns nothing it could claim: it waits for the keeper to take it again.
      const held = this.lease.held();
      if (!held) this.lease.whenRenewed(this.pollAgain);
      if (free > 0 && held) {
        const own = this.reclaimOwn;
        this.reclaimOwn = false;
        const owners = (await this.dataSource.query(WORKFLOW_SQL.runningOwnersLike, [localOwnerPattern()])) as Array<{ leaseOwner: string }>;
        const dead = deadLocalOwners(owners.map((o) => o.leaseOwner), this.owner);
        const ownParam = own ? [this.owner] : [];
        const candidates = (await this.dataSource.query(WORKFLOW_SQL.claimCandidates(dead.length, own), [toSqlDate(now), ...ownParam, ...dead, free])) as Array<{ id: string; leaseOwner: string | null }>;
        // One conditional update claims them all; a candidate another process took meanwhile keeps its owner.
        const ids = candidates.filter((c) => !this.running.has(c.id)).map((c) => c.id);
        for (let i = 0; i < ids.length; i += CLAIM_CHUNK) {
          const chunk = ids.slice(i, i + CLAIM_CHUNK);
          // Taking an instance from a holder that did not let go of it (a lease run out, a dead
          // process) counts as a recovery; recoveries is assigned first, while leaseOwner is still the old one.
          await exclusive(this.dataSource, () =>
            execute(this.dataSource, WORKFLOW_SQL.claimInstances(chunk.length, dead.length, own), [this.owner, this.owner, toSqlDate(this.leaseUntil(now)), ...chunk, toSqlDate(now), ...ownParam, ...dead]),
          );
          const mine = (await this.dataSource.query(WORKFLOW_SQL.heldWithRecoveries(chunk.length), [this.owner, ...chunk])) as Array<{ id: string; recoveries: unknown }>;
          for (const { id, recoveries } of mine) {
            if (this.running.has(id)) continue;
            if (Number(recoveries) >= this.settings.planLimits.crashLoopLimit) await this.suspend(id, Number(recoveries));
            else this.launch(id);
          }
        }
      }
    } catch (err) {
      this.log.error('workflow poll failed', { err: String(err) });
    } finally {
      this.polling = false;
      const more = this.again;
      this.again = false;
      if (!this.stopped) this.schedule(more ? 0 : this.settings.pollMs);
    }
  }

  /**
   * An instance its servers died running `crashLoopLimit` times in a row is
   * not resumed blindly: it is SUSPENDED until an admin resumes or cancels it.
   */
  private async suspend(instanceId: string, recoveries: number): Promise<void> {
    const changed = await exclusive(this.dataSource, () =>
      execute(this.dataSource, WORKFLOW_SQL.suspend, [instanceId, this.owner]),
    );
    if (changed !== 1) return;
    this.messages.signals.answered(instanceId);
    this.metrics?.workflowSuspended.inc();
    this.log.error('instance suspended: its server died while running it too many times in a row; resume or cancel it (provisor plan resume|cancel)', {
      instanceId,
      recoveries,
      limit: this.settings.planLimits.crashLoopLimit,
    });
  }

  private launch(instanceId: string, created?: Created): void {
    const abort = new AbortController();
    const done = this.execute(instanceId, abort.signal, created)
      .catch((err: unknown) => {
        if (err instanceof WriteConflict || err instanceof LeaseNotHeld) this.lostHere(instanceId);
        else this.log.error('instance run failed', { instanceId, err: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      })
      .finally(() => {
        this.running.delete(instanceId);
        this.processNames.delete(instanceId);
        if (this.lost.delete(instanceId)) {
          this.reclaimOwn = true;
          this.wake();
        }
      });
    this.running.set(instanceId, { abort, done });
  }

  /**
   * Runs an instance to its end. `created` is given for an instance this
   * process has just created: nothing of it needs reading back.
   */
  private async execute(instanceId: string, signal: AbortSignal, created?: Created): Promise<void> {
    let row: { definitionId: unknown; startedBy: string; cancelRequested: unknown } | undefined;
    if (created === undefined) {
      const rows = (await this.dataSource.query(WORKFLOW_SQL.instanceToRun, [instanceId])) as Array<{ definitionId: unknown; startedBy: string; cancelRequested: unknown }>;
      row = rows[0];
    } else {
      row = { definitionId: created.definitionId, startedBy: created.startedBy, cancelRequested: 0 };
    }
    if (row === undefined) return;
    const compiled = await this.definitions.compile(Number(row.definitionId));
    const store = new InstanceStore(
      this.dataSource,
      instanceId,
      () => this.fence(instanceId),
      (err) => {
        if (err instanceof WriteConflict || err instanceof LeaseNotHeld) this.lostHere(instanceId);
      },
      () => this.messages.signals.answered(instanceId),
    );
    if (created === undefined) await store.load();
    else if (created.input !== undefined) store.setVariable(InstanceStore.variableKey(INPUT_SCOPE, 'message'), created.input);
    if (created?.operation !== undefined) store.setVariable(InstanceStore.variableKey(INPUT_SCOPE, 'operation'), serializeValue({ kind: 'simple', value: created.operation }));
    const input = store.variables.get(InstanceStore.variableKey(INPUT_SCOPE, 'message'));
    const operation = store.variables.get(InstanceStore.variableKey(INPUT_SCOPE, 'operation'));
    const initialOperation = operation === undefined ? undefined : deserializeValue(operation);
    const operationMessages = operationMessagesOf(compiled);
    const log = this.log.child({ instanceId, process: compiled.definition.name });
    this.processNames.set(instanceId, compiled.definition.name);
    const principal: Principal = { userId: 0, name: row.startedBy, role: 'engine', accountId: null, level: 0 };
    const interpreter = new Interpreter(compiled.process, store, {
      instanceId,
      invoker: this.invokers.forInstance(compiled, principal, log),
      observer: this.observer,
      clock: this.clock,
      log,
      initialMessage: created?.value !== undefined && standalone(created.value) ? created.value : input === undefined ? undefined : deserializeValue(input),
      limits: this.settings.planLimits,
      ...(initialOperation?.kind === 'simple' ? { initialOperation: String(initialOperation.value) } : {}),
      messages: this.messages,
      properties: compiled.catalog.propertyCatalog,
      operationMessages,
      messageParts: (message) => compiled.catalog.partDefinitions(message),
    });
    if (Number(row.cancelRequested) > 0) {
      await this.finish(store, 'TERMINATED', null, null);
      return;
    }
    log.info('instance running');
    let outcome: Awaited<ReturnType<Interpreter['run']>>;
    try {
      outcome = await interpreter.run(signal);
    } catch (err) {
      // A commit failed (or the engine broke): nothing more of this run may land.
      store.discard();
      throw err;
    }
    if (signal.aborted && signal.reason instanceof Detached) {
      await this.leave(store, signal);
      return;
    }
    if (outcome.status === 'TERMINATED') {
      const cancel = Number(((await this.dataSource.query(WORKFLOW_SQL.cancelRequested, [instanceId])) as Array<{ cancelRequested: unknown }>)[0]?.cancelRequested ?? 0);
      if (cancel === 2) await interpreter.compensateProcess(new AbortController().signal);
    }
    if (outcome.status === 'FAULTED') {
      await this.finish(store, 'FAULTED', serializeFault(outcome.fault), outcome.path);
      log.warn('instance faulted', { fault: outcome.fault.message, path: outcome.path });
    } else {
      await this.finish(store, outcome.status, null, null);
      log.info('instance ended', { status: outcome.status });
    }
  }

  /**
   * An instance stops running here without ending: at shutdown what it wrote
   * behind is committed (the next server resumes from there, with less to
   * replay); when its lease was lost, none of it may land.
   */
  private async leave(store: InstanceStore, signal: AbortSignal): Promise<void> {
    if (signal.aborted && signal.reason instanceof Detached && signal.reason.message === 'lease lost') {
      store.discard();
      return;
    }
    try {
      await store.durable();
    } catch (err) {
      this.log.warn('writing an instance\'s last transitions at shutdown failed; it resumes from its earlier state', { instanceId: store.instanceId, err: String(err) });
    }
  }

  /** Records the instance's end in the same transaction as its last transitions. */
  private async finish(store: InstanceStore, status: InstanceStatus, fault: string | null, faultPath: string | null): Promise<void> {
    const instanceId = store.instanceId;
    const at = this.clock.date();
    const [changed] = await store.durable([
      { sql: WORKFLOW_SQL.finishInstance, params: [status, fault, faultPath, toSqlDate(at), instanceId, this.owner], table: 'process_instance', onlyRow: instanceId },
    ]);
    // Only the holder of the lease reports the end, once it is recorded.
    if (changed?.changed === 1) {
      this.observer.instance({ instanceId, status, at });
      this.messages.signals.answered(instanceId);
    }
  }

  /**
   * The statement every commit of an instance's rows carries first: the
   * commit lands only while this process holds the instance and its node
   * lease holds (in the database, at the commit). A process that knows its
   * lease is not held (its clock ran past the last renewal: it was paused)
   * refuses the commit at once, without sending it: a node resumed with
   * many instances stops them all without a refused transaction each.
   */
  private fence(instanceId: string): SqlWrite {
    if (!this.lease.held()) throw new LeaseNotHeld(`the node lease of ${this.owner} is not held`);
    const now = this.clock.now();
    const expiresAt = toSqlDate(new Date(now + this.lease.leaseMs));
    const at = toSqlDate(new Date(now));
    return {
      sql: WORKFLOW_SQL.fenceInstance,
      params: [expiresAt, instanceId, this.owner, this.owner, at],
      table: 'process_instance',
      expectChanged: 1,
      guard: { shape: INSTANCE_FENCE, key: instanceId, shared: [expiresAt, this.owner, at] },
    };
  }

  /**
   * A write of an instance was refused by its fence: another process took it
   * over while this one was paused or cut off, or this one's lease ran out
   * meanwhile. The run stops here with nothing more written; if the
   * instance is still this process's once its lease is taken again, it is
   * claimed again and resumed from its rows.
   */
  private lostHere(instanceId: string): void {
    if (this.lost.has(instanceId)) return;
    this.lost.add(instanceId);
    // Stopped at once, even while it waits: nothing more of this run may be written or sent.
    this.running.get(instanceId)?.abort.abort(new Detached('lease lost'));
    this.log.warn('instance stopped here: its lease was lost (this process was paused or cut off from the database for longer than its lease), so nothing more of this run is written; it goes on from its rows wherever it is claimed', { instanceId });
  }

  /**
   * After each renewal of the node lease: the instances running here that
   * are no longer this process's (taken over while it was paused) stop, and
   * those whose cancellation was asked for elsewhere are cancelled.
   */
  private async review(): Promise<void> {
    if (this.running.size === 0 || this.stopped) return;
    const ids = [...this.running.keys()];
    try {
      const rows = (await this.dataSource.query(WORKFLOW_SQL.leaseStates(ids.length), ids)) as Array<{ id: string; leaseOwner: string | null; cancelRequested: unknown }>;
      for (const r of rows) {
        const local = this.running.get(r.id);
        if (local === undefined) continue;
        if (Number(r.cancelRequested) > 0) local.abort.abort(new Error('cancelled'));
        else if (r.leaseOwner !== this.owner) local.abort.abort(new Detached('lease lost'));
      }
    } catch (err) {
      this.log.warn('looking at the running instances\' rows failed; the next renewal looks again', { err: String(err) });
    }
  }
}
