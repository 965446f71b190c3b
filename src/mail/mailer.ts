/**
 * Outgoing mail: replies and notifications go to the configured relay over
 * SMTP (nodemailer). Sending never blocks the caller and never throws: each
 * mail is tried in the background, retried with back-off while the relay
 * fails temporarily, and logged when it is delivered, refused or given up.
 * Without a relay the mails are only logged as skipped.
 */
import nodemailer from 'nodemailer';
import type { SendMailOptions } from 'nodemailer/lib/mailer';
import { arm, systemClock, type Clock } from '../clock';
import type { Logger } from '../log';

export interface OutgoingMail {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  /** The Message-ID this mail answers; sets In-Reply-To and ends References. */
  readonly inReplyTo?: string;
  /** The answered mail's own References. */
  readonly references?: readonly string[];
  /** Replies are `auto-replied`, notifications `auto-generated` (RFC 3834), so nobody's auto-responder answers them. */
  readonly kind: 'reply' | 'notification';
  readonly workOrderId?: number;
}

export interface MailerOptions {
  /** smtp:// or smtps:// URL; absent: mails are logged as skipped. */
  readonly relayUrl: string | undefined;
  readonly from: string;
  /** Attempts per mail, the first included. */
  readonly attempts: number;
  /** Wait before the second attempt; doubles after each. */
  readonly backoffMs: number;
  /** Mails waiting or being sent at most; more are dropped (and logged). */
  readonly maxPending?: number;
}

/** What the mailer needs of a transport; nodemailer's SMTP transport, or a fake in tests. */
export interface MailTransport {
  sendMail(message: SendMailOptions): Promise<{ messageId?: string; response?: string }>;
  close(): void;
}

/** A temporary failure (the relay is unreachable or answered 4xx) is worth another attempt; a 5xx answer is final. */
export function isTemporaryMailFailure(err: unknown): boolean {
  const { responseCode, code } = (err ?? {}) as { responseCode?: unknown; code?: unknown };
  if (typeof responseCode === 'number') return responseCode >= 400 && responseCode < 500;
  return typeof code === 'string' && ['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ECONNREFUSED', 'ECONNRESET', 'EPROTOCOL', 'ETLS'].includes(code);
}

export class Mailer {
  private readonly transport: MailTransport | null;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly stopping = new AbortController();
  private readonly maxPending: number;

  constructor(
    private readonly options: MailerOptions,
    private readonly log: Logger,
    transport?: MailTransport,
    /** The waits between attempts run on it. */
    private readonly clock: Clock = systemClock,
  ) {
    this.maxPending = options.maxPending ?? 1000;
    this.transport =
      transport ??
      (options.relayUrl === undefined
        ? null
        : nodemailer.createTransport({ url: options.relayUrl, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 }));
  }

  /** True when mails go to a relay (not only to the log). */
  get enabled(): boolean {
    return this.transport !== null;
  }

  /** Queues a mail and returns at once. */
  send(mail: OutgoingMail): void {
    const about = { to: mail.to, subject: mail.subject, kind: mail.kind, workOrderId: mail.workOrderId };
    if (this.transport === null) {
      this.log.info('mail skipped: no relay configured', about);
      return;
    }
    if (this.stopping.signal.aborted) {
      this.log.warn('mail not sent: shutting down', about);
      return;
    }
    if (this.inFlight.size >= this.maxPending) {
      this.log.warn('mail dropped: too many mails waiting for the relay', { ...about, pending: this.inFlight.size });
      return;
    }
    const task = this.deliver(this.transport, mail, about).finally(() => this.inFlight.delete(task));
    this.inFlight.add(task);
  }

  /** Resolves when every mail queued so far was delivered, refused or given up. */
  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** Abandons the back-off waits, lets attempts under way finish and closes the transport. */
  async close(): Promise<void> {
    this.stopping.abort();
    await this.flush();
    this.transport?.close();
  }

  private async deliver(transport: MailTransport, mail: OutgoingMail, about: Record<string, unknown>): Promise<void> {
    const message: SendMailOptions = {
      from: this.options.from,
      to: mail.to,
      subject: mail.subject,
      text: mail.text,
      headers: {
        'Auto-Submitted': mail.kind === 'reply' ? 'auto-replied' : 'auto-generated',
        ...(mail.workOrderId === undefined ? {} : { 'X-Provisor-Work-Order': String(mail.workOrderId) }),
      },
      ...(mail.inReplyTo === undefined ? {} : { inReplyTo: mail.inReplyTo, references: [...(mail.references ?? []), mail.inReplyTo] }),
    };
    for (let attempt = 1; ; attempt++) {
      try {
        const info = await transport.sendMail(message);
        this.log.info('mail sent', { ...about, attempt, messageId: info.messageId });
        return;
      } catch (err) {
        const temporary = isTemporaryMailFailure(err);
        const failure = { ...about, attempt, err: String(err), responseCode: (err as { responseCode?: number }).responseCode };
        if (!temporary || attempt >= this.options.attempts) {
          this.log.error(temporary ? 'mail not sent: the relay kept failing' : 'mail not sent: the relay refused it', failure);
          return;
        }
        const waitMs = this.options.backoffMs * 2 ** (attempt - 1);
        this.log.warn('mail relay failed; retrying', { ...failure, retryInMs: waitMs });
        if (!(await this.wait(waitMs))) {
          this.log.warn('mail not sent: shutting down', about);
          return;
        }
      }
    }
  }

  /** False when the mailer was closed during the wait. */
  private wait(ms: number): Promise<boolean> {
    const signal = this.stopping.signal;
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const cancel = arm(this.clock, ms, () => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      });
      const onAbort = (): void => {
        cancel();
        resolve(false);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
