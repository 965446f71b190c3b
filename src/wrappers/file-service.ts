import type { ProvisioningApi } from '../provisioning/api';
import type { SoapService } from '../soap/service';
import { NAME, PATH, PROVISIONING_ROLES, submissionFields, wsdlPath } from './provisioning-fields';

/** FileService (`/soap/File`): Copy and Delete, queued through the provisioning API. */
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
