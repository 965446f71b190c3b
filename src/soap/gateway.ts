import crypto from 'node:crypto';
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoginRefused } from '../auth/login-guard';
import { clipInput, ProvisorError } from '../errors';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import type { ParseLimits, XmlElement } from '../xml/parser';
import { writeElement } from '../xml/writer';
import { readBody } from './body';
import { findHeader, readEnvelope, SOAP11, versionFromContentType, WSA_NS, writeEnvelope, type SoapVersion } from './envelope';
import { DeclaredFault, faultReason, renderDeclaredFault, renderFault, type RenderedFault } from './fault';
import { FieldReader } from './fields';
import type { OperationContext, SoapOperation, SoapService } from './service';
import { readUsernameToken, type Authenticator } from './ws-security';

export interface GatewayOptions {
  readonly maxBodyBytes: number;
  readonly bodyTimeoutMs: number;
  /** The XML parser's limits (config.xml). */
  readonly xml: ParseLimits;
}

export interface Endpoint {
  readonly service: SoapService;
  readonly wsdl: string;
}

/** Placeholder host of the WSDLs' soap:address; replaced with the address the client used. */
const WSDL_LOCATION_HOST = 'http://localhost:8080';
const HOST_HEADER = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/**
 * The wrapper layer's HTTP front: serves each service's WSDL at `?wsdl` and
 * turns SOAP 1.1 and 1.2 requests into calls of the service's operations,
 * answering each request in its own SOAP version, faults included.
 *
 * It is mounted on the bare http.Server, ahead of express: the SOAP path is
 * the hot one and needs none of express's machinery.
 */
export class SoapGateway {
  private readonly endpoints = new Map<string, Endpoint>();
  /** Endpoints found at request time (deployed processes under /soap/processes/). */
  private dynamic: ((path: string) => Promise<Endpoint | undefined>) | undefined;

  constructor(
    services: readonly SoapService[],
    private readonly auth: Authenticator,
    private readonly options: GatewayOptions,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    /** WSDL-only endpoints (e.g. the callback port type a client implements). */
    wsdlOnly: ReadonlyArray<{ name: string; wsdlFile: string; namespace: string }> = [],
  ) {
    for (const service of services) {
      this.endpoints.set(`/soap/${service.name}`, { service, wsdl: fs.readFileSync(service.wsdlFile, 'utf8') });
    }
    for (const doc of wsdlOnly) {
      this.endpoints.set(`/soap/${doc.name}`, {
        service: { name: doc.name, namespace: doc.namespace, wsdlFile: doc.wsdlFile, operations: {} },
        wsdl: fs.readFileSync(doc.wsdlFile, 'utf8'),
      });
    }
  }

  /**
   * Serves paths under `prefix` with endpoints resolved per request (a
   * deployed process's WSDL and operations). `resolve` gets the rest of the
   * path as sent, still percent-encoded; a {@link ProvisorError} it throws is
   * answered with its HTTP status and message.
   */
  serveDynamic(prefix: string, resolve: (encodedName: string) => Promise<{ service: SoapService; wsdl: string } | undefined>): void {
    this.dynamic = async (path) => (path.startsWith(prefix) && path.length > prefix.length ? resolve(path.slice(prefix.length)) : undefined);
  }

  /**
   * Hands `element` to the operation it is the input of at `path` (a
   * deployed process's endpoint, or a service of this gateway) without HTTP,
   * as `principal`: this server's in-process callbacks to its own process
   * endpoints (see wrappers/own-endpoints.ts). Resolves with the response
   * element's XML, undefined for a one-way operation; rejects with the
   * ProvisorError the endpoint would have answered as a fault.
   */
  async deliverInternal(path: string, element: XmlElement, context: OperationContext): Promise<string | undefined> {
    const endpoint = this.endpoints.get(path) ?? (await this.dynamic?.(path));
    if (endpoint === undefined) throw new ProvisorError('UnknownProcess', `no SOAP endpoint at ${clipInput(path)}`);
    const [name, operation] = operationOf(endpoint.service, element);
    if (!operation.roles.includes(context.principal.role)) {
      throw new ProvisorError('Forbidden', `role "${context.principal.role}" may not call ${endpoint.service.name}.${name}`);
    }
    if (operation.handleRaw !== undefined) return operation.handleRaw(element, context);
    const result = await operation.handle(new FieldReader(element, endpoint.service.namespace), context);
    return writeElement(endpoint.service.namespace, `${name}Response`, result);
  }

  /** The paths served, e.g. `/soap/Software`. */
  get paths(): string[] {
    return [...this.endpoints.keys()];
  }

  /** True when the request was for a SOAP path and has been (or is being) answered. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    let path = q === -1 ? url : url.slice(0, q);
    if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
    const endpoint = this.endpoints.get(path);
    if (endpoint === undefined) {
      if (this.dynamic === undefined || !path.startsWith('/soap/')) return false;
      void this.dynamic(path).then(
        (found) => {
          if (found === undefined) {
            res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
            res.end(`no SOAP service at ${path}\n`);
          } else {
            this.serve(req, res, found, path, url, q);
          }
        },
        (err: unknown) => {
          if (err instanceof ProvisorError && err.sender) {
            this.log.info('dynamic endpoint refused', { path: path.slice(0, 300), code: err.code, reason: err.message });
            res.writeHead(err.httpStatus, { 'content-type': 'text/plain; charset=utf-8' });
            res.end(`${err.code}: ${err.message}\n`);
            return;
          }
          this.log.error('dynamic endpoint lookup failed', { path, err: String(err) });
          res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
          res.end('internal error\n');
        },
      );
      return true;
    }
    this.serve(req, res, endpoint, path, url, q);
    return true;
  }

  private serve(req: IncomingMessage, res: ServerResponse, endpoint: Endpoint, path: string, url: string, q: number): void {
    if (req.method === 'GET' || req.method === 'HEAD') {
      const query = q === -1 ? '' : url.slice(q + 1).toLowerCase();
      if (query === 'wsdl' || query.startsWith('wsdl&') || query === 'wsdl=') {
        this.sendWsdl(req, res, endpoint);
      } else {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`${endpoint.service.name}Service: POST SOAP 1.1 or 1.2 requests here; the WSDL is at ${path}?wsdl\n`);
      }
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'GET, POST', 'content-type': 'text/plain; charset=utf-8' });
      res.end(`method ${req.method ?? ''} is not allowed: POST a SOAP envelope, or GET ?wsdl\n`);
      return;
    }
    void this.process(req, res, endpoint);
  }

  private sendWsdl(req: IncomingMessage, res: ServerResponse, endpoint: Endpoint): void {
    const host = req.headers.host;
    const base = host !== undefined && HOST_HEADER.test(host) ? `http://${host}` : WSDL_LOCATION_HOST;
    const body = endpoint.wsdl.split(WSDL_LOCATION_HOST).join(base);
    res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  private async process(req: IncomingMessage, res: ServerResponse, endpoint: Endpoint): Promise<void> {
    const started = process.hrtime.bigint();
    const { service } = endpoint;
    const httpId = (req.headers['x-request-id'] as string | undefined)?.slice(0, 100) ?? crypto.randomUUID();
    let version: SoapVersion = versionFromContentType(req.headers['content-type']);
    let operationName = '-';
    let log = this.log;
    try {
      const contentType = (req.headers['content-type'] ?? '').toLowerCase();
      if (!contentType.includes('xml')) {
        throw new ProvisorError('UnsupportedMediaType', `content type "${contentType}" is not text/xml (SOAP 1.1) or application/soap+xml (SOAP 1.2)`);
      }
      const charset = /charset\s*=\s*"?([^";\s]+)/.exec(contentType)?.[1];
      if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8' && charset !== 'us-ascii') {
        throw new ProvisorError('UnsupportedMediaType', `charset "${charset}" is not supported; send UTF-8`);
      }
      const body = await readBody(req, this.options.maxBodyBytes, this.options.bodyTimeoutMs);
      const read = await readEnvelope(body.toString('utf8'), version, this.options.xml);
      version = read.version;
      if (read.error !== undefined || read.envelope === undefined) throw read.error ?? new ProvisorError('MalformedXml', 'unreadable envelope');
      const envelope = read.envelope;
      const element = envelope.operation;
      // Named in metrics and logs only once known: an unknown name is the caller's text.
      const [chosen, operation] = operationOf(service, element);
      operationName = chosen;
      const principal = await this.auth.authenticate(readUsernameToken(envelope), req.socket.remoteAddress);
      log = this.log.child({ httpRequestId: httpId, user: principal.name, service: service.name, operation: operationName });
      if (!operation.roles.includes(principal.role)) {
        throw new ProvisorError('Forbidden', `role "${principal.role}" may not call ${service.name}.${operationName} (allowed: ${operation.roles.join(', ')})`);
      }
      const messageId = findHeader(envelope, WSA_NS, 'MessageID')?.text.trim() || undefined;
      const context = { principal, messageId, log };
      let xml: string | undefined;
      if (operation.handleRaw !== undefined) {
        const body = await operation.handleRaw(element, context);
        xml = body === undefined ? undefined : writeEnvelope(version, body);
      } else {
        const result = await operation.handle(new FieldReader(element, service.namespace), context);
        xml = writeEnvelope(version, writeElement(service.namespace, `${operationName}Response`, result));
      }
      if (xml === undefined) {
        res.writeHead(202, { 'content-length': 0 });
        res.end();
      } else {
        res.writeHead(200, { 'content-type': version.contentType, 'content-length': Buffer.byteLength(xml) });
        res.end(xml);
      }
      this.metrics.soapRequests.labels(service.name, operationName, 'ok').inc();
      if (log !== this.log) log.debug('soap call', { ms: Number(process.hrtime.bigint() - started) / 1e6 });
    } catch (err) {
      this.sendFault(res, version, service, operationName, err, log, httpId);
    } finally {
      this.metrics.soapDuration.labels(service.name).observe(Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  private sendFault(res: ServerResponse, version: SoapVersion, service: SoapService, operation: string, err: unknown, log: Logger, httpId: string): void {
    if (err instanceof DeclaredFault) {
      // The service's own answer (a process's reply with faultName), not an error of Provisor's catalogue.
      log.info('soap fault declared by the operation', { httpRequestId: httpId, service: service.name, operation, fault: err.faultName });
      this.metrics.soapRequests.labels(service.name, operation, 'DeclaredFault').inc();
      this.sendRendered(res, version, renderDeclaredFault(version, err), false);
      return;
    }
    let error: ProvisorError;
    if (err instanceof ProvisorError) {
      error = err;
      if (error.code === 'Internal' || error.code === 'Unavailable') log.error('soap call failed', { httpRequestId: httpId, code: error.code, err: String(error.cause ?? error.message) });
      else log.info('soap fault', { httpRequestId: httpId, service: service.name, operation, code: error.code, field: error.field === undefined ? undefined : clipInput(error.field), reason: faultReason(error) });
    } else if (isConnectionError(err)) {
      error = new ProvisorError('Unavailable', `the database is unavailable; retry later (reference ${httpId})`);
      log.error('database unavailable', { httpRequestId: httpId, err: String(err) });
    } else {
      error = new ProvisorError('Internal', `internal error; the server log has the details under reference ${httpId}`);
      log.error('unexpected error in soap call', { httpRequestId: httpId, service: service.name, operation, err: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    }
    this.metrics.soapRequests.labels(service.name, operation, error.code).inc();
    // After refusing an oversized body, do not read the rest of it.
    const close = error.code === 'BodyTooLarge' || error.code === 'BodyTimeout';
    this.sendRendered(res, version, renderFault(version, error, service.namespace), close, error instanceof LoginRefused ? error.retryAfterSeconds : undefined);
  }

  private sendRendered(res: ServerResponse, version: SoapVersion, fault: RenderedFault, close: boolean, retryAfterSeconds?: number): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const headers: Record<string, string | number> = { 'content-type': version.contentType, 'content-length': Buffer.byteLength(fault.body) };
    if (close) headers.connection = 'close';
    if (retryAfterSeconds !== undefined) headers['retry-after'] = retryAfterSeconds;
    res.writeHead(fault.status, headers);
    res.end(fault.body);
  }
}

function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown; driverError?: { code?: unknown } }).driverError?.code ?? (err as { code?: unknown }).code;
  return typeof code === 'string' && ['ECONNREFUSED', 'PROTOCOL_CONNECTION_LOST', 'ETIMEDOUT', 'ECONNRESET', 'SQLITE_BUSY', 'ER_CON_COUNT_ERROR'].includes(code);
}

/** The operation of `service` that `element` is the input of, by name; an UnknownOperation fault naming what the service takes otherwise. */
function operationOf(service: SoapService, element: XmlElement): [string, SoapOperation] {
  const chosen = service.operationOf !== undefined ? service.operationOf(element) : element.ns === service.namespace ? element.name : undefined;
  const operation = chosen === undefined || !Object.hasOwn(service.operations, chosen) ? undefined : service.operations[chosen];
  if (chosen !== undefined && operation !== undefined) return [chosen, operation];
  const known = Object.keys(service.operations).join(', ');
  throw new ProvisorError(
    'UnknownOperation',
    service.operationOf !== undefined
      ? `the body element {${clipInput(element.ns)}}${clipInput(element.name)} is not the input of an operation of ${service.name}Service (it takes ${service.expected ?? known})`
      : element.ns === service.namespace
      ? `${service.name}Service has no operation "${clipInput(element.name)}" (it has ${known === '' ? 'none' : known})`
      : `the body element {${clipInput(element.ns)}}${clipInput(element.name)} is not an operation of ${service.name}Service (namespace ${service.namespace})`,
  );
}

export { SOAP11 };
