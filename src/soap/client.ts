/**
 * The one outbound SOAP client: partner invokes, RequestCompleted callbacks
 * and the change-manager feed all send through it. It writes the SOAP 1.1
 * envelope (with a WS-Addressing MessageID and a WS-Security UsernameToken
 * when asked), sends it with the policed, capped HTTP sender (destination
 * policy, deadline, size cap) and reads the answer: a one-way message is
 * acknowledged by any 2xx; a request-response call returns the Body's element
 * or throws a SoapFault carrying the fault's reason and detail.
 *
 * Retries are the caller's: whether and when to send again depends on what is
 * sent (a durable callback row, a best-effort feed, an activity's fault).
 */
import crypto from 'node:crypto';
import type { Element } from '@xmldom/xmldom';
import type { Clock } from '../clock';
import type { OutboundHttp } from '../net/outbound-http';
import { childElements, parseElement } from '../xml/dom';
import { escapeXml } from '../xml/escape';
import { SOAP11, WSA_NS, WSSE_NS, WSU_NS, writeEnvelope } from './envelope';

const TOKEN_PROFILE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0';
const BASE64_ENCODING = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary';

/** Credentials sent as a WS-Security UsernameToken. */
export interface ClientCredentials {
  readonly username: string;
  readonly password: string;
  /** PasswordDigest sends Base64(SHA-1(nonce + Created + password)) instead of the password. */
  readonly passwordType: 'PasswordText' | 'PasswordDigest';
}

export interface SoapMessage {
  readonly url: string;
  /** The SOAPAction header's value (sent quoted). */
  readonly action: string;
  /** The Body's content: the operation's wrapper element, or '' for an empty Body. */
  readonly body: string;
  /** Sent as wsa:MessageID. */
  readonly messageId?: string;
  readonly credentials?: ClientCredentials;
  /** Deadline for the whole exchange; the sender's default when absent. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** The answer was not the SOAP answer expected: an HTTP status outside 2xx, or no envelope. */
export class SoapResponseError extends Error {
  override readonly name = 'SoapResponseError';
  constructor(
    /** `Status`: no 2xx and no fault to report; `NotSoap`: the answer is no SOAP envelope. */
    readonly reason: 'Status' | 'NotSoap',
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The partner answered with a SOAP Fault. */
export class SoapFault extends Error {
  override readonly name = 'SoapFault';
  constructor(
    readonly status: number,
    /** faultstring (SOAP 1.1) or Reason/Text (SOAP 1.2). */
    readonly reason: string,
    /** The first element of the fault's detail, when there is one. */
    readonly detail: Element | undefined,
  ) {
    super(reason);
  }
}

/** WS-Security PasswordDigest: Base64(SHA-1(nonce bytes + Created + password)). */
export function passwordDigest(nonce: Buffer, created: string, password: string): string {
  return crypto
    .createHash('sha1')
    .update(Buffer.concat([nonce, Buffer.from(created, 'utf8'), Buffer.from(password, 'utf8')]))
    .digest('base64');
}

/** The wsse:Security header with a UsernameToken: PasswordDigest or PasswordText as the credentials say. */
export function usernameTokenHeader(credentials: ClientCredentials, now: Date): string {
  const nonce = crypto.randomBytes(16);
  const created = now.toISOString();
  const passwordElement =
    credentials.passwordType === 'PasswordDigest'
      ? `<wsse:Password Type="${TOKEN_PROFILE}#PasswordDigest">${passwordDigest(nonce, created, credentials.password)}</wsse:Password>`
      : `<wsse:Password Type="${TOKEN_PROFILE}#PasswordText">${escapeXml(credentials.password)}</wsse:Password>`;
  return `<wsse:Security xmlns:wsse="${WSSE_NS}" xmlns:wsu="${WSU_NS}"><wsse:UsernameToken><wsse:Username>${escapeXml(credentials.username)}</wsse:Username>${passwordElement}<wsse:Nonce EncodingType="${BASE64_ENCODING}">${nonce.toString('base64')}</wsse:Nonce><wsu:Created>${created}</wsu:Created></wsse:UsernameToken></wsse:Security>`;
}

export class SoapClient {
  constructor(
    /** The policed, capped sender (destination policy, deadline, size cap). */
    private readonly outbound: OutboundHttp,
    /** Dates the UsernameToken's Created. */
    private readonly clock: Clock,
  ) {}

  /**
   * Sends a one-way message; any 2xx acknowledges it.
   * @throws SoapResponseError (`Status`) for another status; the sender's
   *   DestinationDeniedError or OutboundError when it could not be sent.
   */
  async notify(message: SoapMessage): Promise<void> {
    const response = await this.post(message);
    if (response.status < 200 || response.status > 299) throw new SoapResponseError('Status', response.status, `HTTP ${response.status}`);
  }

  /**
   * Sends a request and reads the response envelope.
   * @returns the Body's element; undefined for a 2xx with an empty Body, or
   *   with no body at all (a one-way operation's HTTP 202, WS-I Basic Profile R2714).
   * @throws SoapFault when the Body holds a Fault; SoapResponseError when the
   *   answer is no envelope (`NotSoap`) or an empty Body outside 2xx
   *   (`Status`); the sender's DestinationDeniedError or OutboundError when
   *   it could not be sent or read.
   */
  async call(message: SoapMessage): Promise<Element | undefined> {
    const response = await this.post(message);
    const ok = response.status >= 200 && response.status <= 299;
    if (ok && response.body.toString('utf8').trim() === '') return undefined;
    let envelope: Element;
    try {
      envelope = parseElement(response.body.toString('utf8'));
    } catch {
      throw new SoapResponseError('NotSoap', response.status, `HTTP ${response.status} without a SOAP envelope`);
    }
    const body = childElements(envelope).find((e) => e.localName === 'Body');
    const payload = body === undefined ? undefined : childElements(body)[0];
    if (payload === undefined) {
      if (ok) return undefined;
      throw new SoapResponseError('Status', response.status, `HTTP ${response.status}`);
    }
    if (payload.localName === 'Fault') {
      const detail = childElements(payload).find((e) => e.localName === 'detail' || e.localName === 'Detail');
      const reason = textOf(payload, 'faultstring') ?? textOf(payload, 'Text') ?? 'fault';
      throw new SoapFault(response.status, reason, detail === undefined ? undefined : childElements(detail)[0]);
    }
    return payload;
  }

  private post(message: SoapMessage): Promise<{ status: number; body: Buffer }> {
    const security = message.credentials === undefined ? '' : usernameTokenHeader(message.credentials, this.clock.date());
    const messageId = message.messageId === undefined ? '' : `<wsa:MessageID xmlns:wsa="${WSA_NS}">${escapeXml(message.messageId)}</wsa:MessageID>`;
    return this.outbound.post({
      url: message.url,
      headers: { 'content-type': SOAP11.contentType, soapaction: `"${message.action}"` },
      body: writeEnvelope(SOAP11, message.body, security + messageId),
      timeoutMs: message.timeoutMs,
      signal: message.signal,
    });
  }
}

function textOf(element: Element, local: string): string | undefined {
  const found = element.getElementsByTagNameNS('*', local)[0];
  return found?.textContent ?? undefined;
}
