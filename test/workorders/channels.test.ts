import { expect } from 'chai';
import { freePort } from '../support/processes';
import { startTestServer, type TestServer } from '../support/harness';
import { PortalClient } from '../support/portal-client';
import { envelope, postRaw, securityHeader } from '../support/soap-client';
import { PASSWORD, seedCast, TEST_CATALOG } from '../support/workorders';
import { sendMail, startRelay, type Relay } from '../mail/support';

const INTAKE = 'orders@provisor.test';
/** What the row must hold whichever channel brought the order. */
const SAME = ['typeName', 'customerId', 'accountId', 'parameters', 'state', 'manual', 'attempt', 'processInstanceId', 'outcome', 'failedActivity', 'closedAt'];

describe('one order, three channels: SOAP, the portal and e-mail make the same row', function () {
  this.timeout(60_000);
  let server: TestServer;
  let relay: Relay;
  let smtpPort: number;

  before(async () => {
    relay = await startRelay();
    smtpPort = await freePort();
    // The automation is off: the rows are compared as submitted.
    server = await startTestServer({ PROVISOR_WORKORDER_AUTOMATION: 'false', PROVISOR_SMTP_PORT: String(smtpPort), PROVISOR_SMTP_ADDRESS: INTAKE, PROVISOR_MAIL_RELAY: relay.url });
    await server.app.loadCatalog(TEST_CATALOG);
    await seedCast(server);
  });
  after(async () => {
    await server.close();
    await relay.close();
  });

  async function row(id: number): Promise<Record<string, unknown>> {
    const rows = (await server.dataSource.query('SELECT * FROM work_order WHERE id = ?', [id])) as Array<Record<string, unknown>>;
    const found = rows[0];
    if (found === undefined) throw new Error(`no row ${id}`);
    return found;
  }

  it('creates identical rows, apart from id, channel, times and the retry key', async () => {
    const soap = await postRaw(
      `${server.baseUrl}/soap/WorkOrder`,
      envelope(
        '<w:SubmitWorkOrder xmlns:w="urn:provisor:workorder:1"><w:type>Echo</w:type>' +
          '<w:parameter><w:name>volume</w:name><w:value>same</w:value></w:parameter>' +
          '<w:parameter><w:name>sizeGiB</w:name><w:value>5</w:value></w:parameter>' +
          '<w:parameter><w:name>tier</w:name><w:value>performance</w:value></w:parameter></w:SubmitWorkOrder>',
        securityHeader({ username: 'alice', password: PASSWORD }),
      ),
    );
    const soapId = Number(/workOrderId>(\d+)</.exec(soap.body)?.[1]);
    expect(soapId, soap.body).to.be.greaterThan(0);

    const portal = new PortalClient(server.baseUrl);
    await portal.logIn('alice', PASSWORD);
    const page = await portal.submitForm('/portal/types/Echo', '/portal/types/Echo', { volume: 'same', sizeGiB: '5', tier: 'performance', fail: 'false', note: '', delay: 'PT0S' });
    const portalId = Number(/<output id="work-order-id">(\d+)</.exec(page.body)?.[1]);
    expect(portalId, page.body.slice(0, 500)).to.be.greaterThan(0);

    const sent = await sendMail(smtpPort, { from: 'alice@acme.example', to: INTAKE, subject: 'Echo', text: 'volume: same\nsizeGiB: 5\ntier: performance\n' });
    expect(sent.ok, JSON.stringify(sent)).to.equal(true);
    const reply = await relay.waitFor('the accepted reply', (mail) => /accepted/.test(mail.subject ?? ''));
    const mailId = Number(/work order (\d+)/.exec(reply.subject ?? '')?.[1]);
    expect(mailId).to.be.greaterThan(0);

    const [a, b, c] = [await row(soapId), await row(portalId), await row(mailId)];
    const pick = (r: Record<string, unknown>): unknown[] => SAME.map((k) => r[k]);
    expect(pick(b)).to.deep.equal(pick(a));
    expect(pick(c)).to.deep.equal(pick(a));
    expect([a.channel, b.channel, c.channel]).to.deep.equal(['soap', 'portal', 'email']);
    expect(JSON.parse(String(a.parameters))).to.deep.equal({ volume: 'same', sizeGiB: '5', tier: 'performance', fail: 'false', delay: 'PT0S' });
    expect(a.state).to.equal('NEW');
  });

  it('refuses a level-3 type to a level-1 customer on every channel, creating nothing', async () => {
    const before = (await server.dataSource.query('SELECT COUNT(*) AS n FROM work_order')) as Array<{ n: unknown }>;
    const soap = await postRaw(
      `${server.baseUrl}/soap/WorkOrder`,
      envelope('<w:SubmitWorkOrder xmlns:w="urn:provisor:workorder:1"><w:type>Premium</w:type><w:parameter><w:name>volume</w:name><w:value>x</w:value></w:parameter></w:SubmitWorkOrder>', securityHeader({ username: 'alice', password: PASSWORD })),
    );
    expect(soap.body).to.contain('UnknownWorkOrderType');
    const portal = new PortalClient(server.baseUrl);
    await portal.logIn('alice', PASSWORD);
    expect((await portal.get('/portal/types/Premium')).status).to.equal(404);
    expect((await portal.submitForm('/portal/types', '/portal/types/Premium', { volume: 'x' })).status).to.equal(404);
    await sendMail(smtpPort, { from: 'alice@acme.example', to: INTAKE, subject: 'Premium', text: 'volume: x\n' });
    await relay.waitFor('the refusal', (mail) => /^Re: Premium — not accepted: unknown work-order type$/.test(mail.subject ?? ''));
    const after = (await server.dataSource.query('SELECT COUNT(*) AS n FROM work_order')) as Array<{ n: unknown }>;
    expect(Number(after[0]?.n)).to.equal(Number(before[0]?.n));
  });
});
