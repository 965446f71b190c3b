import crypto from 'node:crypto';
import { XMLSerializer, type Element } from '@xmldom/xmldom';
import type { PartnerLink, QName } from '../bpel/model';
import { BpelFault, type VariableValue } from '../bpel/values';
import { childElements, parseElement } from '../xml/dom';
import type { Principal } from '../auth/principal';
import type { Clock } from '../clock';
import { ProvisorError } from '../errors';
import type { Logger } from '../log';
import { DestinationDeniedError, displayUrlText } from '../net/destination-policy';
import { OutboundError, type OutboundHttp } from '../net/outbound-http';
import { SOAP11 } from '../soap/envelope';
import { FieldReader } from '../soap/fields';
import type { SoapService } from '../soap/service';
import { writeEnvelope } from '../soap/envelope';
import { writeElement } from '../xml/writer';
import { escapeXml } from '../xml/escape';
import { parseXml } from '../xml/parser';
import type { PartnerInvoker } from './interpreter';
import type { PartnerBinding } from './partner-bindings';
import { WsdlCatalog } from './wsdl-catalog';

/** Faults the engine raises about partners, in this namespace. */
export const WORKFLOW_NS = 'urn:provisor:workflow:1';

export type { PartnerBinding } from './partner-bindings';

const WSSE_NS = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
const WSU_NS = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd';
const TOKEN_PROFILE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0';

/** WS-Security PasswordDigest: Base64(SHA-1(nonce bytes + Created + password)). */
export function passwordDigest(nonce: Buffer, created: string, password: string): string {
  return crypto
    .createHash('sha1')
    .update(Buffer.concat([nonce, Buffer.from(created, 'utf8'), Buffer.from(password, 'utf8')]))
    .digest('base64');
}

/** The UsernameToken header for a binding with credentials: PasswordDigest when the partner takes it, PasswordText otherwise. */
export function securityHeader(binding: PartnerBinding, now: Date): string {
  if (binding.username === undefined) return '';
  const nonce = crypto.randomBytes(16);
  const created = now.toISOString();
  const password = binding.password ?? '';
  const digest = binding.passwordType === 'PasswordDigest';
  const passwordElement = digest
    ? `<wsse:Password Type="${TOKEN_PROFILE}#PasswordDigest">${passwordDigest(nonce, created, password)}</wsse:Password>`
    : `<wsse:Password Type="${TOKEN_PROFILE}#PasswordText">${escapeXml(password)}</wsse:Password>`;
  return `<wsse:Security xmlns:wsse="${WSSE_NS}" xmlns:wsu="${WSU_NS}"><wsse:UsernameToken><wsse:Username>${escapeXml(binding.username)}</wsse:Username>${passwordElement}<wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">${nonce.toString('base64')}</wsse:Nonce><wsu:Created>${created}</wsu:Created></wsse:UsernameToken></wsse:Security>`;
}

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
 * network. The idempotency key travels as the call's MessageID, so the
 * provisioning API returns the first requestId when a resumed instance
 * invokes again.
 */
export class LocalInvoker {
  private readonly byNamespace: ReadonlyMap<string, SoapService>;

  constructor(services: readonly SoapService[]) {
    this.byNamespace = new Map(services.map((s) => [s.namespace, s]));
  }

  async invoke(args: { portType: QName; operation: string; input: VariableValue | undefined; idempotencyKey: string; principal: Principal; log: Logger; activityPath: string }): Promise<VariableValue | undefined> {
    const service = this.byNamespace.get(args.portType.ns);
    const operation = service?.operations[args.operation];
    if (service === undefined || operation === undefined) {
      throw new BpelFault({ ns: WORKFLOW_NS, local: 'unknownOperation' }, `activity ${args.activityPath}: Provisor has no operation ${args.operation} in ${args.portType.ns}`);
    }
    const input = partElement(args.input, `activity ${args.activityPath}`);
    const request = parseXml(input === undefined ? `<p:${args.operation} xmlns:p="${service.namespace}"/>` : new XMLSerializer().serializeToString(input));
    try {
      const result = await operation.handle(new FieldReader(request, service.namespace), { principal: args.principal, messageId: args.idempotencyKey.slice(0, 255), log: args.log });
      return message(parseElement(writeElement(service.namespace, `${args.operation}Response`, result)));
    } catch (err) {
      if (err instanceof ProvisorError) {
        const detail = parseElement(writeElement(service.namespace, 'ProvisorFault', { code: err.code, message: err.message, field: err.field }));
        throw new BpelFault({ ns: service.namespace, local: 'ProvisorFault' }, `activity ${args.activityPath}: ${args.operation} failed: ${err.code}: ${err.message}`, { kind: 'message', parts: new Map([['fault', detail]]) });
      }
      throw err;
    }
  }
}

/** Invokes a remote document/literal SOAP 1.1 endpoint, with a UsernameToken when the binding has credentials. */
export async function invokeRemote(args: {
  binding: PartnerBinding & { address: string };
  operation: string;
  soapAction: string;
  input: VariableValue | undefined;
  idempotencyKey: string;
  activityPath: string;
  signal: AbortSignal;
  timeoutMs: number;
  outbound: OutboundHttp;
  now: Date;
}): Promise<VariableValue | undefined> {
  const input = partElement(args.input, `activity ${args.activityPath}`);
  const body = input === undefined ? '' : new XMLSerializer().serializeToString(input);
  const shown = displayUrlText(args.binding.address);
  const header = `${securityHeader(args.binding, args.now)}<wsa:MessageID xmlns:wsa="http://www.w3.org/2005/08/addressing">${escapeXml(`urn:provisor:invoke:${args.idempotencyKey}`)}</wsa:MessageID>`;
  let response: { status: number; body: Buffer };
  try {
    response = await args.outbound.post({
      url: args.binding.address,
      headers: { 'content-type': SOAP11.contentType, soapaction: `"${args.soapAction}"` },
      body: writeEnvelope(SOAP11, body, header),
      signal: args.signal,
      timeoutMs: args.timeoutMs,
    });
  } catch (err) {
    if (args.signal.aborted) throw err;
    if (err instanceof DestinationDeniedError) {
      throw new BpelFault({ ns: WORKFLOW_NS, local: 'partnerUnavailable' }, `activity ${args.activityPath}: ${args.operation} not sent: ${err.message}`);
    }
    if (err instanceof OutboundError && err.reason === 'ResponseTooLarge') {
      throw new BpelFault({ ns: WORKFLOW_NS, local: 'partnerUnavailable' }, `activity ${args.activityPath}: ${args.operation} failed: ${err.message}`);
    }
    throw new BpelFault({ ns: WORKFLOW_NS, local: 'partnerUnavailable' }, `activity ${args.activityPath}: ${shown} did not answer ${args.operation}: ${(err as Error).message}`);
  }
  const text = response.body.toString('utf8');
  const ok = response.status >= 200 && response.status <= 299;
  let envelope: Element;
  try {
    envelope = parseElement(text);
  } catch {
    throw new BpelFault({ ns: WORKFLOW_NS, local: 'partnerUnavailable' }, `activity ${args.activityPath}: ${shown} answered HTTP ${response.status} without a SOAP envelope`);
  }
  const bodyElement = childElements(envelope).find((e) => e.localName === 'Body');
  const payload = bodyElement === undefined ? undefined : childElements(bodyElement)[0];
  if (payload === undefined) {
    if (ok) return undefined;
    throw new BpelFault({ ns: WORKFLOW_NS, local: 'partnerUnavailable' }, `activity ${args.activityPath}: ${shown} answered HTTP ${response.status}`);
  }
  if (payload.localName === 'Fault') {
    const detail = childElements(payload).find((e) => e.localName === 'detail' || e.localName === 'Detail');
    const detailElement = detail === undefined ? undefined : childElements(detail)[0];
    const reason = textOf(payload, 'faultstring') ?? textOf(payload, 'Text') ?? 'fault';
    const faultName: QName = detailElement === undefined ? { ns: WORKFLOW_NS, local: 'partnerFault' } : { ns: detailElement.namespaceURI ?? '', local: detailElement.localName ?? 'fault' };
    throw new BpelFault(faultName, `activity ${args.activityPath}: ${args.operation} failed: ${reason}`, detailElement === undefined ? undefined : { kind: 'message', parts: new Map([['fault', detailElement]]) });
  }
  return message(payload);
}

function textOf(element: Element, local: string): string | undefined {
  const found = element.getElementsByTagNameNS('*', local)[0];
  return found?.textContent ?? undefined;
}

/** Routes each invoke to its binding: in-process for Provisor's port types, remote when the descriptor names an address. */
export class BindingInvoker implements PartnerInvoker {
  constructor(
    private readonly catalog: WsdlCatalog,
    private readonly bindings: ReadonlyMap<string, PartnerBinding>,
    private readonly local: LocalInvoker,
    private readonly principal: Principal,
    private readonly log: Logger,
    private readonly outbound: OutboundHttp,
    private readonly clock: Clock,
    private readonly timeoutMs = 60_000,
  ) {}

  async invoke(request: Parameters<PartnerInvoker['invoke']>[0]): Promise<VariableValue | undefined> {
    const link: PartnerLink = request.partnerLink;
    const portType = request.portType ?? (link.partnerRole === undefined ? undefined : this.catalog.portTypeOf(link.partnerLinkType, link.partnerRole)?.name);
    if (portType === undefined) {
      throw new BpelFault({ ns: WORKFLOW_NS, local: 'unknownOperation' }, `activity ${request.activityPath}: partner link "${link.name}" has no partner role port type`);
    }
    const binding = this.bindings.get(link.name);
    if (binding?.address !== undefined) {
      return invokeRemote({
        binding: { ...binding, address: binding.address },
        operation: request.operation,
        soapAction: `${portType.ns}#${request.operation}`,
        input: request.input,
        idempotencyKey: request.idempotencyKey,
        activityPath: request.activityPath,
        signal: request.signal,
        timeoutMs: this.timeoutMs,
        outbound: this.outbound,
        now: this.clock.date(),
      });
    }
    return this.local.invoke({ portType, operation: request.operation, input: request.input, idempotencyKey: request.idempotencyKey, principal: this.principal, log: this.log, activityPath: request.activityPath });
  }
}
