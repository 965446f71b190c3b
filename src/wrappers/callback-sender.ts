import { armRound, type Clock } from '../clock';
import type { Config } from '../config';
import type { Logger } from '../log';
import { DestinationDeniedError, displayUrlText } from '../net/destination-policy';
import { CALLBACK_NS, type CallbackDeliveries, type CallbackDelivery, type CallbackWaker } from '../provisioning/callbacks';
import type { RequestStore } from '../provisioning/request-store';
import type { SoapClient } from '../soap/client';
import { parseXml, type XmlElement } from '../xml/parser';
import { writeElement } from '../xml/writer';

/** Delivery without HTTP to this server's own process endpoints (see own-endpoints.ts). */
export interface LocalCallbacks {
  /** The endpoint's path when `url` is one of this server's process endpoints. */
  route(url: string): string | undefined;
  /** Hands the message to the endpoint; rejects as the endpoint would fault. `messageId` is the delivery's, the same at every attempt. */
  deliver(path: string, message: XmlElement, messageId: string): Promise<void>;
}

/**
 * Delivers RequestCompleted notifications: one-way SOAP 1.1 messages to the
 * caller's endpoint, acknowledged by any 2xx. Failures are retried with
 * exponential back-off (with jitter) up to a maximum number of attempts.
 * Deliveries are rows, so they survive restarts; a slow endpoint only ever
 * delays its own notifications, never the engine.
 */
export class CallbackDispatcher implements CallbackWaker {
  /** Cancels the next round, when one is armed. */
  private cancelTick: (() => void) | undefined;
  private running = false;
  private stopped = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly deliveries: CallbackDeliveries,
    private readonly store: RequestStore,
    private readonly config: Config['callbacks'],
    /** The SOAP client (the endpoint is checked again at each attempt). */
    private readonly client: SoapClient,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly owner: string,
    private readonly local?: LocalCallbacks,
    private readonly maxInFlight = 16,
    private readonly pollMs = 500,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  wake(): void {
    if (!this.stopped) this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTick?.();
    this.cancelTick = undefined;
    await Promise.allSettled([...this.inFlight]);
  }

  /** Looks at once (0: a delivery queued or ended here), or after `ms` of the clock's time (retries falling due, deliveries another server queued). */
  private schedule(ms: number): void {
    this.cancelTick?.();
    this.cancelTick = armRound(this.clock, ms, () => {
      this.cancelTick = undefined;
      void this.tick();
    });
  }

  private async tick(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    try {
      const free = this.maxInFlight - this.inFlight.size;
      if (free > 0) {
        const claimed = await this.claim(free);
        // A full claim may have left more due: each delivery that ends makes room and looks again.
        const more = claimed.length === free;
        for (const delivery of claimed) {
          const p = this.deliver(delivery).finally(() => {
            this.inFlight.delete(p);
            if (more) this.wake();
          });
          this.inFlight.add(p);
        }
      }
    } catch (err) {
      this.log.error('callback dispatch failed', { err: String(err) });
    } finally {
      this.running = false;
      if (!this.stopped) this.schedule(this.pollMs);
    }
  }

  private claim(limit: number): Promise<CallbackDelivery[]> {
    const now = this.clock.date();
    return this.deliveries.lease(this.owner, now, new Date(now.getTime() + this.config.timeoutMs * 2), limit);
  }

  private async deliver(d: CallbackDelivery): Promise<void> {
    const request = await this.store.findById(d.requestId);
    if (request === null) return;
    const body = writeElement(CALLBACK_NS, 'RequestCompleted', {
      requestId: request.id,
      status: request.status,
      message: request.message ?? undefined,
      startTime: request.startedAt ?? undefined,
      endTime: request.endedAt ?? undefined,
      operation: request.operation,
      system: request.systemName,
    });
    let error: string | undefined;
    // A refused endpoint stays refused: retrying it would only repeat the refusal.
    let retryable = true;
    const localPath = this.local?.route(d.url);
    try {
      if (this.local !== undefined && localPath !== undefined) {
        // This server's own process endpoint: in-process, deduplicated by the delivery's id.
        await this.local.deliver(localPath, parseXml(body), `urn:provisor:callback:${d.requestId}`);
      } else {
        // A redirect is not followed: it is no acknowledgement, and could point anywhere.
        await this.client.notify({ url: d.url, action: `${CALLBACK_NS}#RequestCompleted`, body, timeoutMs: this.config.timeoutMs });
      }
    } catch (err) {
      error = (err as Error).message;
      if (err instanceof DestinationDeniedError) retryable = false;
    }
    const attempts = d.attempts + 1;
    const log = this.log.child({ requestId: d.requestId });
    if (error === undefined) {
      if (!(await this.deliveries.delivered(d.id, attempts, this.owner))) {
        log.warn('callback delivered after its lease ran out; another sender had taken the delivery over, so its record is theirs', { url: displayUrlText(d.url), attempts });
        return;
      }
      log.info('callback delivered', { url: displayUrlText(d.url), attempts });
      return;
    }
    const url = displayUrlText(d.url);
    if (!retryable || attempts >= this.config.maxAttempts) {
      if (await this.deliveries.failed(d.id, attempts, error, this.owner)) log.warn('callback given up', { url, attempts, error });
      return;
    }
    const backoff = Math.min(this.config.maxBackoffMs, this.config.initialBackoffMs * 2 ** (attempts - 1));
    const next = new Date(this.clock.now() + backoff * (0.75 + Math.random() * 0.5));
    if (await this.deliveries.retryLater(d.id, attempts, error, next, this.owner)) log.info('callback failed; will retry', { url, attempts, error, nextAttemptAt: next.toISOString() });
  }

  /** Delivery state of a request's callback (for tests and operators). */
  state(requestId: string): ReturnType<CallbackDeliveries['state']> {
    return this.deliveries.state(requestId);
  }
}
