import { SOFTWARE_OPERATIONS, type SoftwareOperation } from '../drivers/driver';
import type { ProvisioningApi } from '../provisioning/api';
import type { SoapOperation, SoapService } from '../soap/service';
import { NAME, PROVISIONING_ROLES, submissionFields, wsdlPath } from './provisioning-fields';

/** SoftwareService (`/soap/Software`): each operation queues a task through the provisioning API and returns its requestId. */
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
      const submitted = await api.submitSoftwareRequest(op, { system, component, version, parameters, ...submission }, { name: ctx.principal.name });
      const { requestId } = submitted;
      ctx.log.info('request accepted', { requestId, system, component, version: submitted.version });
      // Install and Update say which version they chose; the other operations' responses carry only the requestId.
      return op === 'Install' || op === 'Update' ? { requestId, version: submitted.version ?? undefined } : { requestId };
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
