import type { Element } from '@xmldom/xmldom';
import { parseElement } from '../xml/dom';
import type { Principal } from '../auth/principal';
import { ProcessDefinitionError } from '../bpel/model';
import type { VariableValue } from '../bpel/values';
import { ProvisorError } from '../errors';
import type { InstanceStatus, WorkflowRuntime } from '../workflow/runtime';
import { WorkflowError } from '../workflow/runtime';
import { PASSWORD_TYPES, type PartnerBinding } from '../workflow/partner-bindings';
import type { SoapOperation, SoapService } from '../soap/service';
import { PROVISIONING_ROLES, wsdlPath } from './provisioning-fields';

/** The most activities one GetProcessStatus answer carries (the WSDL's ActivityLimit). */
const MAX_STATUS_ACTIVITIES = 1000;

const INSTANCE_STATUSES: readonly InstanceStatus[] = ['RUNNING', 'COMPLETED', 'FAULTED', 'TERMINATED', 'SUSPENDED'];

function mapError(err: unknown): never {
  if (err instanceof ProcessDefinitionError) {
    throw new ProvisorError('InvalidProcess', `the process is not valid: ${err.diagnostics.map((d) => `line ${d.line}: ${d.message}`).join('; ')}`, 'bpel');
  }
  if (err instanceof WorkflowError) {
    if (err.code === 'DestinationDenied') throw new ProvisorError('DestinationDenied', err.message, 'binding');
    const code = err.code === 'UnknownInstance' ? 'UnknownInstance' : err.code === 'UnknownProcess' ? 'UnknownProcess' : err.code === 'InvalidInput' ? 'InvalidField' : 'InvalidProcess';
    throw new ProvisorError(code, err.message, err.code === 'UnknownInstance' ? 'instanceId' : err.code === 'UnknownProcess' ? 'processName' : undefined);
  }
  throw err;
}

/** A part's content: an element when it parses as one, otherwise the text itself. */
function partValue(content: string, field: string): Element | string {
  const trimmed = content.trim();
  if (!trimmed.startsWith('<')) return content;
  if (/<!DOCTYPE|<!ENTITY/i.test(trimmed)) throw new ProvisorError('DtdForbidden', `${field} carries a DTD`, field);
  try {
    return parseElement(trimmed);
  } catch (err) {
    throw new ProvisorError('InvalidField', `${field} is not well-formed XML: ${(err as Error).message}`, field);
  }
}

/**
 * Whether a caller may deploy a process of this name (the catalog reserves
 * its plans' names for admins); throws a ProvisorError when not.
 */
export type DeployRule = (processName: string, caller: Principal) => Promise<void>;

/** The WorkflowService: deploy WS-BPEL processes, start, watch, cancel and list instances. */
export function workflowService(runtime: WorkflowRuntime, root: string, mayDeploy: DeployRule): SoapService {
  const op = (handle: SoapOperation['handle']): SoapOperation => ({ roles: PROVISIONING_ROLES, handle });
  return {
    name: 'Workflow',
    namespace: 'urn:provisor:workflow:1',
    wsdlFile: wsdlPath(root, 'workflow'),
    operations: {
      DeployProcess: op(async (fields, ctx) => {
        const bpel = fields.string('bpel', { maxLength: 1_000_000 });
        const documents = new Map<string, string>();
        for (const d of fields.repeated('document')) {
          documents.set(d.string('name', { maxLength: 512 }), d.string('content', { maxLength: 1_000_000 }));
          d.done();
        }
        const bindings: PartnerBinding[] = fields.repeated('binding').map((b) => {
          const binding: PartnerBinding = {
            partnerLink: b.string('partnerLink', { maxLength: 200 }),
            address: b.optHttpUri('address'),
            username: b.optString('username', { maxLength: 200 }),
            password: b.optString('password', { maxLength: 1000 }),
            passwordType: b.optEnum('passwordType', PASSWORD_TYPES),
          };
          b.done();
          return binding;
        });
        fields.done();
        try {
          const deployed = await runtime.deploy({ bpel, documents, bindings, deployedBy: ctx.principal.name, authorize: (name) => mayDeploy(name, ctx.principal) });
          return { processName: deployed.name, version: deployed.version, endpoint: `/soap/processes/${encodeURIComponent(deployed.name)}` };
        } catch (err) {
          return mapError(err);
        }
      }),
      StartProcess: op(async (fields, ctx) => {
        const processName = fields.string('processName', { maxLength: 200 });
        const input = fields.optRecord('input');
        let message: VariableValue | undefined;
        if (input !== undefined) {
          const parts = new Map<string, Element | string>();
          for (const p of input.repeated('part')) {
            const name = p.string('name', { maxLength: 200 });
            parts.set(name, partValue(p.optString('content', { maxLength: 1_000_000 }) ?? '', `input/part "${name}"`));
            p.done();
          }
          input.done();
          message = { kind: 'message', parts };
        }
        const idempotencyKey = fields.optString('idempotencyKey', { minLength: 1, maxLength: 200 }) ?? ctx.messageId?.slice(0, 200);
        fields.done();
        try {
          return { instanceId: await runtime.start(processName, message, ctx.principal.name, idempotencyKey) };
        } catch (err) {
          return mapError(err);
        }
      }),
      GetProcessStatus: op(async (fields) => {
        const instanceId = fields.string('instanceId', { maxLength: 64 });
        const offset = fields.optLong('activityOffset', { min: 0, max: 2_147_483_647 }) ?? 0;
        const limit = fields.optLong('activityLimit', { min: 1, max: MAX_STATUS_ACTIVITIES }) ?? MAX_STATUS_ACTIVITIES;
        const includeVariables = fields.optBoolean('includeVariables') ?? false;
        fields.done();
        try {
          const view = await runtime.status(instanceId, { offset, limit }, { includeVariables });
          return {
            instanceId: view.instanceId,
            processName: view.processName,
            status: view.status,
            startTime: view.startTime,
            endTime: view.endTime ?? undefined,
            fault: view.fault === null ? undefined : { name: view.fault.name, message: view.fault.message, activityPath: view.fault.activityPath },
            activity: view.activities.map((a) => ({ path: a.key, kind: a.kind, name: a.name ?? undefined, state: a.state, startTime: a.startTime, endTime: a.endTime ?? undefined, fault: a.fault ?? undefined, requestId: a.requestId, handledFault: a.handledFault })),
            // Only when the answer does not hold them all, so that answers about ordinary plans stay as they were.
            activityCount: offset === 0 && view.activities.length === view.activityCount ? undefined : view.activityCount,
            link: view.links.map((l) => ({ path: l.key, status: l.status })),
            variable: view.variables?.map((v) => ({ scope: v.scope, name: v.name, value: v.value, truncated: v.truncated ? true : undefined })),
          };
        } catch (err) {
          return mapError(err);
        }
      }),
      CancelProcess: op(async (fields) => {
        const instanceId = fields.string('instanceId', { maxLength: 64 });
        const compensate = fields.optBoolean('compensate') ?? false;
        fields.done();
        try {
          return { status: await runtime.cancel(instanceId, compensate) };
        } catch (err) {
          return mapError(err);
        }
      }),
      ListProcesses: op(async (fields) => {
        const processName = fields.optString('processName', { maxLength: 200 });
        const status = fields.optEnum('status', INSTANCE_STATUSES);
        const limit = fields.optLong('limit', { min: 1, max: 1000 });
        fields.done();
        const rows = await runtime.list({ processName, status, limit });
        return { instance: rows.map((r) => ({ instanceId: r.instanceId, processName: r.processName, version: r.version, status: r.status, startTime: r.startTime, endTime: r.endTime ?? undefined })) };
      }),
      ListDefinitions: op(async (fields) => {
        fields.done();
        const rows = await runtime.definitions();
        return { definition: rows.map((d) => ({ name: d.name, version: d.version, deployedAt: d.deployedAt })) };
      }),
    },
  };
}
