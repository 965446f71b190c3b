/**
 * The workflow automation: polls the database for NEW orders, claims them
 * (SKIP LOCKED on MySQL, so several Provisor processes share the work),
 * starts each type's change plan on the workflow engine, and when the plan
 * ends marks the order CLOSED (billed) or FAILED with the failing activity
 * and its cause.
 *
 * Nothing is lost or done twice across a crash: a claim commits the order
 * as IN_PROGRESS with a new attempt number before its plan starts, and the
 * plan is started with the key `workorder:<id>:<attempt>`, so starting it
 * again after a crash returns the same process instance. Orders whose plan
 * has ended are found by joining their instance's row, whoever started it.
 *
 * An order belongs to the process that claimed it for as long as that
 * process's node lease holds (src/leases/keeper.ts), however long its plan
 * takes or waits: only then is it abandoned, and another process adopts it
 * (one guarded update: two adopters cannot both win) and carries on. The
 * automation's moves that end an order are fenced by the lease: a process
 * paused past it, whose order was adopted meanwhile, moves nothing.
 */
import type { DataSource } from 'typeorm';
import { armRound, type Clock } from '../clock';
import { groupCommitter } from '../db/group-commit';
import { toSqlDate } from '../db/sql';
import { WORK_ORDER_SQL } from './sql';
import type { LeaseKeeper } from '../leases/keeper';
import type { Logger } from '../log';
import type { WorkflowRuntime } from '../workflow/runtime';
import type { PlanRunner } from './admin-actions';
import type { ParameterDefinition, ParameterInput } from './api';
import type { OrderToRun } from './queries';
import type { WorkOrderParts } from './service';

export interface AutomationSettings {
  readonly pollMs: number;
  /** Orders claimed per poll. */
  readonly batchSize: number;
  /** An order this process claimed whose plan was not recorded as started this long after its claim (and is not starting now) is started again (same key). */
  readonly restartAfterMs: number;
}

export const AUTOMATION_ACTOR = 'automation';

/** An IN_PROGRESS order whose plan instance has ended, with the plan version it ran and the catalog's digest. */
interface EndedRun {
  readonly id: unknown;
  readonly attempt: unknown;
  readonly instanceId: string;
  readonly status: string;
  readonly planName: string;
  readonly planVersion: unknown;
  readonly ranDigest: string | null;
  readonly deployedBy: string;
  /** Null when the order's type is gone. */
  readonly catalogDigest: string | null;
}
/** Ended orders finished at once. */
const FINISH_CONCURRENCY = 8;

/**
 * What a type's plan is started with: the parts `workOrderId`, `account` and
 * `pool`, then one part per parameter of the type (an optional parameter
 * the order left out as an empty string). A plan without an
 * instance-creating receive gets each part in the variable of its name.
 */
export function planInput(
  definitions: readonly ParameterDefinition[],
  order: { readonly workOrderId: string; readonly account: string; readonly pool: string; readonly parameters: readonly ParameterInput[] },
): Map<string, string> {
  const given = new Map(order.parameters.map((p) => [p.name, p.value]));
  const parts = new Map<string, string>([
    ['workOrderId', order.workOrderId],
    ['account', order.account],
    ['pool', order.pool],
  ]);
  for (const definition of definitions) parts.set(definition.name, given.get(definition.name) ?? '');
  return parts;
}

export class WorkOrderAutomation implements PlanRunner {
  /** Cancels the next poll, when one is armed. */
  private cancelPoll: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  /** {@link wake} as one function, handed to the lease keeper when a poll found the lease not held. */
  private readonly pollAgain = (): void => this.wake();
  private stopped = true;
  private readonly dataSource: DataSource;

  constructor(
    private readonly orders: WorkOrderParts,
    private readonly workflow: WorkflowRuntime,
    private readonly defaultPool: () => string,
    private readonly settings: AutomationSettings,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly lease: LeaseKeeper,
  ) {
    this.dataSource = orders.dataSource;
  }

  /** The orders whose plan this process is starting right now (not to be restarted meanwhile). */
  private readonly starting = new Set<number>();

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelPoll?.();
    this.cancelPoll = undefined;
    await this.running;
  }

  /** Polls now (a submission in this process, or a plan that just ended); nothing while stopped. */
  wake(): void {
    if (this.stopped) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.schedule(0);
  }

  /** Polls at once (0: a submission or a plan's end here), or after `ms` of the clock's time (orders another server took in). */
  private schedule(ms: number): void {
    if (this.stopped) return;
    this.cancelPoll?.();
    this.cancelPoll = armRound(this.clock, ms, () => {
      this.cancelPoll = undefined;
      this.running = this.poll()
        .then(
          () => undefined,
          (err: unknown) => {
            this.log.error('work-order poll failed', { err: String(err) });
          },
        )
        .finally(() => {
          this.running = undefined;
          const more = this.again;
          this.again = false;
          this.schedule(more ? 0 : this.settings.pollMs);
        });
    });
  }

  /** One round: claim and start NEW orders, restart lost starts, finish ended plans. Returns how much it did. */
  async poll(): Promise<{ started: number; finished: number }> {
    // Without a lease this process's claims may be another's by now: it waits for the keeper to take it again.
    if (!this.lease.held()) {
      this.lease.whenRenewed(this.pollAgain);
      return { started: 0, finished: 0 };
    }
    let started = 0;
    for (;;) {
      const claimed = await this.claim();
      if (claimed.length === 0) break;
      started += claimed.length;
      await Promise.all(claimed.map((order) => this.startPlan(order, AUTOMATION_ACTOR)));
      if (claimed.length < this.settings.batchSize || this.stopped) break;
    }
    await this.restartLost();
    const finished = await this.finishEnded();
    if (finished === this.settings.batchSize) this.again = true;
    return { started, finished };
  }

  /** Claims up to batchSize NEW, non-manual orders: IN_PROGRESS, next attempt, a history entry each. */
  private async claim(): Promise<OrderToRun[]> {
    const ids = await this.orders.states.claim(this.settings.batchSize, this.lease.owner, AUTOMATION_ACTOR, 'plan started by the automation');
    return this.orders.queries.ordersToRun(ids);
  }

  /** Stops an order's running plan (an admin closed or failed the order). */
  async cancelPlan(processInstanceId: string): Promise<void> {
    await this.workflow.cancel(processInstanceId, false);
  }

  /** Starts an order's plan (idempotently) and records its instance; a plan that cannot start fails the order. */
  async startPlan(order: OrderToRun, actor: string): Promise<void> {
    this.starting.add(order.id);
    try {
      await this.startPlanNow(order, actor);
    } finally {
      this.starting.delete(order.id);
    }
  }

  private async startPlanNow(order: OrderToRun, actor: string): Promise<void> {
    const log = this.log.child({ workOrderId: order.id, attempt: order.attempt });
    const type = (await this.orders.types.all()).get(order.typeName);
    if (type === undefined) {
      await this.orders.outcomes.end(order.id, 'fault', AUTOMATION_ACTOR, `work-order type ${order.typeName} no longer exists`, { attempt: order.attempt });
      return;
    }
    const parts = planInput(type.parameters, { workOrderId: String(order.id), account: order.accountName, pool: order.storagePool ?? this.defaultPool(), parameters: order.parameters });
    let instanceId: string;
    try {
      instanceId = await this.workflow.start(type.planName, { kind: 'message', parts }, AUTOMATION_ACTOR, `workorder:${order.id}:${order.attempt}`);
    } catch (err) {
      log.error('the plan of a work order could not start', { plan: type.planName, err: String(err) });
      await this.orders.outcomes.end(order.id, 'fault', AUTOMATION_ACTOR, `its plan ${type.planName} could not start: ${(err as Error).message}`, { attempt: order.attempt });
      return;
    }
    await groupCommitter(this.dataSource).write([
      { sql: WORK_ORDER_SQL.recordInstance, params: [instanceId, toSqlDate(this.clock.date()), order.id, order.attempt], table: 'work_order' },
    ]);
    log.info('work-order plan started', { plan: type.planName, instanceId, actor });
  }

  /**
   * Adopts the orders whose owner is gone (its node lease ran out, or none:
   * an admin started the run), then starts again the plans of this
   * process's orders whose start was not recorded: adopted ones at once,
   * its own once restartAfterMs has passed since the claim with no start
   * under way here (the same key returns the same instance if it did start).
   */
  private async restartLost(): Promise<void> {
    const now = toSqlDate(this.clock.date());
    const abandoned = (await this.dataSource.query(WORK_ORDER_SQL.abandonedRuns, [now, this.settings.batchSize])) as Array<{ id: unknown }>;
    const adopted: number[] = [];
    for (const row of abandoned) {
      const id = Number(row.id);
      const [changed] = await groupCommitter(this.dataSource).write([{ sql: WORK_ORDER_SQL.adoptRun, params: [this.lease.owner, id, now], table: 'work_order' }]);
      if (changed?.changed === 1) adopted.push(id);
    }
    if (adopted.length > 0) this.log.warn('adopted work orders whose owner is gone', { workOrderIds: adopted, owner: this.lease.owner });
    const unstarted = async (before: Date): Promise<number[]> =>
      ((await this.dataSource.query(WORK_ORDER_SQL.unstarted, [this.lease.owner, toSqlDate(before), this.settings.batchSize])) as Array<{ id: unknown }>).map((r) => Number(r.id));
    const lost = new Set(await unstarted(new Date(this.clock.now() - this.settings.restartAfterMs)));
    if (adopted.length > 0) for (const id of await unstarted(new Date(this.clock.now() + 1))) if (adopted.includes(id)) lost.add(id);
    for (const id of this.starting) lost.delete(id);
    if (lost.size === 0) return;
    const toStart = (await this.orders.queries.ordersToRun([...lost])).filter((o) => !this.starting.has(o.id));
    this.log.warn('starting again work-order plans whose start was not recorded', { workOrderIds: toStart.map((o) => o.id) });
    for (const order of toStart) await this.startPlan(order, AUTOMATION_ACTOR);
  }

  /** Orders whose plan has ended: CLOSED (billed) when it completed, FAILED with the fault otherwise (a SUSPENDED plan has not ended: an admin resumes or cancels it). */
  private async finishEnded(): Promise<number> {
    // Each process finishes the orders it claimed or adopted; abandoned ones were adopted just before.
    const rows = (await this.dataSource.query(WORK_ORDER_SQL.endedRuns, [this.lease.owner, this.settings.batchSize])) as EndedRun[];
    const fence = { owner: this.lease.owner };
    const finishOne = async (row: (typeof rows)[number]): Promise<void> => {
      const id = Number(row.id);
      const attempt = Number(row.attempt);
      const plan = { version: Number(row.planVersion), digest: row.ranDigest ?? null };
      if (row.status === 'COMPLETED') {
        // Billing requires the catalog's plan: a version deployed in its place proves nothing was delivered.
        if (row.ranDigest === null || row.ranDigest !== row.catalogDigest) {
          const cause = `its plan ${row.planName} completed, but the version it ran (${Number(row.planVersion)}, deployed by ${row.deployedBy}) is not the catalog's plan: not billed; an admin may retry it once the catalog is loaded again`;
          this.log.warn('a work order ran a plan that is not the catalog\'s; failed, not billed', { workOrderId: id, attempt, plan: row.planName, version: Number(row.planVersion), deployedBy: row.deployedBy });
          await this.orders.outcomes.end(id, 'fault', AUTOMATION_ACTOR, cause, { attempt, plan, fence });
          return;
        }
        await this.orders.outcomes.end(id, 'finish', AUTOMATION_ACTOR, 'completed by its plan', { attempt, plan, fence });
        return;
      }
      const status = await this.workflow.status(row.instanceId);
      const fault = status.fault;
      const cause = fault === null ? `the plan ended ${status.status}` : fault.message.includes(fault.name) ? fault.message : `${fault.name}: ${fault.message}`;
      await this.orders.outcomes.end(id, 'fault', AUTOMATION_ACTOR, cause, { attempt, failedActivity: fault?.activityPath ?? undefined, plan, fence });
    };
    // Each order is its own transaction; a few at a time keep the round trips overlapping (MySQL has a pool).
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < rows.length) {
        const row = rows[next++];
        if (row !== undefined) await finishOne(row);
      }
    };
    await Promise.all(Array.from({ length: Math.min(FINISH_CONCURRENCY, rows.length) }, worker));
    return rows.length;
  }
}
