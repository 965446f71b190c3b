import { ERROR_CATALOGUE, ProvisorError } from '../errors';
import { InvalidParametersError } from '../workorders/api';
import { SOAP11, type SoapVersion } from './envelope';
import { writeElement, writeEnvelope } from './writer';
import { escapeXml } from './xml';

export interface RenderedFault {
  readonly status: number;
  readonly body: string;
}

/**
 * A SOAP Fault in the request's own version. The fault class follows the
 * catalogue (Client/Sender for a caller's mistake, Server/Receiver
 * otherwise); the detail is the service's typed `ProvisorFault` element, with
 * a `problem` per parameter problem for an InvalidParameter fault.
 */
export function renderFault(version: SoapVersion, error: ProvisorError, detailNs: string): RenderedFault {
  const sender = ERROR_CATALOGUE[error.code].sender;
  // An InvalidParameter fault (only the WorkOrder service, whose schema declares them) lists every problem after the standard fields.
  const problem = error instanceof InvalidParametersError ? error.problems.map((p) => ({ parameter: p.parameter, message: p.message })) : undefined;
  const detail = writeElement(detailNs, 'ProvisorFault', { code: error.code, message: error.message, field: error.field, problem });
  // SOAP 1.1 faults travel with 500 (WS-I BP R1126); SOAP 1.2's HTTP binding gives env:Sender 400, the other codes 500.
  const special = error.code === 'VersionMismatch' || error.code === 'MustUnderstand';
  const status = error.code === 'BodyTooLarge' ? 413 : version === SOAP11 || !sender || special ? 500 : 400;
  if (version === SOAP11) {
    const code = special ? error.code : sender ? 'Client' : 'Server';
    const fault = `<soap:Fault><faultcode>soap:${code}</faultcode><faultstring>${escapeXml(error.message)}</faultstring><detail>${detail}</detail></soap:Fault>`;
    return { status, body: writeEnvelope(version, fault) };
  }
  const code = special ? error.code : sender ? 'Sender' : 'Receiver';
  const fault =
    `<soap:Fault><soap:Code><soap:Value>soap:${code}</soap:Value>` +
    `<soap:Subcode><soap:Value xmlns:f="${escapeXml(detailNs)}">f:${error.code}</soap:Value></soap:Subcode></soap:Code>` +
    `<soap:Reason><soap:Text xml:lang="en">${escapeXml(error.message)}</soap:Text></soap:Reason>` +
    `<soap:Detail>${detail}</soap:Detail></soap:Fault>`;
  return { status, body: writeEnvelope(version, fault) };
}
