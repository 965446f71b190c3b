import { DOMParser, XMLSerializer, type Element } from '@xmldom/xmldom';
import type { CorrelationSet, InboundMessage, OnEvent, Process, QName } from '../bpel/model';
import { correlationKey, correlationValues } from '../bpel/properties';
import { BpelFault, type VariableValue } from '../bpel/values';
import { allActivities, visibleCorrelationSets } from '../bpel/walk';
import { deserializeValue } from '../bpel/xpath';
import { ProvisorError } from '../errors';
import type { Endpoint } from '../soap/gateway';
import { DeclaredFault } from '../soap/fault';
import type { SoapOperation } from '../soap/service';
import { PROVISIONING_ROLES } from './provisioning-fields';
import { newDocument, XML_NS } from '../xml/dom';
import { escapeXml } from '../xml/escape';
import type { XmlElement } from '../xml/parser';
import { WorkflowError, type WorkflowRuntime } from '../workflow/runtime';
import { WsdlCatalog, type PortTypeInfo } from '../workflow/wsdl-catalog';

const WSDL_NS = 'http://schemas.xmlsoap.org/wsdl/';
const SOAP_BINDING_NS = 'http://schemas.xmlsoap.org/wsdl/soap/';

/** How an operation's messages travel in the SOAP body (WSDL 1.1 §3.5). */
export type Style = 'document' | 'rpc';

export interface OperationMapping {
  readonly name: string;
  readonly style: Style;
  readonly input: ReadonlyArray<{ readonly name: string; readonly element?: QName }>;
  readonly output: ReadonlyArray<{ readonly name: string; readonly element?: QName }> | undefined;
  /** The faults the operation declares: each one's message parts, by fault name. */
  readonly faults: ReadonlyMap<string, ReadonlyArray<{ readonly name: string; readonly element?: QName }>>;
}

function partsOf(catalog: WsdlCatalog, message: QName | undefined): Array<{ name: string; element?: QName }> {
  const info = message === undefined ? undefined : catalog.messages.get(WsdlCatalog.key(message));
  return info === undefined ? [] : [...info.parts].map(([name, element]) => (element === undefined ? { name } : { name, element }));
}

/**
 * Document/literal when the input is one part defined by an element (the body
 * is that element); rpc/literal otherwise (the body is a wrapper named after
 * the operation, in the port type's namespace, with one accessor per part).
 */
export function mappingOf(catalog: WsdlCatalog, operation: { name: string; input?: QName; output?: QName; faultMessages?: ReadonlyMap<string, QName> }): OperationMapping {
  const input = partsOf(catalog, operation.input);
  const output = operation.output === undefined ? undefined : partsOf(catalog, operation.output);
  const documentStyle = input.length === 1 && input[0]?.element !== undefined && (output === undefined || (output.length === 1 && output[0]?.element !== undefined));
  const faults = new Map([...(operation.faultMessages ?? [])].map(([fault, message]) => [fault, partsOf(catalog, message)]));
  return { name: operation.name, style: documentStyle ? 'document' : 'rpc', input, output, faults };
}

/** A receive, onMessage or onEvent of a process: the message it takes, and whether it creates the instance. */
interface Inbound {
  readonly message: InboundMessage;
  /** The path of the receive, onMessage or onEvent. */
  readonly path: string;
  readonly creates: boolean;
}

function inboundOf(process: Process): Inbound[] {
  const out: Inbound[] = [];
  const events = (owner: { readonly events: readonly OnEvent[] }): void => {
    for (const e of owner.events) out.push({ message: e, path: e.path, creates: false });
  };
  events(process);
  for (const a of allActivities(process)) {
    if (a.kind === 'receive') out.push({ message: a, path: a.path, creates: a.createInstance });
    else if (a.kind === 'pick') for (const m of a.messages) out.push({ message: m, path: m.path, creates: a.createInstance });
    else if (a.kind === 'scope') events(a);
  }
  return out;
}

/**
 * Serves deployed processes at `/soap/processes/<name>`: the WSDL of the port
 * type of its instance-creating `receive` (or `pick`; without one, of its
 * first inbound activity), with a SOAP binding and service added, addressed
 * here; and every operation a `receive`, `onMessage` or `onEvent` takes.
 *
 * A message of an operation that creates instances starts one, unless the
 * operation is also taken by correlation and an instance holds the
 * message's values; a message of an operation taken by correlation is stored
 * in the message box for the instance holding its values (a row before the
 * sender is answered). When the process `reply`s to it, the reply is the
 * response; otherwise the call is one-way (HTTP 202).
 *
 * The operation is chosen as the binding says: for document/literal, by the
 * body element the operation's input part names; for rpc/literal, by the
 * wrapper named after the operation. Every part crosses both ways, and the
 * names and namespaces of the elements sent are kept.
 */
export function processEndpoints(runtime: WorkflowRuntime, replyTimeoutMs: number): (encodedName: string) => Promise<Endpoint | undefined> {
  return async (encodedName) => {
    const name = processNameOf(encodedName);
    const described = await runtime.describe(name);
    if (described === undefined) return undefined;
    const { process, catalog, documents } = described;
    const inbound = inboundOf(process);
    const visibleSets = visibleCorrelationSets(process);
    const first = inbound.find((i) => i.creates) ?? inbound[0];
    if (first === undefined) return undefined;
    const portTypeOfLink = (partnerLink: string): PortTypeInfo | undefined => {
      const link = process.partnerLinks.find((p) => p.name === partnerLink);
      return link?.myRole === undefined ? undefined : catalog.portTypeOf(link.partnerLinkType, link.myRole);
    };
    const portType = portTypeOfLink(first.message.partnerLink);
    if (portType === undefined) return undefined;
    const operations: Record<string, SoapOperation> = {};
    const selectors = new Map<string, string>();
    const mappings = new Map([...portType.operations.values()].map((o) => [o.name, mappingOf(catalog, o)]));
    for (const { message: taken } of inbound) {
      const partnerLink = taken.partnerLink;
      const operationName = taken.operation;
      if (operations[operationName] !== undefined) continue;
      const linkPortType = portTypeOfLink(partnerLink);
      const operation = linkPortType?.operations.get(operationName);
      if (linkPortType === undefined || operation === undefined) continue;
      const mapping = mappingOf(catalog, operation);
      const element = mapping.input[0]?.element;
      selectors.set(mapping.style === 'document' && element !== undefined ? `{${element.ns}}${element.local}` : `{${linkPortType.name.ns}}${mapping.name}`, mapping.name);
      const same = (i: Inbound): boolean => i.message.partnerLink === partnerLink && i.message.operation === operationName;
      const creates = inbound.some((i) => same(i) && i.creates);
      // Every activity taking the operation is routed by one set (checked at deploy), declared by the process or a scope;
      // the operation of one of several start activities by the set it joins.
      const taker = inbound.find((i) => same(i) && !i.creates) ?? inbound.find((i) => same(i) && i.creates && i.message.correlations.some((c) => c.initiate === 'join'));
      const routing = taker?.message.correlations.find((c) => c.initiate !== 'yes');
      const set = taker === undefined || routing === undefined ? undefined : visibleSets.get(taker.path)?.get(routing.set)?.set;
      const joins = creates && routing?.initiate === 'join';
      const replies = allActivities(process).some((a) => a.kind === 'reply' && a.operation === operationName && a.partnerLink === partnerLink);
      const namespace = linkPortType.name.ns;
      operations[operationName] = {
        roles: PROVISIONING_ROLES,
        handle: () => Promise.reject(new Error('raw operation')),
        async handleRaw(body, ctx) {
          const input = readMessage(body, mapping);
          const source = ctx.messageId !== undefined ? { source: { sender: ctx.principal.name, messageId: ctx.messageId } } : {};
          /** Stores the message for the instance holding its values, and answers with that instance's reply to it. */
          const deliver = async (correlation: { key: string; describe: string }, routedBy: CorrelationSet): Promise<string | undefined> => {
            let delivered: { readonly id: number; readonly held: boolean };
            try {
              delivered = await runtime.deliver({ processName: name, operation: `${partnerLink}/${operationName}`, correlationKey: correlation.key, message: input, describe: correlation.describe, ...source });
            } catch (err) {
              if (err instanceof WorkflowError && err.code === 'NoMatchingInstance') throw new ProvisorError('NoMatchingInstance', err.message, routedBy.name);
              throw err;
            }
            ctx.log.info('process message stored for its instance', { process: name, operation: operationName, messageId: delivered.id, held: delivered.held });
            if (!replies) return undefined;
            const reply = await runtime.awaitMessageReply(delivered.id, replyTimeoutMs);
            if (reply.status === 'ENDED') throw new ProvisorError('ProcessFaulted', `process ${name}: ${reply.message}`);
            if (reply.status === 'TIMEOUT') throw new ProvisorError('ReplyTimeout', `process ${name}: no reply to message ${delivered.id} within ${replyTimeoutMs} ms; the message stays with its instance`);
            const message = reply.reply.message === undefined ? undefined : deserializeValue(reply.reply.message);
            if (reply.reply.fault !== undefined) throw declaredFault(reply.reply.fault, message, mapping, `process ${name} replied to message ${delivered.id} with fault ${reply.reply.fault}`);
            return message === undefined ? undefined : writeMessage(message, mapping, namespace);
          };
          /** Answers with the reply of the instance the message created. */
          const answer = async (instanceId: string): Promise<string | undefined> => {
            ctx.log.info('process started by its endpoint', { instanceId, process: name, operation: operationName });
            if (!replies) return undefined;
            const reply = await runtime.awaitReply(instanceId, replyTimeoutMs);
            if (reply.status === 'FAULTED') throw new ProvisorError('ProcessFaulted', `process instance ${instanceId} faulted before replying: ${reply.message}`);
            if (reply.status === 'TIMEOUT') throw new ProvisorError('ReplyTimeout', `process instance ${instanceId} did not reply within ${replyTimeoutMs} ms; it goes on running`);
            if (reply.fault !== undefined) throw declaredFault(reply.fault, reply.value, mapping, `process ${name}, instance ${instanceId}, replied with fault ${reply.fault}`);
            return reply.value === undefined ? reply.xml : writeMessage(reply.value, mapping, namespace);
          };
          if (set !== undefined) {
            const correlation = correlationOf(catalog, set, operation.input, input, operationName);
            if (joins) {
              // One of several start activities: the values create one instance, whichever message comes first (a
              // retry of the message that created it, under its MessageID, finds that instance too).
              const started = await runtime.startJoining(name, input, ctx.principal.name, ctx.messageId, `${partnerLink}/${operationName}`, { set: set.name, key: correlation.key, values: correlation.values });
              return 'heldBy' in started ? deliver(correlation, set) : answer(started.instanceId);
            }
            if (!creates || (await runtime.holdsCorrelation(name, correlation.key))) return deliver(correlation, set);
          }
          return answer(await runtime.start(name, input, ctx.principal.name, ctx.messageId, `${partnerLink}/${operationName}`));
        },
      };
    }
    const wsdl = withBinding(catalog.documentText(portType.document) ?? documents.get(portType.document) ?? '', portType.name.local, name, [...mappings.values()], portType.name.ns);
    return {
      service: {
        name: `processes/${name}`,
        namespace: portType.name.ns,
        wsdlFile: '',
        operations,
        operationOf: (element) => selectors.get(`{${element.ns}}${element.name}`),
        expected: [...selectors].map(([selector, op]) => `${selector} for ${op}`).join(', '),
      },
      wsdl,
    };
  };
}

/**
 * A message's values of the correlation set that routes it, and their key.
 * @throws ProvisorError `InvalidField` naming the set when the message does not carry them
 */
function correlationOf(catalog: WsdlCatalog, set: CorrelationSet, messageType: QName | undefined, input: VariableValue, operation: string): { key: string; values: string[]; describe: string } {
  try {
    const values = correlationValues(catalog.propertyCatalog, set, messageType === undefined ? {} : { messageType }, input, `operation ${operation}`);
    return { key: correlationKey(set.name, values), values, describe: `the values ${values.map((v) => `"${v}"`).join(', ')} of correlation set "${set.name}"` };
  } catch (err) {
    if (err instanceof BpelFault) throw new ProvisorError('InvalidField', `operation ${operation}: the message does not carry the values of correlation set "${set.name}" that route it to its instance: ${err.message}`, set.name);
    throw err;
  }
}

/**
 * The scanner's element as a DOM element, keeping exactly what was sent:
 * each element in its namespace (unqualified ones in none), and every
 * attribute, namespaced ones included. Each namespace gets a prefix of its
 * own, so that no default namespace can capture an unqualified child.
 */
export function exactDom(element: XmlElement): Element {
  const document = newDocument();
  const prefixes = new Map<string, string>();
  const prefixOf = (ns: string): string => {
    let prefix = prefixes.get(ns);
    if (prefix === undefined) prefixes.set(ns, (prefix = `ns${prefixes.size + 1}`));
    return prefix;
  };
  const build = (e: XmlElement): Element => {
    const out = e.ns === '' ? document.createElementNS(null, e.name) : document.createElementNS(e.ns, `${prefixOf(e.ns)}:${e.name}`);
    for (const [key, value] of Object.entries(e.attrs)) {
      const close = key.startsWith('{') ? key.indexOf('}') : -1;
      if (close === -1) out.setAttribute(key, value);
      else {
        const ns = key.slice(1, close);
        out.setAttributeNS(ns, ns === XML_NS ? `xml:${key.slice(close + 1)}` : `${prefixOf(ns)}:${key.slice(close + 1)}`, value);
      }
    }
    if (e.children.length > 0) for (const child of e.children) out.appendChild(build(child));
    else if (e.text !== '') out.appendChild(document.createTextNode(e.text));
    return out;
  };
  const root = build(element);
  document.appendChild(root);
  return root;
}

/** The body of a request as the operation's input message: every part. */
function readMessage(body: XmlElement, mapping: OperationMapping): VariableValue {
  const parts = new Map<string, Element | string>();
  if (mapping.style === 'document') {
    parts.set(mapping.input[0]?.name ?? 'parameters', exactDom(body));
    return { kind: 'message', parts };
  }
  for (const accessor of body.children) {
    const part = mapping.input.find((p) => p.name === accessor.name);
    if (part === undefined || accessor.ns !== '') {
      throw new ProvisorError('InvalidField', `operation ${mapping.name}: the request has an element {${accessor.ns}}${accessor.name}, which is not a part of its input (${mapping.input.map((p) => p.name).join(', ')})`, accessor.name);
    }
    if (parts.has(part.name)) throw new ProvisorError('InvalidField', `operation ${mapping.name}: part "${part.name}" is sent twice`, part.name);
    const [inner, ...more] = accessor.children;
    // An element part's accessor holds the element; a type part's accessor is the value itself (text, or an element with content).
    parts.set(part.name, part.element !== undefined && inner !== undefined && more.length === 0 ? exactDom(inner) : accessor.children.length > 0 ? exactDom(accessor) : accessor.text);
  }
  const missing = mapping.input.filter((p) => !parts.has(p.name)).map((p) => p.name);
  if (missing.length > 0) throw new ProvisorError('InvalidField', `operation ${mapping.name}: part${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')} of its input ${missing.length > 1 ? 'are' : 'is'} missing`, missing[0]);
  return { kind: 'message', parts };
}

/** A reply as the operation's output: the part's element (document), or a wrapper with an accessor per part (rpc). */
/** A message's parts by name; a value that is not a message is its one part, named `soleName`. */
function messageParts(value: VariableValue, soleName: string): ReadonlyMap<string, Element | string> {
  if (value.kind === 'message') return value.parts;
  return new Map([[soleName, value.kind === 'element' ? value.element : String(value.value)]]);
}

/** A text value for an element part: the element the part names, holding the text. */
function textInElement(element: QName, text: string): string {
  return `<pv:${element.local} xmlns:pv="${escapeXml(element.ns)}">${escapeXml(text)}</pv:${element.local}>`;
}

function writeMessage(value: VariableValue, mapping: OperationMapping, namespace: string): string | undefined {
  const serializer = new XMLSerializer();
  const parts = messageParts(value, mapping.output?.[0]?.name ?? 'parameters');
  if (mapping.style === 'document') {
    const [name, part] = [...parts][0] ?? [];
    if (part === undefined || name === undefined) return undefined;
    if (typeof part !== 'string') return serializer.serializeToString(part);
    const element = mapping.output?.[0]?.element;
    return element === undefined ? escapeXml(part) : textInElement(element, part);
  }
  const outputs: ReadonlyArray<{ readonly name: string; readonly element?: QName }> = mapping.output ?? [...parts.keys()].map((name) => ({ name }));
  const accessors = outputs
    .map((p) => {
      const part = parts.get(p.name);
      if (part === undefined) return '';
      if (typeof part === 'string') return `<${p.name}>${escapeXml(part)}</${p.name}>`;
      if (p.element !== undefined) return `<${p.name}>${serializer.serializeToString(part)}</${p.name}>`;
      return accessorOf(p.name, part);
    })
    .join('');
  return `<pv:${mapping.name}Response xmlns:pv="${escapeXml(namespace)}">${accessors}</pv:${mapping.name}Response>`;
}

/**
 * A reply with `faultName` as the SOAP Fault the operation declares: the
 * detail holds the fault message's parts, each as its element (WS-I BP:
 * a fault's parts are element parts; a text value of an element part is put
 * in the element the part names, a type part is written under its name).
 */
function declaredFault(fault: string, value: VariableValue | undefined, mapping: OperationMapping, reason: string): DeclaredFault {
  const declared = mapping.faults.get(fault.slice(fault.lastIndexOf('}') + 1));
  const parts = value === undefined ? new Map<string, Element | string>() : messageParts(value, declared?.[0]?.name ?? 'fault');
  const serializer = new XMLSerializer();
  // In the order the fault's message declares its parts.
  const detail = [...new Set([...(declared ?? []).map((p) => p.name), ...parts.keys()])]
    .map((name) => {
      const part = parts.get(name);
      const element = declared?.find((p) => p.name === name)?.element;
      if (part === undefined) return '';
      if (typeof part !== 'string') return element !== undefined ? serializer.serializeToString(part) : accessorOf(name, part);
      return element === undefined ? `<${name}>${escapeXml(part)}</${name}>` : textInElement(element, part);
    })
    .join('');
  return new DeclaredFault(fault, reason, detail);
}

/** A type part's value as its accessor: written under the part's name, with the value's attributes and content. */
function accessorOf(name: string, part: Element): string {
  const serializer = new XMLSerializer();
  let inner = '';
  for (let n = part.firstChild; n !== null; n = n.nextSibling) inner += serializer.serializeToString(n);
  return `<${name}${attributesOf(part)}>${inner}</${name}>`;
}

function attributesOf(element: Element): string {
  let out = '';
  for (let i = 0; i < element.attributes.length; i++) {
    const a = element.attributes.item(i);
    if (a === null || a.name === 'xmlns' || a.name.startsWith('xmlns:') || (a.namespaceURI !== null && a.namespaceURI !== '')) continue;
    out += ` ${a.name}="${escapeXml(a.value)}"`;
  }
  return out;
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

/**
 * The WSDL defining the port type, as this endpoint serves it: any binding
 * and service it had are replaced by one SOAP 1.1 binding (document/literal
 * or rpc/literal per operation, as `mappingOf` reads its messages) and one
 * service addressed here, so each is defined once.
 */
function withBinding(text: string, portTypeName: string, processName: string, operations: readonly OperationMapping[], namespace: string): string {
  const doc = new DOMParser().parseFromString(text, 'text/xml');
  const root = doc.documentElement;
  if (root === null) return text;
  for (const local of ['binding', 'service']) {
    for (let n = root.firstChild; n !== null; ) {
      const next = n.nextSibling;
      const el = n as Element;
      if (n.nodeType === 1 && el.namespaceURI === WSDL_NS && el.localName === local) root.removeChild(n);
      n = next;
    }
  }
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
    soapOp.setAttribute('style', op.style);
    operation.appendChild(soapOp);
    for (const direction of op.output !== undefined ? ['input', 'output'] : ['input']) {
      const el = doc.createElementNS(WSDL_NS, `wsdl:${direction}`);
      const body = doc.createElementNS(SOAP_BINDING_NS, 'pv-soap:body');
      body.setAttribute('use', 'literal');
      if (op.style === 'rpc') body.setAttribute('namespace', namespace);
      el.appendChild(body);
      operation.appendChild(el);
    }
    // A reply with faultName is sent as a SOAP Fault whose detail is the fault message's part (WSDL 1.1 §3.6).
    for (const fault of op.faults.keys()) {
      const el = doc.createElementNS(WSDL_NS, 'wsdl:fault');
      el.setAttribute('name', fault);
      const soapFault = doc.createElementNS(SOAP_BINDING_NS, 'pv-soap:fault');
      soapFault.setAttribute('name', fault);
      soapFault.setAttribute('use', 'literal');
      el.appendChild(soapFault);
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
