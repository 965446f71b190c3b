import { REQUEST_STATUSES } from '../../entities';
import { MAX_REQUEST_LIST, type ProvisioningApi, type RunningRequest } from '../provisioning/api';
import type { FieldReader } from '../soap/fields';
import type { XmlElement } from '../xml/parser';
import type { XmlObject } from '../xml/writer';
import type { SoapService } from '../soap/service';
import { NAME, PROVISIONING_ROLES, toXsdDuration, wsdlPath } from './provisioning-fields';

/** The RequestService's namespace. */
export const REQUEST_NS = 'urn:provisor:request:1';

/** The longest a GetStatus may wait for its request to end. */
const MAX_WAIT_SECONDS = 60;
/** How many requests ListRequests returns when no limit is given. */
const DEFAULT_LIST_LIMIT = 50;

/** RequestService (`/soap/Request`): a request's status, start, duration and details, read through the provisioning API. */
export function requestService(api: ProvisioningApi, root: string): SoapService {
  const read = async (fields: FieldReader) => {
    const requestId = fields.string('requestId', { minLength: 1, maxLength: 64 });
    fields.done();
    return api.getRequest(requestId);
  };
  return {
    name: 'Request',
    namespace: REQUEST_NS,
    wsdlFile: wsdlPath(root, 'request'),
    operations: {
      GetStatus: {
        roles: PROVISIONING_ROLES,
        readOnly: true,
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
        readOnly: true,
        async handle(fields) {
          const r = await read(fields);
          return { startTime: r.startTime ?? undefined };
        },
      },
      GetDuration: {
        roles: PROVISIONING_ROLES,
        readOnly: true,
        async handle(fields) {
          const r = await read(fields);
          const ms = r.milliseconds ?? 0;
          return { duration: toXsdDuration(ms), milliseconds: ms };
        },
      },
      GetRequest: {
        roles: PROVISIONING_ROLES,
        readOnly: true,
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
      ListRequests: {
        roles: PROVISIONING_ROLES,
        async handle(fields) {
          const system = fields.optString('system', NAME);
          const status = fields.optEnum('status', REQUEST_STATUSES);
          const limit = fields.optLong('limit', { min: 1, max: MAX_REQUEST_LIST }) ?? DEFAULT_LIST_LIMIT;
          fields.done();
          const requests = await api.listRequests({ system, status, limit });
          return {
            request: requests.map((r) => ({
              requestId: r.requestId,
              operation: r.operation,
              system: r.system,
              component: r.component ?? undefined,
              version: r.version ?? undefined,
              status: r.status,
              message: r.message ?? undefined,
              submittedAt: r.submittedAt,
              startTime: r.startTime ?? undefined,
              endTime: r.endTime ?? undefined,
              submittedBy: r.submittedBy,
            })),
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

/**
 * How long a GetStatus answer stands, for the workflow engine's parked poll
 * loops: an IN_PROGRESS answer about a request this process performs stands
 * until the request ends here. Any other answer may change unseen.
 */
export function getStatusStanding(api: ProvisioningApi): (request: XmlElement, result: XmlObject) => RunningRequest | undefined {
  return (request, result) => {
    if (result.status !== 'IN_PROGRESS') return undefined;
    const requestId = request.children.find((c) => c.name === 'requestId')?.text.trim();
    return requestId === undefined || requestId === '' ? undefined : api.whileRunningHere?.(requestId);
  };
}
