import crypto from 'node:crypto';
import { expect } from 'chai';
import type { DataSource } from 'typeorm';
import { AddressThrottle } from '../src/auth/address-throttle';
import { NonceStore } from '../src/auth/nonce-store';
import { SecretBox } from '../src/auth/secret-box';
import { UserStore } from '../src/auth/users';
import { ManualClock } from '../src/clock';
import { loadConfig } from '../src/config';
import { LOGIN_FORM_TTL_MS, LoginTokens, SessionStore } from '../src/portal/sessions';
import { withFreshDataSource } from './support/harness';

/** The state processes share through the database, driven through two store objects per table as two processes would hold them. */
describe('state shared by every process on the database', function () {
  this.timeout(60_000);
  let dataSource: DataSource;
  withFreshDataSource((opened) => (dataSource = opened));

  async function count(table: string): Promise<number> {
    const rows = (await dataSource.query(`SELECT COUNT(*) AS n FROM ${table}`)) as Array<{ n: unknown }>;
    return Number(rows[0]?.n);
  }

  describe('the nonce store', () => {
    const now = Date.UTC(2026, 0, 1);

    it('takes a nonce once: a second use is refused whichever store it reaches, until its time runs out', async () => {
      const a = new NonceStore(dataSource);
      const b = new NonceStore(dataSource);
      const nonce = crypto.randomBytes(16);
      expect(await a.remember(nonce, now + 1000, now)).to.equal(true);
      expect(await a.remember(nonce, now + 1000, now), 'again on the same store').to.equal(false);
      expect(await b.remember(nonce, now + 1000, now + 500), 'on the other store').to.equal(false);
      // Once its time ran out (and before any prune) the row counts for nothing: the nonce may be taken again.
      expect(await b.remember(nonce, now + 3000, now + 1000)).to.equal(true);
      expect(await a.remember(nonce, now + 3000, now + 2000)).to.equal(false);
    });

    it('gives a nonce sent to many stores at the same moment to exactly one of them', async () => {
      const stores = Array.from({ length: 8 }, () => new NonceStore(dataSource));
      for (let round = 0; round < 10; round++) {
        const nonce = crypto.randomBytes(24);
        const results = await Promise.all(stores.map((store) => store.remember(nonce, now + 1000, now)));
        expect(results.filter((fresh) => fresh), `round ${round}`).to.have.length(1);
      }
    });

    it('keeps the nonce bytes only as a hash, and its prune deletes expired rows only', async () => {
      const store = new NonceStore(dataSource);
      const nonce = Buffer.from('a nonce whose bytes must not be stored');
      await store.remember(nonce, now + 20_000, now);
      const rows = (await dataSource.query('SELECT hash FROM ws_nonce')) as Array<{ hash: string }>;
      expect(rows.map((r) => r.hash)).to.include(NonceStore.keyOf(nonce));
      expect(JSON.stringify(rows)).to.not.include(nonce.toString('base64'));
      const early = crypto.randomBytes(16);
      await store.remember(early, now + 5000, now);
      const before = await count('ws_nonce');
      const pruned = await store.prune(now + 10_000);
      expect(pruned).to.be.greaterThan(0);
      expect(await count('ws_nonce')).to.equal(before - pruned);
      const hashes = ((await dataSource.query('SELECT hash FROM ws_nonce')) as Array<{ hash: string }>).map((r) => r.hash);
      expect(hashes, 'a live nonce survives the prune').to.include(NonceStore.keyOf(nonce));
      expect(hashes, 'an expired one goes').to.not.include(NonceStore.keyOf(early));
      expect(await store.remember(nonce, now + 30_000, now + 15_000), 'and still refuses its replay').to.equal(false);
    });
  });

  describe('portal sessions', () => {
    const limits = { idleTimeoutMs: 10_000, maxSessionMs: 50_000 };

    it('are served by any store, with the same CSRF token, and a log-out on one ends them on the other', async () => {
      const clock = new ManualClock(Date.UTC(2026, 0, 1));
      const a = new SessionStore(dataSource, limits, clock);
      const b = new SessionStore(dataSource, limits, clock);
      const session = await a.create('alice');
      expect(Buffer.from(session.id, 'base64url')).to.have.length(32);
      const seen = await b.touch(session.id);
      expect(seen?.userName).to.equal('alice');
      expect(seen?.csrfToken).to.equal(session.csrfToken);
      expect(session.csrfToken).to.not.equal(session.id);
      await b.delete(session.id);
      expect(await a.touch(session.id)).to.equal(undefined);
    });

    it('are stored by a hash of their id, never the id', async () => {
      const clock = new ManualClock(Date.UTC(2026, 0, 1));
      const store = new SessionStore(dataSource, limits, clock);
      const session = await store.create('hash-check');
      const rows = (await dataSource.query("SELECT * FROM portal_session WHERE userName = 'hash-check'")) as Array<Record<string, unknown>>;
      expect(rows).to.have.length(1);
      expect(JSON.stringify(rows)).to.not.include(session.id);
      expect(rows[0]?.idHash).to.equal(crypto.createHash('sha256').update(session.id).digest('hex'));
    });

    it('end after the idle timeout and after the maximum lifetime however active, on every store', async () => {
      const clock = new ManualClock(Date.UTC(2026, 0, 1));
      const a = new SessionStore(dataSource, limits, clock);
      const b = new SessionStore(dataSource, limits, clock);
      const idle = await a.create('idle');
      clock.advance(10_000);
      expect(await b.touch(idle.id)).to.equal(undefined);
      const busy = await a.create('busy');
      // Requests alternate between the two stores: each keeps the session alive for the other.
      for (let step = 1; clock.now() < busy.createdAt + 50_000 - 5000; step++) {
        clock.advance(5000);
        expect(await (step % 2 === 0 ? a : b).touch(busy.id), `after ${step * 5} s`).to.not.equal(undefined);
      }
      clock.advance(5000);
      expect(await a.touch(busy.id)).to.equal(undefined);
    });

    it('refuse ids that are not theirs without error: malformed, unknown, empty', async () => {
      const clock = new ManualClock(Date.UTC(2026, 0, 1));
      const store = new SessionStore(dataSource, limits, clock);
      for (const id of ['', 'x', 'a'.repeat(10_000), "' OR 1=1 --", crypto.randomBytes(32).toString('base64url')]) {
        expect(await store.touch(id), JSON.stringify(id.slice(0, 20))).to.equal(undefined);
        await store.delete(id);
      }
    });

    it('of a user are all deleted when the user is disabled, and the sweep deletes ended ones', async () => {
      const clock = new ManualClock(Date.UTC(2026, 0, 1));
      const store = new SessionStore(dataSource, limits, clock);
      const users = new UserStore(dataSource, SecretBox.load(crypto.randomBytes(32).toString('hex'), '/nonexistent/key'));
      await users.addUser({ name: 'carol', role: 'admin', password: 'carol-secret-password' });
      const sessions = [await store.create('carol'), await store.create('carol')];
      const other = await store.create('dave');
      await users.disable('carol');
      for (const s of sessions) expect(await store.touch(s.id)).to.equal(undefined);
      expect(await store.touch(other.id)).to.not.equal(undefined);
      clock.advance(limits.idleTimeoutMs);
      expect(await store.prune(clock.now())).to.be.greaterThan(0);
      const left = (await dataSource.query("SELECT userName FROM portal_session WHERE userName = 'dave'")) as unknown[];
      expect(left, 'the ended session of dave').to.have.length(0);
    });
  });

  describe('log-in form tokens', () => {
    const key = crypto.randomBytes(32);

    it('issued by one process are accepted by another with the same key, and refused under another key', () => {
      const clock = new ManualClock(Date.UTC(2026, 0, 1));
      const a = new LoginTokens(key, clock);
      const b = new LoginTokens(Buffer.from(key), clock);
      const other = new LoginTokens(crypto.randomBytes(32), clock);
      const { cookie, token } = a.issue();
      expect(b.verify(cookie, token)).to.equal(true);
      expect(b.tokenFor(cookie)).to.equal(token);
      expect(other.verify(cookie, token)).to.equal(false);
      expect(b.verify(a.issue().cookie, token), 'another cookie').to.equal(false);
      expect(b.verify(undefined, token)).to.equal(false);
      expect(b.verify(cookie, undefined)).to.equal(false);
    });

    it('derive their key from the secret key: every process with the key derives the same one, another purpose another', () => {
      const secret = crypto.randomBytes(32).toString('hex');
      const one = SecretBox.load(secret, '/nonexistent/key');
      const two = SecretBox.load(secret, '/nonexistent/key');
      expect(one.deriveKey('portal login form').equals(two.deriveKey('portal login form'))).to.equal(true);
      expect(one.deriveKey('portal login form').equals(one.deriveKey('something else'))).to.equal(false);
      expect(one.deriveKey('portal login form').toString('hex')).to.not.equal(secret);
    });

    it('expire an hour after they were issued, and a tampered issue time is refused', () => {
      const clock = new ManualClock(Date.UTC(2026, 0, 1));
      const tokens = new LoginTokens(key, clock);
      const { cookie, token } = tokens.issue();
      clock.advance(LOGIN_FORM_TTL_MS - 1);
      expect(tokens.verify(cookie, token)).to.equal(true);
      expect(tokens.usable(cookie)).to.equal(true);
      clock.advance(1);
      expect(tokens.verify(cookie, token)).to.equal(false);
      expect(tokens.usable(cookie)).to.equal(false);
      const [random] = cookie.split('.');
      const moved = `${random ?? ''}.${clock.now().toString(36)}`;
      expect(tokens.verify(moved, token), 'the same token with a later issue time').to.equal(false);
      for (const bad of ['', 'x.1', `${random ?? ''}`, `${random ?? ''}.zzzzzzzzzzzzz`, `${random ?? ''}.-1`]) expect(tokens.usable(bad), bad).to.equal(false);
    });
  });

  describe('the per-address log-in throttle', () => {
    const policy = { ...loadConfig({}, '/tmp').login, addressFreeFailures: 3, initialDelayMs: 1000, resetAfterMs: 60_000 };

    it('counts failures from every process together: the wait earned on one holds on the other', async () => {
      const a = new AddressThrottle(policy, dataSource);
      const b = new AddressThrottle(policy, dataSource);
      const now = Date.UTC(2026, 0, 1);
      const address = '198.51.100.7';
      for (let i = 0; i < 2; i++) await a.fail(a.claim(address), now);
      await b.fail(b.claim(address), now);
      expect(await a.retryAt(address, now), 'three free failures, spread over both').to.equal(undefined);
      await a.fail(a.claim(address), now);
      expect(await b.retryAt(address, now)).to.equal(now + 1000);
      expect(await b.retryAt(address, now + 1000)).to.equal(undefined);
      await b.fail(b.claim(address), now + 1000);
      expect(await a.retryAt(address, now + 1000), 'the wait doubles').to.equal(now + 3000);
      expect(await a.retryAt('198.51.100.8', now), 'another address').to.equal(undefined);
    });

    it('counts failures raced from many processes at once, none lost', async () => {
      const throttles = Array.from({ length: 6 }, () => new AddressThrottle({ ...policy, addressFreeFailures: 1000 }, dataSource));
      const now = Date.UTC(2026, 0, 1);
      const address = '2001:db8::race';
      await Promise.all(throttles.flatMap((t) => [0, 1, 2].map(() => t.fail(t.claim(address), now))));
      const rows = (await dataSource.query('SELECT failures FROM login_address WHERE address = ?', [address])) as Array<{ failures: unknown }>;
      expect(Number(rows[0]?.failures)).to.equal(18);
    });

    it('forgets an address after the reset time, and its housekeeping deletes the forgotten rows', async () => {
      const throttle = new AddressThrottle(policy, dataSource);
      const now = Date.UTC(2026, 0, 1);
      const address = '203.0.113.9';
      for (let i = 0; i < 4; i++) await throttle.fail(throttle.claim(address), now);
      expect(await throttle.retryAt(address, now)).to.equal(now + 1000);
      expect(await throttle.retryAt(address, now + policy.resetAfterMs)).to.equal(undefined);
      expect(await throttle.prune(now + policy.resetAfterMs + 1)).to.be.greaterThan(0);
      const rows = (await dataSource.query('SELECT address FROM login_address WHERE address = ?', [address])) as unknown[];
      expect(rows).to.have.length(0);
    });
  });
});
