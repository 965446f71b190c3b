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
import type { PartnerInvoker } from '../workflow/interpreter';
import type { PartnerBinding } from '../workflow/partner-bindings';
import type { PartnerInvokers } from '../workflow/partners';
import type { WsdlCatalog } from '../workflow/wsdl-catalog';
import { fromDom } from '../xml/convert';
import { serializeNode } from '../xml/dom';
import { NO_ATTRIBUTES } from '../xml/parser';
import { writeDomElement } from '../xml/writer';

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

  constructor(services: readonly SoapService[]) {
    this.byNamespace = new Map(services.map((s) => [s.namespace, s]));
  }

  /** True when Provisor's operation only reads (see SoapOperation.readOnly). */
  readOnly(portType: QName, operation: string): boolean {
    return this.byNamespace.get(portType.ns)?.operations[operation]?.readOnly === true;
  }

  async invoke(args: { portType: QName; operation: string; input: VariableValue | undefined; idempotencyKey: string; principal: Principal; log: Logger; activityPath: string }): Promise<VariableValue | undefined> {
    const service = this.byNamespace.get(args.portType.ns);
    const operation = service?.operations[args.operation];
    if (service === undefined || operation === undefined) {
      throw new BpelFault({ ns: WORKFLOW_NS, local: 'unknownOperation' }, `activity ${args.activityPath}: Provisor has no operation ${args.operation} in ${args.portType.ns}`);
    }
    const input = partElement(args.input, `activity ${args.activityPath}`);
    const request = input === undefined ? { ns: service.namespace, name: args.operation, attrs: NO_ATTRIBUTES, children: [], text: '', line: 1 } : fromDom(input);
    try {
      const result = await operation.handle(new FieldReader(request, service.namespace), { principal: args.principal, messageId: args.idempotencyKey.slice(0, 255), log: args.log });
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
  binding: PartnerBinding & { address: string };
  operation: string;
  soapAction: string;
  input: VariableValue | undefined;
  idempotencyKey: string;
  activityPath: string;
  signal: AbortSignal;
  timeoutMs: number;
}): Promise<VariableValue | undefined> {
  const input = partElement(args.input, `activity ${args.activityPath}`);
  const shown = displayUrlText(args.binding.address);
  const unavailable = (text: string): BpelFault => new BpelFault({ ns: WORKFLOW_NS, local: 'partnerUnavailable' }, `activity ${args.activityPath}: ${text}`);
  const { username, password, passwordType } = args.binding;
  let payload: Element | undefined;
  try {
    payload = await args.client.call({
      url: args.binding.address,
      action: args.soapAction,
      body: input === undefined ? '' : serializeNode(input),
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
  return payload === undefined ? undefined : message(payload);
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
      return invokeRemote({
        client: this.client,
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
    return this.local.invoke({ portType, operation: request.operation, input: request.input, idempotencyKey: request.idempotencyKey, principal: this.principal, log: this.log, activityPath: request.activityPath });
  }
}

/** The runtime's partners over SOAP: Provisor's own services in-process, bound addresses through the SOAP client. */
export class SoapPartners implements PartnerInvokers {
  private readonly local: LocalInvoker;

  constructor(
    services: readonly SoapService[],
    private readonly client: SoapClient,
  ) {
    this.local = new LocalInvoker(services);
  }

  forInstance(plan: Parameters<PartnerInvokers['forInstance']>[0], principal: Principal, log: Logger): PartnerInvoker {
    return new BindingInvoker(plan.catalog, plan.bindings, this.local, principal, log, this.client);
  }
}
