import { Writable } from 'node:stream';
import { expect } from 'chai';
import winston from 'winston';
import { buildApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/db/data-source';
import { escapeHtml } from '../../src/portal/html';
import { LOGIN_COOKIE, SESSION_COOKIE } from '../../src/portal/router';
import { eventually, freshEnvironment, startTestServer, type TestServer } from '../support/harness';
import { countRows, portalCatalog, PortalClient, SCRIPT_TITLE } from '../support/portal-client';
import { PASSWORD, seedCast, type Cast } from '../support/workorders';

const ECHO = { volume: 'vol1', sizeGiB: '10' };

describe('portal over HTTP', function () {
  this.timeout(60_000);
  let server: TestServer;
  let cast: Cast;

  before(async () => {
    server = await startTestServer();
    await server.app.loadCatalog(portalCatalog(server.dataDir));
    cast = await seedCast(server);
  });
  after(() => server.close());

  const orders = (): Promise<number> => countRows(server.dataSource, 'work_order');
  async function as(name: string): Promise<PortalClient> {
    const client = new PortalClient(server.baseUrl);
    await client.logIn(name, PASSWORD);
    return client;
  }
  async function settled(id: number): Promise<string> {
    return eventually(async () => {
      const order = await server.app.workOrders.get(cast.admin, id);
      return order.state === 'NEW' || order.state === 'IN_PROGRESS' ? undefined : order.state;
    }, `work order ${id} to end`);
  }

  describe('log-in', () => {
    it('gives a session cookie that is HttpOnly, SameSite=Lax, a random 32-byte id, and leads to the types', async () => {
      const client = new PortalClient(server.baseUrl);
      const form = await client.get('/portal/login');
      expect(form.status).to.equal(200);
      expect(form.headers.getSetCookie().join('\n')).to.match(new RegExp(`^${LOGIN_COOKIE}=.*HttpOnly; SameSite=Lax`));
      const r = await client.post('/portal/login', { _csrf: PortalClient.csrfOf(form.body), name: 'alice', password: PASSWORD });
      expect(r.status).to.equal(303);
      expect(r.headers.get('location')).to.equal('/portal/types');
      const cookie = r.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`)) ?? '';
      expect(cookie).to.include('HttpOnly').and.include('SameSite=Lax').and.include('Path=/portal');
      expect(Buffer.from(client.cookies.get(SESSION_COOKIE) ?? '', 'base64url')).to.have.length(32);
      expect((await client.get('/portal/types')).status).to.equal(200);
    });

    it('refuses a wrong password with 401 and the same message as an unknown user, and no session', async () => {
      const wrong = new PortalClient(server.baseUrl);
      const form = await wrong.get('/portal/login');
      const r1 = await wrong.post('/portal/login', { _csrf: PortalClient.csrfOf(form.body), name: 'alice', password: 'not-the-password' });
      const unknown = new PortalClient(server.baseUrl);
      const form2 = await unknown.get('/portal/login');
      const r2 = await unknown.post('/portal/login', { _csrf: PortalClient.csrfOf(form2.body), name: 'nobody', password: 'not-the-password' });
      for (const [client, r] of [[wrong, r1], [unknown, r2]] as const) {
        expect(r.status).to.equal(401);
        expect(r.body).to.include('Unknown user name or wrong password.');
        expect(r.body).to.not.include('not-the-password');
        expect(client.cookies.has(SESSION_COOKIE)).to.equal(false);
      }
    });

    it('refuses a log-in without the pre-session token (login CSRF) or from another origin', async () => {
      const noToken = new PortalClient(server.baseUrl);
      await noToken.get('/portal/login');
      expect((await noToken.post('/portal/login', { name: 'alice', password: PASSWORD })).status).to.equal(403);
      const noCookie = new PortalClient(server.baseUrl);
      const form = await noCookie.get('/portal/login');
      noCookie.cookies.delete(LOGIN_COOKIE);
      expect((await noCookie.post('/portal/login', { _csrf: PortalClient.csrfOf(form.body), name: 'alice', password: PASSWORD })).status).to.equal(403);
      const crossOrigin = new PortalClient(server.baseUrl);
      const form2 = await crossOrigin.get('/portal/login');
      const r = await crossOrigin.post('/portal/login', { _csrf: PortalClient.csrfOf(form2.body), name: 'alice', password: PASSWORD }, { origin: 'https://evil.example' });
      expect(r.status).to.equal(403);
      for (const c of [noToken, noCookie, crossOrigin]) expect(c.cookies.has(SESSION_COOKIE)).to.equal(false);
    });

    it('ends the session on log-out: the old cookie leads to the log-in page again', async () => {
      const client = await as('alice');
      const session = client.cookies.get(SESSION_COOKIE) ?? '';
      const r = await client.submitForm('/portal/types', '/portal/logout', {});
      expect(r.status).to.equal(303);
      client.cookies.set(SESSION_COOKIE, session);
      const after = await client.get('/portal/types');
      expect(after.status).to.equal(303);
      expect(after.headers.get('location')).to.equal('/portal/login?next=%2Fportal%2Ftypes');
    });

    it('sends pages with a CSP without scripts, no framing and no-store', async () => {
      const client = await as('alice');
      const r = await client.get('/portal/types');
      const csp = r.headers.get('content-security-policy') ?? '';
      expect(csp).to.include("default-src 'none'").and.include("frame-ancestors 'none'").and.not.include('script-src');
      expect(r.headers.get('x-frame-options')).to.equal('DENY');
      expect(r.headers.get('cache-control')).to.equal('no-store');
      expect(r.body).to.not.include('<script');
    });
  });

  describe('ordering', () => {
    it('lists the types the level allows, with title, description and price, each linking to its task screen', async () => {
      const r = await (await as('alice')).get('/portal/types');
      expect(r.body).to.include('href="/portal/types/Echo"').and.include('Echo an order').and.include('12.50 EUR').and.include('href="/portal/types/Manual"');
      expect(r.body).to.not.include('/portal/types/Premium');
      expect((await (await as('carol')).get('/portal/types')).body).to.include('href="/portal/types/Premium"');
    });

    it('builds the task screen from the parameter definitions', async () => {
      const r = await (await as('alice')).get('/portal/types/Echo');
      expect(r.status).to.equal(200);
      expect(r.body).to.match(/<input [^>]*name="sizeGiB" type="number" step="1" min="1" max="100"[^>]* required>/);
      expect(r.body).to.match(/<input [^>]*name="volume" type="text" pattern="\[a-z0-9\]\[a-z0-9._\\-\]\{0,62\}" maxlength="63"[^>]* required>/);
      expect(r.body).to.match(/<select [^>]*name="tier"[\s\S]*<option value="standard" selected>standard<\/option>/);
      expect(r.body).to.match(/<select [^>]*name="fail"[\s\S]*<option value="true">Yes<\/option><option value="false" selected>No<\/option>/);
      expect(r.body).to.include('Size in GiB').and.include('name="delay" type="text"').and.include('value="PT0S"');
    });

    it('creates the order with channel portal and shows its id', async () => {
      const before = await orders();
      const r = await (await as('alice')).submitForm('/portal/types/Echo', '/portal/types/Echo', { ...ECHO, tier: 'performance', fail: 'false', note: '' });
      expect(r.status).to.equal(201);
      const id = Number(/<output id="work-order-id">(\d+)<\/output>/.exec(r.body)?.[1]);
      expect(r.body).to.include(`href="/portal/orders/${id}"`);
      expect(await orders()).to.equal(before + 1);
      const rows = (await server.dataSource.query('SELECT channel, typeName, customerId FROM work_order WHERE id = ?', [id])) as Array<Record<string, unknown>>;
      expect(rows[0]).to.deep.include({ channel: 'portal', typeName: 'Echo', customerId: cast.alice.userId });
    });

    it('answers a resubmitted form (same submission key) with the first order instead of a second one', async () => {
      const client = await as('alice');
      const form = await client.get('/portal/types/Echo');
      const fields = { _csrf: PortalClient.csrfOf(form.body), _key: /name="_key" value="([^"]+)"/.exec(form.body)?.[1] ?? '', ...ECHO };
      const before = await orders();
      const first = await client.post('/portal/types/Echo', fields);
      const again = await client.post('/portal/types/Echo', fields);
      const idOf = (body: string): string | undefined => /<output id="work-order-id">(\d+)</.exec(body)?.[1];
      expect(idOf(again.body)).to.equal(idOf(first.body)).and.be.a('string');
      expect(await orders()).to.equal(before + 1);
    });

    it('re-renders the form with 400, the entered values and each problem next to its parameter', async () => {
      const before = await orders();
      const r = await (await as('alice')).submitForm('/portal/types/Echo', '/portal/types/Echo', { volume: 'Bad Name', sizeGiB: '500', note: 'kept <b>' });
      expect(r.status).to.equal(400);
      const errorOf = (name: string): string | undefined => new RegExp(`<div class="field(?: refused)?" data-parameter="${name}">[\\s\\S]*?(?:<p class="field-error"[^>]*>([^<]*)</p>\\s*)?</div>`).exec(r.body)?.[1];
      expect(errorOf('volume')).to.be.a('string').and.not.equal('');
      expect(errorOf('sizeGiB')).to.be.a('string').and.not.equal('');
      expect(errorOf('tier')).to.equal(undefined);
      // only the refused fields are marked
      expect(r.body).to.include('<div class="field refused" data-parameter="volume">').and.include('<div class="field" data-parameter="tier">');
      expect(r.body).to.include('value="Bad Name"').and.include('value="500"').and.include('value="kept &lt;b&gt;"');
      expect(await orders()).to.equal(before);
    });

    it('escapes a type title and description, help text and parameter values', async () => {
      const client = await as('alice');
      const types = await client.get('/portal/types');
      expect(types.body).to.include(escapeHtml(SCRIPT_TITLE)).and.not.include('<script>');
      expect(types.body).to.include('A &lt;b&gt;description&lt;/b&gt; &amp; more');
      const screen = await client.get('/portal/types/Markup');
      expect(screen.body).to.include(`<h1>${escapeHtml(SCRIPT_TITLE)}</h1>`).and.include('Any &lt;i&gt;text&lt;/i&gt;').and.not.include('<script>');
      const evil = '<script>alert("value")</script>';
      const created = await client.submitForm('/portal/types/Markup', '/portal/types/Markup', { label: evil });
      expect(created.status).to.equal(201);
      const id = /<output id="work-order-id">(\d+)</.exec(created.body)?.[1] ?? '';
      const order = await client.get(`/portal/orders/${id}`);
      expect(order.body).to.include(escapeHtml(evil)).and.not.include('<script>');
    });
  });

  describe('CSRF', () => {
    const attempts: Array<[string, (client: PortalClient, token: string, other: string) => Promise<number>]> = [
      ['no token', async (c) => (await c.post('/portal/types/Echo', ECHO)).status],
      ['an empty token', async (c) => (await c.post('/portal/types/Echo', { _csrf: '', ...ECHO })).status],
      ['a wrong token', async (c, token) => (await c.post('/portal/types/Echo', { _csrf: token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA'), ...ECHO })).status],
      ['another session\'s token', async (c, _t, other) => (await c.post('/portal/types/Echo', { _csrf: other, ...ECHO })).status],
      ['the right token from another origin', async (c, token) => (await c.post('/portal/types/Echo', { _csrf: token, ...ECHO }, { origin: 'https://evil.example' })).status],
      ['the right token from a cross-site fetch', async (c, token) => (await c.post('/portal/types/Echo', { _csrf: token, ...ECHO }, { 'sec-fetch-site': 'cross-site' })).status],
    ];
    for (const [what, attempt] of attempts) {
      it(`refuses a submission with ${what}: 403, a clear message, no row`, async () => {
        const client = await as('alice');
        const token = PortalClient.csrfOf((await client.get('/portal/types/Echo')).body);
        const other = PortalClient.csrfOf((await (await as('alice')).get('/portal/types/Echo')).body);
        const before = await orders();
        expect(await attempt(client, token, other)).to.equal(403);
        expect(await orders()).to.equal(before);
      });
    }

    it('names the problem on the 403 page and guards admin actions and log-out the same way', async () => {
      const client = await as('alice');
      const r = await client.post('/portal/types/Echo', ECHO);
      expect(r.body).to.include('security token is missing or out of date');
      const { workOrderId } = await server.app.workOrders.submit(cast.alice, { type: 'Manual', parameters: [], channel: 'soap' });
      const admin = await as('admin');
      expect((await admin.post(`/portal/admin/orders/${workOrderId}`, { action: 'fail', reason: 'no token' })).status).to.equal(403);
      expect((await server.app.workOrders.get(cast.admin, workOrderId)).state).to.equal('NEW');
      expect((await admin.post('/portal/logout', {})).status).to.equal(403);
      expect((await admin.get('/portal/admin')).status).to.equal(200);
    });
  });

  describe('what a customer may see', () => {
    it('cannot open another account\'s order (404, as if it did not exist)', async () => {
      const { workOrderId } = await server.app.workOrders.submit(cast.alice, { type: 'Echo', parameters: [{ name: 'volume', value: 'secret-vol' }, { name: 'sizeGiB', value: '5' }], channel: 'soap' });
      const bob = await as('bob');
      const r = await bob.get(`/portal/orders/${workOrderId}`);
      expect(r.status).to.equal(404);
      expect(r.body).to.not.include('secret-vol');
      expect((await bob.get('/portal/orders')).body).to.not.include(`data-order="${workOrderId}"`);
      expect((await (await as('carol')).get(`/portal/orders/${workOrderId}`)).status).to.equal(200); // same account
    });

    it('cannot open a type above its level (404) and its POST creates nothing', async () => {
      const alice = await as('alice');
      expect((await alice.get('/portal/types/Premium')).status).to.equal(404);
      const before = await orders();
      const r = await alice.submitForm('/portal/types/Echo', '/portal/types/Premium', { volume: 'v1' });
      expect(r.status).to.equal(404);
      expect(await orders()).to.equal(before);
    });

    it('is refused the admin page and admin actions (403)', async () => {
      const alice = await as('alice');
      const { workOrderId } = await server.app.workOrders.submit(cast.alice, { type: 'Manual', parameters: [], channel: 'soap' });
      expect((await alice.get('/portal/admin')).status).to.equal(403);
      const systems = await alice.get('/portal/admin/systems');
      expect(systems.status).to.equal(403);
      expect(systems.body).to.include('for administrators only').and.not.include('data-system=');
      const r = await alice.submitForm('/portal/types', `/portal/admin/orders/${workOrderId}`, { action: 'close', reason: 'me' });
      expect(r.status).to.equal(403);
      expect((await server.app.workOrders.get(cast.admin, workOrderId)).state).to.equal('NEW');
    });

    it('sends an admin to the admin desk, and tells an admin that the volumes page is a customer\'s', async () => {
      const admin = await as('admin');
      const home = await admin.get('/portal/');
      expect(home.status).to.equal(303);
      expect(home.headers.get('location')).to.equal('/portal/admin');
      const volumes = await admin.get('/portal/volumes');
      expect(volumes.status).to.equal(403);
      expect(volumes.body).to.include('a customer&#39;s own volumes').and.include('href="/portal/admin/systems"');
    });

    it('gets a clear 4xx page for unknown types, non-numeric ids, unknown states and huge bodies', async () => {
      const alice = await as('alice');
      expect((await alice.get('/portal/types/NoSuchType')).status).to.equal(404);
      expect((await alice.get('/portal/orders/abc')).status).to.equal(404);
      expect((await alice.get('/portal/orders/99999999999')).status).to.equal(404);
      expect((await alice.get('/portal/orders/424242')).status).to.equal(404);
      expect((await alice.get('/portal/orders?state=DONE')).status).to.equal(400);
      expect((await alice.get('/portal/nowhere')).status).to.equal(404);
      const huge = await alice.post('/portal/types/Echo', `note=${'x'.repeat(70 * 1024)}`);
      expect(huge.status).to.equal(413);
      expect(huge.body).to.include('too large');
    });
  });

  describe('orders', () => {
    it('lists the account\'s orders filtered by state, a page at a time', async () => {
      const carol = await as('carol');
      const ids: number[] = [];
      for (let i = 0; i < 22; i++) ids.push((await server.app.workOrders.submit(cast.carol, { type: 'Manual', parameters: [], channel: 'soap' })).workOrderId);
      const first = await carol.get('/portal/orders?state=NEW');
      expect(first.status).to.equal(200);
      const shown = (body: string): number[] => [...body.matchAll(/<tr data-order="(\d+)">/g)].map((m) => Number(m[1]));
      expect(shown(first.body)).to.have.length(20);
      expect(shown(first.body)[0]).to.equal(ids[ids.length - 1]);
      expect(first.body).to.include('href="/portal/orders?state=NEW&amp;page=2"');
      const second = await carol.get('/portal/orders?state=NEW&page=2');
      expect(shown(second.body).length).to.be.greaterThan(0);
      expect(shown(second.body).filter((id) => shown(first.body).includes(id))).to.deep.equal([]);
      expect(shown((await carol.get('/portal/orders?state=CLOSED')).body)).to.not.include(ids[0]);
    });

    it('shows an order\'s state, parameters, history and billing, and refreshes while it is moving', async () => {
      const alice = await as('alice');
      const created = await alice.submitForm('/portal/types/Echo', '/portal/types/Echo', { ...ECHO, volume: 'shown-vol' });
      const id = Number(/<output id="work-order-id">(\d+)</.exec(created.body)?.[1]);
      expect(await settled(id)).to.equal('CLOSED');
      const r = await alice.get(`/portal/orders/${id}`);
      expect(r.body).to.include('<dd class="state" id="order-state">CLOSED</dd>').and.include('shown-vol').and.include('12.50 EUR');
      expect(r.body).to.match(/<table id="history">[\s\S]*→ CLOSED/);
      expect(r.body).to.not.include('http-equiv="refresh"');
      const { workOrderId } = await server.app.workOrders.submit(cast.alice, { type: 'Echo', parameters: [{ name: 'volume', value: 'slow' }, { name: 'sizeGiB', value: '1' }, { name: 'delay', value: 'PT30S' }], channel: 'soap' });
      expect((await alice.get(`/portal/orders/${workOrderId}`)).body).to.include('http-equiv="refresh"');
    });
  });

  describe('the admin desk', () => {
    it('lists failed and manual orders and acts on them with a reason; a refused transition is a 409 naming the state', async () => {
      const failing = await server.app.workOrders.submit(cast.alice, { type: 'Echo', parameters: [{ name: 'volume', value: 'doomed' }, { name: 'sizeGiB', value: '1' }, { name: 'fail', value: 'true' }], channel: 'soap' });
      const manual = await server.app.workOrders.submit(cast.alice, { type: 'Manual', parameters: [], channel: 'soap' });
      expect(await settled(failing.workOrderId)).to.equal('FAILED');
      const admin = await as('admin');
      const desk = await admin.get('/portal/admin');
      expect(desk.body).to.match(new RegExp(`<table id="failed-orders">[\\s\\S]*<tr data-order="${failing.workOrderId}">`));
      expect(desk.body).to.match(new RegExp(`<table id="manual-orders">[\\s\\S]*<tr data-order="${manual.workOrderId}">`));
      const token = PortalClient.csrfOf(desk.body);
      // One button per action the state table allows: no Fail for a FAILED order, no Hold for a held one.
      const buttons = (id: number): string[] => {
        const row = new RegExp(`<tr data-order="${id}">([\\s\\S]*?)</tr>`).exec(desk.body)?.[1] ?? '';
        return [...row.matchAll(/<button type="submit" name="action" value="([a-z]+)">/g)].map((m) => m[1] ?? '');
      };
      expect(buttons(failing.workOrderId)).to.deep.equal(['retry', 'close']);
      expect(buttons(manual.workOrderId)).to.deep.equal(['process', 'close', 'fail']);

      const noReason = await admin.post(`/portal/admin/orders/${failing.workOrderId}`, { _csrf: token, action: 'close', reason: '  ' });
      expect(noReason.status).to.equal(400);
      const closed = await admin.post(`/portal/admin/orders/${failing.workOrderId}`, { _csrf: token, action: 'close', reason: 'done by hand <ok>' });
      expect(closed.status).to.equal(303);
      expect(closed.headers.get('location')).to.equal(`/portal/orders/${failing.workOrderId}?done=close`);
      const page = await admin.get(`/portal/orders/${failing.workOrderId}?done=close`);
      expect(page.body).to.include('CLOSED').and.include('done by hand &lt;ok&gt;').and.include('<td>admin</td>');

      const again = await admin.post(`/portal/admin/orders/${failing.workOrderId}`, { _csrf: token, action: 'retry', reason: 'once more' });
      expect(again.status).to.equal(409);
      expect(again.body).to.include('CLOSED');
      expect((await admin.post(`/portal/admin/orders/${manual.workOrderId}`, { _csrf: token, action: 'explode', reason: 'x' })).status).to.equal(400);
    });
  });
});

describe('portal log', function () {
  this.timeout(60_000);

  it('records a failed log-in with the user name, never the password or a session id', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const environment = await freshEnvironment({ PROVISOR_CATALOG_LOAD: 'false', PROVISOR_WORKORDER_AUTOMATION: 'false' });
    const config = loadConfig(environment.env);
    const dataSource = await openDatabase(config);
    const logger = winston.createLogger({ level: 'info', format: winston.format.json(), transports: [new winston.transports.Stream({ stream: sink })] });
    const app = await buildApp({ config, logger, dataSource });
    const port = await app.listen(0, '127.0.0.1');
    try {
      await seedCast({ app });
      const client = new PortalClient(`http://127.0.0.1:${port}`);
      const form = await client.get('/portal/login');
      const r = await client.post('/portal/login', { _csrf: PortalClient.csrfOf(form.body), name: 'alice', password: 'wrong-password-9' });
      expect(r.status).to.equal(401);
      await client.logIn('alice', PASSWORD);
      const session = client.cookies.get(SESSION_COOKIE) ?? '';
      const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(records.some((rec) => rec.message === 'portal: log-in failed' && rec.user === 'alice')).to.equal(true);
      expect(records.some((rec) => rec.message === 'portal: logged in' && rec.user === 'alice')).to.equal(true);
      const all = lines.join('\n');
      expect(all).to.not.include('wrong-password-9').and.not.include(PASSWORD);
      expect(session).to.not.equal('');
      expect(all).to.not.include(session);
    } finally {
      await app.close();
      await dataSource.destroy();
      await environment.cleanup();
    }
  });
});
