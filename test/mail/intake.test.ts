import net from 'node:net';
import { expect } from 'chai';
import type { Principal } from '../../src/auth/principal';
import { idempotencyKeyOf, MailIntake } from '../../src/mail/intake';
import type { OutgoingMail } from '../../src/mail/mailer';
import type { SubmitRequest, WorkOrders } from '../../src/workorders/api';
import { captureLogger, sendMail } from './support';

const GENEROUS = { maxConnections: 100, maxConnectionsPerAddress: 10, maxSessionMs: 600_000, idleTimeoutMs: 60_000 };
const ALICE: Principal = { userId: 1, name: 'alice', role: 'customer', accountId: 1, level: 1 };

/** The intake alone, over real SMTP, in front of a work-order service the test controls. */
async function intakeWith(submit: (request: SubmitRequest) => Promise<{ workOrderId: number }>) {
  const { logger, records } = captureLogger();
  const replies: OutgoingMail[] = [];
  const workOrders: Pick<WorkOrders, 'submit' | 'getType' | 'listTypes'> = {
    submit: (_caller, request) => submit(request),
    getType: () => Promise.reject(new Error('not needed')),
    listTypes: () => Promise.resolve([]),
  };
  const intake = new MailIntake(
    { host: '127.0.0.1', port: 0, addresses: ['orders@provisor.test'], maxMessageBytes: 4096, closeTimeoutMs: 500, limits: GENEROUS },
    workOrders,
    { findByEmail: (address) => Promise.resolve(address.toLowerCase() === 'alice@acme.example' ? { principal: ALICE, email: 'alice@acme.example' } : null) },
    { send: (mail) => replies.push(mail) },
    logger,
  );
  const port = await intake.listen();
  return { intake, port, records, replies };
}

describe('the SMTP intake', () => {
  it('logs every rejection with the sender, the reason and the Message-ID', async () => {
    const { intake, port, records } = await intakeWith(() => Promise.resolve({ workOrderId: 1 }));
    try {
      await sendMail(port, { from: 'mallory@evil.example', to: 'orders@provisor.test', subject: 'Echo', text: '' });
      await sendMail(port, { from: 'alice@acme.example', to: 'orders@provisor.test', subject: 'Echo', text: 'what is this\n', messageId: '<bad-format@acme.example>' });
      const rejections = records.filter((r) => r.message === 'order mail rejected');
      expect(rejections[0]).to.deep.include({ level: 'warn', sender: 'mallory@evil.example', reason: 'unknown sender' });
      expect(rejections[1]).to.deep.include({ sender: 'alice@acme.example', reason: 'not in the order format', messageId: '<bad-format@acme.example>' });
      expect(rejections[1]?.problems).to.deep.equal(['line 1 "what is this" is not a "name: value" line']);
    } finally {
      await intake.close();
    }
  });

  it('passes the Message-ID as the idempotency key on the email channel', async () => {
    const submitted: SubmitRequest[] = [];
    const { intake, port, replies } = await intakeWith((request) => {
      submitted.push(request);
      return Promise.resolve({ workOrderId: 41 });
    });
    try {
      const result = await sendMail(port, { from: 'alice@acme.example', to: 'orders@provisor.test', subject: 'Echo', text: 'volume: v1\n', messageId: '<m1@acme.example>', references: '<older@acme.example>' });
      expect(result).to.deep.include({ ok: true });
      expect(submitted).to.deep.equal([{ type: 'Echo', parameters: [{ name: 'volume', value: 'v1' }], channel: 'email', idempotencyKey: '<m1@acme.example>' }]);
      expect(replies[0]).to.deep.include({ to: 'alice@acme.example', kind: 'reply', inReplyTo: '<m1@acme.example>', workOrderId: 41 });
      expect(replies[0]?.references).to.deep.equal(['<older@acme.example>']);
    } finally {
      await intake.close();
    }
  });

  it('answers 451 when the service fails for a technical reason, so the sending server tries again', async () => {
    const { intake, port, records, replies } = await intakeWith(() => Promise.reject(new Error('connection lost')));
    try {
      const result = await sendMail(port, { from: 'alice@acme.example', to: 'orders@provisor.test', subject: 'Echo', text: 'volume: v1\n' });
      expect(result).to.deep.include({ ok: false, responseCode: 451 });
      expect(replies).to.have.length(0);
      expect(records).to.satisfy((all: Array<Record<string, unknown>>) => all.some((r) => r.level === 'error' && r.err === 'Error: connection lost'));
    } finally {
      await intake.close();
    }
  });

  it('answers 552 after DATA when a client that did not announce the size sends too much', async () => {
    const { intake, port, records } = await intakeWith(() => Promise.reject(new Error('must not be called')));
    try {
      const answers = await rawSmtp(port, ['EHLO client.test', 'MAIL FROM:<alice@acme.example>', 'RCPT TO:<orders@provisor.test>', 'DATA'], [
        'From: alice@acme.example',
        'To: orders@provisor.test',
        'Subject: Echo',
        '',
        ...Array.from({ length: 100 }, (_, i) => `note${i}: ${'x'.repeat(60)}`),
      ]);
      expect(answers.at(-1)).to.match(/^552 /);
      expect(records).to.satisfy((all: Array<Record<string, unknown>>) => all.some((r) => r.reason === 'message too large' && r.sender === 'alice@acme.example'));
    } finally {
      await intake.close();
    }
  });

  it('keys a Message-ID too long for the column by its digest', () => {
    expect(idempotencyKeyOf(undefined)).to.equal(undefined);
    expect(idempotencyKeyOf(' <a@b> ')).to.equal('<a@b>');
    const long = `<${'x'.repeat(300)}@b>`;
    expect(idempotencyKeyOf(long)).to.match(/^sha256:[0-9a-f]{64}$/).and.equal(idempotencyKeyOf(long));
  });
});

/** Speaks SMTP line by line: each command waits for its answer, then the message is sent and its answer read. */
async function rawSmtp(port: number, commands: readonly string[], message: readonly string[]): Promise<string[]> {
  const socket = net.connect(port, '127.0.0.1');
  let buffer = '';
  const waiters: Array<(line: string) => void> = [];
  const lines: string[] = [];
  socket.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    let end: number;
    while ((end = buffer.indexOf('\r\n')) !== -1) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      // Multi-line answers ("250-…") end with the line whose code is followed by a space.
      if (!/^\d{3} /.test(line)) continue;
      const waiter = waiters.shift();
      if (waiter === undefined) lines.push(line);
      else waiter(line);
    }
  });
  const answer = (): Promise<string> => new Promise((resolve) => (lines.length > 0 ? resolve(lines.shift() as string) : waiters.push(resolve)));
  const answers = [await answer()];
  for (const command of commands) {
    socket.write(`${command}\r\n`);
    answers.push(await answer());
  }
  socket.write(`${message.join('\r\n')}\r\n.\r\n`);
  answers.push(await answer());
  socket.end('QUIT\r\n');
  return answers;
}
