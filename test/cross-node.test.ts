import crypto from 'node:crypto';
import { expect } from 'chai';
import type { DataSource } from 'typeorm';
import { buildApp, type App } from '../src/app';
import { ManualClock } from '../src/clock';
import { loadConfig } from '../src/config';
import { openDatabase } from '../src/db/data-source';
import { createLogger } from '../src/log';
import { freshEnvironment, testDatabaseUrl } from './support/harness';
import { PortalClient } from './support/portal-client';
import { envelope, securityHeader, type Credentials } from './support/soap-client';

const GET_STATUS = '<r:GetStatus xmlns:r="urn:provisor:request:1"><r:requestId>no-such-request</r:requestId></r:GetStatus>';
const operator = { username: 'op', password: 'operator-secret-1' };
const admin = { username: 'root-admin', password: 'admin-secret-password' };

interface Node {
  readonly app: App;
  readonly baseUrl: string;
}

/**
 * Two Provisor apps on one database, as two processes behind a load balancer
 * without sticky routing: each has its own memory (authenticator, throttle,
 * portal), the database is the only thing they share. On SQLite they share
 * the one connection to the one file (as a second connection in the same
 * process would only wait for the first); on MySQL each has its own pool.
 */
async function twoNodes(extra: Record<string, string> = {}): Promise<{ a: Node; b: Node; clock: ManualClock; dataSource: DataSource; close(): Promise<void> }> {
  const environment = await freshEnvironment({
    PROVISOR_ENGINE: 'false',
    PROVISOR_WORKFLOW: 'false',
    PROVISOR_WORKORDER_AUTOMATION: 'false',
    PROVISOR_CATALOG_LOAD: 'false',
    PROVISOR_SECRET_KEY: crypto.randomBytes(32).toString('hex'),
    ...extra,
  });
  const config = loadConfig(environment.env);
  const first = await openDatabase(config);
  const second = testDatabaseUrl() === undefined ? first : await openDatabase(config);
  const clock = new ManualClock(Date.now());
  const logger = createLogger(config.logLevel);
  const apps = [await buildApp({ config, logger, dataSource: first, clock }), await buildApp({ config, logger, dataSource: second, clock })];
  const [a, b] = (await Promise.all(apps.map(async (app) => ({ app, baseUrl: `http://127.0.0.1:${await app.listen(0, '127.0.0.1')}` })))) as [Node, Node];
  return {
    a,
    b,
    clock,
    dataSource: first,
    async close() {
      for (const app of apps) await app.close(2000);
      if (second !== first) await second.destroy();
      await first.destroy();
      await environment.cleanup();
    },
  };
}

/** Sends one GetStatus with a ready-made Security header; a call past authentication answers UnknownRequest. */
async function call(node: Node, header: string): Promise<{ code: string | undefined }> {
  const response = await fetch(`${node.baseUrl}/soap/Request`, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8' }, body: envelope(GET_STATUS, header) });
  const body = await response.text();
  return { code: /<p:code>([^<]*)<\/p:code>/.exec(body)?.[1] };
}

/** One browser (one cookie jar) whose requests a balancer without sticky routing sends to either node. */
function browser(a: Node, b: Node): { on(node: Node): PortalClient } {
  const jar = new Map<string, string>();
  const clients = new Map<Node, PortalClient>([
    [a, new PortalClient(a.baseUrl, jar)],
    [b, new PortalClient(b.baseUrl, jar)],
  ]);
  return {
    on(node) {
      const client = clients.get(node);
      if (client === undefined) throw new Error('not a node of this pair');
      return client;
    },
  };
}

describe('any node serves any caller (two apps on one database)', function () {
  this.timeout(60_000);

  describe('WS-Security nonces', () => {
    let setup: Awaited<ReturnType<typeof twoNodes>>;
    before(async () => {
      setup = await twoNodes();
      await setup.a.app.users.addUser({ name: operator.username, role: 'operator', password: operator.password });
    });
    after(() => setup.close());

    it('refuse on node B a PasswordDigest token used on node A, and on A one used on B', async () => {
      const header = securityHeader(operator, { digest: true, created: setup.clock.date() });
      expect((await call(setup.a, header)).code).to.equal('UnknownRequest');
      expect((await call(setup.b, header)).code).to.equal('NonceReplayed');
      expect((await call(setup.a, header)).code).to.equal('NonceReplayed');
      const other = securityHeader(operator, { digest: true, created: setup.clock.date() });
      expect((await call(setup.b, other)).code).to.equal('UnknownRequest');
      expect((await call(setup.a, other)).code).to.equal('NonceReplayed');
    });

    it('accept a token sent to both nodes at the same moment on exactly one of them', async () => {
      for (let round = 0; round < 10; round++) {
        const header = securityHeader(operator, { digest: true, created: setup.clock.date() });
        const answers = await Promise.all([call(setup.a, header), call(setup.b, header), call(setup.a, header), call(setup.b, header)]);
        const codes = answers.map((x) => x.code).sort();
        expect(codes, `round ${round}`).to.deep.equal(['NonceReplayed', 'NonceReplayed', 'NonceReplayed', 'UnknownRequest']);
      }
    });

    it('refuse a replay of a PasswordText token with a Nonce on the other node too', async () => {
      const header = securityHeader(operator, { digest: false, created: setup.clock.date() });
      expect((await call(setup.b, header)).code).to.equal('UnknownRequest');
      expect((await call(setup.a, header)).code).to.equal('NonceReplayed');
    });

    it('do not let a forged token (wrong digest) burn a nonce on any node', async () => {
      const nonce = crypto.randomBytes(16);
      const forged = securityHeader({ username: operator.username, password: 'not-the-password' }, { digest: true, nonce, created: setup.clock.date() });
      expect((await call(setup.a, forged)).code).to.equal('AuthenticationFailed');
      const genuine = securityHeader(operator, { digest: true, nonce, created: setup.clock.date() });
      expect((await call(setup.b, genuine)).code).to.equal('UnknownRequest');
    });
  });

  describe('the portal', () => {
    let setup: Awaited<ReturnType<typeof twoNodes>>;
    beforeEach(async () => {
      setup = await twoNodes();
      await setup.a.app.users.addUser({ name: admin.username, role: 'admin', password: admin.password });
    });
    afterEach(() => setup.close());

    it('posts a log-in form fetched from node A to node B, and the session made there works on A', async () => {
      const user = browser(setup.a, setup.b);
      const form = await user.on(setup.a).get('/portal/login');
      expect(form.status).to.equal(200);
      const posted = await user.on(setup.b).post('/portal/login', { _csrf: PortalClient.csrfOf(form.body), name: admin.username, password: admin.password });
      expect(posted.status, posted.body).to.equal(303);
      expect(posted.headers.get('location')).to.equal('/portal/admin');
      const page = await user.on(setup.a).get('/portal/types');
      expect(page.status, 'node A serves the session made on B').to.equal(200);
    });

    it('keeps a session made on node A on node B, and a log-out on B ends it on A', async () => {
      const user = browser(setup.a, setup.b);
      await user.on(setup.a).logIn(admin.username, admin.password);
      const session = user.on(setup.a).cookies.get('provisor_session') ?? '';
      expect(session).to.have.length(43);
      const onB = await user.on(setup.b).get('/portal/types');
      expect(onB.status, 'node B serves the session made on A').to.equal(200);
      // The CSRF token of a form rendered by B is the one A expects, and the other way round.
      const admin1 = await user.on(setup.b).get('/portal/admin');
      expect(admin1.status).to.equal(200);
      const out = await user.on(setup.b).post('/portal/logout', { _csrf: PortalClient.csrfOf(admin1.body) });
      expect(out.status, out.body).to.equal(303);
      // The browser forgot the cookie; an attacker who kept it gets nothing on either node.
      for (const node of [setup.a, setup.b]) {
        const kept = new PortalClient(node.baseUrl);
        kept.cookies.set('provisor_session', session);
        const r = await kept.get('/portal/types');
        expect(r.status, node.baseUrl).to.equal(303);
        expect(r.headers.get('location')).to.match(/^\/portal\/login/);
      }
    });

    it('ends every session of a user disabled on another node at once', async () => {
      const user = browser(setup.a, setup.b);
      await user.on(setup.a).logIn(admin.username, admin.password);
      expect((await user.on(setup.a).get('/portal/types')).status).to.equal(200);
      await setup.b.app.users.disable(admin.username);
      const rows = (await setup.dataSource.query('SELECT COUNT(*) AS n FROM portal_session')) as Array<{ n: unknown }>;
      expect(Number(rows[0]?.n)).to.equal(0);
      expect((await user.on(setup.a).get('/portal/types')).status).to.equal(303);
    });

    it('refuses a log-in form token made under another secret key (a node that does not share the key)', async () => {
      const stranger = await twoNodes();
      try {
        const form = await new PortalClient(stranger.a.baseUrl).get('/portal/login');
        const user = new PortalClient(setup.b.baseUrl);
        const cookie = /provisor_login=([^;]*)/.exec(form.headers.get('set-cookie') ?? '')?.[1] ?? '';
        expect(cookie).to.not.equal('');
        user.cookies.set('provisor_login', decodeURIComponent(cookie));
        const r = await user.post('/portal/login', { _csrf: PortalClient.csrfOf(form.body), name: admin.username, password: admin.password });
        expect(r.status).to.equal(403);
        expect(r.body).to.include('security token is missing or out of date');
        expect(user.cookies.get('provisor_session')).to.equal(undefined);
      } finally {
        await stranger.close();
      }
    });
  });

  describe('the per-address log-in throttle', () => {
    let setup: Awaited<ReturnType<typeof twoNodes>>;
    before(async () => {
      setup = await twoNodes({ PROVISOR_LOGIN_ADDRESS_FREE_FAILURES: '3', PROVISOR_LOGIN_FREE_FAILURES: '100', PROVISOR_LOGIN_LOCK_AFTER: '0' });
      await setup.a.app.users.addUser({ name: operator.username, role: 'operator', password: operator.password });
      await setup.a.app.users.addUser({ name: admin.username, role: 'admin', password: admin.password });
    });
    after(() => setup.close());

    it('holds on node B the wait an address earned on node A, for SOAP and the portal, and lifts it on both after the wait', async () => {
      const wrong = (i: number): Credentials => ({ username: `guess-${i}`, password: `wrong-${crypto.randomUUID()}` });
      for (let i = 0; i < 4; i++) expect((await call(setup.a, securityHeader(wrong(i), { created: setup.clock.date() }))).code).to.equal('AuthenticationFailed');
      const soap = await call(setup.b, securityHeader(operator, { created: setup.clock.date() }));
      expect(soap.code, 'SOAP on node B').to.equal('LoginThrottled');
      const portal = new PortalClient(setup.b.baseUrl);
      const form = await portal.get('/portal/login');
      const refused = await portal.post('/portal/login', { _csrf: PortalClient.csrfOf(form.body), name: admin.username, password: admin.password });
      expect(refused.status, 'the portal on node B').to.equal(429);
      expect(refused.headers.get('retry-after')).to.equal('1');
      setup.clock.advance(1000);
      expect((await call(setup.b, securityHeader(operator, { created: setup.clock.date() }))).code).to.equal('UnknownRequest');
      const again = await portal.post('/portal/login', { _csrf: PortalClient.csrfOf(form.body), name: admin.username, password: admin.password });
      expect(again.status, again.body).to.equal(303);
    });
  });
});
