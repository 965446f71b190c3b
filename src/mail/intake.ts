/**
 * SMTP intake: customers order by mailing the intake address (docs/email.md).
 *
 * The sender is who the envelope (MAIL FROM) says, and it must be the
 * registered address of an enabled user: anybody else is refused with 550
 * before the message is even sent. The From header must be that same
 * address. Only the intake address(es) are accepted as recipients.
 *
 * The order is submitted inside the SMTP transaction (one insert), so the
 * sending server learns the result: 250 once the mail was handled (accepted
 * or answered with a reply saying why not), 451 when Provisor could not
 * handle it right now and the sender should try again. The Message-ID is the
 * submission's idempotency key, so a mail delivered twice creates one order.
 * Replies go out in the background through the Mailer.
 *
 * Sessions are bounded like HTTP requests are: so many connections at once
 * (in all and per client address), a time limit for a whole session and one
 * for a silent client. Past a limit the client gets 421 and the connection is
 * closed.
 */
import crypto from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerAddress, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { Principal } from '../auth/principal';
import { UserError } from '../auth/users';
import { isProvisorError } from '../errors';
import type { Logger } from '../log';
import { InvalidParametersError, type ParameterProblem, type WorkOrders, type WorkOrderTypeView } from '../workorders/api';
import type { Mailer } from './mailer';
import { acceptedReply, formatReply, invalidParametersReply, refusedReply, unknownTypeReply, type MailContent } from './messages';
import { parseOrderMail } from './order-format';

export interface MailIntakeOptions {
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  /** Accepted recipients, lower case. */
  readonly addresses: readonly string[];
  readonly maxMessageBytes: number;
  /** How long close() lets open sessions finish. */
  readonly closeTimeoutMs?: number;
  readonly limits: SessionLimits;
}

/** Bounds on SMTP sessions (Config.outbound's smtp settings). */
export interface SessionLimits {
  /** Connections open at once; one more is answered 421. */
  readonly maxConnections: number;
  /** Connections open at once from one client address; one more is answered 421. */
  readonly maxConnectionsPerAddress: number;
  /** A session lasting longer is answered 421 and closed. */
  readonly maxSessionMs: number;
  /** A client silent for longer while Provisor waits for it is answered 421 and closed. */
  readonly idleTimeoutMs: number;
}

/** The part of smtp-server's connection object the session time limit needs. */
interface OpenConnection {
  readonly id: string;
  send(code: number, message: string): void;
}

/** Who may order by mail: the enabled user registered with an address. */
export interface SenderDirectory {
  findByEmail(address: string): Promise<{ principal: Principal; email: string } | null>;
}

interface Sender {
  readonly principal: Principal;
  readonly email: string;
}

/** An answer for the SMTP client, with its reply code. */
function smtpError(responseCode: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode });
}

/** The work-order column holds 200 characters; a longer Message-ID is keyed by its digest. */
export function idempotencyKeyOf(messageId: string | undefined): string | undefined {
  const id = messageId?.trim();
  if (id === undefined || id === '') return undefined;
  return id.length <= 200 ? id : `sha256:${crypto.createHash('sha256').update(id).digest('hex')}`;
}

export class MailIntake {
  private readonly server: SMTPServer;
  private readonly addresses: ReadonlySet<string>;
  /** The sender found at MAIL FROM, per transaction (smtp-server makes a new envelope for each). */
  private readonly senders = new WeakMap<object, Sender>();
  private boundPort: number | null = null;
  /** Open connections per client address. */
  private readonly perAddress = new Map<string, number>();
  /** Sessions admitted at connect, with their time-limit timers. */
  private readonly admitted = new Map<string, { address: string; timer: NodeJS.Timeout }>();

  constructor(
    private readonly options: MailIntakeOptions,
    private readonly workOrders: Pick<WorkOrders, 'submit' | 'getType' | 'listTypes'>,
    private readonly directory: SenderDirectory,
    private readonly mailer: Pick<Mailer, 'send'>,
    private readonly log: Logger,
  ) {
    this.addresses = new Set(options.addresses.map((a) => a.toLowerCase()));
    this.server = new SMTPServer({
      // No SMTP AUTH and no STARTTLS: the sender is identified by its registered address;
      // authentication and TLS belong to the mail server in front (docs/email.md).
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      size: options.maxMessageBytes,
      rejectOversized: true,
      logger: false,
      // Senders are identified by their registered address, never by a host name: no reverse DNS
      // lookup per connection (a flood of connections would be a flood of lookups, and a slow
      // resolver would hold every greeting).
      disableReverseLookup: true,
      closeTimeout: options.closeTimeoutMs ?? 5000,
      // smtp-server answers the connection over this count with 421 itself.
      maxClients: options.limits.maxConnections,
      // ...and a client silent this long (while it owes a command or data) with 421.
      socketTimeout: options.limits.idleTimeoutMs,
      onConnect: (session, callback) => callback(this.admit(session)),
      onClose: (session) => this.release(session),
      onMailFrom: (address, session, callback) => {
        this.checkSender(address, session).then(
          () => callback(),
          (err: unknown) => callback(err as Error),
        );
      },
      onRcptTo: (address, session, callback) => callback(this.checkRecipient(address, session)),
      onData: (stream, session, callback) => this.readMessage(stream, session, callback),
    });
    // Connection-level trouble (a client hanging up mid-session); the server goes on.
    this.server.on('error', (err) => this.log.warn('SMTP intake connection error', { err: String(err) }));
  }

  /** The bound port once listening. */
  get port(): number | null {
    return this.boundPort;
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.server.off('error', reject);
        resolve();
      });
    });
    this.boundPort = (this.server.server.address() as AddressInfo).port;
    this.log.info('SMTP intake listening', { host: this.options.host, port: this.boundPort, addresses: [...this.addresses] });
    return this.boundPort;
  }

  /** Stops accepting connections; open sessions get closeTimeoutMs to finish. */
  async close(): Promise<void> {
    if (this.boundPort === null) return;
    this.boundPort = null;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Counts the connection against its address's cap and starts its session timer; an Error (421) refuses it. */
  private admit(session: SMTPServerSession): Error | undefined {
    const address = session.remoteAddress;
    const open = this.perAddress.get(address) ?? 0;
    if (open >= this.options.limits.maxConnectionsPerAddress) {
      this.log.warn('SMTP connection refused: too many from one address', { smtpSession: session.id, remoteAddress: address, limit: this.options.limits.maxConnectionsPerAddress });
      return smtpError(421, `Too many connections from ${address}, try again later`);
    }
    this.perAddress.set(address, open + 1);
    // Node's timer: bounds a real SMTP connection, protecting the process, not service time.
    const timer = setTimeout(() => this.endSession(session), this.options.limits.maxSessionMs);
    timer.unref();
    this.admitted.set(session.id, { address, timer });
    return undefined;
  }

  private release(session: SMTPServerSession): void {
    const entry = this.admitted.get(session.id);
    if (entry === undefined) return;
    this.admitted.delete(session.id);
    clearTimeout(entry.timer);
    const open = (this.perAddress.get(entry.address) ?? 1) - 1;
    if (open <= 0) this.perAddress.delete(entry.address);
    else this.perAddress.set(entry.address, open);
  }

  /** The session time limit: 421, and smtp-server closes the connection. */
  private endSession(session: SMTPServerSession): void {
    const connection = [...(this.server.connections as Set<OpenConnection>)].find((c) => c.id === session.id);
    this.log.warn('SMTP session closed: time limit reached', { smtpSession: session.id, remoteAddress: session.remoteAddress, limitMs: this.options.limits.maxSessionMs });
    connection?.send(421, `Session time limit (${this.options.limits.maxSessionMs} ms) reached, closing connection`);
  }

  private async checkSender(address: SMTPServerAddress, session: SMTPServerSession): Promise<void> {
    const claimed = address.address;
    let found: Sender | null = null;
    if (claimed !== '') {
      try {
        found = await this.directory.findByEmail(claimed);
      } catch (err) {
        // A malformed address is an unknown sender; anything else is Provisor's trouble.
        if (!(err instanceof UserError)) {
          this.log.error('SMTP intake: sender lookup failed', { sender: claimed, err: String(err) });
          throw smtpError(451, 'Temporary failure looking up the sender, try again later');
        }
      }
    }
    if (found === null) {
      this.rejected(claimed, 'unknown sender', undefined, session);
      throw smtpError(550, `Sender <${claimed}> is not registered for e-mail orders`);
    }
    this.senders.set(session.envelope, found);
  }

  private checkRecipient(address: SMTPServerAddress, session: SMTPServerSession): Error | undefined {
    if (this.addresses.has(address.address.toLowerCase())) return undefined;
    this.rejected(this.senderOf(session)?.email ?? addressOf(session), 'recipient is not an intake address', undefined, session, { recipient: address.address });
    return smtpError(550, `Recipient <${address.address}> is not accepted here; send orders to ${[...this.addresses].join(' or ')}`);
  }

  private readMessage(stream: SMTPServerDataStream, session: SMTPServerSession, callback: (err?: Error | null, message?: string) => void): void {
    const chunks: Buffer[] = [];
    let bytes = 0;
    stream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      // Past the limit the message is refused anyway; keep reading it off the socket without holding it.
      if (bytes <= this.options.maxMessageBytes) chunks.push(chunk);
    });
    stream.once('error', (err) => callback(err));
    stream.once('end', () => {
      const sender = this.senderOf(session);
      if (stream.sizeExceeded) {
        this.rejected(sender?.email ?? addressOf(session), 'message too large', undefined, session, { bytes, limit: this.options.maxMessageBytes });
        callback(smtpError(552, `Message exceeds fixed maximum message size ${this.options.maxMessageBytes}`));
        return;
      }
      if (sender === undefined) {
        callback(smtpError(503, 'Bad sequence of commands'));
        return;
      }
      this.receive(Buffer.concat(chunks), sender, session).then(
        (answer) => callback(null, answer),
        (err: unknown) => {
          if (typeof (err as { responseCode?: unknown }).responseCode === 'number') {
            callback(err as Error);
            return;
          }
          this.log.error('SMTP intake: order mail could not be handled', { sender: sender.email, err: String(err), stack: (err as Error).stack });
          callback(smtpError(451, 'Temporary failure handling the order, try again later'));
        },
      );
    });
  }

  /** Handles one mail; resolves with the 250 text, rejects with an SMTP error. */
  private async receive(raw: Buffer, sender: Sender, session: SMTPServerSession): Promise<string> {
    let mail: ParsedMail;
    try {
      mail = await simpleParser(raw, { skipImageLinks: true, skipTextLinks: true, skipTextToHtml: true });
    } catch (err) {
      this.rejected(sender.email, 'unreadable MIME message', undefined, session, { err: String(err) });
      throw smtpError(554, 'The message could not be parsed');
    }
    const messageId = mail.messageId;
    const fromHeader = mail.from?.value ?? [];
    if (fromHeader.length !== 1 || fromHeader[0]?.address?.toLowerCase() !== sender.email) {
      this.rejected(sender.email, 'From header does not match the envelope sender', messageId, session, { from: mail.from?.text });
      throw smtpError(550, 'The From header must be the envelope sender\'s address');
    }

    const subject = cleanSubject(mail.subject);
    const reply = (content: MailContent, workOrderId?: number): void => {
      if (isAutomatic(mail)) {
        this.log.info('reply suppressed: the order mail was sent automatically', { sender: sender.email, messageId, subject: content.subject });
        return;
      }
      this.mailer.send({ to: sender.email, ...content, kind: 'reply', inReplyTo: messageId, references: referencesOf(mail), workOrderId });
    };

    // An empty body is a body without parameters; an HTML-only one (mailparser makes it text) only lacks text if conversion failed.
    const order = parseOrderMail(mail.subject, mail.text ?? (mail.html === false ? '' : undefined));
    if (!order.ok) {
      this.rejected(sender.email, 'not in the order format', messageId, session, { problems: order.problems.map((p) => p.message) });
      reply(formatReply(subject, order.problems));
      return 'OK: received, but not a work order; a reply explains why';
    }

    try {
      const { workOrderId } = await this.workOrders.submit(sender.principal, {
        type: order.type,
        parameters: order.parameters,
        channel: 'email',
        idempotencyKey: idempotencyKeyOf(messageId),
      });
      this.log.info('work order received by e-mail', { sender: sender.email, messageId, workOrderId, type: order.type });
      reply(acceptedReply(order.type, workOrderId, order.parameters), workOrderId);
      return `OK: work order ${workOrderId} accepted`;
    } catch (err) {
      if (!isProvisorError(err) || !err.sender) throw err;
      this.rejected(sender.email, err.code, messageId, session, { type: order.type, problems: problemsOf(err)?.map((p) => `${p.parameter}: ${p.message}`) ?? [err.message] });
      if (err.code === 'UnknownWorkOrderType') {
        reply(unknownTypeReply(subject, order.type, await this.bestEffort(() => this.workOrders.listTypes(sender.principal))));
      } else if (problemsOf(err) !== undefined) {
        const view = await this.bestEffort(() => this.workOrders.getType(sender.principal, order.type));
        reply(invalidParametersReply(subject, order.type, problemsOf(err) ?? [], view));
      } else {
        reply(refusedReply(subject, err.message));
      }
      return 'OK: received, but the work order was not accepted; a reply explains why';
    }
  }

  /** Extra detail for a reply: its absence must not cost the reply. */
  private async bestEffort<T>(read: () => Promise<T>): Promise<T | null> {
    try {
      return await read();
    } catch (err) {
      this.log.warn('SMTP intake: detail for a reply unavailable', { err: String(err) });
      return null;
    }
  }

  private senderOf(session: SMTPServerSession): Sender | undefined {
    return this.senders.get(session.envelope);
  }

  private rejected(sender: string, reason: string, messageId: string | undefined, session: SMTPServerSession, detail: Record<string, unknown> = {}): void {
    this.log.warn('order mail rejected', { sender, reason, messageId, smtpSession: session.id, remoteAddress: session.remoteAddress, ...detail });
  }
}

/** The problems of an InvalidParameter error, also when it crossed a module boundary as a plain ProvisorError. */
function problemsOf(err: unknown): readonly ParameterProblem[] | undefined {
  if (err instanceof InvalidParametersError) return err.problems;
  const problems = (err as { problems?: unknown }).problems;
  return Array.isArray(problems) ? (problems as ParameterProblem[]) : undefined;
}

function addressOf(session: SMTPServerSession): string {
  const from = session.envelope.mailFrom;
  return from === false ? '' : from.address;
}

function cleanSubject(subject: string | undefined): string {
  const text = (subject ?? '').replace(/\s+/g, ' ').trim();
  if (text === '') return '(no subject)';
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}

function referencesOf(mail: ParsedMail): string[] {
  const references = mail.references;
  return references === undefined ? [] : Array.isArray(references) ? references : [references];
}

/** Mail sent by a program (RFC 3834 Auto-Submitted, or a bulk Precedence) gets no reply, so two robots cannot loop. */
function isAutomatic(mail: ParsedMail): boolean {
  const autoSubmitted = headerText(mail, 'auto-submitted');
  if (autoSubmitted !== undefined && autoSubmitted.toLowerCase() !== 'no') return true;
  return /^(bulk|junk|list)$/i.test(headerText(mail, 'precedence') ?? '');
}

function headerText(mail: ParsedMail, name: string): string | undefined {
  const value = mail.headers.get(name);
  if (typeof value === 'string') return value.trim();
  if (value !== null && typeof value === 'object' && 'value' in value && typeof value.value === 'string') return value.value.trim();
  return undefined;
}
