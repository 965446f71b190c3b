import crypto from 'node:crypto';
import { expect } from 'chai';
import type { ParsedMail } from 'mailparser';
import { WorkOrder } from '../../entities';
import { startTestServer, type TestServer } from '../support/harness';
import { freePort } from '../support/processes';
import { seedCast, TEST_CATALOG, type Cast } from '../support/workorders';
import { sendMail, startRelay, type Relay, type SmtpResult } from './support';

const INTAKE = 'orders@provisor.test';
const MAX_BYTES = 64 * 1024;

describe('work orders by e-mail', function () {
  this.timeout(60_000);
  let relay: Relay;
  let server: TestServer;
  let cast: Cast;
  let smtpPort: number;

  before(async () => {
    relay = await startRelay();
    smtpPort = await freePort();
    server = await startTestServer({
      PROVISOR_SMTP_PORT: String(smtpPort),
      PROVISOR_SMTP_ADDRESS: `${INTAKE}, intake@provisor.test`,
      PROVISOR_SMTP_MAX_BYTES: String(MAX_BYTES),
      PROVISOR_MAIL_RELAY: relay.url,
      PROVISOR_MAIL_FROM: `Provisor <${INTAKE}>`,
      PROVISOR_MAIL_BACKOFF_MS: '50',
    });
    await server.app.loadCatalog(TEST_CATALOG);
    cast = await seedCast(server);
  });
  after(async () => {
    await server.close();
    await relay.close();
  });

  const orders = (): Promise<WorkOrder[]> => server.dataSource.getRepository(WorkOrder).find({ order: { id: 'ASC' } });
  const newMessageId = (): string => `<${crypto.randomUUID()}@customer.example>`;

  function order(from: string, subject: string, text: string, extra: Record<string, unknown> = {}): Promise<SmtpResult> & { messageId: string } {
    const messageId = (extra.messageId as string | undefined) ?? newMessageId();
    return Object.assign(sendMail(smtpPort, { from, to: INTAKE, subject, text, messageId, ...extra }), { messageId });
  }

  const replyTo = (messageId: string): Promise<ParsedMail> => relay.waitFor(`the reply to ${messageId}`, (mail) => mail.inReplyTo === messageId);

  /** Every reply queued so far has reached the relay (or been given up). */
  const outgoingSettled = (): Promise<void> => server.app.email.mailer.flush();

  describe('when a registered customer mails a valid order', () => {
    it('creates the order on the e-mail channel and replies with its id', async () => {
      const before = (await orders()).length;
      const sent = order('Alice <alice@acme.example>', 'Work order: Echo', 'volume: v1\nsizeGiB: 10\ntier: performance\n\n-- \nAlice, ACME storage\n');
      const result = await sent;
      expect(result.ok, JSON.stringify(result)).to.equal(true);
      const rows = await orders();
      expect(rows).to.have.length(before + 1);
      const row = rows[rows.length - 1] as WorkOrder;
      expect(row).to.deep.include({ channel: 'email', typeName: 'Echo', customerId: cast.alice.userId, accountId: cast.alice.accountId, idempotencyKey: sent.messageId });
      expect(JSON.parse(row.parameters)).to.deep.include({ volume: 'v1', sizeGiB: '10', tier: 'performance' });
      if (result.ok) expect(result.response).to.include(`work order ${row.id} accepted`);

      const reply = await replyTo(sent.messageId);
      expect(reply.subject).to.equal(`Re: Echo — work order ${row.id} accepted`);
      expect(reply.to && !Array.isArray(reply.to) ? reply.to.value[0]?.address : undefined).to.equal('alice@acme.example');
      expect(reply.from?.value[0]?.address).to.equal(INTAKE);
      expect(reply.references).to.include(sent.messageId);
      expect(reply.headers.get('auto-submitted')).to.equal('auto-replied');
      expect(reply.headers.get('x-provisor-work-order')).to.equal(String(row.id));
      expect(reply.text).to.include(`Your work order ${row.id} (Echo) was accepted.`).and.include('volume: v1');
    });

    it('takes the second intake address too, and the sender\'s address in any case', async () => {
      const messageId = newMessageId();
      const result = await sendMail(smtpPort, { from: 'ALICE@Acme.Example', to: 'Intake@provisor.test', subject: 'echo', text: 'volume: v9\nsizeGiB: 1\n', messageId });
      // The type name is matched exactly as the catalog spells it: "echo" is not "Echo".
      expect(result.ok).to.equal(true);
      const reply = await replyTo(messageId);
      expect(reply.subject).to.match(/unknown work-order type$/);
      expect(reply.to && !Array.isArray(reply.to) ? reply.to.value[0]?.address : undefined).to.equal('alice@acme.example');
    });

    it('creates one order when the same mail (same Message-ID) arrives twice', async () => {
      const before = (await orders()).length;
      const messageId = newMessageId();
      const first = await order('carol@acme.example', 'Echo', 'volume: twice\nsizeGiB: 2\n', { messageId });
      const second = await order('carol@acme.example', 'Echo', 'volume: twice\nsizeGiB: 2\n', { messageId });
      expect(first.ok && second.ok).to.equal(true);
      const rows = await orders();
      expect(rows).to.have.length(before + 1);
      const id = (rows[rows.length - 1] as WorkOrder).id;
      await outgoingSettled();
      const replies = relay.received.filter((r) => r.mail.inReplyTo === messageId).map((r) => r.mail.subject);
      expect(replies).to.deep.equal([`Re: Echo — work order ${id} accepted`, `Re: Echo — work order ${id} accepted`]);
    });
  });

  describe('when the sender or the recipient is not accepted', () => {
    it('refuses an unknown sender with 550 at MAIL FROM and creates nothing', async () => {
      const before = (await orders()).length;
      const result = await order('mallory@evil.example', 'Echo', 'volume: v1\nsizeGiB: 1\n');
      expect(result).to.deep.include({ ok: false, responseCode: 550 });
      expect(await orders()).to.have.length(before);
    });

    it('refuses a disabled user like an unknown one', async () => {
      await server.app.users.addUser({ name: 'dave', role: 'customer', password: 'correct-horse-1', account: 'acme', level: 3, email: 'dave@acme.example' });
      await server.app.users.disable('dave');
      const result = await order('dave@acme.example', 'Echo', 'volume: v1\nsizeGiB: 1\n');
      expect(result).to.deep.include({ ok: false, responseCode: 550 });
    });

    it('refuses a From header that is not the envelope sender', async () => {
      const before = (await orders()).length;
      const result = await order('bob@globex.example', 'Echo', 'volume: v1\nsizeGiB: 1\n', { envelopeFrom: 'alice@acme.example' });
      expect(result).to.deep.include({ ok: false, responseCode: 550 });
      if (!result.ok) expect(result.message).to.include('From header');
      expect(await orders()).to.have.length(before);
    });

    it('refuses a recipient that is not the intake address with 550 at RCPT TO', async () => {
      const before = (await orders()).length;
      const result = await sendMail(smtpPort, { from: 'alice@acme.example', to: 'postmaster@provisor.test', subject: 'Echo', text: 'volume: v1\nsizeGiB: 1\n' });
      expect(result).to.deep.include({ ok: false, responseCode: 550 });
      if (!result.ok) expect(result.message).to.include(INTAKE);
      expect(await orders()).to.have.length(before);
    });

    it('refuses a message over the size limit with 552', async () => {
      const before = (await orders()).length;
      const result = await order('alice@acme.example', 'Echo', `volume: v1\nsizeGiB: 1\nnote: ${'x'.repeat(MAX_BYTES)}\n`);
      expect(result).to.deep.include({ ok: false, responseCode: 552 });
      expect(await orders()).to.have.length(before);
    });
  });

  describe('when the order cannot be accepted', () => {
    it('answers a type above the customer\'s level as unknown, listing what they can order', async () => {
      const before = (await orders()).length;
      const sent = order('alice@acme.example', 'Premium', 'volume: v1\n');
      expect((await sent).ok).to.equal(true);
      const reply = await replyTo(sent.messageId);
      expect(reply.subject).to.equal('Re: Premium — not accepted: unknown work-order type');
      expect(reply.text).to.include('There is no work-order type "Premium" that you can order').and.include('  Echo — Echo an order').and.include('  Manual —');
      expect(reply.text).not.to.include('Premium —');
      expect(await orders()).to.have.length(before);
    });

    it('names every missing, ill-typed and unknown parameter', async () => {
      const before = (await orders()).length;
      const sent = order('alice@acme.example', 'Echo', 'sizeGiB: ten\ncolour: red\ntier: gold\n');
      expect((await sent).ok).to.equal(true);
      const reply = await replyTo(sent.messageId);
      expect(reply.subject).to.equal('Re: Echo — not accepted: invalid parameters');
      const text = reply.text ?? '';
      for (const parameter of ['volume', 'sizeGiB', 'colour', 'tier']) expect(text).to.match(new RegExp(`^  ${parameter}:\\n    - `, 'm'));
      expect(text).to.include('Echo takes:').and.include('tier (string, optional, one of standard, performance, default standard)');
      expect(await orders()).to.have.length(before);
    });

    it('names the line that is not "name: value" and explains the format', async () => {
      const before = (await orders()).length;
      const sent = order('alice@acme.example', 'Echo', 'volume: v1\nsizeGiB: 1\nplease be quick about it\n');
      expect((await sent).ok).to.equal(true);
      const reply = await replyTo(sent.messageId);
      expect(reply.subject).to.equal('Re: Echo — not accepted: the mail is not in the order format');
      expect(reply.text).to.include('line 3 "please be quick about it" is not a "name: value" line').and.include('How to order by e-mail');
      expect(await orders()).to.have.length(before);
    });

    it('does not answer a mail that was sent automatically (no mail loops)', async () => {
      const sent = order('alice@acme.example', 'Re: Echo — work order 1 accepted', 'I am out of the office.\n', { headers: { 'Auto-Submitted': 'auto-replied' } });
      expect((await sent).ok).to.equal(true);
      await outgoingSettled();
      expect(relay.received.filter((r) => r.mail.inReplyTo === sent.messageId)).to.have.length(0);
    });
  });

  describe('when the relay fails', () => {
    it('retries a reply the relay refused for a while', async () => {
      relay.refuseNext(2, 451);
      const sent = order('bob@globex.example', 'Manual', '');
      expect((await sent).ok).to.equal(true);
      const reply = await replyTo(sent.messageId);
      expect(reply.subject).to.match(/^Re: Manual — work order \d+ accepted$/);
    });
  });

  describe('when an order ends', () => {
    async function manualOrder(): Promise<number> {
      const sent = order('carol@acme.example', 'Manual', '');
      expect((await sent).ok).to.equal(true);
      const subject = (await replyTo(sent.messageId)).subject ?? '';
      return Number(/work order (\d+)/.exec(subject)?.[1]);
    }
    const notification = (id: number, state: string): Promise<ParsedMail> =>
      relay.waitFor(`the ${state} notification of work order ${id}`, (mail) => mail.subject?.startsWith(`Work order ${id} `) === true && mail.subject.endsWith(state));

    it('mails the customer when an admin closes it, with the amount billed', async () => {
      const id = await manualOrder();
      await server.app.workOrders.act(cast.admin, id, 'close', 'done by hand');
      const mail = await notification(id, 'closed');
      expect(mail.subject).to.equal(`Work order ${id} (Manual) closed`);
      expect(mail.to && !Array.isArray(mail.to) ? mail.to.value[0]?.address : undefined).to.equal('carol@acme.example');
      expect(mail.headers.get('auto-submitted')).to.equal('auto-generated');
      expect(mail.text).to.include('State:   CLOSED').and.include('Billed:  5.00 EUR').and.include('done by hand');
    });

    it('mails the customer when an admin fails it, with the reason', async () => {
      const id = await manualOrder();
      await server.app.workOrders.act(cast.admin, id, 'fail', 'customer cancelled');
      const mail = await notification(id, 'failed');
      expect(mail.text).to.include('State:   FAILED').and.include('Outcome: failed by hand: customer cancelled').and.not.include('Billed');
    });

    it('mails the customer when its plan fails, with the reason in plain words (the failing activity is for admins)', async () => {
      const sent = order('bob@globex.example', 'Echo', 'volume: doomed\nsizeGiB: 1\nfail: true\n');
      expect((await sent).ok).to.equal(true);
      const id = Number(/work order (\d+)/.exec((await replyTo(sent.messageId)).subject ?? '')?.[1]);
      const mail = await notification(id, 'failed');
      const view = await server.app.workOrders.get(cast.admin, id);
      expect(view.state).to.equal('FAILED');
      expect(mail.text).to.include('Outcome: ').and.not.include('Failing activity').and.not.include(view.failedActivity ?? '?');
      expect(view.outcome).to.include('{urn:provisor:test:echo}requestedFailure');
      expect(mail.text).to.include('Outcome: the order could not be carried out (requestedFailure)').and.not.include('{urn:');
    });
  });
});
