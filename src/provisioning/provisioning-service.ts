import crypto from 'node:crypto';
import type { DataSource } from 'typeorm';
import { InstalledComponent, TERMINAL_STATUSES, type RequestStatus } from '../../entities';
import type { Clock } from '../clock';
import { isUniqueViolation, transaction } from '../db/sql';
import { checkPathLength } from '../drivers/path-jail';
import { DriverError, type Driver, type SoftwareOperation, type SystemDescriptor, type Task, type TaskOperation } from '../drivers/driver';
import { ProvisorError } from '../errors';
import { DestinationDeniedError } from '../net/destination-policy';
import { MAX_REQUEST_LIST, type Caller, type ComponentView, type CopySubmission, type DeleteSubmission, type ProvisioningApi, type RequestFilter, type RequestView, type RunningRequest, type SoftwareSubmission, type SubmittedSoftware, type Submission } from './api';
import type { RequestRow, RequestStore } from './request-store';
import type { SystemRegistry } from './systems';

/** The task as stored in the request row; systems are stored by name and resolved when it runs. */
export type StoredTask =
  | { readonly operation: SoftwareOperation; readonly component: string; readonly version?: string; readonly parameters: ReadonlyArray<{ name: string; value: string }> }
  | { readonly operation: 'Copy'; readonly sourceSystem?: string; readonly sourcePath: string; readonly targetPath: string }
  | { readonly operation: 'Delete'; readonly path: string };

export interface EngineSignal {
  /** A request was queued: look for work now rather than at the next poll. */
  wake(): void;
  /** Aborts a request this process is running, if it is. */
  abortLocal(requestId: string): boolean;
  /** Resolves when this process's engine finishes the request, or after `ms`. */
  waitForEnd(requestId: string, ms: number): Promise<void>;
  /** The engine that should perform what this process queues (null: any engine). */
  origin(): string | null;
  /**
   * The row of a request this process's engine is performing and has not
   * begun to finish, as a read would return it; undefined otherwise. A
   * status poll of a running task is answered from it without a read.
   */
  inProgressHere?(requestId: string): RequestRow | undefined;
  /**
   * The row of a request this process's engine ended a short while ago, as
   * committed; undefined otherwise. The poll that sees a task's end is
   * answered from it without a read.
   */
  endedHere?(requestId: string): RequestRow | undefined;
}

/** Checks a callback endpoint against the outbound policy; rejects with a DestinationDeniedError. */
export interface CallbackCheck {
  checkDestination(url: string): Promise<unknown>;
}

/** How often a long-polling read looks at the row again (for requests another process performs). */
const LONG_POLL_RECHECK_MS = 1000;

/** A path field the file system could not take (ENAMETOOLONG), refused with the field's name, whatever the driver. */
function checkPathField(value: string, field: string): void {
  try {
    checkPathLength(value);
  } catch (err) {
    throw submissionFault(err, field);
  }
}

/** Maps a driver's refusal at submission time to the caller's fault. */
function submissionFault(err: unknown, field: string): ProvisorError {
  if (err instanceof DriverError) {
    switch (err.type) {
      case 'UnknownPackage':
        return new ProvisorError('UnknownPackage', err.message, field);
      case 'PathOutsideRoot':
        return new ProvisorError('PathOutsideRoot', err.message, field);
      case 'InvalidParameter':
        // A software task's refused values are its parameters; a file task's are the path named.
        return new ProvisorError('InvalidField', err.message, field === 'component' || field === 'version' ? 'parameters' : field);
      case 'NotFound':
        return new ProvisorError('InvalidField', err.message, field);
      default:
        return new ProvisorError('Internal', `the ${field} could not be checked: ${err.message}`, undefined, { cause: err });
    }
  }
  return new ProvisorError('Internal', 'the request could not be checked', undefined, { cause: err });
}

export function requestView(row: RequestRow, now: number): RequestView {
  const start = row.startedAt;
  const end = row.endedAt;
  return {
    requestId: row.id,
    operation: row.operation as TaskOperation,
    system: row.systemName,
    component: row.component,
    version: row.version,
    status: row.status,
    message: row.message,
    output: row.output,
    submittedBy: row.submittedBy,
    submittedAt: row.submittedAt,
    startTime: start,
    endTime: end,
    milliseconds: start === null ? null : Math.max(0, (end?.getTime() ?? now) - start.getTime()),
  };
}

/** The provisioning API over the request queue and the managed-resource model. */
export class ProvisioningService implements ProvisioningApi {
  constructor(
    private readonly dataSource: DataSource,
    private readonly store: RequestStore,
    private readonly systems: SystemRegistry,
    private readonly drivers: ReadonlyMap<string, Driver>,
    private readonly clock: Clock,
    private readonly engine: EngineSignal,
    private readonly callbacks: CallbackCheck,
  ) {}

  private async system(name: string, field: string): Promise<SystemDescriptor & { id: number }> {
    const system = await this.systems.get(name);
    if (system === null) throw new ProvisorError('UnknownSystem', `system "${name}" is not registered (provisor system add ${name})`, field);
    return system;
  }

  private driverFor(system: SystemDescriptor): Driver {
    const driver = this.drivers.get(system.driver);
    if (driver === undefined) throw new ProvisorError('Internal', `system "${system.name}" uses driver "${system.driver}", which this server does not have`);
    return driver;
  }

  async submitSoftware(operation: SoftwareOperation, s: SoftwareSubmission, caller: Caller): Promise<string> {
    return (await this.submitSoftwareRequest(operation, s, caller)).requestId;
  }

  async submitSoftwareRequest(operation: SoftwareOperation, s: SoftwareSubmission, caller: Caller): Promise<SubmittedSoftware> {
    const system = await this.system(s.system, 'system');
    const driver = this.driverFor(system);
    const task: Task = { operation, component: s.component, version: s.version, parameters: s.parameters };
    const repositories = await this.systems.repositoryLocations();
    let chosen: string | undefined;
    try {
      chosen = (await driver.validate(task, { system, repositories }))?.version;
    } catch (err) {
      throw submissionFault(err, s.version === undefined ? 'component' : 'version');
    }
    const asked: StoredTask = { operation, component: s.component, ...(s.version === undefined ? {} : { version: s.version }), parameters: s.parameters };
    // The version the driver chose (a prefix such as 1.0 read as the highest 1.0.x) is what runs and what the row says;
    // the request as asked stays what a retry is compared with.
    const version = chosen ?? s.version;
    const stored: StoredTask = { ...asked, ...(version === undefined ? {} : { version }) };
    const requestId = await this.enqueue(stored, s, caller, { systemName: system.name, component: s.component, version: version ?? null, conflictKey: `${system.name}/${s.component}` }, asked);
    return { requestId, version: version ?? null };
  }

  async copy(s: CopySubmission, caller: Caller): Promise<string> {
    checkPathField(s.sourcePath, 'sourcePath');
    checkPathField(s.targetPath, 'targetPath');
    const target = await this.system(s.targetSystem, 'targetSystem');
    const source = s.sourceSystem === undefined ? undefined : await this.system(s.sourceSystem, 'sourceSystem');
    const driver = this.driverFor(target);
    const repositories = await this.systems.repositoryLocations();
    if (source !== undefined) {
      try {
        await this.driverFor(source).validate({ operation: 'Delete', path: s.sourcePath }, { system: source, repositories });
      } catch (err) {
        throw submissionFault(err, 'sourcePath');
      }
    }
    try {
      await driver.validate({ operation: 'Copy', sourceSystem: source, sourcePath: s.sourcePath, targetPath: s.targetPath }, { system: target, repositories });
    } catch (err) {
      throw submissionFault(err, err instanceof DriverError && err.message.includes(s.sourcePath) && !err.message.includes(s.targetPath) ? 'sourcePath' : 'targetPath');
    }
    const stored: StoredTask = { operation: 'Copy', ...(s.sourceSystem === undefined ? {} : { sourceSystem: s.sourceSystem }), sourcePath: s.sourcePath, targetPath: s.targetPath };
    return this.enqueue(stored, s, caller, { systemName: target.name, component: null, version: null, conflictKey: `${target.name}:${s.targetPath}` });
  }

  async delete(s: DeleteSubmission, caller: Caller): Promise<string> {
    checkPathField(s.path, 'path');
    const system = await this.system(s.system, 'system');
    try {
      await this.driverFor(system).validate({ operation: 'Delete', path: s.path }, { system, repositories: [] });
    } catch (err) {
      throw submissionFault(err, 'path');
    }
    const stored: StoredTask = { operation: 'Delete', path: s.path };
    return this.enqueue(stored, s, caller, { systemName: system.name, component: null, version: null, conflictKey: `${system.name}:${s.path}` });
  }

  private async enqueue(
    task: StoredTask,
    s: Submission,
    caller: Caller,
    where: { systemName: string; component: string | null; version: string | null; conflictKey: string },
    asked: StoredTask = task,
  ): Promise<string> {
    // A refused endpoint is refused now, before the request exists; delivery checks it again.
    if (s.callback !== undefined) {
      try {
        await this.callbacks.checkDestination(s.callback);
      } catch (err) {
        if (err instanceof DestinationDeniedError) throw new ProvisorError('DestinationDenied', `callback ${err.message}`, 'callback');
        throw err;
      }
    }
    const taskJson = JSON.stringify(task);
    const requestHash = crypto.createHash('sha256').update(`${where.systemName}\u0000${JSON.stringify(asked)}\u0000${s.callback ?? ''}`).digest('hex');
    const idempotencyKey = s.idempotencyKey ?? s.messageId ?? null;
    const id = crypto.randomUUID();
    try {
      await this.store.insert({
        id,
        operation: task.operation,
        systemName: where.systemName,
        component: where.component,
        version: where.version,
        task: taskJson,
        conflictKey: where.conflictKey.slice(0, 255),
        submittedBy: caller.name,
        idempotencyKey,
        requestHash,
        callbackUrl: s.callback ?? null,
        submittedAt: this.clock.date(),
        origin: this.engine.origin(),
      });
    } catch (err) {
      if (idempotencyKey === null || !isUniqueViolation(err)) throw err;
      const first = await this.store.findByKey(caller.name, idempotencyKey);
      if (first === null) throw err;
      if (first.requestHash !== requestHash) {
        const source = s.idempotencyKey === undefined ? 'MessageID' : 'idempotencyKey';
        throw new ProvisorError('IdempotencyConflict', `${source} "${idempotencyKey}" was already used for a different request (${first.id})`, s.idempotencyKey === undefined ? undefined : 'idempotencyKey');
      }
      return first.id;
    }
    this.engine.wake();
    return id;
  }

  async getRequest(requestId: string, waitMs = 0): Promise<RequestView> {
    const deadline = this.clock.now() + waitMs;
    for (;;) {
      const row = this.engine.inProgressHere?.(requestId) ?? this.engine.endedHere?.(requestId) ?? (await this.store.findById(requestId));
      if (row === null) throw new ProvisorError('UnknownRequest', `no provisioning request has id "${requestId}"`, 'requestId');
      const left = deadline - this.clock.now();
      if (TERMINAL_STATUSES.includes(row.status) || left <= 0) return requestView(row, this.clock.now());
      // Woken by this process's engine; re-read now and then for a request another process performs.
      await this.engine.waitForEnd(requestId, Math.min(left, LONG_POLL_RECHECK_MS));
    }
  }

  whileRunningHere(requestId: string): RunningRequest | undefined {
    const engine = this.engine;
    if (engine.inProgressHere?.(requestId) === undefined) return undefined;
    return {
      holds: () => engine.inProgressHere?.(requestId) !== undefined,
      changed: (ms) => engine.waitForEnd(requestId, ms),
    };
  }

  async listRequests(filter: RequestFilter): Promise<RequestView[]> {
    if (!Number.isInteger(filter.limit) || filter.limit < 1 || filter.limit > MAX_REQUEST_LIST) {
      throw new ProvisorError('InvalidField', `limit must be a whole number from 1 to ${MAX_REQUEST_LIST}, got ${filter.limit}`, 'limit');
    }
    const now = this.clock.now();
    return (await this.store.list(filter)).map((row) => requestView(row, now));
  }

  async cancel(requestId: string, caller: Caller): Promise<RequestStatus> {
    const row = await this.store.findById(requestId);
    if (row === null) throw new ProvisorError('UnknownRequest', `no provisioning request has id "${requestId}"`, 'requestId');
    if (row.status === 'QUEUED') {
      const done = await transaction(this.dataSource, (m) => this.store.cancelQueued(m, requestId, `cancelled by ${caller.name} before it started`, this.clock.date()));
      if (done) return 'COMPLETED_FAILURE';
    } else if (row.status === 'IN_PROGRESS') {
      if (!this.engine.abortLocal(requestId)) await this.store.requestCancel(requestId);
    }
    return (await this.store.findById(requestId))?.status ?? row.status;
  }

  async listInstalled(systemName: string): Promise<ComponentView[]> {
    const system = await this.system(systemName, 'system');
    const rows = await this.dataSource.getRepository(InstalledComponent).find({ where: { systemId: system.id }, order: { name: 'ASC' } });
    return rows.map((r) => ({
      name: r.name,
      version: r.version,
      state: r.state as ComponentView['state'],
      previousVersion: (JSON.parse(r.history) as string[])[0] ?? null,
      updatedAt: r.updatedAt,
    }));
  }
}
