import type { Element } from '@xmldom/xmldom';
import type { PartnerLink, QName } from '../bpel/model';
import { BpelFault, type VariableValue } from '../bpel/values';
import type { Principal } from '../auth/principal';
import { ProvisorError } from '../errors';
import type { Logger } from '../log';
import { DestinationDeniedError, displayUrlText } from '../net/destination-policy';
import { OutboundError } from '../net/outbound-http';
import { SoapFault, SoapResponseError, type SoapClient } from '../soap/client';
import { FieldReader } from '../soap/fields';
import type { SoapService } from '../soap/service';
import type { PartnerInvoker, StandingAnswer } from '../workflow/interpreter';
import type { PartnerBinding } from '../workflow/partner-bindings';
import type { PartnerInvokers } from '../workflow/partners';
import { WsdlCatalog } from '../workflow/wsdl-catalog';
import { fromDom } from '../xml/convert';
import { detachedCopy, serializeNode } from '../xml/dom';
import { escapeXml } from '../xml/escape';
import { mappingOf, type OperationMapping } from './process-endpoints';
import { NO_ATTRIBUTES, type XmlElement } from '../xml/parser';
import { writeDomElement, type XmlObject } from '../xml/writer';

/** Says how long an in-process operation's answer stands, from its request and result; undefined when it cannot say. */
export type StandingHook = (request: XmlElement, result: XmlObject) => StandingAnswer | undefined;

/** Faults the engine raises about partners, in this namespace. */
export const WORKFLOW_NS = 'urn:provisor:workflow:1';

function partElement(value: VariableValue | undefined, what: string): Element | undefined {
  if (value === undefined) return undefined;
  if (value.kind === 'element') return value.element;
  if (value.kind === 'message') {
    const part = value.parts.get('parameters') ?? [...value.parts.values()][0];
    if (part !== undefined && typeof part !== 'string') return part;
  }
  throw new BpelFault({ ns: 'http://docs.oasis-open.org/wsbpel/2.0/process/executable', local: 'invalidVariables' }, `${what}: the input must be a message with an element part (document/literal wrapped)`);
}

function message(element: Element, part = 'parameters'): VariableValue {
  return { kind: 'message', parts: new Map([[part, element]]) };
}

/**
 * Invokes Provisor's own SOAP services in-process: the same operation
 * handlers as over HTTP (the same validation, the same faults), without the
 * network and without XML text: the plan's element is handed over as the
 * scanner's tree and the result built as a DOM element. The idempotency key
 * travels as the call's MessageID, so the provisioning API returns the first
 * requestId when a resumed instance invokes again.
 */
export class LocalInvoker {
  private readonly byNamespace: ReadonlyMap<string, SoapService>;

  constructor(
    services: readonly SoapService[],
    /** By `{namespace}operation`: how long a read-only operation's answer stands, when it knows (see StandingAnswer). */
    private readonly standing: ReadonlyMap<string, StandingHook> = new Map(),
  ) {
    this.byNamespace = new Map(services.map((s) => [s.namespace, s]));
  }

  /** True when Provisor's operation only reads (see SoapOperation.readOnly). */
  readOnly(portType: QName, operation: string): boolean {
    return this.byNamespace.get(portType.ns)?.operations[operation]?.readOnly === true;
  }

  async invoke(args: {
    portType: QName;
    operation: string;
    input: VariableValue | undefined;
    idempotencyKey: string;
    principal: Principal;
    log: Logger;
    activityPath: string;
    onStanding?: (answer: StandingAnswer) => void;
  }): Promise<VariableValue | undefined> {
    const service = this.byNamespace.get(args.portType.ns);
    const operation = service?.operations[args.operation];
    if (service === undefined || operation === undefined) {
      throw new BpelFault({ ns: WORKFLOW_NS, local: 'unknownOperation' }, `activity ${args.activityPath}: Provisor has no operation ${args.operation} in ${args.portType.ns}`);
    }
    const input = partElement(args.input, `activity ${args.activityPath}`);
    const request = input === undefined ? { ns: service.namespace, name: args.operation, attrs: NO_ATTRIBUTES, children: [], text: '', line: 1 } : fromDom(input);
    try {
      const result = await operation.handle(new FieldReader(request, service.namespace), { principal: args.principal, messageId: args.idempotencyKey.slice(0, 255), log: args.log });
      if (args.onStanding !== undefined && operation.readOnly === true) {
        const answer = this.standing.get(`{${service.namespace}}${args.operation}`)?.(request, result);
        if (answer !== undefined) args.onStanding(answer);
      }
      return message(writeDomElement(service.namespace, `${args.operation}Response`, result));
    } catch (err) {
      if (err instanceof ProvisorError) {
        const detail = writeDomElement(service.namespace, 'ProvisorFault', { code: err.code, message: err.message, field: err.field });
        throw new BpelFault({ ns: service.namespace, local: 'ProvisorFault' }, `activity ${args.activityPath}: ${args.operation} failed: ${err.code}: ${err.message}`, { kind: 'message', parts: new Map([['fault', detail]]) });
      }
      throw err;
    }
  }
}

/** Invokes a remote document/literal SOAP 1.1 endpoint through the SOAP client, with a UsernameToken when the binding has credentials. */
export async function invokeRemote(args: {
  client: SoapClient;
  /** How the partner's operation maps its messages (absent: document/literal, one element part). */
  mapping?: OperationMapping;
  binding: PartnerBinding & { address: string };
  operation: string;
  soapAction: string;
  input: VariableValue | undefined;
  idempotencyKey: string;
  activityPath: string;
  signal: AbortSignal;
  timeoutMs: number;
  /** The port type's namespace: an rpc wrapper's. */
  portNamespace?: string;
}): Promise<VariableValue | undefined> {
  const rpc = args.mapping?.style === 'rpc' ? args.mapping : undefined;
  const input = rpc === undefined ? partElement(args.input, `activity ${args.activityPath}`) : undefined;
  const shown = displayUrlText(args.binding.address);
  const unavailable = (text: string): BpelFault => new BpelFault({ ns: WORKFLOW_NS, local: 'partnerUnavailable' }, `activity ${args.activityPath}: ${text}`);
  const { username, password, passwordType } = args.binding;
  let payload: Element | undefined;
  try {
    payload = await args.client.call({
      url: args.binding.address,
      action: args.soapAction,
      body: rpc !== undefined ? rpcRequest(rpc, args.input, args.portNamespace ?? '', args.activityPath) : input === undefined ? '' : serializeNode(input),
      messageId: `urn:provisor:invoke:${args.idempotencyKey}`,
      credentials: username === undefined ? undefined : { username, password: password ?? '', passwordType: passwordType ?? 'PasswordText' },
      signal: args.signal,
      timeoutMs: args.timeoutMs,
    });
  } catch (err) {
    if (err instanceof SoapFault) {
      const detail = err.detail;
      const faultName: QName = detail === undefined ? { ns: WORKFLOW_NS, local: 'partnerFault' } : { ns: detail.namespaceURI ?? '', local: detail.localName ?? 'fault' };
      throw new BpelFault(faultName, `activity ${args.activityPath}: ${args.operation} failed: ${err.reason}`, detail === undefined ? undefined : { kind: 'message', parts: new Map([['fault', detail]]) });
    }
    if (err instanceof SoapResponseError) throw unavailable(`${shown} answered ${err.message}`);
    if (args.signal.aborted) throw err;
    if (err instanceof DestinationDeniedError) throw unavailable(`${args.operation} not sent: ${err.message}`);
    if (err instanceof OutboundError && err.reason === 'ResponseTooLarge') throw unavailable(`${args.operation} failed: ${err.message}`);
    throw unavailable(`${shown} did not answer ${args.operation}: ${(err as Error).message}`);
  }
  if (payload === undefined) return undefined;
  if (rpc !== undefined) return rpcResponse(rpc, payload);
  return message(payload, args.mapping?.output?.[0]?.name ?? 'parameters');
}

/** An rpc/literal request: a wrapper named after the operation, with an accessor per input part. */
function rpcRequest(mapping: OperationMapping, input: VariableValue | undefined, namespace: string, activityPath: string): string {
  if (input !== undefined && input.kind !== 'message') {
    throw new BpelFault({ ns: 'http://docs.oasis-open.org/wsbpel/2.0/process/executable', local: 'invalidVariables' }, `activity ${activityPath}: ${mapping.name} is an rpc operation: its input must be a message variable`);
  }
  const accessors = mapping.input
    .map((p) => {
      const part = input?.parts.get(p.name);
      if (part === undefined) return '';
      if (typeof part === 'string') return `<${p.name}>${escapeXml(part)}</${p.name}>`;
      if (p.element !== undefined) return `<${p.name}>${serializeNode(part)}</${p.name}>`;
      let inner = '';
      for (let n = part.firstChild; n !== null; n = n.nextSibling) inner += serializeNode(n);
      return `<${p.name}>${inner}</${p.name}>`;
    })
    .join('');
  return `<pv:${mapping.name} xmlns:pv="${escapeXml(namespace)}">${accessors}</pv:${mapping.name}>`;
}

/** An rpc/literal response as the output message: each accessor of the wrapper is a part. */
function rpcResponse(mapping: OperationMapping, wrapper: Element): VariableValue {
  const parts = new Map<string, Element | string>();
  for (let n = wrapper.firstChild; n !== null; n = n.nextSibling) {
    if (n.nodeType !== 1) continue;
    const accessor = n as Element;
    const part = mapping.output?.find((p) => p.name === accessor.localName);
    if (part === undefined) continue;
    let inner: Element | undefined;
    let elements = 0;
    for (let c = accessor.firstChild; c !== null; c = c.nextSibling) {
      if (c.nodeType === 1) {
        elements++;
        inner ??= c as Element;
      }
    }
    parts.set(part.name, part.element !== undefined && inner !== undefined && elements === 1 ? detachedCopy(inner) : elements > 0 ? detachedCopy(accessor) : accessor.textContent ?? '');
  }
  return { kind: 'message', parts };
}

/** Routes each invoke to its binding: in-process for Provisor's port types, remote when the descriptor names an address. */
export class BindingInvoker implements PartnerInvoker {
  constructor(
    private readonly catalog: WsdlCatalog,
    private readonly bindings: ReadonlyMap<string, PartnerBinding>,
    private readonly local: LocalInvoker,
    private readonly principal: Principal,
    private readonly log: Logger,
    private readonly client: SoapClient,
    private readonly timeoutMs = 60_000,
  ) {}

  /** Only Provisor's own read-only operations, in-process: a remote partner's operation may have effects whatever its name. */
  effectFree(request: Parameters<NonNullable<PartnerInvoker['effectFree']>>[0]): boolean {
    if (this.bindings.get(request.partnerLink.name)?.address !== undefined) return false;
    const link = request.partnerLink;
    const portType = request.portType ?? (link.partnerRole === undefined ? undefined : this.catalog.portTypeOf(link.partnerLinkType, link.partnerRole)?.name);
    return portType !== undefined && this.local.readOnly(portType, request.operation);
  }

  async invoke(request: Parameters<PartnerInvoker['invoke']>[0]): Promise<VariableValue | undefined> {
    const link: PartnerLink = request.partnerLink;
    const portType = request.portType ?? (link.partnerRole === undefined ? undefined : this.catalog.portTypeOf(link.partnerLinkType, link.partnerRole)?.name);
    if (portType === undefined) {
      throw new BpelFault({ ns: WORKFLOW_NS, local: 'unknownOperation' }, `activity ${request.activityPath}: partner link "${link.name}" has no partner role port type`);
    }
    const binding = this.bindings.get(link.name);
    if (binding?.address !== undefined) {
      const operation = this.catalog.portTypes.get(WsdlCatalog.key(portType))?.operations.get(request.operation);
      return invokeRemote({
        client: this.client,
        ...(operation === undefined ? {} : { mapping: mappingOf(this.catalog, operation) }),
        portNamespace: portType.ns,
        binding: { ...binding, address: binding.address },
        operation: request.operation,
        soapAction: `${portType.ns}#${request.operation}`,
        input: request.input,
        idempotencyKey: request.idempotencyKey,
        activityPath: request.activityPath,
        signal: request.signal,
        timeoutMs: this.timeoutMs,
      });
    }
    return this.local.invoke({
      portType,
      operation: request.operation,
      input: request.input,
      idempotencyKey: request.idempotencyKey,
      principal: this.principal,
      log: this.log,
      activityPath: request.activityPath,
      ...(request.onStanding === undefined ? {} : { onStanding: request.onStanding }),
    });
  }
}

/** The runtime's partners over SOAP: Provisor's own services in-process, bound addresses through the SOAP client. */
export class SoapPartners implements PartnerInvokers {
  private readonly local: LocalInvoker;

  constructor(
    services: readonly SoapService[],
    private readonly client: SoapClient,
    /** By `{namespace}operation`: how long an answer of Provisor's own stands (see LocalInvoker). */
    standing: ReadonlyMap<string, StandingHook> = new Map(),
  ) {
    this.local = new LocalInvoker(services, standing);
  }

  forInstance(plan: Parameters<PartnerInvokers['forInstance']>[0], principal: Principal, log: Logger): PartnerInvoker {
    return new BindingInvoker(plan.catalog, plan.bindings, this.local, principal, log, this.client);
  }
}
