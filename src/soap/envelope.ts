import { clipInput, ProvisorError } from '../errors';
import { DEFAULT_PARSE_LIMITS, parseXml, parseXmlSliced, XmlError, type ParseLimits, type XmlElement } from '../xml/parser';

/** The two SOAP versions, with what differs between them on the wire. */
export const SOAP11 = {
  version: '1.1',
  envelopeNs: 'http://schemas.xmlsoap.org/soap/envelope/',
  contentType: 'text/xml; charset=utf-8',
} as const;
export const SOAP12 = {
  version: '1.2',
  envelopeNs: 'http://www.w3.org/2003/05/soap-envelope',
  contentType: 'application/soap+xml; charset=utf-8',
} as const;
export type SoapVersion = typeof SOAP11 | typeof SOAP12;

export const WSSE_NS = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
export const WSU_NS = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd';
export const WSA_NS = 'http://www.w3.org/2005/08/addressing';

/** Header blocks Provisor processes; a mustUnderstand header outside this list is refused. */
const UNDERSTOOD_HEADER_NS = new Set([WSSE_NS, WSU_NS, WSA_NS]);

export interface Envelope {
  readonly version: SoapVersion;
  readonly headers: readonly XmlElement[];
  /** The single child of Body: the operation's wrapper element. */
  readonly operation: XmlElement;
}

/**
 * The SOAP version a request asks for before its body is parsed, from the
 * Content-Type (SOAP 1.2 is application/soap+xml); used to answer errors that
 * happen before the envelope can be read.
 */
export function versionFromContentType(contentType: string | undefined): SoapVersion {
  return contentType !== undefined && contentType.toLowerCase().includes('application/soap+xml') ? SOAP12 : SOAP11;
}

/** Bodies up to this many characters are parsed in one go; larger ones in slices that let other requests through ({@link parseXmlSliced}). */
const SLICED_PARSE_FROM = 32 * 1024;

/** Parses and checks a SOAP envelope; the answer names the fault to send when it is not usable. */
export async function readEnvelope(xml: string, fallback: SoapVersion, limits: ParseLimits = DEFAULT_PARSE_LIMITS): Promise<{ envelope?: Envelope; version: SoapVersion; error?: ProvisorError }> {
  let root: XmlElement;
  try {
    root = xml.length < SLICED_PARSE_FROM ? parseXml(xml, limits) : await parseXmlSliced(xml, limits);
  } catch (err) {
    if (err instanceof XmlError) {
      return { version: fallback, error: new ProvisorError(err.forbidden ? 'DtdForbidden' : 'MalformedXml', `malformed request: ${err.message}`) };
    }
    throw err;
  }
  const version = root.ns === SOAP12.envelopeNs ? SOAP12 : root.ns === SOAP11.envelopeNs ? SOAP11 : undefined;
  if (version === undefined || root.name !== 'Envelope') {
    const what = root.name === 'Envelope' ? `an Envelope in namespace "${clipInput(root.ns)}"` : `<${clipInput(root.name)}>`;
    return { version: fallback, error: new ProvisorError('VersionMismatch', `the request root is ${what}, not a SOAP 1.1 or 1.2 Envelope`) };
  }
  let header: XmlElement | undefined;
  let body: XmlElement | undefined;
  for (const child of root.children) {
    if (child.ns !== version.envelopeNs) {
      return { version, error: new ProvisorError('MalformedXml', `unexpected <${clipInput(child.name)}> in the Envelope (only Header and Body belong there)`) };
    }
    if (child.name === 'Header' && header === undefined && body === undefined) header = child;
    else if (child.name === 'Body' && body === undefined) body = child;
    else return { version, error: new ProvisorError('MalformedXml', `unexpected or repeated <${clipInput(child.name)}> in the Envelope`) };
  }
  if (body === undefined) return { version, error: new ProvisorError('MalformedXml', 'the Envelope has no Body') };
  const [operation, ...extra] = body.children;
  if (operation === undefined) return { version, error: new ProvisorError('UnknownOperation', 'the Body is empty: it must hold one operation element') };
  if (extra.length > 0) return { version, error: new ProvisorError('MalformedXml', `the Body holds ${body.children.length} elements; document/literal wrapped takes exactly one`) };
  const headers = header?.children ?? [];
  for (const block of headers) {
    const flag = block.attrs[`{${version.envelopeNs}}mustUnderstand`];
    if ((flag === '1' || flag === 'true') && !UNDERSTOOD_HEADER_NS.has(block.ns)) {
      return { version, error: new ProvisorError('MustUnderstand', `header {${clipInput(block.ns)}}${clipInput(block.name)} is marked mustUnderstand and Provisor does not process it`) };
    }
  }
  return { version, envelope: { version, headers, operation } };
}

/** The first header block with this namespace and name. */
export function findHeader(envelope: Envelope, ns: string, name: string): XmlElement | undefined {
  return envelope.headers.find((h) => h.ns === ns && h.name === name);
}

/** The first child with this namespace and name. */
export function child(element: XmlElement, ns: string, name: string): XmlElement | undefined {
  return element.children.find((c) => c.ns === ns && c.name === name);
}

/** A complete envelope in the request's SOAP version. */
export function writeEnvelope(version: SoapVersion, body: string, headers = ''): string {
  return (
    `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="${version.envelopeNs}">` +
    (headers === '' ? '' : `<soap:Header>${headers}</soap:Header>`) +
    `<soap:Body>${body}</soap:Body></soap:Envelope>`
  );
}
