/**
 * Mail on loopback for the tests: a relay (a real smtp-server) that keeps
 * what Provisor sends, and a client that sends to the intake.
 */
import { Writable } from 'node:stream';
import { simpleParser, type ParsedMail } from 'mailparser';
import nodemailer from 'nodemailer';
import type { SendMailOptions } from 'nodemailer/lib/mailer';
import { SMTPServer } from 'smtp-server';
import winston from 'winston';
import type { Logger } from '../../src/log';
import { eventually } from '../support/harness';

export interface Relay {
  readonly url: string;
  /** Every message received, parsed, with its envelope recipients. */
  readonly received: Array<{ mail: ParsedMail; to: string[] }>;
  /** Answers the next n messages with this SMTP code instead of taking them. */
  refuseNext(n: number, code: number): void;
  /** The first message (so far or within the timeout) that matches. */
  waitFor(what: string, match: (mail: ParsedMail, to: string[]) => boolean, timeoutMs?: number): Promise<ParsedMail>;
  close(): Promise<void>;
}

export async function startRelay(): Promise<Relay> {
  const received: Relay['received'] = [];
  let refusals = { left: 0, code: 451 };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.once('end', () => {
        if (refusals.left > 0) {
          refusals.left--;
          callback(Object.assign(new Error('Try again later'), { responseCode: refusals.code }));
          return;
        }
        simpleParser(Buffer.concat(chunks)).then(
          (mail) => {
            received.push({ mail, to: session.envelope.rcptTo.map((r) => r.address) });
            callback();
          },
          (err: Error) => callback(err),
        );
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    refuseNext(n, code) {
      refusals = { left: n, code };
    },
    waitFor(what, match, timeoutMs = 10_000) {
      return eventually(async () => received.find((r) => match(r.mail, r.to))?.mail, what, timeoutMs, 25);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** What the intake answered: the final 250 text, or the SMTP error. */
export type SmtpResult = { ok: true; response: string } | { ok: false; responseCode: number | undefined; message: string };

/** Sends one mail to the intake over SMTP; `envelopeFrom` overrides MAIL FROM (the From header by default). */
export async function sendMail(port: number, message: SendMailOptions & { envelopeFrom?: string }): Promise<SmtpResult> {
  const { envelopeFrom, ...mail } = message;
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, connectionTimeout: 5000 });
  try {
    const envelope = envelopeFrom === undefined ? undefined : { from: envelopeFrom, to: mail.to as string };
    const info = (await transport.sendMail({ ...mail, ...(envelope === undefined ? {} : { envelope }) })) as { response: string };
    return { ok: true, response: info.response };
  } catch (err) {
    return { ok: false, responseCode: (err as { responseCode?: number }).responseCode, message: String(err) };
  } finally {
    transport.close();
  }
}

/** A JSON logger whose records the test can read. */
export function captureLogger(): { logger: Logger; records: Array<Record<string, unknown>> } {
  const records: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') records.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] });
  return { logger, records };
}
