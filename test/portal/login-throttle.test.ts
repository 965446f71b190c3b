import { expect } from 'chai';
import { buildApp, type App } from '../../src/app';
import { ManualClock } from '../../src/clock';
import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/db/data-source';
import { createLogger } from '../../src/log';
import { SESSION_COOKIE } from '../../src/portal/router';
import { freshEnvironment } from '../support/harness';
import { PortalClient, type PortalResponse } from '../support/portal-client';
import { envelope, securityHeader } from '../support/soap-client';
import { PASSWORD, seedCast } from '../support/workorders';


describe('portal log-in throttling and lockout', function () {
  this.timeout(60_000);
  let app: App;
  let baseUrl: string;
  let clock: ManualClock;
  let close: () => Promise<void>;

  beforeEach(async () => {
    const environment = await freshEnvironment({
      PROVISOR_ENGINE: 'false',
      PROVISOR_WORKFLOW: 'false',
      PROVISOR_WORKORDER_AUTOMATION: 'false',
      PROVISOR_CATALOG_LOAD: 'false',
      PROVISOR_LOGIN_FREE_FAILURES: '2',
      PROVISOR_LOGIN_LOCK_AFTER: '4',
      PROVISOR_LOGIN_DELAY_MS: '30000',
      PROVISOR_LOGIN_ADDRESS_FREE_FAILURES: '0',
    });
    const config = loadConfig(environment.env);
    const dataSource = await openDatabase(config);
    clock = new ManualClock(Date.now());
    app = await buildApp({ config, logger: createLogger('error'), dataSource, clock });
    baseUrl = `http://127.0.0.1:${await app.listen(0, '127.0.0.1')}`;
    await seedCast({ app });
    close = async () => {
      await app.close(2000);
      await dataSource.destroy();
      await environment.cleanup();
    };
  });
  afterEach(() => close());

  async function logIn(name: string, password: string): Promise<PortalResponse & { client: PortalClient }> {
    const client = new PortalClient(baseUrl);
    const form = await client.get('/portal/login');
    const r = await client.post('/portal/login', { _csrf: PortalClient.csrfOf(form.body), name, password });
    return { ...r, client };
  }

  it('answers the free failures with 401, then 429 with Retry-After and a message on the form, even for the right password, and lets it in after the wait', async () => {
    expect((await logIn('alice', 'wrong-password-1')).status).to.equal(401);
    expect((await logIn('alice', 'wrong-password-2')).status).to.equal(401);
    expect((await logIn('alice', 'wrong-password-3')).status).to.equal(401);
    const throttled = await logIn('alice', PASSWORD);
    expect(throttled.status).to.equal(429);
    expect(throttled.headers.get('retry-after')).to.equal('30');
    expect(throttled.body).to.include('Too many failed log-ins. Please wait 30 seconds, then try again.').and.include('id="login-form"');
    expect(throttled.client.cookies.has(SESSION_COOKIE)).to.equal(false);
    clock.advance(30_000);
    const ok = await logIn('alice', PASSWORD);
    expect(ok.status).to.equal(303);
    expect(ok.client.cookies.has(SESSION_COOKIE)).to.equal(true);
  });

  it('locks the account at the limit: the right password gets 403 and a page that says the account is locked; unlocking lets it in', async () => {
    for (let i = 0; i < 4; i++) {
      expect((await logIn('carol', `wrong-password-${i}`)).status).to.equal(401);
      clock.advance(3_600_000);
    }
    const locked = await logIn('carol', PASSWORD);
    expect(locked.status).to.equal(403);
    expect(locked.body).to.include('This account is locked after too many failed log-ins. Ask an administrator to unlock it.');
    expect(locked.client.cookies.has(SESSION_COOKIE)).to.equal(false);
    expect((await app.users.list()).find((u) => u.name === 'carol')?.lockedAt).to.be.instanceOf(Date);
    await app.users.unlock('carol');
    expect((await logIn('carol', PASSWORD)).status).to.equal(303);
  });

  it('shares the store with SOAP: an account locked by wrong SOAP passwords cannot log in to the portal', async () => {
    for (let i = 0; i < 4; i++) {
      const header = securityHeader({ username: 'bob', password: `wrong-password-${i}` }, { created: clock.date() });
      await fetch(`${baseUrl}/soap/Request`, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8' }, body: envelope('<r:GetStatus xmlns:r="urn:provisor:request:1"><r:requestId>x</r:requestId></r:GetStatus>', header) });
      clock.advance(3_600_000);
    }
    expect((await logIn('bob', PASSWORD)).status).to.equal(403);
  });

  it('answers a user name longer than any user\'s like a wrong password (401), not with a server error', async () => {
    const r = await logIn('y'.repeat(500), 'some-password-1');
    expect(r.status).to.equal(401);
    expect(r.body).to.include('Unknown user name or wrong password.');
  });

  it('counts portal failures, throttles and lockouts in /metrics under channel "portal"', async () => {
    for (let i = 0; i < 3; i++) await logIn('alice', `wrong-password-${i}`);
    await logIn('alice', PASSWORD); // throttled
    clock.advance(3_600_000);
    await logIn('alice', 'wrong-password-x'); // the fourth failure locks
    const metrics = await (await fetch(`${baseUrl}/metrics`)).text();
    expect(metrics).to.match(/^provisor_login_failures_total\{channel="portal"\} 4$/m);
    expect(metrics).to.match(/^provisor_login_throttled_total\{channel="portal",reason="user"\} 1$/m);
    expect(metrics).to.match(/^provisor_login_lockouts_total\{channel="portal"\} 1$/m);
  });
});
