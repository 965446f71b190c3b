import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import type { Receive } from '../bpel/model';
import { allActivities } from '../bpel/walk';
import { ProvisorError } from '../errors';
import type { Endpoint } from '../soap/gateway';
import type { SoapOperation } from '../soap/service';
import { PROVISIONING_ROLES } from './provisioning-fields';
import { toDom } from '../xml/convert';
import type { WorkflowRuntime } from '../workflow/runtime';
import { WsdlCatalog } from '../workflow/wsdl-catalog';

const WSDL_NS = 'http://schemas.xmlsoap.org/wsdl/';
const SOAP_BINDING_NS = 'http://schemas.xmlsoap.org/wsdl/soap/';

/**
 * Serves deployed processes at `/soap/processes/<name>`: the WSDL of the port
 * type its instance-creating `receive` implements (with a SOAP binding and
 * service added, addressed here), and that operation: a message sent there
 * starts an instance; when the process `reply`s to it, the reply is the
 * response, otherwise the call is one-way (HTTP 202).
 */
export function processEndpoints(runtime: WorkflowRuntime, replyTimeoutMs: number): (encodedName: string) => Promise<Endpoint | undefined> {
  return async (encodedName) => {
    const name = processNameOf(encodedName);
    const described = await runtime.describe(name);
    if (described === undefined) return undefined;
    const { process, catalog, documents } = described;
    const receives = allActivities(process).filter((a): a is Receive => a.kind === 'receive' && a.createInstance);
    const first = receives[0];
    if (first === undefined) return undefined;
    const link = process.partnerLinks.find((p) => p.name === first.partnerLink);
    const portType = link?.myRole === undefined ? undefined : catalog.portTypeOf(link.partnerLinkType, link.myRole);
    if (portType === undefined) return undefined;
    const operations: Record<string, SoapOperation> = {};
    for (const receive of receives) {
      const info = portType.operations.get(receive.operation);
      const message = info?.input === undefined ? undefined : catalog.messages.get(WsdlCatalog.key(info.input));
      const [partName] = message === undefined ? [] : [...message.parts.keys()];
      const replies = allActivities(process).some((a) => a.kind === 'reply' && a.operation === receive.operation && a.partnerLink === receive.partnerLink);
      operations[receive.operation] = {
        roles: PROVISIONING_ROLES,
        handle: () => Promise.reject(new Error('raw operation')),
        async handleRaw(element, ctx) {
          const input = toDom(element);
          const instanceId = await runtime.start(name, { kind: 'message', parts: new Map([[partName ?? 'parameters', input]]) }, ctx.principal.name, ctx.messageId);
          ctx.log.info('process started by its endpoint', { instanceId, process: name, operation: receive.operation });
          if (!replies) return undefined;
          const reply = await runtime.awaitReply(instanceId, replyTimeoutMs);
          if (reply.status === 'FAULTED') throw new ProvisorError('ProcessFaulted', `process instance ${instanceId} faulted before replying: ${reply.message}`);
          if (reply.status === 'TIMEOUT') throw new ProvisorError('ReplyTimeout', `process instance ${instanceId} did not reply within ${replyTimeoutMs} ms; it goes on running`);
          return reply.xml;
        },
      };
    }
    const wsdl = withBinding(catalog.documentText(portType.document) ?? documents.get(portType.document) ?? '', portType.name.local, name, [...portType.operations.values()].map((o) => ({ name: o.name, output: o.output !== undefined })), portType.name.ns);
    return { service: { name: `processes/${name}`, namespace: portType.name.ns, wsdlFile: '', operations }, wsdl };
  };
}

/**
 * The process name in `/soap/processes/<name>`, percent-decoded.
 * @throws ProvisorError `InvalidField` (HTTP 400) naming the path when an
 *   escape is malformed or decodes to something that is not UTF-8.
 */
export function processNameOf(encodedName: string): string {
  try {
    return decodeURIComponent(encodedName);
  } catch {
    const shown = encodedName.length > 200 ? `${encodedName.slice(0, 200)}…` : encodedName;
    throw new ProvisorError('InvalidField', `path /soap/processes/${shown} is not a valid process name: a % escape is malformed or not UTF-8`, 'path');
  }
}

/** Adds a SOAP 1.1 document/literal binding and a service at this endpoint to the WSDL defining the port type. */
function withBinding(text: string, portTypeName: string, processName: string, operations: ReadonlyArray<{ name: string; output: boolean }>, namespace: string): string {
  const doc = new DOMParser().parseFromString(text, 'text/xml');
  const root = doc.documentElement;
  if (root === null) return text;
  const tnsPrefix = 'pv-tns';
  root.setAttribute(`xmlns:${tnsPrefix}`, namespace);
  root.setAttribute('xmlns:pv-soap', SOAP_BINDING_NS);
  const binding = doc.createElementNS(WSDL_NS, 'wsdl:binding');
  binding.setAttribute('name', `${portTypeName}ProcessBinding`);
  binding.setAttribute('type', `${tnsPrefix}:${portTypeName}`);
  const soapBinding = doc.createElementNS(SOAP_BINDING_NS, 'pv-soap:binding');
  soapBinding.setAttribute('style', 'document');
  soapBinding.setAttribute('transport', 'http://schemas.xmlsoap.org/soap/http');
  binding.appendChild(soapBinding);
  for (const op of operations) {
    const operation = doc.createElementNS(WSDL_NS, 'wsdl:operation');
    operation.setAttribute('name', op.name);
    const soapOp = doc.createElementNS(SOAP_BINDING_NS, 'pv-soap:operation');
    soapOp.setAttribute('soapAction', `${namespace}#${op.name}`);
    operation.appendChild(soapOp);
    for (const direction of op.output ? ['input', 'output'] : ['input']) {
      const el = doc.createElementNS(WSDL_NS, `wsdl:${direction}`);
      const body = doc.createElementNS(SOAP_BINDING_NS, 'pv-soap:body');
      body.setAttribute('use', 'literal');
      el.appendChild(body);
      operation.appendChild(el);
    }
    binding.appendChild(operation);
  }
  root.appendChild(binding);
  const service = doc.createElementNS(WSDL_NS, 'wsdl:service');
  service.setAttribute('name', `${processName}Service`);
  const port = doc.createElementNS(WSDL_NS, 'wsdl:port');
  port.setAttribute('name', `${processName}Port`);
  port.setAttribute('binding', `${tnsPrefix}:${portTypeName}ProcessBinding`);
  const address = doc.createElementNS(SOAP_BINDING_NS, 'pv-soap:address');
  address.setAttribute('location', `http://localhost:8080/soap/processes/${encodeURIComponent(processName)}`);
  port.appendChild(address);
  service.appendChild(port);
  root.appendChild(service);
  return new XMLSerializer().serializeToString(doc);
}
