import { expect } from 'chai';
import { ManualClock } from '../../src/clock';
import { Mailer, type MailTransport, type OutgoingMail } from '../../src/mail/mailer';
import { eventually } from '../support/harness';
import { captureLogger, startRelay } from './support';

const MAIL: OutgoingMail = { to: 'alice@acme.example', subject: 'Work order 7 (Echo) closed', text: 'closed\n', kind: 'notification', workOrderId: 7 };

/** A transport that fails with the given errors in turn, then succeeds. */
function flakyTransport(failures: Array<Error & { responseCode?: number; code?: string }>): MailTransport & { attempts: number } {
  return {
    attempts: 0,
    sendMail() {
      this.attempts++;
      const failure = failures.shift();
      return failure === undefined ? Promise.resolve({ messageId: '<sent@test>' }) : Promise.reject(failure);
    },
    close() {},
  };
}
const smtpFailure = (responseCode: number): Error & { responseCode: number } => Object.assign(new Error(`${responseCode} no`), { responseCode });
const connectionFailure = (): Error & { code: string } => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNECTION' });

describe('the mailer', () => {
  it('logs mails as skipped when no relay is configured', async () => {
    const { logger, records } = captureLogger();
    const mailer = new Mailer({ relayUrl: undefined, from: 'orders@provisor.test', attempts: 3, backoffMs: 1 }, logger);
    mailer.send(MAIL);
    await mailer.flush();
    expect(mailer.enabled).to.equal(false);
    expect(records).to.deep.include({ level: 'info', message: 'mail skipped: no relay configured', to: MAIL.to, subject: MAIL.subject, kind: 'notification', workOrderId: 7 });
  });

  it('retries temporary failures with back-off until the relay takes the mail', async () => {
    const { logger, records } = captureLogger();
    const transport = flakyTransport([connectionFailure(), smtpFailure(451)]);
    const mailer = new Mailer({ relayUrl: undefined, from: 'orders@provisor.test', attempts: 3, backoffMs: 5 }, logger, transport);
    const started = Date.now();
    mailer.send(MAIL);
    await mailer.flush();
    expect(transport.attempts).to.equal(3);
    expect(Date.now() - started).to.be.at.least(5 + 10);
    expect(records.filter((r) => r.message === 'mail relay failed; retrying').map((r) => r.retryInMs)).to.deep.equal([5, 10]);
    expect(records.at(-1)).to.deep.include({ message: 'mail sent', attempt: 3 });
  });

  it('gives up after the configured attempts, and at once when the relay refuses for good', async () => {
    const { logger, records } = captureLogger();
    const temporary = flakyTransport([smtpFailure(421), smtpFailure(421), smtpFailure(421)]);
    const permanent = flakyTransport([smtpFailure(550)]);
    const options = { relayUrl: undefined, from: 'orders@provisor.test', attempts: 2, backoffMs: 1 };
    const a = new Mailer(options, logger, temporary);
    const b = new Mailer(options, logger, permanent);
    a.send(MAIL);
    b.send(MAIL);
    await Promise.all([a.flush(), b.flush()]);
    expect(temporary.attempts).to.equal(2);
    expect(permanent.attempts).to.equal(1);
    expect(records.filter((r) => r.level === 'error').map((r) => [r.message, r.responseCode])).to.have.deep.members([
      ['mail not sent: the relay kept failing', 421],
      ['mail not sent: the relay refused it', 550],
    ]);
  });

  it('abandons the waits for a retry when closed, without throwing', async () => {
    const { logger, records } = captureLogger();
    const transport = flakyTransport([connectionFailure()]);
    // Its clock never moves: closing must end the wait, or close() never returns.
    const mailer = new Mailer({ relayUrl: undefined, from: 'orders@provisor.test', attempts: 5, backoffMs: 60_000 }, logger, transport, new ManualClock());
    mailer.send(MAIL);
    await eventually(async () => (records.some((r) => r.message === 'mail relay failed; retrying') ? true : undefined), 'the first attempt to fail');
    await mailer.close();
    expect(transport.attempts).to.equal(1);
    mailer.send(MAIL);
    expect(records.filter((r) => r.message === 'mail not sent: shutting down')).to.have.length(2);
  });

  it('logs an unreachable relay instead of failing', async () => {
    const relay = await startRelay();
    const url = relay.url;
    await relay.close();
    const { logger, records } = captureLogger();
    const mailer = new Mailer({ relayUrl: url, from: 'Provisor <orders@provisor.test>', attempts: 2, backoffMs: 1 }, logger);
    mailer.send(MAIL);
    await mailer.flush();
    expect(records.at(-1)).to.deep.include({ level: 'error', message: 'mail not sent: the relay kept failing', attempt: 2 });
  });
});
