import crypto from 'node:crypto';
import * as soap from 'soap';

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/** A real node-soap client for a Provisor service, authenticated with a UsernameToken. */
export async function soapClient(baseUrl: string, service: string, credentials: Credentials, options: { digest?: boolean; soap12?: boolean } = {}): Promise<soap.Client> {
  const client = await soap.createClientAsync(`${baseUrl}/soap/${service}?wsdl`, {
    forceSoap12Headers: options.soap12 === true,
  });
  client.setSecurity(new soap.WSSecurity(credentials.username, credentials.password, { passwordType: options.digest === true ? 'PasswordDigest' : 'PasswordText', hasNonce: true, hasTimeStamp: false, mustUnderstand: true }));
  return client;
}

/** Calls an operation and returns its result object. */
export async function call<T = Record<string, unknown>>(client: soap.Client, operation: string, args: Record<string, unknown>): Promise<T> {
  const method = (client as unknown as Record<string, (a: unknown) => Promise<[T]>>)[`${operation}Async`];
  if (method === undefined) throw new Error(`the client has no operation ${operation}`);
  const [result] = await method.call(client, args);
  return result;
}

const WSSE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
const WSU = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd';
const PT = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0';

/** A UsernameToken header, hand-built, for raw-envelope tests. */
export function securityHeader(credentials: Credentials, options: { digest?: boolean; created?: Date; nonce?: Buffer; omitNonce?: boolean; envPrefix?: string } = {}): string {
  const created = (options.created ?? new Date()).toISOString();
  const nonce = options.nonce ?? crypto.randomBytes(16);
  const password = options.digest === true ? crypto.createHash('sha1').update(Buffer.concat([nonce, Buffer.from(created), Buffer.from(credentials.password)])).digest('base64') : credentials.password;
  const type = options.digest === true ? 'PasswordDigest' : 'PasswordText';
  return (
    `<wsse:Security xmlns:wsse="${WSSE}" xmlns:wsu="${WSU}" ${options.envPrefix ?? 's'}:mustUnderstand="1"><wsse:UsernameToken>` +
    `<wsse:Username>${credentials.username}</wsse:Username><wsse:Password Type="${PT}#${type}">${password}</wsse:Password>` +
    (options.omitNonce === true ? '' : `<wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">${nonce.toString('base64')}</wsse:Nonce><wsu:Created>${created}</wsu:Created>`) +
    `</wsse:UsernameToken></wsse:Security>`
  );
}

export const SOAP11_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const SOAP12_NS = 'http://www.w3.org/2003/05/soap-envelope';

/** A raw SOAP envelope around a body. */
export function envelope(body: string, header = '', version: '1.1' | '1.2' = '1.1'): string {
  const ns = version === '1.1' ? SOAP11_NS : SOAP12_NS;
  return `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="${ns}"><s:Header>${header}</s:Header><s:Body>${body}</s:Body></s:Envelope>`;
}

/** Posts raw XML and returns status, content type and body. */
export async function postRaw(url: string, xml: string | Buffer, version: '1.1' | '1.2' = '1.1', headers: Record<string, string> = {}): Promise<{ status: number; contentType: string; body: string }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': version === '1.1' ? 'text/xml; charset=utf-8' : 'application/soap+xml; charset=utf-8', ...headers },
    body: xml,
  });
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', body: await response.text() };
}
