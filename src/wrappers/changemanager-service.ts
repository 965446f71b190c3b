import type { Role } from '../../entities';
import type { ChangeManager, ChangeView } from '../changemanager/change-manager';
import { DECISIONS } from '../changemanager/change-manager';
import { CHANGE_OBJECTIVES, CHANGE_STATES, type ChangeRequest, type ChangeTarget, type DesiredChange, type PlanOutcome } from '../changemanager/change-plan';
import { SOFTWARE_OPERATIONS, type MaintenanceWindow, type SystemFacts, type Weekday } from '../changemanager/planning-model';
import type { SystemFactsStore } from '../changemanager/system-facts';
import { validateWindow, WindowSyntaxError } from '../changemanager/windows';
import { BUILT_IN_POLICIES, POLICY_KINDS, type PolicyScope } from '../changemanager/planner/policy-definition';
import type { StoredPolicy } from '../changemanager/policy-store';
import { CHANGE_LIMITS } from '../changemanager/request-rules';
import { ProvisorError } from '../errors';
import type { FieldReader, NameValuePair } from '../soap/fields';
import type { SoapOperation, SoapService } from '../soap/service';
import type { XmlObject } from '../xml/writer';
import { NAME, PROVISIONING_ROLES, wsdlPath } from './provisioning-fields';

const ADMIN: readonly Role[] = ['admin'];
const SCOPE_KINDS = ['all', 'role', 'cluster'] as const;

function toRecord(pairs: readonly NameValuePair[], field: string): Record<string, string> | undefined {
  if (pairs.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const p of pairs) {
    if (Object.hasOwn(out, p.name)) throw new ProvisorError('InvalidField', `${field}: parameter "${p.name}" is given twice`, field);
    out[p.name] = p.value;
  }
  return out;
}

function parameterList(record: Readonly<Record<string, string>> | undefined): XmlObject | undefined {
  if (record === undefined || Object.keys(record).length === 0) return undefined;
  return { parameter: Object.entries(record).map(([name, value]) => ({ name, value })) };
}

/** The repeated `parameter` (or `argument`) elements of a record, each with `name` and `value`. */
function pairs(fields: FieldReader, name: string): NameValuePair[] {
  return fields.repeated(name).map((p) => {
    const pair = { name: p.string('name', NAME), value: p.optString('value', { maxLength: CHANGE_LIMITS.maxParameterValueLength }) ?? '' };
    p.done();
    return pair;
  });
}

function readTarget(fields: FieldReader | undefined, at: string): ChangeTarget {
  if (fields === undefined) throw new ProvisorError('MissingField', `${at}/target is required`, `${at}/target`);
  const system = fields.optString('system', NAME);
  const role = fields.optString('role', NAME);
  const cluster = fields.optString('cluster', NAME);
  fields.done();
  const given = [system, role, cluster].filter((v) => v !== undefined).length;
  if (given !== 1) throw new ProvisorError(given === 0 ? 'MissingField' : 'InvalidField', `${at}/target must hold exactly one of system, role or cluster (it holds ${given})`, `${at}/target`);
  if (system !== undefined) return { kind: 'system', system };
  if (role !== undefined) return { kind: 'role', role };
  return { kind: 'cluster', cluster: cluster as string };
}

function readChange(fields: FieldReader, at: string): DesiredChange {
  const operation = fields.optEnum('operation', SOFTWARE_OPERATIONS);
  if (operation === undefined) throw new ProvisorError('MissingField', `${at}/operation is required`, `${at}/operation`);
  const component = fields.string('component', NAME);
  const version = fields.optString('version', { minLength: 1, maxLength: CHANGE_LIMITS.maxVersionLength });
  const parameters = toRecord(fields.parameters('parameters'), `${at}/parameters`);
  const target = readTarget(fields.optRecord('target'), at);
  fields.done();
  return { operation, component, ...(version === undefined ? {} : { version }), ...(parameters === undefined ? {} : { parameters }), target };
}

function scopeOut(scope: PolicyScope): XmlObject {
  return scope.kind === 'all' ? { kind: 'all' } : scope.kind === 'role' ? { kind: 'role', name: scope.role } : { kind: 'cluster', name: scope.cluster };
}

function policyOut(policy: StoredPolicy | (typeof BUILT_IN_POLICIES)[number], builtIn: boolean): XmlObject {
  const stored = 'createdBy' in policy ? policy : undefined;
  return {
    name: policy.name,
    kind: policy.kind,
    parameter: Object.entries(policy.parameters).map(([name, value]) => ({ name, value })),
    scope: policy.scopes.map(scopeOut),
    enabled: stored?.enabled ?? true,
    builtIn,
    description: policy.description,
    createdBy: stored?.createdBy,
    createdAt: stored?.createdAt,
  };
}

/** A SubmitChangeRequest element as read: the request (fragments still by name), and its idempotency key. */
export interface SubmittedChangeRequest {
  readonly request: Omit<ChangeRequest, 'fragments'>;
  readonly fragments: ReadonlyArray<{ readonly name: string; readonly arguments: Readonly<Record<string, string>> }>;
  readonly idempotencyKey: string | undefined;
}

/** Reads SubmitChangeRequest's fields (the SOAP operation, and `provisor change submit` of an XML file). */
export function readSubmitChangeRequest(fields: FieldReader): SubmittedChangeRequest {
  const changeFields = fields.repeated('change');
  if (changeFields.length > CHANGE_LIMITS.maxChanges) throw new ProvisorError('InvalidField', `change appears ${changeFields.length} times, more than the ${CHANGE_LIMITS.maxChanges} allowed`, 'change');
  const desired = changeFields.map((c, i) => readChange(c, `change[${i + 1}]`));
  const fragmentFields = fields.repeated('fragment');
  if (fragmentFields.length > CHANGE_LIMITS.maxFragments) throw new ProvisorError('InvalidField', `fragment appears ${fragmentFields.length} times, more than the ${CHANGE_LIMITS.maxFragments} allowed`, 'fragment');
  const fragments = fragmentFields.map((f, i) => {
    const use = { name: f.string('name', NAME), arguments: toRecord(pairs(f, 'argument'), `fragment[${i + 1}]/argument`) ?? {} };
    f.done();
    return use;
  });
  const earliestStart = fields.optDateTime('earliestStart');
  const deadline = fields.optDateTime('deadline');
  const maxUnavailableShare = fields.optDecimal('maxUnavailableShare', { minExclusive: 0, maxInclusive: 1 });
  const priority = fields.optLong('priority', { min: CHANGE_LIMITS.minPriority, max: CHANGE_LIMITS.maxPriority });
  const objective = fields.optEnum('objective', CHANGE_OBJECTIVES);
  const dryRun = fields.optBoolean('dryRun');
  const idempotencyKey = fields.optString('idempotencyKey', { minLength: 1, maxLength: 200 });
  fields.done();
  return { request: { changes: desired, earliestStart, deadline, maxUnavailableShare, priority, objective, dryRun }, fragments, idempotencyKey };
}

/** GetChangePlan's answer: the change, then its plan's parts. */
export function changePlanResponse(view: ChangeView): XmlObject {
  const plan: PlanOutcome | undefined = view.plan;
  const planned = plan?.state === 'PLANNED' ? plan : undefined;
  const start = planned?.schedule.plannedStart.getTime() ?? 0;
  return {
    changeId: view.id,
    state: view.state,
    caller: view.caller,
    dryRun: view.dryRun,
    priority: view.priority,
    createdAt: view.createdAt,
    updatedAt: view.updatedAt,
    plannedAt: view.plannedAt ?? undefined,
    endedAt: view.endedAt ?? undefined,
    rejection:
      view.rejectionCode === null ? undefined : { code: view.rejectionCode, message: view.rejectionMessage ?? '', object: plan?.state === 'REJECTED' ? [...plan.objects] : [] },
    task: (plan?.tasks ?? []).map((t) => ({
      id: t.id,
      operation: t.operation,
      system: t.system,
      component: t.component,
      version: t.version,
      parameters: parameterList(t.parameters),
      duration: t.duration,
      reason: t.reason,
      policy: t.policy,
      quiesce: t.quiesce,
      undo: t.undo === null ? undefined : { operation: t.undo.operation, version: t.undo.version, parameters: parameterList(t.undo.parameters) },
    })),
    precedence: (planned?.precedences ?? []).map((p) => ({ from: p.from, to: p.to, type: p.type, lag: p.lag, reason: p.reason })),
    schedule:
      planned === undefined
        ? undefined
        : {
            plannedStart: planned.schedule.plannedStart,
            task: planned.schedule.tasks.map((t) => ({ id: t.id, start: t.start, finish: t.finish, startTime: new Date(start + t.start * 1000), finishTime: new Date(start + t.finish * 1000), critical: t.critical })),
            makespan: planned.schedule.makespan,
            lowerBound: { criticalPath: planned.schedule.lowerBound.criticalPath, resource: planned.schedule.lowerBound.resource, makespan: planned.schedule.lowerBound.makespan },
            provenOptimal: planned.schedule.provenOptimal,
            lateness: planned.schedule.lateness ?? undefined,
            seed: planned.schedule.search.seed,
            schedules: planned.schedule.search.schedules,
            elapsedMs: Math.round(planned.schedule.search.elapsedMs),
          },
    check: (plan?.checks ?? []).map((c) => ({ policy: c.policy, outcome: c.outcome, message: c.message, object: [...c.objects] })),
    processName: planned?.bpel.processName ?? view.processName ?? undefined,
    bpel: planned?.bpel.document,
    instanceId: view.instanceId ?? undefined,
    outcome: view.outcome ?? undefined,
  };
}

/**
 * The ChangeManagerService (`/soap/ChangeManager`): requests for change,
 * their plans and decisions for operators, engines and admins; policies for
 * admins; and the workflow engine's one-way reports, which only wake the
 * change manager (it reads the instances' state itself).
 */
function systemOut(facts: SystemFacts): XmlObject {
  return {
    name: facts.name,
    driver: facts.driver,
    role: [...facts.roles],
    cluster: facts.cluster ?? undefined,
    capacity: facts.capacity,
    cpus: facts.hardware.cpus ?? undefined,
    memoryMb: facts.hardware.memoryMb ?? undefined,
    diskGb: facts.hardware.diskGb ?? undefined,
    window: facts.maintenanceWindows.map((w) => ({ day: [...w.days], start: w.start, durationMinutes: w.durationMinutes, timeZone: w.timeZone })),
  };
}

function readWindow(fields: FieldReader, at: string): MaintenanceWindow {
  const days = fields.repeatedText('day', 7, { minLength: 1, maxLength: 2 }).map((text, i) => {
    const day = Number(text.trim());
    if (!/^\s*[1-7]\s*$/.test(text)) throw new ProvisorError('InvalidField', `${at}/day[${i + 1}] "${text}" is not a weekday from 1 (Monday) to 7 (Sunday)`, `${at}/day`);
    return day as Weekday;
  });
  if (days.length === 0) throw new ProvisorError('MissingField', `${at}/day is required: the days the window opens on`, `${at}/day`);
  const start = fields.string('start', { maxLength: 5 });
  if (!/^([01][0-9]|2[0-3]):[0-5][0-9]$/.test(start)) throw new ProvisorError('InvalidField', `${at}/start "${start}" is not a time of day HH:MM`, `${at}/start`);
  const durationMinutes = fields.optLong('durationMinutes', { min: 1, max: 10_080 });
  if (durationMinutes === undefined) throw new ProvisorError('MissingField', `${at}/durationMinutes is required`, `${at}/durationMinutes`);
  const timeZone = fields.optString('timeZone', { minLength: 1, maxLength: 100 }) ?? 'UTC';
  fields.done();
  try {
    return validateWindow({ days, start, durationMinutes, timeZone });
  } catch (err) {
    if (err instanceof WindowSyntaxError) throw new ProvisorError('InvalidField', `${at}: ${err.message}`, at);
    throw err;
  }
}

export function changeManagerService(changes: ChangeManager, root: string, systems: SystemFactsStore): SoapService {
  const operations: Record<string, SoapOperation> = {
    SubmitChangeRequest: {
      roles: PROVISIONING_ROLES,
      async handle(fields, ctx) {
        const read = readSubmitChangeRequest(fields);
        const fragments = read.fragments.length === 0 ? undefined : await changes.fragmentUses(read.fragments);
        const changeId = await changes.submit({ ...read.request, fragments }, ctx.principal.name, { idempotencyKey: read.idempotencyKey, messageId: ctx.messageId });
        return { changeId };
      },
    },
    GetChangePlan: {
      roles: PROVISIONING_ROLES,
      async handle(fields) {
        const changeId = fields.string('changeId', { maxLength: 64 });
        fields.done();
        return changePlanResponse(await changes.get(changeId));
      },
    },
    ListChangeRequests: {
      roles: PROVISIONING_ROLES,
      async handle(fields) {
        const state = fields.optEnum('state', CHANGE_STATES);
        const offset = fields.optLong('offset', { min: 0, max: 2_147_483_647 });
        const limit = fields.optLong('limit', { min: 1, max: 1000 });
        fields.done();
        const page = await changes.list({ state, offset, limit });
        return {
          change: page.changes.map((c) => ({
            changeId: c.id,
            state: c.state,
            caller: c.caller,
            changes: c.changes,
            priority: c.priority,
            dryRun: c.dryRun,
            deadline: c.deadline ?? undefined,
            createdAt: c.createdAt,
            updatedAt: c.updatedAt,
            rejectionCode: c.rejectionCode ?? undefined,
            instanceId: c.instanceId ?? undefined,
            outcome: c.outcome ?? undefined,
          })),
          total: page.total,
        };
      },
    },
    DecideChangePlan: {
      roles: PROVISIONING_ROLES,
      async handle(fields, ctx) {
        const changeId = fields.string('changeId', { maxLength: 64 });
        const decision = fields.optEnum('decision', DECISIONS);
        if (decision === undefined) throw new ProvisorError('MissingField', 'decision is required', 'decision');
        const rollback = fields.optBoolean('rollback');
        const reason = fields.optString('reason', { maxLength: 1000 });
        fields.done();
        return { state: await changes.decide(changeId, decision, ctx.principal.name, { rollback, reason }) };
      },
    },
    AddPolicy: {
      roles: ADMIN,
      async handle(fields, ctx) {
        const name = fields.string('name', { maxLength: 64 });
        const kind = fields.optEnum('kind', POLICY_KINDS);
        if (kind === undefined) throw new ProvisorError('MissingField', 'kind is required', 'kind');
        const parameters = toRecord(pairs(fields, 'parameter'), 'parameter') ?? {};
        const scopes: PolicyScope[] = fields.repeated('scope').map((s, i) => {
          const scopeKind = s.optEnum('kind', SCOPE_KINDS);
          const scopeName = s.optString('name', NAME);
          s.done();
          if (scopeKind === undefined) throw new ProvisorError('MissingField', `scope[${i + 1}]/kind is required`, `scope[${i + 1}]/kind`);
          if (scopeKind === 'all') return { kind: 'all' };
          if (scopeName === undefined) throw new ProvisorError('MissingField', `scope[${i + 1}]/name is required for a ${scopeKind} scope`, `scope[${i + 1}]/name`);
          return scopeKind === 'role' ? { kind: 'role', role: scopeName } : { kind: 'cluster', cluster: scopeName };
        });
        const enabled = fields.optBoolean('enabled') ?? true;
        fields.done();
        const added = await changes.addPolicy({ name, kind, parameters, scopes: scopes.length === 0 ? [{ kind: 'all' }] : scopes, enabled }, ctx.principal.name);
        return { name: added.name };
      },
    },
    ListPolicies: {
      roles: PROVISIONING_ROLES,
      async handle(fields) {
        fields.done();
        const stored = await changes.listPolicies();
        const byName = new Map(stored.map((p) => [p.name, p]));
        const builtIn = BUILT_IN_POLICIES.map((b) => {
          const replaced = byName.get(b.name);
          return replaced === undefined ? policyOut(b, true) : policyOut(replaced, false);
        });
        const others = stored.filter((p) => !BUILT_IN_POLICIES.some((b) => b.name === p.name)).map((p) => policyOut(p, false));
        return { policy: [...builtIn, ...others] };
      },
    },
    RemovePolicy: {
      roles: ADMIN,
      async handle(fields, ctx) {
        const name = fields.string('name', { maxLength: 64 });
        fields.done();
        await changes.removePolicy(name, ctx.principal.name);
        return { name };
      },
    },
    SetSystemFacts: {
      roles: ADMIN,
      async handle(fields) {
        const system = fields.string('system', NAME);
        const addRoles = fields.repeatedText('addRole', 32, NAME);
        const removeRoles = fields.repeatedText('removeRole', 32, NAME);
        const cluster = fields.optString('cluster', NAME);
        const leaveCluster = fields.optBoolean('leaveCluster') ?? false;
        if (cluster !== undefined && leaveCluster) throw new ProvisorError('InvalidField', 'give cluster or leaveCluster, not both', 'leaveCluster');
        const capacity = fields.optLong('capacity', { min: 1, max: 1000 });
        const cpus = fields.optLong('cpus', { min: 1, max: 100_000 });
        const memoryMb = fields.optLong('memoryMb', { min: 1, max: 1_000_000_000 });
        const diskGb = fields.optLong('diskGb', { min: 1, max: 1_000_000_000 });
        const clearWindows = fields.optBoolean('clearWindows') ?? false;
        const windowFields = fields.repeated('window');
        if (windowFields.length > 20) throw new ProvisorError('InvalidField', `window appears ${windowFields.length} times, more than the 20 allowed`, 'window');
        const addWindows = windowFields.map((w, i) => readWindow(w, `window[${i + 1}]`));
        fields.done();
        const facts = await systems.set(system, {
          addRoles,
          removeRoles,
          ...(cluster !== undefined ? { cluster } : leaveCluster ? { cluster: null } : {}),
          ...(capacity === undefined ? {} : { capacity }),
          ...(cpus === undefined ? {} : { cpus }),
          ...(memoryMb === undefined ? {} : { memoryMb }),
          ...(diskGb === undefined ? {} : { diskGb }),
          clearWindows,
          addWindows,
        });
        return { system: systemOut(facts) };
      },
    },
    GetSystem: {
      roles: PROVISIONING_ROLES,
      async handle(fields) {
        const system = fields.string('system', NAME);
        fields.done();
        return { system: systemOut(await systems.get(system)) };
      },
    },
    ListSystems: {
      roles: PROVISIONING_ROLES,
      async handle(fields) {
        fields.done();
        return { system: (await systems.list()).map(systemOut) };
      },
    },
    // The workflow engine's reports (when its change manager endpoint is this server): the change manager reads instance states itself, so a report only wakes it.
    ReportWorkflowStatus: {
      roles: PROVISIONING_ROLES,
      handle: () => Promise.resolve({}),
      handleRaw() {
        changes.wake();
        return Promise.resolve(undefined);
      },
    },
    ReportViolation: {
      roles: PROVISIONING_ROLES,
      handle: () => Promise.resolve({}),
      handleRaw(_element, ctx) {
        ctx.log.warn('a change plan missed a time limit');
        return Promise.resolve(undefined);
      },
    },
  };
  return { name: 'ChangeManager', namespace: 'urn:provisor:changemanager:1', wsdlFile: wsdlPath(root, 'changemanager'), operations };
}
