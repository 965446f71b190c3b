import path from 'node:path';
import type { Role } from '../../entities';
import { REQUEST_STATUSES } from '../../entities';
import { SOFTWARE_OPERATIONS, type SoftwareOperation } from '../drivers/driver';
import type { ProvisioningApi, Submission } from '../provisioning/api';
import type { FieldReader } from '../soap/fields';
import type { OperationContext, SoapOperation, SoapService } from '../soap/service';

/** Roles that may provision (the contract: operator, engine or admin). */
export const PROVISIONING_ROLES: readonly Role[] = ['operator', 'engine', 'admin'];

const NAME = { minLength: 1, maxLength: 200 } as const;
const PATH = { minLength: 1, maxLength: 1024 } as const;

/** The trailing optional fields every task operation shares. */
function submissionFields(fields: FieldReader, ctx: OperationContext): Submission {
  const idempotencyKey = fields.optString('idempotencyKey', { minLength: 1, maxLength: 200 });
  const callback = fields.optHttpUri('callback');
  return { idempotencyKey, callback, messageId: ctx.messageId?.slice(0, 255) };
}

/** xsd:duration of a millisecond count, e.g. PT1M2.5S. */
export function toXsdDuration(ms: number): string {
  const totalSeconds = ms / 1000;
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds - hours * 3600) / 60);
  const seconds = totalSeconds - hours * 3600 - minutes * 60;
  const secondsText = Number.isInteger(seconds) ? String(seconds) : seconds.toFixed(3).replace(/0+$/, '');
  return `PT${hours > 0 ? `${hours}H` : ''}${minutes > 0 ? `${minutes}M` : ''}${secondsText}S`;
}

export function wsdlPath(root: string, name: string): string {
  return path.join(root, 'wsdl', `${name}.wsdl`);
}

export function softwareService(api: ProvisioningApi, root: string): SoapService {
  const operation = (op: SoftwareOperation): SoapOperation => ({
    roles: PROVISIONING_ROLES,
    async handle(fields, ctx) {
      const system = fields.string('system', NAME);
      const component = fields.string('component', NAME);
      const version = fields.optString('version', { minLength: 1, maxLength: 100 });
      const parameters = fields.parameters('parameters');
      const submission = submissionFields(fields, ctx);
      fields.done();
      const requestId = await api.submitSoftware(op, { system, component, version, parameters, ...submission }, { name: ctx.principal.name });
      ctx.log.info('request accepted', { requestId, system, component });
      return { requestId };
    },
  });
  const operations: Record<string, SoapOperation> = {};
  for (const op of SOFTWARE_OPERATIONS) operations[op] = operation(op);
  operations.ListInstalled = {
    roles: PROVISIONING_ROLES,
    async handle(fields) {
      const system = fields.string('system', NAME);
      fields.done();
      const components = await api.listInstalled(system);
      return {
        component: components.map((c) => ({ name: c.name, version: c.version, state: c.state, previousVersion: c.previousVersion ?? undefined, updatedAt: c.updatedAt })),
      };
    },
  };
  return { name: 'Software', namespace: 'urn:provisor:software:1', wsdlFile: wsdlPath(root, 'software'), operations };
}

export function fileService(api: ProvisioningApi, root: string): SoapService {
  return {
    name: 'File',
    namespace: 'urn:provisor:file:1',
    wsdlFile: wsdlPath(root, 'file'),
    operations: {
      Copy: {
        roles: PROVISIONING_ROLES,
        async handle(fields, ctx) {
          const sourceSystem = fields.optString('sourceSystem', NAME);
          const sourcePath = fields.string('sourcePath', PATH);
          const targetSystem = fields.string('targetSystem', NAME);
          const targetPath = fields.string('targetPath', PATH);
          const submission = submissionFields(fields, ctx);
          fields.done();
          const requestId = await api.copy({ sourceSystem, sourcePath, targetSystem, targetPath, ...submission }, { name: ctx.principal.name });
          ctx.log.info('request accepted', { requestId, system: targetSystem });
          return { requestId };
        },
      },
      Delete: {
        roles: PROVISIONING_ROLES,
        async handle(fields, ctx) {
          const system = fields.string('system', NAME);
          const filePath = fields.string('path', PATH);
          const submission = submissionFields(fields, ctx);
          fields.done();
          const requestId = await api.delete({ system, path: filePath, ...submission }, { name: ctx.principal.name });
          ctx.log.info('request accepted', { requestId, system });
          return { requestId };
        },
      },
    },
  };
}

/** The longest a GetStatus may wait for its request to end. */
const MAX_WAIT_SECONDS = 60;

export function requestService(api: ProvisioningApi, root: string): SoapService {
  const read = async (fields: FieldReader) => {
    const requestId = fields.string('requestId', { minLength: 1, maxLength: 64 });
    fields.done();
    return api.getRequest(requestId);
  };
  return {
    name: 'Request',
    namespace: 'urn:provisor:request:1',
    wsdlFile: wsdlPath(root, 'request'),
    operations: {
      GetStatus: {
        roles: PROVISIONING_ROLES,
        async handle(fields) {
          const requestId = fields.string('requestId', { minLength: 1, maxLength: 64 });
          const waitSeconds = fields.optLong('waitSeconds', { min: 0, max: MAX_WAIT_SECONDS }) ?? 0;
          fields.done();
          const r = await api.getRequest(requestId, waitSeconds * 1000);
          return { status: r.status, message: r.message ?? undefined };
        },
      },
      GetStartTime: {
        roles: PROVISIONING_ROLES,
        async handle(fields) {
          const r = await read(fields);
          return { startTime: r.startTime ?? undefined };
        },
      },
      GetDuration: {
        roles: PROVISIONING_ROLES,
        async handle(fields) {
          const r = await read(fields);
          const ms = r.milliseconds ?? 0;
          return { duration: toXsdDuration(ms), milliseconds: ms };
        },
      },
      GetRequest: {
        roles: PROVISIONING_ROLES,
        async handle(fields) {
          const r = await read(fields);
          return {
            requestId: r.requestId,
            operation: r.operation,
            system: r.system,
            component: r.component ?? undefined,
            version: r.version ?? undefined,
            status: r.status,
            message: r.message ?? undefined,
            output: r.output ?? undefined,
            submittedAt: r.submittedAt,
            startTime: r.startTime ?? undefined,
            endTime: r.endTime ?? undefined,
            duration: r.milliseconds === null ? undefined : toXsdDuration(r.milliseconds),
            milliseconds: r.milliseconds ?? undefined,
            submittedBy: r.submittedBy,
          };
        },
      },
      Cancel: {
        roles: PROVISIONING_ROLES,
        async handle(fields, ctx) {
          const requestId = fields.string('requestId', { minLength: 1, maxLength: 64 });
          fields.done();
          const status = await api.cancel(requestId, { name: ctx.principal.name });
          if (!REQUEST_STATUSES.includes(status)) throw new Error(`unexpected status ${status}`);
          return { status };
        },
      },
    },
  };
}
