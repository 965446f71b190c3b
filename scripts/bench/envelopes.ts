/** Request bodies of the ingest cases. `[<id>]` is replaced by autocannon with a fresh id per request. */
import crypto from 'node:crypto';
import type { Credentials } from './setup';

export const ID_TAG = '[<id>]';
/** Where a PasswordDigest envelope takes a fresh UsernameToken (nonce, created, digest) per request. */
export const TOKEN_TAG = '[<token>]';

const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/';
const WSSE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
const PASSWORD_TEXT = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText';
const PASSWORD_DIGEST = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest';
const WSU = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd';
const BASE64_BINARY = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary';
export const SOFTWARE_NS = 'urn:provisor:software:1';

export interface Parameter {
  readonly name: string;
  readonly value: string;
}

/** `count` distinct name/value pairs, like a hosting order's settings. */
export function benchParameters(count: number): Parameter[] {
  const out: Parameter[] = [];
  for (let i = 1; i <= count; i++) {
    const n = String(i).padStart(2, '0');
    out.push({ name: `setting.${n}`, value: `value-${n}-example.org/path/${n}` });
  }
  return out;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * A SOAP 1.1 Software.Install envelope as a typical client sends it: a
 * UsernameToken with PasswordText (no Nonce, no Created, which the contract
 * allows), and a unique idempotencyKey per request. With `digest`, the
 * token is left as {@link TOKEN_TAG} for {@link withFreshToken} to fill.
 */
export function installEnvelope(credentials: Credentials, system: string, component: string, parameters: readonly Parameter[], digest = false): string {
  const params =
    parameters.length === 0
      ? ''
      : `<p:parameters>${parameters.map((p) => `<p:parameter><p:name>${escapeXml(p.name)}</p:name><p:value>${escapeXml(p.value)}</p:value></p:parameter>`).join('')}</p:parameters>`;
  return (
    '<?xml version="1.0" encoding="utf-8"?>' +
    `<soapenv:Envelope xmlns:soapenv="${SOAP11}" xmlns:p="${SOFTWARE_NS}">` +
    '<soapenv:Header>' +
    (digest
      ? TOKEN_TAG
      : `<wsse:Security xmlns:wsse="${WSSE}" soapenv:mustUnderstand="1"><wsse:UsernameToken>` +
        `<wsse:Username>${escapeXml(credentials.username)}</wsse:Username>` +
        `<wsse:Password Type="${PASSWORD_TEXT}">${escapeXml(credentials.password)}</wsse:Password>` +
        '</wsse:UsernameToken></wsse:Security>') +
    '</soapenv:Header>' +
    '<soapenv:Body>' +
    `<p:Install><p:system>${escapeXml(system)}</p:system><p:component>${escapeXml(component)}</p:component>${params}<p:idempotencyKey>${ID_TAG}</p:idempotencyKey></p:Install>` +
    '</soapenv:Body></soapenv:Envelope>'
  );
}

export const SOAP_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/xml; charset=utf-8',
  soapaction: `"${SOFTWARE_NS}#Install"`,
};

/** The JSON body of the baseline's POST /install. */
export function installJson(system: string, component: string, parameters: readonly Parameter[]): string {
  return JSON.stringify({ system, component, parameters, idempotencyKey: ID_TAG });
}

export const JSON_HEADERS: Readonly<Record<string, string>> = { 'content-type': 'application/json' };

/** The same envelope with the id tag replaced, for the single checked request before a run. */
export function withId(body: string, id: string): string {
  return body.split(ID_TAG).join(id);
}

/**
 * The envelope with a fresh PasswordDigest UsernameToken (16 random nonce
 * bytes, Created now) and a fresh idempotency key: what a client using
 * digests sends, each request a nonce the server has not seen.
 */
export function withFreshToken(body: string, credentials: Credentials): string {
  const nonce = crypto.randomBytes(16);
  const created = new Date().toISOString();
  const digest = crypto.createHash('sha1').update(Buffer.concat([nonce, Buffer.from(created), Buffer.from(credentials.password)])).digest('base64');
  const token =
    `<wsse:Security xmlns:wsse="${WSSE}" xmlns:wsu="${WSU}" soapenv:mustUnderstand="1"><wsse:UsernameToken>` +
    `<wsse:Username>${escapeXml(credentials.username)}</wsse:Username>` +
    `<wsse:Password Type="${PASSWORD_DIGEST}">${digest}</wsse:Password>` +
    `<wsse:Nonce EncodingType="${BASE64_BINARY}">${nonce.toString('base64')}</wsse:Nonce><wsu:Created>${created}</wsu:Created>` +
    '</wsse:UsernameToken></wsse:Security>';
  return body.split(TOKEN_TAG).join(token).split(ID_TAG).join(crypto.randomUUID());
}
