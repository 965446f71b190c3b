import crypto from 'node:crypto';
import { XMLSerializer } from '@xmldom/xmldom';
import type { DataSource } from 'typeorm';
import { ProcessDefinition, ProcessDocument, type InstanceStatus } from '../../entities';
import type { Principal } from '../auth/principal';
import type { SecretBox } from '../auth/secret-box';
import { ProcessDefinitionError, type PartnerLink, type Process, type QName } from '../bpel/model';
import { parseProcess } from '../bpel/parser';
import { validateProcess, type PortTypeInfo } from '../bpel/validate';
import { deserializeValue, serializeValue } from '../bpel/xpath';
import type { VariableValue } from '../bpel/values';
import type { Clock } from '../clock';
import type { Config } from '../config';
import { checkStaticLimits } from '../bpel/limits';
import type { Metrics } from '../metrics';
import { groupCommitter, type Statement } from '../db/group-commit';
import { exclusive, execute, fromSqlDate, isUniqueViolation, toSqlDate, transaction } from '../db/sql';
import { deadLocalOwners, leaseOwnerId, localOwnerPattern } from '../lease';
import type { Logger } from '../log';
import { DestinationDeniedError } from '../net/destination-policy';
import type { OutboundHttp } from '../net/outbound-http';
import { definitionDigest } from './definition-digest';
import { InstanceStore } from './instance-store';
import { serializeFault } from './fault-codec';
import { Detached, Interpreter, type WorkflowObserver } from './interpreter';
import { openBindings, sealBindings, type PartnerBinding, type StoredBinding } from './partner-bindings';
import type { PartnerInvokers } from './partners';
import { InstancePruner } from './retention';
import { WsdlCatalogError, WsdlCatalog } from './wsdl-catalog';

/** Instance statuses, declared and documented with the entity. */
export type { InstanceStatus } from '../../entities';

export class WorkflowError extends Error {
  override readonly name = 'WorkflowError';
  constructor(
    readonly code: 'InvalidProcess' | 'UnknownProcess' | 'UnknownInstance' | 'InvalidInput' | 'DestinationDenied' | 'InvalidState',
    message: string,
  ) {
    super(message);
  }
}

export interface DeployRequest {
  readonly bpel: string;
  /** Documents sent with the process, by the location its imports name. */
  readonly documents: ReadonlyMap<string, string>;
  readonly bindings: readonly PartnerBinding[];
  readonly deployedBy: string;
  /** Asked with the process's name once it is parsed, before anything is stored; throws to refuse the deploy. */
  readonly authorize?: (processName: string) => Promise<void>;
}

export interface InstanceView {
  readonly instanceId: string;
  readonly processName: string;
  readonly version: number;
  readonly status: InstanceStatus;
  readonly startTime: Date;
  readonly endTime: Date | null;
  readonly fault: { readonly name: string; readonly message: string; readonly activityPath?: string } | null;
  readonly activities: ReadonlyArray<{ key: string; kind: string; name: string | null; state: string; startTime: Date; endTime: Date | null; fault: string | null }>;
  /** How many activities the instance has in all (more than `activities` holds when a page was asked for). */
  readonly activityCount: number;
}

interface Compiled {
  readonly definition: ProcessDefinition;
  readonly process: Process;
  readonly catalog: WsdlCatalog;
  readonly bindings: ReadonlyMap<string, PartnerBinding>;
}

/** What calling remote partners needs: the policed sender, and the secret box that seals their passwords. */
export interface PartnerAccess {
  readonly outbound: OutboundHttp;
  readonly secrets: SecretBox;
}

export interface WorkflowSettings {
  readonly leaseMs: number;
  readonly pollMs: number;
  readonly maxInstances: number;
  /** What a plan may use, the crash-loop limit and the retention of finished instances (docs/operations.md). */
  readonly planLimits: Config['planLimits'];
}

const INPUT_SCOPE = '#input';

/** What this process knows of an instance it has just created. */
interface Created {
  readonly definitionId: number;
  readonly startedBy: string;
  /** The serialized input message, if any. */
  readonly input: string | undefined;
}

/**
 * Deploys WS-BPEL processes and runs their instances durably. Instances are
 * rows claimed with a lease, like provisioning requests: several processes
 * sharing one MySQL database never run one instance in two places, and a
 * crashed process's instances are resumed by whoever claims them next.
 */
const LATEST_CACHE_MS = 1000;
/** Instances claimed by one statement. */
const CLAIM_CHUNK = 200;

export class WorkflowRuntime {
  readonly owner = leaseOwnerId('wf:');
  private readonly compiled = new Map<number, Promise<Compiled>>();
  private readonly latestByName = new Map<string, { at: number; definition: ProcessDefinition }>();
  private readonly running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private timer: NodeJS.Timeout | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private stopped = true;
  private polling = false;
  private inFlight: Promise<void> = Promise.resolve();
  /** Leased starts whose insert is under way (they count against maxInstances). */
  private starting = 0;

  constructor(
    private readonly dataSource: DataSource,
    /** Reaches the partners each instance invokes. */
    private readonly invokers: PartnerInvokers,
    private readonly wsdlDir: string,
    private readonly settings: WorkflowSettings,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly observer: WorkflowObserver,
    private readonly partners: PartnerAccess,
    /** Filled with instance id → process name for the instances this process runs (the notifier reads it). */
    private readonly processNames: Map<string, string> = new Map(),
    private readonly metrics?: Metrics,
  ) {
    this.pruner = new InstancePruner(dataSource, settings.planLimits, clock, log.child({ job: 'retention' }));
  }

  /** The retention job (runs with the runner; `pruneOnce` runs one pass at once). */
  readonly pruner: InstancePruner;

  /** Parses, resolves and validates a process, then stores it as the next version of its name. */
  async deploy(request: DeployRequest): Promise<{ name: string; version: number }> {
    const process = parseProcess(request.bpel, 'process.bpel', { maxNestingDepth: this.settings.planLimits.maxNestingDepth });
    await request.authorize?.(process.name);
    const catalog = new WsdlCatalog(request.documents, this.wsdlDir);
    try {
      catalog.loadImports(process.imports);
    } catch (err) {
      if (err instanceof WsdlCatalogError) throw new ProcessDefinitionError(process.name, [{ line: err.line ?? process.line, message: err.message }]);
      throw err;
    }
    const portTypeInfo = (link: PartnerLink, role: 'partner' | 'my'): PortTypeInfo | undefined => {
      const roleName = role === 'partner' ? link.partnerRole : link.myRole;
      const info = roleName === undefined ? undefined : catalog.portTypeOf(link.partnerLinkType, roleName);
      return info === undefined ? undefined : { portType: info.name, operations: info.operations };
    };
    const diagnostics = [...validateProcess(process, { portTypeOf: portTypeInfo }), ...checkStaticLimits(process, this.settings.planLimits)];
    for (const binding of request.bindings) {
      if (!process.partnerLinks.some((p) => p.name === binding.partnerLink)) {
        diagnostics.push({ line: process.line, message: `binding names partner link "${binding.partnerLink}", which the process does not declare` });
      }
    }
    if (diagnostics.length > 0) throw new ProcessDefinitionError(process.name, diagnostics);
    // Refused before anything is stored; each call checks again when it connects.
    for (const binding of request.bindings) {
      if (binding.address === undefined) continue;
      try {
        await this.partners.outbound.checkDestination(binding.address);
      } catch (err) {
        if (err instanceof DestinationDeniedError) throw new WorkflowError('DestinationDenied', `binding of partner link "${binding.partnerLink}": ${err.message}`);
        throw err;
      }
    }
    const version = await transaction(this.dataSource, async (manager) => {
      const rows = (await manager.query('SELECT MAX(version) AS v FROM process_definition WHERE name = ?', [process.name])) as Array<{ v: unknown }>;
      const next = Number(rows[0]?.v ?? 0) + 1;
      const saved = await manager.getRepository(ProcessDefinition).save({
        name: process.name,
        version: next,
        bpel: request.bpel,
        descriptor: JSON.stringify({ bindings: sealBindings(request.bindings, this.partners.secrets) }),
        digest: definitionDigest(request.bpel, request.documents),
        deployedBy: request.deployedBy,
        deployedAt: this.clock.date(),
      });
      for (const [name, content] of request.documents) await manager.getRepository(ProcessDocument).insert({ definitionId: saved.id, name, content });
      return next;
    });
    this.latestByName.delete(process.name);
    this.log.info('process deployed', { process: process.name, version });
    return { name: process.name, version };
  }

  /**
   * A definition parsed, with its WSDL catalog, once per process: the
   * promise is kept, so a thousand instances launched together share one
   * compilation instead of each parsing the documents.
   */
  private compile(definitionId: number): Promise<Compiled> {
    let compiled = this.compiled.get(definitionId);
    if (compiled === undefined) {
      compiled = this.compileNow(definitionId);
      this.compiled.set(definitionId, compiled);
      void compiled.catch(() => this.compiled.delete(definitionId));
    }
    return compiled;
  }

  private async compileNow(definitionId: number): Promise<Compiled> {
    const definition = await this.dataSource.getRepository(ProcessDefinition).findOneByOrFail({ id: definitionId });
    const documents = await this.dataSource.getRepository(ProcessDocument).findBy({ definitionId });
    const process = parseProcess(definition.bpel, `${definition.name} v${definition.version}`, { maxNestingDepth: this.settings.planLimits.maxNestingDepth });
    const catalog = new WsdlCatalog(new Map(documents.map((d) => [d.name, d.content])), this.wsdlDir);
    catalog.loadImports(process.imports);
    const descriptor = JSON.parse(definition.descriptor) as { bindings: StoredBinding[] };
    const bindings = openBindings(descriptor.bindings, this.partners.secrets, `${definition.name} v${definition.version}`);
    const compiled: Compiled = { definition, process, catalog, bindings: new Map(bindings.map((b) => [b.partnerLink, b])) };
    return compiled;
  }

  /**
   * The latest version of a process. Remembered for a second: starts are
   * frequent, deployments rare (this process forgets at once on its own).
   */
  private async latest(name: string): Promise<ProcessDefinition> {
    const now = Date.now();
    const cached = this.latestByName.get(name);
    if (cached !== undefined && now - cached.at < LATEST_CACHE_MS) return cached.definition;
    const definition = await this.dataSource.getRepository(ProcessDefinition).findOne({ select: { id: true, name: true, version: true }, where: { name }, order: { version: 'DESC' } });
    if (definition === null) throw new WorkflowError('UnknownProcess', `no process named "${name}" is deployed`);
    this.latestByName.set(name, { at: now, definition });
    return definition;
  }

  /**
   * Creates an instance of the latest version; the message goes to its
   * instance-creating receive. Returns the instance id.
   *
   * When this process's runner has room, the instance is created already
   * leased to it and starts at once from what is known here (no claim, no
   * load); otherwise it waits, unleased, for whichever runner claims it.
   */
  async start(processName: string, input: VariableValue | undefined, startedBy: string, idempotencyKey?: string): Promise<string> {
    const definition = await this.latest(processName);
    const id = crypto.randomUUID();
    const serializedInput = input === undefined ? undefined : serializeValue(input);
    const leased = !this.stopped && this.running.size + this.starting < this.settings.maxInstances;
    if (leased) this.starting++;
    try {
      await this.insertInstance(id, definition, serializedInput, startedBy, idempotencyKey, leased);
    } catch (err) {
      if (idempotencyKey === undefined || !isUniqueViolation(err)) throw err;
      const rows = (await this.dataSource.query('SELECT id, processName FROM process_instance WHERE startedBy = ? AND idempotencyKey = ?', [startedBy, idempotencyKey])) as Array<{ id: string; processName: string }>;
      const first = rows[0];
      if (first === undefined) throw err;
      if (first.processName !== processName) throw new WorkflowError('InvalidInput', `idempotencyKey "${idempotencyKey}" was already used to start ${first.processName}`);
      return first.id;
    } finally {
      if (leased) this.starting--;
    }
    this.log.info('instance created', { instanceId: id, process: definition.name, version: definition.version });
    // Stopped meanwhile: the lease runs out and whoever runs next claims it.
    if (leased && !this.stopped) this.launch(id, { definitionId: definition.id, startedBy, input: serializedInput });
    else this.wake();
    return id;
  }

  /** The instance row and its input, in one group-committed transaction. */
  private async insertInstance(id: string, definition: ProcessDefinition, input: string | undefined, startedBy: string, idempotencyKey: string | undefined, leased: boolean): Promise<void> {
    const now = this.clock.date();
    const statements: Statement[] = [
      [
        'INSERT INTO process_instance (id, definitionId, processName, status, startedBy, idempotencyKey, createdAt, cancelRequested, leaseOwner, leaseExpiresAt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [id, definition.id, definition.name, 'RUNNING', startedBy, idempotencyKey ?? null, toSqlDate(now), 0, leased ? this.owner : null, leased ? toSqlDate(new Date(now.getTime() + this.settings.leaseMs)) : null],
      ],
    ];
    if (input !== undefined) statements.push(['INSERT INTO process_variable (instanceId, scopeKey, name, value) VALUES (?, ?, ?, ?)', [id, INPUT_SCOPE, 'message', input]]);
    await groupCommitter(this.dataSource).write(statements);
  }

  /** The latest version of a deployed process, compiled, or undefined when none has this name. */
  async describe(name: string): Promise<{ process: Process; catalog: WsdlCatalog; documents: ReadonlyMap<string, string> } | undefined> {
    const definition = await this.dataSource.getRepository(ProcessDefinition).findOne({ where: { name }, order: { version: 'DESC' } });
    if (definition === null) return undefined;
    const compiled = await this.compile(definition.id);
    const documents = await this.dataSource.getRepository(ProcessDocument).findBy({ definitionId: definition.id });
    return { process: compiled.process, catalog: compiled.catalog, documents: new Map(documents.map((d) => [d.name, d.content])) };
  }

  /**
   * Waits for an instance's `reply` (wherever the instance runs: the reply is
   * read from its activity rows), for its end, or for the timeout.
   */
  async awaitReply(instanceId: string, timeoutMs: number): Promise<{ status: 'REPLIED'; xml: string | undefined } | { status: 'FAULTED'; message: string } | { status: 'TIMEOUT' }> {
    const deadline = this.clock.now() + timeoutMs;
    for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
      const rows = (await this.dataSource.query("SELECT data FROM activity_instance WHERE instanceId = ? AND kind = 'reply' AND state = 'COMPLETED' ORDER BY id LIMIT 1", [instanceId])) as Array<{ data: string | null }>;
      const data = rows[0]?.data;
      if (data !== undefined && data !== null) {
        const parsed = JSON.parse(data) as { message?: string };
        if (parsed.message === undefined) return { status: 'REPLIED', xml: undefined };
        const value = deserializeValue(parsed.message);
        const part = value.kind === 'message' ? [...value.parts.values()][0] : value.kind === 'element' ? value.element : String(value.value);
        return { status: 'REPLIED', xml: part === undefined ? undefined : typeof part === 'string' ? part : new XMLSerializer().serializeToString(part) };
      }
      const instance = (await this.dataSource.query('SELECT status, fault FROM process_instance WHERE id = ?', [instanceId])) as Array<{ status: string; fault: string | null }>;
      const state = instance[0];
      if (state !== undefined && state.status !== 'RUNNING') {
        return { status: 'FAULTED', message: state.fault === null ? `the instance ended ${state.status} without replying` : describeFault(state.fault) };
      }
      if (this.clock.now() > deadline) return { status: 'TIMEOUT' };
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  /**
   * The instance and its activities in the order they started: all of them,
   * or the page asked for (an instance that looped may have a hundred
   * thousand; reading and sending them all would hold the process up).
   */
  async status(instanceId: string, page?: { readonly offset: number; readonly limit: number }): Promise<InstanceView> {
    const rows = (await this.dataSource.query(
      'SELECT i.id, i.processName, i.status, i.fault, i.faultPath, i.createdAt, i.endedAt, d.version FROM process_instance i JOIN process_definition d ON d.id = i.definitionId WHERE i.id = ?',
      [instanceId],
    )) as Array<Record<string, unknown>>;
    const row = rows[0];
    if (row === undefined) throw new WorkflowError('UnknownInstance', `no process instance has id "${instanceId}"`);
    const activities = (
      page === undefined
        ? await this.dataSource.query('SELECT `key`, kind, name, state, startedAt, endedAt, fault FROM activity_instance WHERE instanceId = ? ORDER BY id', [instanceId])
        : await this.dataSource.query('SELECT `key`, kind, name, state, startedAt, endedAt, fault FROM activity_instance WHERE instanceId = ? ORDER BY id LIMIT ? OFFSET ?', [instanceId, page.limit, page.offset])
    ) as Array<Record<string, unknown>>;
    const activityCount =
      page === undefined || (activities.length < page.limit && (page.offset === 0 || activities.length > 0))
        ? (page?.offset ?? 0) + activities.length
        : Number(((await this.dataSource.query('SELECT COUNT(*) AS n FROM activity_instance WHERE instanceId = ?', [instanceId])) as Array<{ n: number | string }>)[0]?.n ?? 0);
    const fault = row.fault === null || row.fault === undefined ? null : (JSON.parse(String(row.fault)) as { ns: string; local: string; message: string });
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
        fault: a.fault === null || a.fault === undefined ? null : describeFault(String(a.fault)),
      })),
      activityCount,
    };
  }

  async list(filter: { processName?: string; status?: InstanceStatus; limit?: number } = {}): Promise<Array<{ instanceId: string; processName: string; version: number; status: InstanceStatus; startTime: Date; endTime: Date | null }>> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.processName !== undefined) {
      where.push('i.processName = ?');
      params.push(filter.processName);
    }
    if (filter.status !== undefined) {
      where.push('i.status = ?');
      params.push(filter.status);
    }
    params.push(Math.min(Math.max(filter.limit ?? 100, 1), 1000));
    const rows = (await this.dataSource.query(
      `SELECT i.id, i.processName, i.status, i.createdAt, i.endedAt, d.version FROM process_instance i JOIN process_definition d ON d.id = i.definitionId ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`} ORDER BY i.createdAt DESC LIMIT ?`,
      params,
    )) as Array<Record<string, unknown>>;
    return rows.map((r) => ({ instanceId: String(r.id), processName: String(r.processName), version: Number(r.version), status: r.status as InstanceStatus, startTime: fromSqlDate(r.createdAt) ?? new Date(0), endTime: fromSqlDate(r.endedAt) }));
  }

  /** The names of the deployed processes (any version). */
  async deployedNames(): Promise<Set<string>> {
    const rows = (await this.dataSource.query('SELECT DISTINCT name FROM process_definition')) as Array<{ name: string }>;
    return new Set(rows.map((r) => r.name));
  }

  async definitions(): Promise<Array<{ name: string; version: number; deployedAt: Date }>> {
    const rows = await this.dataSource.getRepository(ProcessDefinition).find({ order: { name: 'ASC', version: 'ASC' } });
    return rows.map((r) => ({ name: r.name, version: r.version, deployedAt: r.deployedAt }));
  }

  /** Asks a running instance to stop (and compensate its completed scopes when asked). Returns the status afterwards. */
  async cancel(instanceId: string, compensate: boolean): Promise<InstanceStatus> {
    // A suspended instance runs nowhere: it ends at once, without compensation (its plan is what is in doubt).
    const ended = await execute(this.dataSource, "UPDATE process_instance SET status = 'TERMINATED', endedAt = ?, cancelRequested = ? WHERE id = ? AND status = 'SUSPENDED'", [toSqlDate(this.clock.date()), compensate ? 2 : 1, instanceId]);
    if (ended === 1) {
      this.log.warn('suspended instance cancelled', { instanceId });
      this.observer.instance({ instanceId, status: 'TERMINATED', at: this.clock.date() });
      return 'TERMINATED';
    }
    const changed = await execute(this.dataSource, "UPDATE process_instance SET cancelRequested = ? WHERE id = ? AND status = 'RUNNING'", [compensate ? 2 : 1, instanceId]);
    if (changed === 1) {
      const local = this.running.get(instanceId);
      local?.abort.abort(new Error('cancelled'));
      if (local !== undefined) await local.done;
    }
    return (await this.status(instanceId)).status;
  }

  /**
   * Lets a SUSPENDED instance run again (its crash count starts over); the
   * next claim resumes it from its rows. Returns the status afterwards.
   */
  async resume(instanceId: string): Promise<InstanceStatus> {
    const changed = await execute(this.dataSource, "UPDATE process_instance SET status = 'RUNNING', recoveries = 0, leaseOwner = NULL, leaseExpiresAt = NULL WHERE id = ? AND status = 'SUSPENDED'", [instanceId]);
    const status = (await this.status(instanceId)).status;
    if (changed === 0) throw new WorkflowError('InvalidState', `instance ${instanceId} is ${status}: only a SUSPENDED instance can be resumed`);
    this.log.warn('suspended instance resumed by an admin', { instanceId });
    this.wake();
    return status;
  }

  // ---- the runner --------------------------------------------------------

  startRunner(): void {
    this.stopped = false;
    this.renewTimer = setInterval(() => void this.renew(), Math.max(100, Math.floor(this.settings.leaseMs / 3)));
    this.renewTimer.unref();
    this.schedule(0);
    this.pruner.start();
  }

  /** Stops claiming instances and stops running ones (they stay RUNNING and are resumed later). */
  async stopRunner(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.renewTimer !== undefined) clearInterval(this.renewTimer);
    await this.pruner.stopJob();
    await this.inFlight;
    const held = [...this.running.keys()];
    for (const r of this.running.values()) r.abort.abort(new Detached('shutdown'));
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
    // Let go of them in order: the next claim is a plain resume, not a recovery from a crash.
    for (let i = 0; i < held.length; i += CLAIM_CHUNK) {
      const chunk = held.slice(i, i + CLAIM_CHUNK);
      try {
        await execute(this.dataSource, `UPDATE process_instance SET leaseOwner = NULL, leaseExpiresAt = NULL, recoveries = 0 WHERE leaseOwner = ? AND status = 'RUNNING' AND id IN (${chunk.map(() => '?').join(', ')})`, [this.owner, ...chunk]);
      } catch (err) {
        this.log.warn('releasing instances at shutdown failed; their leases run out instead', { err: String(err) });
      }
    }
  }

  wake(): void {
    if (!this.stopped && !this.polling) this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.inFlight = this.poll();
    }, ms);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    if (this.stopped || this.polling) return;
    this.polling = true;
    try {
      const now = this.clock.date();
      const free = this.settings.maxInstances - this.running.size;
      if (free > 0) {
        const owners = (await this.dataSource.query("SELECT DISTINCT leaseOwner FROM process_instance WHERE status = 'RUNNING' AND leaseOwner LIKE ?", [localOwnerPattern('wf:')])) as Array<{ leaseOwner: string }>;
        const dead = deadLocalOwners(owners.map((o) => o.leaseOwner), this.owner, 'wf:');
        const byOwner = dead.length === 0 ? '' : ` OR leaseOwner IN (${dead.map(() => '?').join(', ')})`;
        const candidates = (await this.dataSource.query(
          `SELECT id, leaseOwner FROM process_instance WHERE status = 'RUNNING' AND (leaseOwner IS NULL OR leaseExpiresAt < ?${byOwner}) ORDER BY createdAt LIMIT ?`,
          [toSqlDate(now), ...dead, free],
        )) as Array<{ id: string; leaseOwner: string | null }>;
        // One conditional update claims them all; a candidate another process took meanwhile keeps its owner.
        const ids = candidates.filter((c) => !this.running.has(c.id)).map((c) => c.id);
        for (let i = 0; i < ids.length; i += CLAIM_CHUNK) {
          const chunk = ids.slice(i, i + CLAIM_CHUNK);
          const list = chunk.map(() => '?').join(', ');
          // Taking an instance from a holder that did not let go of it (a lease run out, a dead
          // process) counts as a recovery; recoveries is assigned first, while leaseOwner is still the old one.
          await exclusive(this.dataSource, () =>
            execute(
              this.dataSource,
              `UPDATE process_instance SET recoveries = recoveries + CASE WHEN leaseOwner IS NULL OR leaseOwner = ? THEN 0 ELSE 1 END, leaseOwner = ?, leaseExpiresAt = ? WHERE id IN (${list}) AND status = 'RUNNING' AND (leaseOwner IS NULL OR leaseExpiresAt < ?${byOwner})`,
              [this.owner, this.owner, toSqlDate(new Date(now.getTime() + this.settings.leaseMs)), ...chunk, toSqlDate(now), ...dead],
            ),
          );
          const mine = (await this.dataSource.query(`SELECT id, recoveries FROM process_instance WHERE leaseOwner = ? AND status = 'RUNNING' AND id IN (${list})`, [this.owner, ...chunk])) as Array<{ id: string; recoveries: unknown }>;
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
      if (!this.stopped) this.schedule(this.settings.pollMs);
    }
  }

  /**
   * An instance its servers died running `crashLoopLimit` times in a row is
   * not resumed blindly: it is SUSPENDED until an admin resumes or cancels it.
   */
  private async suspend(instanceId: string, recoveries: number): Promise<void> {
    const changed = await exclusive(this.dataSource, () =>
      execute(this.dataSource, "UPDATE process_instance SET status = 'SUSPENDED', leaseOwner = NULL, leaseExpiresAt = NULL WHERE id = ? AND status = 'RUNNING' AND leaseOwner = ?", [instanceId, this.owner]),
    );
    if (changed !== 1) return;
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
        this.log.error('instance run failed', { instanceId, err: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      })
      .finally(() => {
        this.running.delete(instanceId);
        this.processNames.delete(instanceId);
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
      const rows = (await this.dataSource.query('SELECT definitionId, startedBy, cancelRequested FROM process_instance WHERE id = ?', [instanceId])) as Array<{ definitionId: unknown; startedBy: string; cancelRequested: unknown }>;
      row = rows[0];
    } else {
      row = { definitionId: created.definitionId, startedBy: created.startedBy, cancelRequested: 0 };
    }
    if (row === undefined) return;
    const compiled = await this.compile(Number(row.definitionId));
    const store = new InstanceStore(this.dataSource, instanceId);
    if (created === undefined) await store.load();
    else if (created.input !== undefined) store.setVariable(InstanceStore.variableKey(INPUT_SCOPE, 'message'), created.input);
    const input = store.variables.get(InstanceStore.variableKey(INPUT_SCOPE, 'message'));
    const log = this.log.child({ instanceId, process: compiled.definition.name });
    this.processNames.set(instanceId, compiled.definition.name);
    const principal: Principal = { userId: 0, name: row.startedBy, role: 'engine', accountId: null, level: 0 };
    const interpreter = new Interpreter(compiled.process, store, {
      instanceId,
      invoker: this.invokers.forInstance(compiled, principal, log),
      observer: this.observer,
      clock: this.clock,
      log,
      initialMessage: input === undefined ? undefined : deserializeValue(input),
      limits: this.settings.planLimits,
    });
    if (Number(row.cancelRequested) > 0) {
      await this.finish(instanceId, 'TERMINATED', null, null);
      return;
    }
    log.info('instance running');
    const outcome = await interpreter.run(signal);
    if (signal.aborted && this.stopped) return;
    if (outcome.status === 'TERMINATED') {
      const cancel = Number(((await this.dataSource.query('SELECT cancelRequested FROM process_instance WHERE id = ?', [instanceId])) as Array<{ cancelRequested: unknown }>)[0]?.cancelRequested ?? 0);
      if (cancel === 2) await interpreter.compensateProcess(new AbortController().signal);
    }
    if (outcome.status === 'FAULTED') {
      await this.finish(instanceId, 'FAULTED', serializeFault(outcome.fault), outcome.path);
      log.warn('instance faulted', { fault: outcome.fault.message, path: outcome.path });
    } else {
      await this.finish(instanceId, outcome.status, null, null);
      log.info('instance ended', { status: outcome.status });
    }
  }

  private async finish(instanceId: string, status: InstanceStatus, fault: string | null, faultPath: string | null): Promise<void> {
    const at = this.clock.date();
    const [changed] = await groupCommitter(this.dataSource).write([
      [
        "UPDATE process_instance SET status = ?, fault = ?, faultPath = ?, endedAt = ?, leaseOwner = NULL, leaseExpiresAt = NULL WHERE id = ? AND status = 'RUNNING' AND leaseOwner = ?",
        [status, fault, faultPath, toSqlDate(at), instanceId, this.owner],
      ],
    ]);
    // Only the holder of the lease reports the end, once it is recorded.
    if (changed?.changed === 1) this.observer.instance({ instanceId, status, at });
  }

  private async renew(): Promise<void> {
    if (this.running.size === 0) return;
    const ids = [...this.running.keys()];
    try {
      const placeholders = ids.map(() => '?').join(', ');
      await execute(this.dataSource, `UPDATE process_instance SET leaseExpiresAt = ? WHERE leaseOwner = ? AND status = 'RUNNING' AND id IN (${placeholders})`, [
        toSqlDate(new Date(this.clock.now() + this.settings.leaseMs)),
        this.owner,
        ...ids,
      ]);
      const rows = (await this.dataSource.query(`SELECT id, leaseOwner, cancelRequested FROM process_instance WHERE id IN (${placeholders})`, ids)) as Array<{ id: string; leaseOwner: string | null; cancelRequested: unknown }>;
      for (const r of rows) {
        const local = this.running.get(r.id);
        if (local === undefined) continue;
        if (Number(r.cancelRequested) > 0) local.abort.abort(new Error('cancelled'));
        else if (r.leaseOwner !== this.owner) local.abort.abort(new Detached('lease lost'));
      }
    } catch (err) {
      this.log.error('workflow lease renewal failed', { err: String(err) });
    }
  }

  /** Number of instances this process is executing now. */
  get activeCount(): number {
    return this.running.size;
  }
}

function describeFault(text: string): string {
  try {
    const f = JSON.parse(text) as { ns: string; local: string; message: string };
    return `{${f.ns}}${f.local}: ${f.message}`;
  } catch {
    return text;
  }
}

export type { QName };
