import type { DataSource } from 'typeorm';
import type { Clock } from '../clock';
import type { Config } from '../config';
import { execute, fromSqlDate, toSqlDate } from '../db/sql';
import type { Logger } from '../log';
import { DestinationDeniedError, displayUrlText } from '../net/destination-policy';
import { CALLBACK_NS, type CallbackWaker } from '../provisioning/callbacks';
import type { RequestStore } from '../provisioning/request-store';
import type { SoapClient } from '../soap/client';
import { writeElement } from '../xml/writer';

/**
 * Delivers RequestCompleted notifications: one-way SOAP 1.1 messages to the
 * caller's endpoint, acknowledged by any 2xx. Failures are retried with
 * exponential back-off (with jitter) up to a maximum number of attempts.
 * Deliveries are rows, so they survive restarts; a slow endpoint only ever
 * delays its own notifications, never the engine.
 */
export class CallbackDispatcher implements CallbackWaker {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly store: RequestStore,
    private readonly config: Config['callbacks'],
    /** The SOAP client (the endpoint is checked again at each attempt). */
    private readonly client: SoapClient,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly owner: string,
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
    if (this.timer !== undefined) clearTimeout(this.timer);
    await Promise.allSettled([...this.inFlight]);
  }

  private schedule(ms: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    try {
      const free = this.maxInFlight - this.inFlight.size;
      if (free > 0) {
        for (const delivery of await this.claim(free)) {
          const p = this.deliver(delivery).finally(() => this.inFlight.delete(p));
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

  private async claim(limit: number): Promise<Array<{ id: number; requestId: string; url: string; attempts: number }>> {
    const now = this.clock.date();
    const rows = (await this.dataSource.query(
      "SELECT id, requestId, url, attempts FROM callback_delivery WHERE status = 'PENDING' AND nextAttemptAt <= ? AND (leaseExpiresAt IS NULL OR leaseExpiresAt < ?) ORDER BY nextAttemptAt LIMIT ?",
      [toSqlDate(now), toSqlDate(now), limit],
    )) as Array<{ id: unknown; requestId: string; url: string; attempts: unknown }>;
    const claimed = [];
    for (const row of rows) {
      const lease = toSqlDate(new Date(now.getTime() + this.config.timeoutMs * 2));
      const got = await execute(
        this.dataSource,
        "UPDATE callback_delivery SET leaseOwner = ?, leaseExpiresAt = ? WHERE id = ? AND status = 'PENDING' AND (leaseExpiresAt IS NULL OR leaseExpiresAt < ?)",
        [this.owner, lease, Number(row.id), toSqlDate(now)],
      );
      if (got === 1) claimed.push({ id: Number(row.id), requestId: row.requestId, url: row.url, attempts: Number(row.attempts) });
    }
    return claimed;
  }

  private async deliver(d: { id: number; requestId: string; url: string; attempts: number }): Promise<void> {
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
    try {
      // A redirect is not followed: it is no acknowledgement, and could point anywhere.
      await this.client.notify({ url: d.url, action: `${CALLBACK_NS}#RequestCompleted`, body, timeoutMs: this.config.timeoutMs });
    } catch (err) {
      error = (err as Error).message;
      if (err instanceof DestinationDeniedError) retryable = false;
    }
    const attempts = d.attempts + 1;
    const log = this.log.child({ requestId: d.requestId });
    if (error === undefined) {
      await execute(this.dataSource, "UPDATE callback_delivery SET status = 'DELIVERED', attempts = ?, lastError = NULL, leaseOwner = NULL, leaseExpiresAt = NULL WHERE id = ?", [attempts, d.id]);
      log.info('callback delivered', { url: displayUrlText(d.url), attempts });
      return;
    }
    const url = displayUrlText(d.url);
    if (!retryable || attempts >= this.config.maxAttempts) {
      await execute(this.dataSource, "UPDATE callback_delivery SET status = 'FAILED', attempts = ?, lastError = ?, leaseOwner = NULL, leaseExpiresAt = NULL WHERE id = ?", [attempts, error, d.id]);
      log.warn('callback given up', { url, attempts, error });
      return;
    }
    const backoff = Math.min(this.config.maxBackoffMs, this.config.initialBackoffMs * 2 ** (attempts - 1));
    const next = new Date(this.clock.now() + backoff * (0.75 + Math.random() * 0.5));
    await execute(this.dataSource, 'UPDATE callback_delivery SET attempts = ?, lastError = ?, nextAttemptAt = ?, leaseOwner = NULL, leaseExpiresAt = NULL WHERE id = ?', [attempts, error, toSqlDate(next), d.id]);
    log.info('callback failed; will retry', { url, attempts, error, nextAttemptAt: next.toISOString() });
  }

  /** Delivery state of a request's callback (for tests and operators). */
  async state(requestId: string): Promise<{ status: string; attempts: number; lastError: string | null; nextAttemptAt: Date | null } | null> {
    const rows = (await this.dataSource.query('SELECT status, attempts, lastError, nextAttemptAt FROM callback_delivery WHERE requestId = ?', [requestId])) as Array<Record<string, unknown>>;
    const r = rows[0];
    return r === undefined ? null : { status: String(r.status), attempts: Number(r.attempts), lastError: (r.lastError as string | null) ?? null, nextAttemptAt: fromSqlDate(r.nextAttemptAt) };
  }
}
