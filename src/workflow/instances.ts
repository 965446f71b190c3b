/**
 * Process instances as callers see them: starting one (idempotent under a
 * key), waiting for its reply, reading its status and activities, listing,
 * cancelling and resuming. Running them is the runner's job; an instance
 * created while the runner has room is handed to it at once, already leased.
 */
import crypto from 'node:crypto';
import { XMLSerializer } from '@xmldom/xmldom';
import type { DataSource } from 'typeorm';
import type { InstanceStatus, ProcessDefinition } from '../../entities';
import type { VariableValue } from '../bpel/values';
import { deserializeValue, serializeValue } from '../bpel/xpath';
import type { Clock } from '../clock';
import { groupCommitter, type Write } from '../db/group-commit';
import { exclusive, execute, fromSqlDate, isUniqueViolation, toSqlDate } from '../db/sql';
import type { Logger } from '../log';
import type { ProcessDefinitions } from './definitions';
import { WorkflowError } from './errors';
import { describeStoredFault, readStoredFault } from './fault-codec';
import { INPUT_SCOPE } from './instance-store';
import type { CreatingReply, WorkflowObserver } from './interpreter';
import type { InstanceSignals } from './instance-signals';
import type { InstanceRunner } from './runner';
import { WORKFLOW_ROWS, WORKFLOW_SQL } from './sql';

export interface InstanceView {
  readonly instanceId: string;
  readonly processName: string;
  readonly version: number;
  readonly status: InstanceStatus;
  readonly startTime: Date;
  readonly endTime: Date | null;
  readonly fault: { readonly name: string; readonly message: string; readonly activityPath?: string } | null;
  readonly activities: ReadonlyArray<{
    key: string;
    kind: string;
    name: string | null;
    state: string;
    startTime: Date;
    endTime: Date | null;
    fault: string | null;
    /** An invoke's provisioning requestId, when its answer carried one. */
    requestId?: string;
    /** A scope that ended through a fault handler: the `{ns}local` of the fault it handled. */
    handledFault?: string;
  }>;
  /** How many activities the instance has in all (more than `activities` holds when a page was asked for). */
  readonly activityCount: number;
  /** The decided links: flow execution key `~` link name, and the status. */
  readonly links: ReadonlyArray<{ readonly key: string; readonly status: boolean }>;
  /** The variables holding a value, when asked for (`/process` for the process's own). */
  readonly variables?: ReadonlyArray<{ readonly scope: string; readonly name: string; readonly value: string; readonly truncated: boolean }>;
}

/** The most characters of one variable's value a status answer carries. */
const STATUS_VALUE_LIMIT = 65_536;

/** A stored value as an operator reads it: the XML of an element (of each part of a message), or the text. */
function displayValue(stored: string): string {
  const value = deserializeValue(stored);
  const xml = (node: Parameters<XMLSerializer['serializeToString']>[0]): string => new XMLSerializer().serializeToString(node);
  switch (value.kind) {
    case 'simple':
      return String(value.value);
    case 'element':
      return xml(value.element);
    case 'message':
      return [...value.parts.values()].map((p) => (typeof p === 'string' ? p : xml(p))).join('');
  }
}

/** What an activity row's data says for the status: an invoke's requestId, a scope's handled fault. */
function activityDetail(kind: string, data: unknown): { requestId?: string; handledFault?: string } {
  if (typeof data !== 'string' || (kind !== 'invoke' && kind !== 'scope')) return {};
  try {
    const parsed = JSON.parse(data) as { requestId?: unknown; handledFault?: unknown };
    if (kind === 'invoke' && typeof parsed.requestId === 'string') return { requestId: parsed.requestId };
    if (kind === 'scope' && typeof parsed.handledFault === 'string') return { handledFault: parsed.handledFault };
  } catch {
    // Rows written by other versions may hold other data; the detail is only left out.
  }
  return {};
}

/** What a caller waiting for the creating request's reply gets (see ProcessInstances.awaitReply). */
type CreatingAnswer = { status: 'REPLIED'; xml: string | undefined; value?: VariableValue; fault?: string } | { status: 'FAULTED'; message: string };

/** A stored creating reply as the waiting caller gets it: `xml` is the first part; `value` the whole message, for endpoints that answer every part. */
function replyOf(data: string): CreatingAnswer {
  const parsed = JSON.parse(data) as Partial<CreatingReply>;
  const fault = typeof parsed.fault === 'string' ? { fault: parsed.fault } : {};
  if (parsed.message === undefined) return { status: 'REPLIED', xml: undefined, ...fault };
  const value = deserializeValue(parsed.message);
  const part = value.kind === 'message' ? [...value.parts.values()][0] : value.kind === 'element' ? value.element : String(value.value);
  return { status: 'REPLIED', xml: part === undefined ? undefined : typeof part === 'string' ? part : new XMLSerializer().serializeToString(part), value, ...fault };
}

export class ProcessInstances {
  constructor(
    private readonly dataSource: DataSource,
    private readonly definitions: ProcessDefinitions,
    private readonly runner: InstanceRunner,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly observer: WorkflowObserver,
    /** Replies and ends of instances in this process, which wake the callers waiting for a reply. */
    private readonly signals: InstanceSignals,
  ) {}

  /**
   * Creates an instance of the latest version; the message goes to its
   * instance-creating receive. Returns the instance id.
   *
   * When this process's runner has room, the instance is created already
   * leased to it and starts at once from what is known here (no claim, no
   * load); otherwise it waits, unleased, for whichever runner claims it.
   */
  async start(processName: string, input: VariableValue | undefined, startedBy: string, idempotencyKey?: string, operation?: string): Promise<string> {
    const created = await this.create(processName, input, startedBy, idempotencyKey, operation, undefined);
    if ('heldBy' in created) throw new Error(`instance of ${processName} refused without a start claim`);
    return created.instanceId;
  }

  /**
   * Starts an instance for a message of one of several start activities
   * (WS-BPEL 2.0 §10.4, `initiate="join"`). The instance claims the
   * message's values of the joined set with its creation, in one
   * transaction, and holds them from then on (its correlation row is
   * written with it): of two creating messages carrying the same values,
   * wherever they arrive, one creates the instance and the other finds it.
   * When a running instance holds the claim, nothing is created and that
   * instance is named; the claim of an instance that ended is dropped and
   * claimed anew.
   */
  startJoining(
    processName: string,
    input: VariableValue,
    startedBy: string,
    idempotencyKey: string | undefined,
    operation: string,
    join: { readonly set: string; readonly key: string; readonly values: readonly string[] },
  ): Promise<{ readonly instanceId: string } | { readonly heldBy: string }> {
    return this.create(processName, input, startedBy, idempotencyKey, operation, join);
  }

  private async create(
    processName: string,
    input: VariableValue | undefined,
    startedBy: string,
    idempotencyKey: string | undefined,
    operation: string | undefined,
    join: { readonly set: string; readonly key: string; readonly values: readonly string[] } | undefined,
  ): Promise<{ readonly instanceId: string } | { readonly heldBy: string }> {
    const definition = await this.definitions.latest(processName);
    const serializedInput = input === undefined ? undefined : serializeValue(input);
    for (let attempt = 1; ; attempt++) {
      const id = crypto.randomUUID();
      const leased = this.runner.reserve();
      try {
        await this.insertInstance(id, definition, serializedInput, startedBy, idempotencyKey, leased, operation, join);
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        if (idempotencyKey !== undefined) {
          const rows = (await this.dataSource.query(WORKFLOW_SQL.instanceByKey, [startedBy, idempotencyKey])) as Array<{ id: string; processName: string }>;
          const first = rows[0];
          if (first !== undefined) {
            if (first.processName !== processName) throw new WorkflowError('InvalidInput', `idempotencyKey "${idempotencyKey}" was already used to start ${first.processName}`);
            return { instanceId: first.id };
          }
        }
        if (join === undefined || attempt >= 3) throw err;
        const holders = (await this.dataSource.query(WORKFLOW_SQL.startClaimHolder, [processName, join.key])) as Array<{ instanceId: string; status: string | null }>;
        const holder = holders[0];
        if (holder !== undefined && (holder.status === 'RUNNING' || holder.status === 'SUSPENDED')) return { heldBy: holder.instanceId };
        // The claim's instance ended (or the claim went meanwhile): the values are free again.
        if (holder !== undefined) await exclusive(this.dataSource, () => execute(this.dataSource, WORKFLOW_SQL.dropStaleStartClaim, [processName, join.key, holder.instanceId]));
        continue;
      } finally {
        if (leased) this.runner.release();
      }
      this.log.info('instance created', { instanceId: id, process: definition.name, version: definition.version });
      if (leased) this.runner.runCreated(id, { definitionId: definition.id, startedBy, input: serializedInput, ...(input !== undefined ? { value: input } : {}), ...(operation !== undefined ? { operation } : {}) });
      else this.runner.wake();
      return { instanceId: id };
    }
  }

  /** The instance row and its input, in one group-committed transaction. */
  private async insertInstance(
    id: string,
    definition: ProcessDefinition,
    input: string | undefined,
    startedBy: string,
    idempotencyKey: string | undefined,
    leased: boolean,
    operation: string | undefined,
    join: { readonly set: string; readonly key: string; readonly values: readonly string[] } | undefined,
  ): Promise<void> {
    const now = this.clock.date();
    // The instance's rows are its own, new ones: they commute with other writes, so the
    // instances created together are inserted by one multi-row statement, their inputs by another.
    const statements: Write[] = [
      {
        row: WORKFLOW_ROWS.instance,
        values: [id, definition.id, definition.name, 'RUNNING', startedBy, idempotencyKey ?? null, toSqlDate(now), 0, leased ? this.runner.owner : null, leased ? toSqlDate(this.runner.leaseUntil(now)) : null],
        commutes: true,
      },
    ];
    if (input !== undefined) statements.push({ row: WORKFLOW_ROWS.variable, values: [id, INPUT_SCOPE, 'message', input], commutes: true });
    // The operation the message came to: an instance-creating pick takes the onMessage of that operation.
    if (operation !== undefined) statements.push({ row: WORKFLOW_ROWS.variable, values: [id, INPUT_SCOPE, 'operation', serializeValue({ kind: 'simple', value: operation })], commutes: true });
    if (join !== undefined) {
      statements.push({ row: WORKFLOW_ROWS.startClaim, values: [definition.name, join.key, id] });
      // Held from its creation: a message carrying the values is routed to it even before its start activity runs.
      statements.push({ row: WORKFLOW_ROWS.correlation, values: [id, definition.name, join.set, join.key, JSON.stringify({ values: join.values, by: '' })] });
    }
    await groupCommitter(this.dataSource).write(statements);
  }

  /**
   * Waits for an instance's `reply` to the request that created it (wherever
   * the instance runs: the reply is read from its activity rows), for its
   * end, or for the timeout. A reply with `faultName` comes with `fault`, the
   * fault's `{ns}local` name; its message is then the fault's message.
   */
  async awaitReply(instanceId: string, timeoutMs: number): Promise<CreatingAnswer | { status: 'TIMEOUT' }> {
    const answer = await this.signals.readUntil(this.clock, this.clock.now() + timeoutMs, (listener) => {
      // Woken by the instance's reply or end here; what another server wrote is read after a delay.
      listener.instance(instanceId);
      return this.readReply(instanceId);
    });
    return answer ?? { status: 'TIMEOUT' };
  }

  /** The instance's reply or end, if it has one yet. */
  private async readReply(instanceId: string): Promise<CreatingAnswer | undefined> {
    const data = await this.firstReply(instanceId);
    if (data !== undefined) return replyOf(data);
    const instance = (await this.dataSource.query(WORKFLOW_SQL.instanceOutcome, [instanceId])) as Array<{ status: string; fault: string | null }>;
    const state = instance[0];
    if (state === undefined || state.status === 'RUNNING') return undefined;
    // The reply may have been committed with the end, between the two reads: look once more.
    const late = await this.firstReply(instanceId);
    if (late !== undefined) return replyOf(late);
    return { status: 'FAULTED', message: state.fault === null ? `the instance ended ${state.status} without replying` : describeStoredFault(state.fault) };
  }

  /** The data of an instance's first completed reply, if it has one. */
  private async firstReply(instanceId: string): Promise<string | undefined> {
    const rows = (await this.dataSource.query(WORKFLOW_SQL.firstReply, [instanceId])) as Array<{ data: string | null }>;
    return rows[0]?.data ?? undefined;
  }

  /**
   * The instance and its activities in the order they started: all of them,
   * or the page asked for (an instance that looped may have a hundred
   * thousand; reading and sending them all would hold the process up).
   */
  async status(instanceId: string, page?: { readonly offset: number; readonly limit: number }, options: { readonly includeVariables?: boolean } = {}): Promise<InstanceView> {
    const rows = (await this.dataSource.query(WORKFLOW_SQL.instanceView, [instanceId])) as Array<Record<string, unknown>>;
    const row = rows[0];
    if (row === undefined) throw new WorkflowError('UnknownInstance', `no process instance has id "${instanceId}"`);
    const activities = (
      page === undefined
        ? await this.dataSource.query(WORKFLOW_SQL.activitiesOf, [instanceId])
        : await this.dataSource.query(WORKFLOW_SQL.activityPage, [instanceId, page.limit, page.offset])
    ) as Array<Record<string, unknown>>;
    const activityCount =
      page === undefined || (activities.length < page.limit && (page.offset === 0 || activities.length > 0))
        ? (page?.offset ?? 0) + activities.length
        : Number(((await this.dataSource.query(WORKFLOW_SQL.activityCount, [instanceId])) as Array<{ n: number | string }>)[0]?.n ?? 0);
    const fault = row.fault === null || row.fault === undefined ? null : readStoredFault(String(row.fault));
    const detailed = activities.filter((a) => a.kind === 'invoke' || a.kind === 'scope').map((a) => String(a.key));
    const data = new Map<string, unknown>();
    for (let i = 0; i < detailed.length; i += 500) {
      const keys = detailed.slice(i, i + 500);
      const rows = (await this.dataSource.query(WORKFLOW_SQL.activityData(keys.length), [instanceId, ...keys])) as Array<{ key: string; data: unknown }>;
      for (const r of rows) data.set(String(r.key), r.data);
    }
    const links = (await this.dataSource.query(WORKFLOW_SQL.linksOf, [instanceId])) as Array<{ key: string; value: unknown }>;
    const variables =
      options.includeVariables === true
        ? ((await this.dataSource.query(WORKFLOW_SQL.variablesOf, [instanceId])) as Array<{ scopeKey: string; name: string; value: string }>)
            .filter((v) => v.scopeKey !== INPUT_SCOPE)
            .slice(0, 1000)
            .map((v) => {
              const text = displayValue(v.value);
              return { scope: v.scopeKey, name: v.name, value: text.slice(0, STATUS_VALUE_LIMIT), truncated: text.length > STATUS_VALUE_LIMIT };
            })
        : undefined;
    return {
      instanceId,
      processName: String(row.processName),
      version: Number(row.version),
      status: row.status as InstanceStatus,
      startTime: fromSqlDate(row.createdAt) ?? new Date(0),
      endTime: fromSqlDate(row.endedAt),
      fault: fault === null ? null : { name: `{${fault.ns}}${fault.local}`, message: fault.message, activityPath: (row.faultPath as string | null) ?? undefined },
      activities: activities.map((a) => ({
        key: String(a.key),
        kind: String(a.kind),
        name: (a.name as string | null) ?? null,
        state: String(a.state),
        startTime: fromSqlDate(a.startedAt) ?? new Date(0),
        endTime: fromSqlDate(a.endedAt),
        fault: a.fault === null || a.fault === undefined ? null : describeStoredFault(String(a.fault)),
        ...activityDetail(String(a.kind), data.get(String(a.key))),
      })),
      activityCount,
      links: links.map((l) => ({ key: String(l.key), status: Number(l.value) === 1 || l.value === true })),
      ...(variables === undefined ? {} : { variables }),
    };
  }

  async list(filter: { processName?: string; status?: InstanceStatus; limit?: number } = {}): Promise<Array<{ instanceId: string; processName: string; version: number; status: InstanceStatus; startTime: Date; endTime: Date | null }>> {
    const params: unknown[] = [];
    if (filter.processName !== undefined) params.push(filter.processName);
    if (filter.status !== undefined) params.push(filter.status);
    params.push(Math.min(Math.max(filter.limit ?? 100, 1), 1000));
    const rows = (await this.dataSource.query(WORKFLOW_SQL.listInstances(filter.processName !== undefined, filter.status !== undefined), params)) as Array<Record<string, unknown>>;
    return rows.map((r) => ({ instanceId: String(r.id), processName: String(r.processName), version: Number(r.version), status: r.status as InstanceStatus, startTime: fromSqlDate(r.createdAt) ?? new Date(0), endTime: fromSqlDate(r.endedAt) }));
  }

  /** Asks a running instance to stop (and compensate its completed scopes when asked). Returns the status afterwards. */
  async cancel(instanceId: string, compensate: boolean): Promise<InstanceStatus> {
    // A suspended instance runs nowhere: it ends at once, without compensation (its plan is what is in doubt).
    const ended = await execute(this.dataSource, WORKFLOW_SQL.terminateSuspended, [toSqlDate(this.clock.date()), compensate ? 2 : 1, instanceId]);
    if (ended === 1) {
      this.log.warn('suspended instance cancelled', { instanceId });
      this.observer.instance({ instanceId, status: 'TERMINATED', at: this.clock.date() });
      this.signals.answered(instanceId);
      return 'TERMINATED';
    }
    const changed = await execute(this.dataSource, WORKFLOW_SQL.requestCancel, [compensate ? 2 : 1, instanceId]);
    if (changed === 1) await this.runner.abortLocal(instanceId, new Error('cancelled'));
    return (await this.status(instanceId)).status;
  }

  /**
   * Lets a SUSPENDED instance run again (its crash count starts over); the
   * next claim resumes it from its rows. Returns the status afterwards.
   */
  async resume(instanceId: string): Promise<InstanceStatus> {
    const changed = await execute(this.dataSource, WORKFLOW_SQL.resumeSuspended, [instanceId]);
    const status = (await this.status(instanceId)).status;
    if (changed === 0) throw new WorkflowError('InvalidState', `instance ${instanceId} is ${status}: only a SUSPENDED instance can be resumed`);
    this.log.warn('suspended instance resumed by an admin', { instanceId });
    this.runner.wake();
    return status;
  }
}
