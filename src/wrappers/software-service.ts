import { SOFTWARE_OPERATIONS, type SoftwareOperation } from '../drivers/driver';
import type { ProvisioningApi } from '../provisioning/api';
import type { PackageView } from '../provisioning/packages';
import { ProvisorError } from '../errors';
import type { SoapOperation, SoapService } from '../soap/service';
import type { XmlObject } from '../xml/writer';
import { NAME, PROVISIONING_ROLES, submissionFields, wsdlPath } from './provisioning-fields';

/** What ListPackages reads: the packages the registered repositories offer. */
export interface PackageLister {
  list(): Promise<PackageView[]>;
}

function packageXml(p: PackageView): XmlObject {
  return {
    name: p.name,
    version: p.versions.map((v) => ({
      version: v.version,
      description: v.description,
      runs: v.runs,
      provides: [...v.provides],
      requires: v.requires.map((r) => ({ component: r.component, range: r.range, sameSystem: r.sameSystem })),
      parametersDeclared: v.parameters !== undefined,
      parameter: (v.parameters ?? []).map((d) => ({
        name: d.name,
        type: d.type,
        default: d.default,
        allowedValue: d.allowed === undefined ? undefined : [...d.allowed],
        min: d.min,
        max: d.max,
        blank: d.blank,
        description: d.description,
      })),
    })),
  };
}

/**
 * SoftwareService (`/soap/Software`): each task operation queues a task
 * through the provisioning API and returns its requestId; ListInstalled and
 * ListPackages read what is installed and what can be.
 */
export function softwareService(api: ProvisioningApi, packages: PackageLister, root: string): SoapService {
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
  operations.ListPackages = {
    roles: PROVISIONING_ROLES,
    async handle(fields) {
      const name = fields.optString('name', NAME);
      fields.done();
      const offered = await packages.list();
      const shown = name === undefined ? offered : offered.filter((p) => p.name === name);
      if (name !== undefined && shown.length === 0) {
        throw new ProvisorError('UnknownPackage', `no registered repository offers a package "${name}" (the packages: ${offered.map((p) => p.name).join(', ') || 'none'})`, 'name');
      }
      return { package: shown.map(packageXml) };
    },
  };
  return { name: 'Software', namespace: 'urn:provisor:software:1', wsdlFile: wsdlPath(root, 'software'), operations };
}
