import crypto from 'node:crypto';
import type { DataSource, Repository } from 'typeorm';
import { PortalSession } from '../../entities';
import type { Clock } from '../clock';
import { exclusive, execute, toSqlDate } from '../db/sql';
import { PORTAL_SQL } from './sql';

/** A logged-in portal user. The session keeps the user's name; the role and level are read again on every request. */
export interface Session {
  /** 32 random bytes, base64url: the cookie value. Never logged, never stored (the row keeps its hash). */
  readonly id: string;
  readonly userName: string;
  /** The synchronizer token every state-changing form of this session carries (derived from the id). */
  readonly csrfToken: string;
  readonly createdAt: number;
  readonly lastSeenAt: number;
}

export interface SessionLimits {
  /** A session ends after this long without a request. */
  readonly idleTimeoutMs: number;
  /** A session ends this long after log-in, however active. */
  readonly maxSessionMs: number;
}

/** A fresh random token: 32 bytes, base64url. */
export function randomToken(): string {
  return crypto.randomBytes(32).toString('base64url');
}

/** What a session id (or a log-in cookie's random part) looks like: 32 bytes in base64url. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/**
 * Compares two tokens in constant time. Both sides are hashed first so that
 * neither their lengths nor their contents leak through the timing.
 */
export function tokensEqual(given: string, expected: string): boolean {
  const a = crypto.createHash('sha256').update(given, 'utf8').digest();
  const b = crypto.createHash('sha256').update(expected, 'utf8').digest();
  return crypto.timingSafeEqual(a, b) && given.length > 0;
}

/** Log-ins between two sweeps of ended sessions (per process). */
const PRUNE_EVERY = 32;

/**
 * Portal sessions, rows of `portal_session` shared by every process on the
 * database, so any process serves any session and a log-out on one ends it
 * on all. The cookie carries a random id; the row is keyed by its SHA-256,
 * so the table gives nobody a session. The CSRF token is an HMAC of the id
 * under a fixed label: every process computes the same one, and it does not
 * reveal the id. Only a correct password creates a session, so strangers
 * cannot grow the table; ended sessions are swept as new ones are created.
 * The last-seen time is written at most every tenth of the idle timeout
 * (and at least every minute), not on every request.
 */
export class SessionStore {
  private readonly rows: Repository<PortalSession>;
  private readonly touchEveryMs: number;
  private sincePrune = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly limits: SessionLimits,
    private readonly clock: Clock,
  ) {
    this.rows = dataSource.getRepository(PortalSession);
    this.touchEveryMs = Math.min(60_000, Math.floor(limits.idleTimeoutMs / 10));
  }

  async create(userName: string): Promise<Session> {
    const now = this.clock.now();
    if (++this.sincePrune >= PRUNE_EVERY) {
      this.sincePrune = 0;
      await this.prune(now);
    }
    const id = randomToken();
    await exclusive(this.dataSource, () => this.rows.insert({ idHash: hashOf(id), userName, createdAt: new Date(now), lastSeenAt: new Date(now) }));
    return sessionOf(id, userName, now, now);
  }

  /** The live session with this id (and marks it used), or undefined when there is none or it ended. */
  async touch(id: string): Promise<Session | undefined> {
    if (!TOKEN.test(id)) return undefined; // not one of ours: no need to ask the database
    const idHash = hashOf(id);
    const row = await this.rows.findOneBy({ idHash });
    if (row === null) return undefined;
    const now = this.clock.now();
    const createdAt = row.createdAt.getTime();
    let lastSeenAt = row.lastSeenAt.getTime();
    if (now - lastSeenAt >= this.limits.idleTimeoutMs || now - createdAt >= this.limits.maxSessionMs) {
      await this.delete(id);
      return undefined;
    }
    if (now - lastSeenAt >= this.touchEveryMs) {
      lastSeenAt = now;
      await exclusive(this.dataSource, () => execute(this.dataSource, PORTAL_SQL.touchSession, [toSqlDate(new Date(now)), idHash, toSqlDate(new Date(now))]));
    }
    return sessionOf(id, row.userName, createdAt, lastSeenAt);
  }

  /** Ends one session (log-out, or a new log-in replacing it). */
  async delete(id: string): Promise<void> {
    if (!TOKEN.test(id)) return;
    await exclusive(this.dataSource, () => execute(this.dataSource, PORTAL_SQL.deleteSession, [hashOf(id)]));
  }

  /** Ends every session of a user (disabled, or no longer allowed in the portal); returns how many. */
  deleteForUser(userName: string): Promise<number> {
    return exclusive(this.dataSource, () => execute(this.dataSource, PORTAL_SQL.deleteUserSessions, [userName]));
  }

  /** Deletes the sessions that ended (idle too long, or too old); returns how many. */
  prune(now: number): Promise<number> {
    return exclusive(this.dataSource, () =>
      execute(this.dataSource, PORTAL_SQL.pruneSessions, [
        toSqlDate(new Date(now - this.limits.idleTimeoutMs)),
        toSqlDate(new Date(now - this.limits.maxSessionMs)),
      ]),
    );
  }
}

function hashOf(id: string): string {
  return crypto.createHash('sha256').update(id, 'utf8').digest('hex');
}

function sessionOf(id: string, userName: string, createdAt: number, lastSeenAt: number): Session {
  return { id, userName, csrfToken: crypto.createHmac('sha256', id).update('provisor portal csrf', 'utf8').digest('base64url'), createdAt, lastSeenAt };
}

/** How long a log-in form may be used after it was fetched. */
export const LOGIN_FORM_TTL_MS = 3_600_000;

/**
 * Log-in CSRF without server state: the log-in page sets a pre-session
 * cookie (random bytes and the time it was issued) and puts HMAC(key,
 * cookie) into the form; the POST must bring both, within an hour. The key
 * is derived from the secret key every process shares, so a form fetched
 * from one process may be posted to another.
 */
export class LoginTokens {
  constructor(
    private readonly key: Buffer,
    private readonly clock: Clock,
  ) {}

  issue(): { cookie: string; token: string } {
    const cookie = `${randomToken()}.${this.clock.now().toString(36)}`;
    return { cookie, token: this.sign(cookie) };
  }

  /** True when a pre-session cookie the browser brings is well formed and still young enough to be reused for a form. */
  usable(cookie: string | undefined): cookie is string {
    const issuedAt = issuedAtOf(cookie);
    return issuedAt !== undefined && this.fresh(issuedAt);
  }

  /** The token for a pre-session cookie the browser already has (re-rendering the form). */
  tokenFor(cookie: string): string {
    return this.sign(cookie);
  }

  verify(cookie: string | undefined, token: string | undefined): boolean {
    if (cookie === undefined || token === undefined) return false;
    const issuedAt = issuedAtOf(cookie);
    // Compared first, whatever the cookie, so a malformed one costs the same.
    const matches = tokensEqual(token, this.sign(cookie));
    return matches && issuedAt !== undefined && this.fresh(issuedAt);
  }

  private fresh(issuedAt: number): boolean {
    const age = this.clock.now() - issuedAt;
    // A little in the future is another process's clock, not a forgery (the HMAC says it is ours).
    return age < LOGIN_FORM_TTL_MS && age > -60_000;
  }

  private sign(cookie: string): string {
    return crypto.createHmac('sha256', this.key).update(cookie, 'utf8').digest('base64url');
  }
}

function issuedAtOf(cookie: string | undefined): number | undefined {
  const match = /^[A-Za-z0-9_-]{43}\.([0-9a-z]{1,12})$/.exec(cookie ?? '');
  if (match === null) return undefined;
  const at = parseInt(match[1] ?? '', 36);
  return Number.isSafeInteger(at) ? at : undefined;
}
