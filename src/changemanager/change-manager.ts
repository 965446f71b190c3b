/**
 * The ChangeManagerService's core: requests for change are accepted at once
 * (a durable PLANNING row, its id answered), planned behind the answer from
 * a snapshot of the model and the stored policies, and — unless a dry run —
 * deployed as a WS-BPEL process in this server's workflow runtime, started
 * and followed to their end. The database is the queue: a change left in
 * PLANNING by a stopped or crashed server is planned by the next one, a
 * PLANNED one is launched, a RUNNING one followed.
 *
 * States and moves (each a guarded write of change-store.ts):
 *
 * | from | to | by |
 * |---|---|---|
 * | (new) | PLANNING | submit |
 * | PLANNING | PLANNED, REJECTED | planning |
 * | PLANNED (not a dry run) | RUNNING | launch (deploy + start) |
 * | PLANNED | FAILED | launch, when the plan cannot be deployed |
 * | RUNNING | COMPLETED, FAILED | the instance's end |
 * | PLANNING, PLANNED, RUNNING | CANCELLED | decide: cancel |
 * | PLANNED, REJECTED | PLANNING | decide: replan |
 * | PLANNED (dry run) | PLANNED (to run) | decide: continue |
 */
import crypto from 'node:crypto';
import { armRound, type Clock } from '../clock';
import { clipInput, ProvisorError } from '../errors';
import { leaseOwnerId } from '../lease';
import type { Logger } from '../log';
import type { WorkflowRuntime } from '../workflow/runtime';
import type { ChangeRequest, ChangeState, FragmentUse, PlanOutcome } from './change-plan';
import { ChangeStore, MAX_PLAN_CHARS, type ChangeRecord, type ChangeSummary } from './change-store';
import type { PlanningModel } from './planning-model';
import { validateChangeRequest } from './planner/validate-request';
import { PolicyStore, type NewPolicy, type StoredPolicy } from './policy-store';
import { checkChangeRequest, encodeChangeRequest, requestDigest } from './request-rules';

/** What the change manager needs from the planner and the model (src/changemanager/planner, the model's loader). */
export interface ChangePlanner {
  /** The snapshot a plan starts from, taken now. */
  loadModel(): Promise<PlanningModel>;
  /** Plans within `timeBudgetMs`; a request it cannot plan is a REJECTED outcome, not an exception. */
  plan(input: PlanningInput): Promise<PlanOutcome>;
  /** Lets go of what it holds (a worker thread). */
  close?(): Promise<void>;
}

export interface PlanningInput {
  readonly changeId: string;
  readonly model: PlanningModel;
  readonly request: ChangeRequest;
  /** The admins' policies in force (the planner adds its built-in ones). */
  readonly policies: readonly StoredPolicy[];
  readonly timeBudgetMs: number;
  /** Derived from the change id: the same change plans the same way from the same model. */
  readonly seed: number;
}

/** The workflow runtime's operations the change manager uses (in-process; no SOAP round trip). */
export type ChangeWorkflow = Pick<WorkflowRuntime, 'deploy' | 'start' | 'status' | 'cancel'>;

export interface ChangeManagerSettings {
  readonly pollMs: number;
  readonly planTimeBudgetMs: number;
  readonly leaseMs: number;
  readonly maxPlanAttempts: number;
}

export const DECISIONS = ['continue', 'cancel', 'replan'] as const;
export type Decision = (typeof DECISIONS)[number];

/** A change with its plan, as GetChangePlan answers it. */
export interface ChangeView extends ChangeRecord {
  /** The plan (PLANNED and later), or what was built before a rejection; undefined while planning. */
  readonly plan: PlanOutcome | undefined;
}

export interface Submission {
  readonly idempotencyKey?: string;
  /** The WS-Addressing MessageID; the explicit key wins. */
  readonly messageId?: string;
}

/**
 * Something that happened elsewhere which the change manager should look at
 * at once (a process instance ended): made before both, handed to the
 * change manager when it is built, fired by whoever sees the event.
 */
export class WakeSignal {
  private readonly listeners: Array<() => void> = [];
  listen(listener: () => void): void {
    this.listeners.push(listener);
  }
  fire(): void {
    for (const listener of this.listeners) listener();
  }
}

/** Changes planned, launched or followed in one pass of the queue. */
const BATCH = 50;

export class ChangeManager {
  readonly store: ChangeStore;
  readonly policies: PolicyStore;
  private readonly owner = leaseOwnerId('cm:');
  private stopped = true;
  private cancelTimer: (() => void) | undefined;
  private pass: Promise<void> = Promise.resolve();
  private passRunning = false;
  private wakeAgain = false;

  constructor(
    store: ChangeStore,
    policies: PolicyStore,
    private readonly planner: ChangePlanner,
    private readonly workflow: ChangeWorkflow,
    private readonly settings: ChangeManagerSettings,
    private readonly clock: Clock,
    private readonly log: Logger,
    /** Fired when a process instance ends: its change is followed at once. */
    instanceEnded?: WakeSignal,
  ) {
    this.store = store;
    this.policies = policies;
    instanceEnded?.listen(() => this.wake());
  }

  // ---- the service's operations ------------------------------------------

  /**
   * Accepts a request for change: checked, stored as PLANNING, its id
   * answered; planning follows. A retry with the same key (or MessageID)
   * answers the first id; the same key with another request is refused.
   */
  async submit(request: ChangeRequest, caller: string, submission: Submission = {}): Promise<string> {
    checkChangeRequest(request);
    const issues = validateChangeRequest(request);
    if (issues.length > 0) throw new ProvisorError('InvalidField', issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues[0]?.path);
    const encoded = encodeChangeRequest(request);
    const digest = requestDigest(encoded);
    const idempotencyKey = (submission.idempotencyKey ?? submission.messageId)?.slice(0, 255);
    const inserted = await this.store.insert(
      { id: crypto.randomUUID(), caller, idempotencyKey, encodedRequest: encoded, digest, priority: request.priority ?? 0, dryRun: request.dryRun === true, deadline: request.deadline },
      this.clock.date(),
    );
    if (!inserted.created) {
      if (inserted.digest !== digest) {
        throw new ProvisorError('IdempotencyConflict', `${submission.idempotencyKey !== undefined ? 'idempotencyKey' : 'MessageID'} "${clipInput(idempotencyKey ?? '')}" was already used for another request for change (${inserted.id})`, submission.idempotencyKey !== undefined ? 'idempotencyKey' : undefined);
      }
      this.log.info('change request repeated', { changeId: inserted.id, caller });
      return inserted.id;
    }
    this.log.info('change request accepted', { changeId: inserted.id, caller, changes: request.changes.length, dryRun: request.dryRun === true });
    this.wake();
    return inserted.id;
  }

  /** A change with its plan; UnknownChange when there is none. */
  async get(changeId: string): Promise<ChangeView> {
    const record = await this.store.get(changeId);
    if (record === undefined) throw new ProvisorError('UnknownChange', `there is no change ${clipInput(changeId)}`, 'changeId');
    return { ...record, plan: record.state === 'PLANNING' ? undefined : await this.store.plan(changeId) };
  }

  async list(filter: { state?: ChangeState; offset?: number; limit?: number } = {}): Promise<{ changes: ChangeSummary[]; total: number; offset: number; limit: number }> {
    const offset = filter.offset ?? 0;
    const limit = filter.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new ProvisorError('InvalidField', `limit must be from 1 to 1000, got ${limit}`, 'limit');
    if (!Number.isInteger(offset) || offset < 0 || offset > 1_000_000_000) throw new ProvisorError('InvalidField', `offset must be 0 or more, got ${offset}`, 'offset');
    const page = await this.store.list({ state: filter.state, offset, limit });
    return { ...page, offset, limit };
  }

  /**
   * A caller's decision on a change: `cancel` (PLANNING, PLANNED or RUNNING;
   * a running instance is cancelled, its completed tasks undone first when
   * `rollback`), `replan` (PLANNED or REJECTED: planned again from the model
   * as it is now) or `continue` (a dry run's plan is run as it is; a running
   * change goes on). Answers the state afterwards.
   */
  async decide(changeId: string, decision: Decision, caller: string, options: { reason?: string; rollback?: boolean } = {}): Promise<ChangeState> {
    const change = await this.get(changeId);
    const refuse = (state: ChangeState, allowed: string): ProvisorError => new ProvisorError('InvalidState', `change ${changeId} is ${state}: ${decision} applies only to a change that is ${allowed}`, 'decision');
    const now = this.clock.date();
    const why = `${decision === 'cancel' ? 'cancelled' : decision} by ${caller}${options.reason === undefined ? '' : `: ${options.reason}`}`;
    switch (decision) {
      case 'cancel': {
        if (change.state !== 'PLANNING' && change.state !== 'PLANNED' && change.state !== 'RUNNING') throw refuse(change.state, 'PLANNING, PLANNED or RUNNING');
        if (!(await this.store.cancel(changeId, change.state, why, now))) return this.decide(changeId, decision, caller, options);
        if (change.state === 'RUNNING' && change.instanceId !== null) {
          try {
            await this.workflow.cancel(change.instanceId, options.rollback === true);
          } catch (err) {
            this.log.error('the instance of a cancelled change could not be cancelled', { changeId, instanceId: change.instanceId, err: String(err) });
          }
        }
        this.log.info('change cancelled', { changeId, from: change.state, caller });
        return 'CANCELLED';
      }
      case 'replan': {
        if (change.state !== 'PLANNED' && change.state !== 'REJECTED') throw refuse(change.state, 'PLANNED or REJECTED');
        if (!(await this.store.replan(changeId, change.state, now))) return this.decide(changeId, decision, caller, options);
        this.log.info('change to be planned again', { changeId, caller });
        this.wake();
        return 'PLANNING';
      }
      case 'continue': {
        if (change.state === 'RUNNING') return 'RUNNING';
        if (change.state !== 'PLANNED' || !change.dryRun) throw refuse(change.state, 'RUNNING, or PLANNED as a dry run');
        if (!(await this.store.clearDryRun(changeId, now))) return this.decide(changeId, decision, caller, options);
        this.log.info('dry run to be run', { changeId, caller });
        this.wake();
        return 'PLANNED';
      }
    }
  }

  /** Saved fragments named in a request, with their arguments, as the request carries them; InvalidField naming one not saved. */
  async fragmentUses(uses: ReadonlyArray<{ readonly name: string; readonly arguments: Readonly<Record<string, string>> }>): Promise<FragmentUse[]> {
    const out: FragmentUse[] = [];
    for (const [i, use] of uses.entries()) {
      const stored = await this.policies.fragment(use.name);
      if (stored === undefined) throw new ProvisorError('InvalidField', `fragments/fragment[${i + 1}]: no fragment named "${clipInput(use.name)}" is saved`, `fragments/fragment[${i + 1}]/name`);
      out.push({ fragment: stored.fragment, arguments: use.arguments });
    }
    return out;
  }

  async addPolicy(policy: NewPolicy, caller: string): Promise<StoredPolicy> {
    const added = await this.policies.add(policy, caller, this.clock.date());
    this.log.info('change policy added', { policy: policy.name, kind: policy.kind, caller });
    return added;
  }

  listPolicies(): Promise<StoredPolicy[]> {
    return this.policies.list();
  }

  async removePolicy(name: string, caller: string): Promise<void> {
    await this.policies.remove(name);
    this.log.info('change policy removed', { policy: name, caller });
  }

  // ---- the queue -----------------------------------------------------------

  start(): void {
    this.stopped = false;
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    await this.pass;
    await this.planner.close?.();
  }

  /** Looks at the queue now (after the pass under way, if any). */
  wake(): void {
    if (this.stopped) return;
    if (this.passRunning) {
      this.wakeAgain = true;
      return;
    }
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.passRunning = true;
    this.pass = this.runPass().finally(() => {
      this.passRunning = false;
      if (this.stopped) return;
      if (this.wakeAgain) {
        this.wakeAgain = false;
        this.wake();
      } else this.arm();
    });
  }

  /** The next pass after the poll interval of the clock's time (changes another server queued, launched plans to follow). */
  private arm(): void {
    this.cancelTimer = armRound(this.clock, this.settings.pollMs, () => this.wake());
  }

  /** One pass: plan what waits, launch what is planned, follow what runs. */
  async runPass(): Promise<void> {
    try {
      for (let n = 0; n < BATCH && !this.stopped; n++) {
        const change = await this.store.claimForPlanning(this.owner, this.clock.date(), this.settings.leaseMs);
        if (change === undefined) break;
        await this.planOne(change);
      }
      for (const change of await this.store.toLaunch(BATCH)) {
        if (this.stopped) break;
        await this.launch(change);
      }
      for (const running of await this.store.running(BATCH * 4)) {
        if (this.stopped) break;
        await this.follow(running.id, running.instanceId);
      }
    } catch (err) {
      this.log.error('change queue pass failed; it runs again at the next poll', { err: String(err) });
    }
  }

  private async planOne(change: ChangeRecord): Promise<void> {
    const started = Date.now();
    try {
      const [model, policies] = await Promise.all([this.planner.loadModel(), this.policies.list()]);
      const outcome = await this.planner.plan({
        changeId: change.id,
        model,
        request: change.request,
        policies: policies.filter((p) => p.enabled),
        timeBudgetMs: this.settings.planTimeBudgetMs,
        seed: seedOf(change.id),
      });
      if (JSON.stringify(outcome).length > MAX_PLAN_CHARS) {
        await this.store.rejectUnplanned(change.id, 'PlanTooLarge', `the plan is larger than ${MAX_PLAN_CHARS} characters as JSON: split the request`, this.clock.date());
        return;
      }
      const stored = await this.store.finishPlanning(change.id, this.owner, outcome, this.clock.date());
      if (!stored) {
        this.log.info('plan dropped: the change was cancelled or taken over meanwhile', { changeId: change.id });
        return;
      }
      if (outcome.state === 'PLANNED') {
        this.log.info('change planned', { changeId: change.id, tasks: outcome.tasks.length, makespan: outcome.schedule.makespan, lowerBound: outcome.schedule.lowerBound.makespan, ms: Date.now() - started });
      } else {
        this.log.info('change rejected', { changeId: change.id, code: outcome.code, message: outcome.message, ms: Date.now() - started });
      }
    } catch (err) {
      this.log.error('planning failed', { changeId: change.id, attempt: change.planAttempts, err: String(err) });
      if (change.planAttempts >= this.settings.maxPlanAttempts) {
        const message = err instanceof ProvisorError ? err.message : `planning failed ${change.planAttempts} times; the log has the details`;
        await this.store.rejectUnplanned(change.id, err instanceof ProvisorError ? err.code : 'PlanningFailed', message, this.clock.date());
      } else {
        await this.store.release(change.id, this.owner);
      }
    }
  }

  /** Deploys the plan's process and starts it; the start is keyed by the change, so a launch repeated after a crash finds the same instance. */
  private async launch(change: ChangeRecord): Promise<void> {
    const plan = await this.store.plan(change.id);
    if (plan === undefined || plan.state !== 'PLANNED') {
      await this.store.failLaunch(change.id, 'the change has no plan to run', this.clock.date());
      return;
    }
    let instanceId: string;
    try {
      const deployed = await this.workflow.deploy({ bpel: plan.bpel.document, documents: new Map(Object.entries(plan.bpel.imports)), bindings: [], deployedBy: change.caller });
      instanceId = await this.workflow.start(deployed.name, undefined, change.caller, `change:${change.id}`);
    } catch (err) {
      this.log.error('the plan of a change could not be deployed or started', { changeId: change.id, err: String(err) });
      await this.store.failLaunch(change.id, `its plan could not be deployed or started: ${err instanceof Error ? err.message : String(err)}`, this.clock.date());
      return;
    }
    if (await this.store.markRunning(change.id, plan.bpel.processName, instanceId, this.clock.date())) {
      this.log.info('change running', { changeId: change.id, process: plan.bpel.processName, instanceId });
      return;
    }
    // Cancelled between the read and the start: the instance must not run on.
    this.log.warn('a change was cancelled while its plan started; its instance is cancelled', { changeId: change.id, instanceId });
    await this.workflow.cancel(instanceId, false);
  }

  private async follow(changeId: string, instanceId: string): Promise<void> {
    let status;
    try {
      status = await this.workflow.status(instanceId, { offset: 0, limit: 1 });
    } catch (err) {
      this.log.warn('the instance of a running change cannot be read', { changeId, instanceId, err: String(err) });
      return;
    }
    const now = this.clock.date();
    switch (status.status) {
      case 'RUNNING':
      case 'SUSPENDED':
        return;
      case 'COMPLETED':
        if (await this.store.finishRun(changeId, 'COMPLETED', null, now)) this.log.info('change completed', { changeId, instanceId });
        return;
      case 'FAULTED':
      case 'TERMINATED': {
        const why = status.fault === null ? `its instance ${instanceId} ended ${status.status}` : `${status.fault.name}: ${status.fault.message}${status.fault.activityPath === undefined ? '' : ` (at ${status.fault.activityPath})`}`;
        if (await this.store.finishRun(changeId, 'FAILED', why, now)) this.log.warn('change failed', { changeId, instanceId, why });
        return;
      }
    }
  }
}

/** A 31-bit seed from a change id. */
function seedOf(changeId: string): number {
  return crypto.createHash('sha256').update(changeId).digest().readUInt32BE(0) >>> 1;
}
