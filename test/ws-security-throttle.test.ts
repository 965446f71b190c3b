import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import winston from 'winston';
import { buildApp, type App } from '../src/app';
import { AddressThrottle } from '../src/auth/address-throttle';
import { LoginGuard } from '../src/auth/login-guard';
import { LoginStateStore } from '../src/auth/login-state-store';
import { NonceStore } from '../src/auth/nonce-store';
import { verifyPassword } from '../src/auth/passwords';
import { SecretBox } from '../src/auth/secret-box';
import { UserStore } from '../src/auth/users';
import { ManualClock } from '../src/clock';
import { ConfigError, loadConfig, type Config } from '../src/config';
import { openDatabase } from '../src/db/data-source';
import { createLogger } from '../src/log';
import { Metrics } from '../src/metrics';
import { Authenticator, type UsernameToken } from '../src/soap/ws-security';
import { freshEnvironment } from './support/harness';
import { envelope, securityHeader, type Credentials } from './support/soap-client';


const LOGIN_SETTINGS = {
  PROVISOR_LOGIN_FREE_FAILURES: '2',
  PROVISOR_LOGIN_LOCK_AFTER: '5',
  PROVISOR_LOGIN_DELAY_MS: '1000',
  PROVISOR_LOGIN_MAX_DELAY_MS: '60000',
  PROVISOR_LOGIN_ADDRESS_FREE_FAILURES: '0',
};

const alice = { username: 'alice', password: 'alice-secret-password' };
const GET_STATUS = '<r:GetStatus xmlns:r="urn:provisor:request:1"><r:requestId>no-such-request</r:requestId></r:GetStatus>';

function faultCode(body: string): string | undefined {
  return /<p:code>([^<]*)<\/p:code>/.exec(body)?.[1];
}

function faultReason(body: string): string {
  const text = /<faultstring>([^<]*)<\/faultstring>/.exec(body)?.[1] ?? '';
  return text.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

interface Node {
  readonly app: App;
  readonly url: string;
}

/**
 * Two Provisor apps (as two processes would be) on one fresh database, with
 * one hand-moved clock and a log captured as JSON lines.
 */
async function twoNodes(extra: Record<string, string> = {}): Promise<{ nodes: [Node, Node]; clock: ManualClock; config: Config; logLines: string[]; close(): Promise<void> }> {
  const environment = await freshEnvironment({ PROVISOR_ENGINE: 'false', PROVISOR_WORKFLOW: 'false', PROVISOR_WORKORDER_AUTOMATION: 'false', PROVISOR_CATALOG_LOAD: 'false', ...LOGIN_SETTINGS, ...extra });
  const config = loadConfig(environment.env);
  const dataSource = await openDatabase(config);
  const clock = new ManualClock(Date.now());
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString());
      done();
    },
  });
  const logger = winston.createLogger({ level: 'info', format: winston.format.json(), transports: [new winston.transports.Stream({ stream: sink })] });
  const apps = [await buildApp({ config, logger, dataSource, clock }), await buildApp({ config, logger, dataSource, clock })];
  const nodes = (await Promise.all(apps.map(async (app) => ({ app, url: `http://127.0.0.1:${await app.listen(0, '127.0.0.1')}/soap/Request` })))) as [Node, Node];
  return {
    nodes,
    clock,
    config,
    logLines,
    async close() {
      for (const app of apps) await app.close(2000);
      await dataSource.destroy();
      await environment.cleanup();
    },
  };
}

describe('SOAP log-in throttling and lockout', function () {
  this.timeout(60_000);
  let setup: Awaited<ReturnType<typeof twoNodes>>;
  let node: Node;

  /** One GetStatus call; a call that got past authentication answers UnknownRequest. */
  async function call(credentials: Credentials, options: { digest?: boolean; to?: Node } = {}): Promise<{ code: string | undefined; reason: string; retryAfter: string | null }> {
    const header = securityHeader(credentials, { digest: options.digest, created: setup.clock.date() });
    const response = await fetch((options.to ?? node).url, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8' }, body: envelope(GET_STATUS, header) });
    const body = await response.text();
    return { code: faultCode(body), reason: faultReason(body), retryAfter: response.headers.get('retry-after') };
  }
  const wrong = (name = alice.username): Credentials => ({ username: name, password: `wrong-${crypto.randomUUID()}` });

  beforeEach(async () => {
    setup = await twoNodes();
    node = setup.nodes[0];
    await node.app.users.addUser({ name: alice.username, role: 'operator', password: alice.password });
  });
  afterEach(() => setup.close());

  it('answers the free failures, then refuses an attempt inside the wait unchecked (even with the right password), and checks again after it', async () => {
    expect((await call(wrong())).code).to.equal('AuthenticationFailed');
    expect((await call(wrong())).code).to.equal('AuthenticationFailed');
    // The third failure is the first that costs a wait: 1 s.
    expect((await call(wrong())).code).to.equal('AuthenticationFailed');
    const throttled = await call(alice);
    expect(throttled.code).to.equal('LoginThrottled');
    expect(throttled.reason).to.match(/too many failed log-ins for "alice": try again in 1 s/);
    expect(throttled.retryAfter).to.equal('1');
    setup.clock.advance(1000);
    expect((await call(alice)).code, 'after the wait the right password gets in').to.equal('UnknownRequest');
  });

  it('doubles the wait with each failure after the free ones', async () => {
    for (let i = 0; i < 2; i++) expect((await call(wrong())).code).to.equal('AuthenticationFailed');
    const waits: string[] = [];
    for (let i = 0; i < 2; i++) {
      expect((await call(wrong())).code).to.equal('AuthenticationFailed');
      const refused = await call(wrong());
      expect(refused.code).to.equal('LoginThrottled');
      waits.push(refused.retryAfter ?? '');
      setup.clock.advance(Number(refused.retryAfter) * 1000);
    }
    expect(waits).to.deep.equal(['1', '2']);
  });

  it('locks the account at the limit: the right password is refused with AccountLocked on every node, until it is unlocked', async () => {
    for (let i = 0; i < 5; i++) {
      expect((await call(wrong())).code, `failure ${i + 1}`).to.equal('AuthenticationFailed');
      setup.clock.advance(60_000);
    }
    // 200 more at once, then the right password: all refused unchecked.
    const codes = new Set<string | undefined>();
    for (let i = 0; i < 200; i++) codes.add((await call(wrong())).code);
    expect([...codes]).to.deep.equal(['AccountLocked']);
    const locked = await call(alice);
    expect(locked.code).to.equal('AccountLocked');
    expect(locked.reason).to.match(/the account "alice" is locked after too many failed log-ins; an administrator can unlock it \(provisor user unlock alice\)/);
    expect((await call(alice, { digest: true })).code, 'PasswordDigest too').to.equal('AccountLocked');
    expect((await call(alice, { to: setup.nodes[1] })).code, 'the other node').to.equal('AccountLocked');
    setup.clock.advance(24 * 3_600_000);
    expect((await call(alice)).code, 'a lock does not wear off').to.equal('AccountLocked');

    expect(await node.app.users.unlock('alice')).to.equal(true);
    expect((await call(alice)).code).to.equal('UnknownRequest');
    expect((await call(alice, { to: setup.nodes[1] })).code).to.equal('UnknownRequest');
  });

  it('holds a lockout made on one node on the other within the user cache time, even for a client whose password the other node had verified', async () => {
    expect((await call(alice, { to: setup.nodes[1] })).code).to.equal('UnknownRequest');
    for (let i = 0; i < 5; i++) {
      expect((await call(wrong())).code).to.equal('AuthenticationFailed');
      setup.clock.advance(60_000);
    }
    expect((await call(alice, { to: setup.nodes[1] })).code).to.equal('AccountLocked');
  });

  it('checks no more than the free failures (plus the one that starts the wait) of 20 attempts sent at once, over both nodes', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => call(wrong(), { to: setup.nodes[i % 2] })));
    const checked = answers.filter((a) => a.code === 'AuthenticationFailed').length;
    expect(checked).to.equal(3);
    expect(answers.filter((a) => a.code === 'LoginThrottled')).to.have.length(17);
  });

  it('lets in 20 requests sent at once with the right password by a client not seen before (one check serves them all)', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, () => call(alice)));
    expect(answers.map((a) => a.code)).to.deep.equal(Array.from({ length: 20 }, () => 'UnknownRequest'));
  });

  it('refuses a user name longer than any user\'s as a wrong password (a Client fault), however often', async () => {
    const long = 'x'.repeat(300);
    for (let i = 0; i < 8; i++) {
      const r = await call(wrong(long));
      expect(r.code).to.equal('AuthenticationFailed');
      expect(r.reason).to.match(/^unknown user or wrong password for "x+"$/);
    }
  });

  it('resets the failure count on a successful log-in', async () => {
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 2; i++) expect((await call(wrong())).code).to.equal('AuthenticationFailed');
      expect((await call(alice)).code).to.equal('UnknownRequest');
    }
    const rows = (await node.app.dataSource.query('SELECT COUNT(*) AS n FROM login_state')) as Array<{ n: unknown }>;
    expect(Number(rows[0]?.n)).to.equal(0);
  });

  it('counts wrong PasswordDigest tokens like wrong passwords', async () => {
    for (let i = 0; i < 5; i++) {
      expect((await call(wrong(), { digest: true })).code).to.equal('AuthenticationFailed');
      setup.clock.advance(60_000);
    }
    expect((await call(alice, { digest: true })).code).to.equal('AccountLocked');
  });

  it('treats a name nobody has exactly like a real one: the same answers, throttled and locked alike', async () => {
    const answers = async (name: string): Promise<string[]> => {
      const seen: string[] = [];
      for (let i = 0; i < 6; i++) {
        seen.push(`${(await call(wrong(name))).code ?? ''}`);
        seen.push(`${(await call(wrong(name))).code ?? ''}`);
        setup.clock.advance(60_000);
      }
      return seen;
    };
    const real = await answers('alice');
    const nobody = await answers('nobody-by-this-name');
    expect(nobody).to.deep.equal(real);
    expect(real).to.include('LoginThrottled').and.include('AccountLocked');
  });

  it('logs each throttled attempt and lockout without the password, and counts failures, throttles and lockouts in /metrics', async () => {
    const secret = wrong();
    for (let i = 0; i < 3; i++) await call(secret);
    await call(secret); // throttled
    for (let i = 0; i < 2; i++) {
      setup.clock.advance(60_000);
      await call(secret);
    }
    await call(alice); // locked
    const log = setup.logLines.join('');
    expect(log).to.not.contain(secret.password).and.not.contain(alice.password);
    const entries = setup.logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(entries.filter((e) => e.message === 'login: attempt throttled' && e.user === 'alice' && e.scope === 'user' && e.channel === 'soap')).to.have.length(1);
    expect(entries.filter((e) => e.message === 'login: account locked after failed log-ins' && e.user === 'alice' && e.failures === 5)).to.have.length(1);
    expect(entries.filter((e) => e.message === 'login: refused, account locked' && e.user === 'alice')).to.have.length(1);
    const metrics = await (await fetch(node.url.replace('/soap/Request', '/metrics'))).text();
    expect(metrics).to.match(/^provisor_login_failures_total\{channel="soap"\} 5$/m);
    expect(metrics).to.match(/^provisor_login_throttled_total\{channel="soap",reason="user"\} 1$/m);
    expect(metrics).to.match(/^provisor_login_throttled_total\{channel="soap",reason="locked"\} 1$/m);
    expect(metrics).to.match(/^provisor_login_lockouts_total\{channel="soap"\} 1$/m);
  });

  describe('per client address', () => {
    beforeEach(async () => {
      await setup.close();
      setup = await twoNodes({ PROVISOR_LOGIN_ADDRESS_FREE_FAILURES: '3', PROVISOR_LOGIN_FREE_FAILURES: '100', PROVISOR_LOGIN_LOCK_AFTER: '0' });
      node = setup.nodes[0];
      await node.app.users.addUser({ name: alice.username, role: 'operator', password: alice.password });
    });

    it('throttles an address that guesses many names, whatever name it tries next, and forgives it after the wait', async () => {
      for (let i = 0; i < 4; i++) expect((await call(wrong(`someone-${i}`))).code).to.equal('AuthenticationFailed');
      const refused = await call(alice);
      expect(refused.code).to.equal('LoginThrottled');
      expect(refused.reason).to.match(/too many failed log-ins from this address: try again in 1 s/);
      expect(refused.retryAfter).to.equal('1');
      setup.clock.advance(1000);
      expect((await call(alice)).code).to.equal('UnknownRequest');
    });

    it('lets in the first log-ins of many users sent at once from one address (attempts in flight are not failures)', async () => {
      const users = Array.from({ length: 12 }, (_, i) => ({ username: `user-${i}`, password: `user-${i}-secret-password` }));
      for (const user of users) await node.app.users.addUser({ name: user.username, role: 'operator', password: user.password });
      const answers = await Promise.all(users.map((user) => call(user)));
      expect(answers.map((a) => a.code)).to.deep.equal(users.map(() => 'UnknownRequest'));
      // The guesses that follow are still counted and throttled.
      for (let i = 0; i < 4; i++) expect((await call(wrong(`someone-${i}`))).code).to.equal('AuthenticationFailed');
      expect((await call(wrong('someone-more'))).code).to.equal('LoginThrottled');
    });

    it('is not cleared by a successful log-in from the same address', async () => {
      for (let i = 0; i < 3; i++) expect((await call(wrong(`someone-${i}`))).code).to.equal('AuthenticationFailed');
      expect((await call(alice)).code).to.equal('UnknownRequest');
      expect((await call(wrong('someone-else'))).code).to.equal('AuthenticationFailed');
      expect((await call(wrong('someone-more'))).code).to.equal('LoginThrottled');
    });
  });
});

describe('log-in settings', () => {
  it('have documented defaults, and bad values stop the start with a message naming the setting', () => {
    expect(loadConfig({}, '/tmp').login).to.deep.equal({ lockAfterFailures: 10, freeFailures: 5, initialDelayMs: 1000, maxDelayMs: 900_000, addressFreeFailures: 20, resetAfterMs: 1440 * 60_000 });
    expect(() => loadConfig({ PROVISOR_LOGIN_LOCK_AFTER: 'ten' }, '/tmp')).to.throw(ConfigError, /PROVISOR_LOGIN_LOCK_AFTER must be an integer/);
    expect(() => loadConfig({ PROVISOR_LOGIN_FREE_FAILURES: '-1' }, '/tmp')).to.throw(ConfigError, /PROVISOR_LOGIN_FREE_FAILURES must be between 0 and 1000/);
    expect(() => loadConfig({ PROVISOR_LOGIN_DELAY_MS: '5000', PROVISOR_LOGIN_MAX_DELAY_MS: '1000' }, '/tmp')).to.throw(ConfigError, /PROVISOR_LOGIN_MAX_DELAY_MS must not be below PROVISOR_LOGIN_DELAY_MS/);
    expect(Object.isFrozen(loadConfig({}, '/tmp').login)).to.equal(true);
  });

  it('are each documented in docs/operations.md under "Log-in throttling and lockout"', () => {
    const source = fs.readFileSync(path.join(__dirname, '..', '..', 'src', 'config.ts'), 'utf8');
    const doc = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'operations.md'), 'utf8');
    const section = doc.slice(doc.indexOf('### Log-in throttling and lockout'));
    expect(doc).to.match(/^## Security$/m);
    const names = [...new Set([...source.matchAll(/'(PROVISOR_LOGIN_[A-Z_]+)'/g)].map((m) => m[1] ?? ''))];
    expect(names).to.have.length(6);
    for (const name of names) expect(section, name).to.contain(`\`${name}\``);
  });
});

describe('the login_state store', function () {
  this.timeout(60_000);

  it('forgets failures after the reset time, and its housekeeping drops them and strangers\' locks but keeps users\' locks', async () => {
    const environment = await freshEnvironment();
    const config = loadConfig(environment.env);
    const dataSource = await openDatabase(config);
    try {
      const users = new UserStore(dataSource, SecretBox.load(config.secretKey, config.secretKeyFile));
      await users.addUser({ name: 'alice', role: 'operator', password: alice.password });
      const policy = { ...config.login, lockAfterFailures: 2, resetAfterMs: 60_000 };
      const store = new LoginStateStore(dataSource, policy);
      const t0 = Date.now();
      await store.claim('alice', t0);
      await store.claim('alice', t0);
      await store.claim('stranger', t0);
      await store.claim('stranger', t0);
      await store.claim('forgetful', t0);
      expect((await store.read('forgetful', t0)).failures).to.equal(1);
      expect((await store.read('forgetful', t0 + 60_000)).failures, 'forgotten after the reset time').to.equal(0);
      expect(await store.prune(t0 + 60_001)).to.equal(2);
      expect((await store.read('alice', t0 + 60_001)).lockedAt, 'a user stays locked').to.be.instanceOf(Date);
      expect((await store.read('stranger', t0 + 60_001)).lockedAt).to.equal(null);
    } finally {
      await dataSource.destroy();
      await environment.cleanup();
    }
  });
});

describe('SOAP log-in: the same work whether or not the user exists', function () {
  this.timeout(60_000);

  it('runs the password verification (against a hash of the same cost) for unknown and disabled users too', async () => {
    const environment = await freshEnvironment();
    const config = loadConfig(environment.env);
    const dataSource = await openDatabase(config);
    try {
      const secrets = SecretBox.load(config.secretKey, config.secretKeyFile);
      const users = new UserStore(dataSource, secrets);
      await users.addUser({ name: 'alice', role: 'operator', password: alice.password });
      await users.addUser({ name: 'gone', role: 'operator', password: 'gone-secret-password' });
      await users.disable('gone');
      const clock = { now: () => Date.now(), date: () => new Date() };
      const guard = new LoginGuard(new LoginStateStore(dataSource, config.login), new AddressThrottle(config.login, dataSource), clock, createLogger('error'), new Metrics());
      const hashes: string[] = [];
      const auth = new Authenticator(users, secrets, guard, clock, {
        nonces: new NonceStore(dataSource),
        maxTokenAgeSeconds: 300,
        maxClockSkewSeconds: 60,
        verifyPassword: (password, stored) => {
          hashes.push(stored);
          return verifyPassword(password, stored);
        },
      });
      const token = (username: string, password: string): UsernameToken => ({ username, password, digest: false });
      const refusals: string[] = [];
      const attempts: Array<[string, string]> = [['nobody', 'some-password'], ['gone', 'gone-secret-password'], ['alice', 'wrong-password']];
      for (const [name, password] of attempts) {
        await auth.authenticate(token(name, password), '192.0.2.1').then(
          () => expect.fail(`${name} got in`),
          (err: { code?: string }) => refusals.push(err.code ?? ''),
        );
      }
      expect(refusals).to.deep.equal(['AuthenticationFailed', 'AuthenticationFailed', 'AuthenticationFailed']);
      expect(hashes, 'one scrypt verification per attempt').to.have.length(3);
      const [forNobody, forDisabled, forAlice] = hashes;
      const params = (hash: string | undefined): string => (hash ?? '').split('$').slice(0, 4).join('$');
      expect(params(forNobody), 'the dummy hash has the real cost').to.equal(params(forAlice));
      expect(forDisabled).to.equal(forNobody);
      expect(forAlice).to.not.equal(forNobody);
    } finally {
      await dataSource.destroy();
      await environment.cleanup();
    }
  });
});
