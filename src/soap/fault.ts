import { clipInput, ERROR_CATALOGUE, InvalidParametersError, MAX_QUOTED_INPUT, ProvisorError } from '../errors';
import { escapeXml } from '../xml/escape';
import { writeElement } from '../xml/writer';
import { SOAP11, writeEnvelope, type SoapVersion } from './envelope';

export interface RenderedFault {
  readonly status: number;
  readonly body: string;
}

/** The longest fault reason sent; a longer one (many problems, or input quoted whole) is cut with its length. */
export const MAX_FAULT_REASON = 4000;
/** The most `problem` elements an InvalidParameter fault lists. */
export const MAX_FAULT_PROBLEMS = 50;

/**
 * The fault's reason as sent and logged: bounded whatever the message quotes.
 * Messages quote a caller's input through clipInput where they are built;
 * this is the bound for every message, including any that does not.
 */
export function faultReason(error: ProvisorError): string {
  return clipInput(error.message, MAX_FAULT_REASON);
}

/**
 * A SOAP Fault in the request's own version. The fault class follows the
 * catalogue (Client/Sender for a caller's mistake, Server/Receiver
 * otherwise); the detail is the service's typed `ProvisorFault` element, with
 * a `problem` per parameter problem (the first MAX_FAULT_PROBLEMS) for an
 * InvalidParameter fault. Reason, field and problems are bounded in length.
 */
export function renderFault(version: SoapVersion, error: ProvisorError, detailNs: string): RenderedFault {
  const sender = ERROR_CATALOGUE[error.code].sender;
  const reason = faultReason(error);
  // An InvalidParameter fault (only services whose schema declares them, today the WorkOrder service) lists its problems after the standard fields.
  const problem =
    error instanceof InvalidParametersError
      ? error.problems.slice(0, MAX_FAULT_PROBLEMS).map((p) => ({ parameter: clipInput(p.parameter), message: clipInput(p.message, 2 * MAX_QUOTED_INPUT) }))
      : undefined;
  const field = error.field === undefined ? undefined : clipInput(error.field);
  const detail = writeElement(detailNs, 'ProvisorFault', { code: error.code, message: reason, field, problem });
  // SOAP 1.1 faults travel with 500 (WS-I BP R1126); SOAP 1.2's HTTP binding gives env:Sender 400, the other codes 500.
  const special = error.code === 'VersionMismatch' || error.code === 'MustUnderstand';
  const status = error.code === 'BodyTooLarge' ? 413 : version === SOAP11 || !sender || special ? 500 : 400;
  if (version === SOAP11) {
    const code = special ? error.code : sender ? 'Client' : 'Server';
    const fault = `<soap:Fault><faultcode>soap:${code}</faultcode><faultstring>${escapeXml(reason)}</faultstring><detail>${detail}</detail></soap:Fault>`;
    return { status, body: writeEnvelope(version, fault) };
  }
  const code = special ? error.code : sender ? 'Sender' : 'Receiver';
  const fault =
    `<soap:Fault><soap:Code><soap:Value>soap:${code}</soap:Value>` +
    `<soap:Subcode><soap:Value xmlns:f="${escapeXml(detailNs)}">f:${error.code}</soap:Value></soap:Subcode></soap:Code>` +
    `<soap:Reason><soap:Text xml:lang="en">${escapeXml(reason)}</soap:Text></soap:Reason>` +
    `<soap:Detail>${detail}</soap:Detail></soap:Fault>`;
  return { status, body: writeEnvelope(version, fault) };
}

/**
 * A fault the operation's WSDL declares (`<wsdl:fault>`), sent as its
 * service defines it rather than as a `ProvisorFault`: a deployed process's
 * `reply` with `faultName` (WS-BPEL 2.0 §10.3). The detail is the fault
 * message's part elements, already written; the reason names the fault.
 */
export class DeclaredFault extends Error {
  constructor(
    /** The fault's `{ns}local` name, as the process named it. */
    readonly faultName: string,
    message: string,
    /** The XML of the fault message's parts: the Fault's detail entries. */
    readonly detail: string,
  ) {
    super(message);
    this.name = 'DeclaredFault';
  }
}

/**
 * A declared fault in the request's own version: Server (SOAP 1.1) or
 * Receiver (SOAP 1.2), since it is the service's answer and not a mistake in
 * the request's form, with HTTP 500 as both bindings require for it.
 */
export function renderDeclaredFault(version: SoapVersion, fault: DeclaredFault): RenderedFault {
  const reason = escapeXml(clipInput(fault.message, MAX_FAULT_REASON));
  if (version === SOAP11) {
    return { status: 500, body: writeEnvelope(version, `<soap:Fault><faultcode>soap:Server</faultcode><faultstring>${reason}</faultstring><detail>${fault.detail}</detail></soap:Fault>`) };
  }
  const body = `<soap:Fault><soap:Code><soap:Value>soap:Receiver</soap:Value></soap:Code><soap:Reason><soap:Text xml:lang="en">${reason}</soap:Text></soap:Reason><soap:Detail>${fault.detail}</soap:Detail></soap:Fault>`;
  return { status: 500, body: writeEnvelope(version, body) };
}
