/**
 * The one HTTP sender for Provisor's outbound calls (partner invokes,
 * RequestCompleted callbacks, the change-manager feed). Each call passes the
 * destination policy, connects to the address that was checked, has a
 * deadline for the whole exchange, and reads the answer with a size cap: past
 * the cap the socket is destroyed, so a huge or endless answer costs at most
 * the cap in memory.
 */
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { CheckedDestination, DestinationPolicy } from './destination-policy';
import { DestinationDeniedError, displayUrl } from './destination-policy';

export interface OutboundSettings {
  /** Largest answer read, in bytes. */
  readonly maxResponseBytes: number;
  /** Deadline for a call whose caller sets none. */
  readonly timeoutMs: number;
}

export interface OutboundRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** Deadline for the whole exchange (connect, send, answer); the sender's default when absent. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface OutboundResponse {
  readonly status: number;
  readonly body: Buffer;
}

/**
 * Why an outbound call failed: `ResponseTooLarge` (the answer passed the cap), `Timeout` (the
 * deadline passed), `Aborted` (the caller's signal), `Network` (connection refused, reset, …).
 * A refused destination is a DestinationDeniedError instead.
 */
export type OutboundFailure = 'ResponseTooLarge' | 'Timeout' | 'Aborted' | 'Network';

export class OutboundError extends Error {
  override readonly name = 'OutboundError';
  constructor(
    readonly reason: OutboundFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A lookup that answers every name with the one address the policy checked. */
function pinnedLookup(destination: CheckedDestination): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all === true) {
      (callback as (err: null, addresses: Array<{ address: string; family: number }>) => void)(null, [{ address: destination.address, family: destination.family }]);
    } else {
      callback(null, destination.address, destination.family);
    }
  };
}

export class OutboundHttp {
  constructor(
    private readonly policy: DestinationPolicy,
    readonly settings: OutboundSettings,
  ) {}

  /** Checks a destination against the policy without calling it (for addresses given at submission or deployment). */
  checkDestination(url: string): Promise<CheckedDestination> {
    return this.policy.check(url);
  }

  /** POSTs the body; resolves with any HTTP status (the caller judges it), rejects with an OutboundError or DestinationDeniedError. */
  async post(request: OutboundRequest): Promise<OutboundResponse> {
    const destination = await this.policy.check(request.url);
    return this.send(destination, request);
  }

  private send(destination: CheckedDestination, request: OutboundRequest): Promise<OutboundResponse> {
    const { url } = destination;
    const shown = displayUrl(url);
    const timeoutMs = request.timeoutMs ?? this.settings.timeoutMs;
    const maxBytes = this.settings.maxResponseBytes;
    const body = Buffer.from(request.body, 'utf8');
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise<OutboundResponse>((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | undefined, response?: OutboundResponse): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        request.signal?.removeEventListener('abort', onAbort);
        if (err === undefined && response !== undefined) {
          resolve(response);
        } else {
          req.destroy();
          reject(err ?? new OutboundError('Network', `${shown}: the call ended without an answer`));
        }
      };
      const onAbort = (): void => finish(new OutboundError('Aborted', `${shown}: the call was cancelled`));
      // Node's timer: a real socket's answer; the timeout protects the process, not service time.
      const timer = setTimeout(() => finish(new OutboundError('Timeout', `${shown} did not answer within ${timeoutMs} ms`)), timeoutMs);
      const req = transport.request(
        {
          protocol: url.protocol,
          hostname: destination.host,
          port: destination.port,
          path: `${url.pathname}${url.search}`,
          method: 'POST',
          headers: { ...request.headers, 'content-length': String(body.length) },
          lookup: pinnedLookup(destination),
          // One connection per call: a pooled socket could have been opened to another address.
          agent: false,
        },
        (res) => {
          const declared = Number(res.headers['content-length'] ?? NaN);
          if (Number.isFinite(declared) && declared > maxBytes) {
            finish(tooLarge(shown, maxBytes, declared));
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > maxBytes) {
              finish(tooLarge(shown, maxBytes));
              return;
            }
            chunks.push(chunk);
          });
          res.once('end', () => finish(undefined, { status: res.statusCode ?? 0, body: Buffer.concat(chunks, size) }));
          res.once('error', (err) => finish(new OutboundError('Network', `${shown}: the answer broke off: ${err.message}`, { cause: err })));
          res.once('aborted', () => finish(new OutboundError('Network', `${shown}: the answer broke off`)));
        },
      );
      // Checked again once connected: the socket must have reached the address the policy admitted.
      req.once('socket', (socket) => {
        socket.once('connect', () => {
          const remote = socket.remoteAddress ?? '';
          const decision = this.policy.decide(remote, socket.remotePort ?? destination.port);
          if (!decision.allowed) finish(new DestinationDeniedError(shown, remote, decision.rule));
        });
      });
      req.once('error', (err) => finish(err instanceof DestinationDeniedError || err instanceof OutboundError ? err : new OutboundError('Network', `${shown}: ${err.message}`, { cause: err })));
      if (request.signal?.aborted === true) {
        onAbort();
        return;
      }
      request.signal?.addEventListener('abort', onAbort, { once: true });
      req.end(body);
    });
  }
}

function tooLarge(shown: string, maxBytes: number, declared?: number): OutboundError {
  const what = declared === undefined ? 'went past' : `declares ${declared} bytes, over`;
  return new OutboundError('ResponseTooLarge', `the answer of ${shown} ${what} the limit of ${maxBytes} bytes (PROVISOR_OUTBOUND_MAX_RESPONSE_BYTES); the connection was closed`);
}
