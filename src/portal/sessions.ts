import crypto from 'node:crypto';
import type { Clock } from '../clock';

/** A logged-in portal user. The session keeps the user's name; the role and level are read again on every request. */
export interface Session {
  /** 32 random bytes, base64url: the cookie value. Never logged. */
  readonly id: string;
  readonly userName: string;
  /** The synchronizer token every state-changing form of this session carries. */
  readonly csrfToken: string;
  readonly createdAt: number;
  lastSeenAt: number;
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

/**
 * Compares two tokens in constant time. Both sides are hashed first so that
 * neither their lengths nor their contents leak through the timing.
 */
export function tokensEqual(given: string, expected: string): boolean {
  const a = crypto.createHash('sha256').update(given, 'utf8').digest();
  const b = crypto.createHash('sha256').update(expected, 'utf8').digest();
  return crypto.timingSafeEqual(a, b) && given.length > 0;
}

/**
 * Portal sessions, in this process's memory, keyed by the random id in the
 * cookie. Deliberately simple: a restart logs everyone out, and several
 * Provisor processes behind one address need sticky routing (or a shared
 * store in place of this class). Only a correct password creates a session,
 * so the map cannot be grown by strangers; expired sessions are swept as new
 * ones are created.
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly limits: SessionLimits,
    private readonly clock: Clock,
  ) {}

  create(userName: string): Session {
    this.sweep();
    const now = this.clock.now();
    const session: Session = { id: randomToken(), userName, csrfToken: randomToken(), createdAt: now, lastSeenAt: now };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session with this id (and marks it used), or undefined when there is none or it expired. */
  touch(id: string): Session | undefined {
    const session = this.sessions.get(id);
    if (session === undefined) return undefined;
    const now = this.clock.now();
    if (this.expired(session, now)) {
      this.sessions.delete(id);
      return undefined;
    }
    session.lastSeenAt = now;
    return session;
  }

  delete(id: string): void {
    this.sessions.delete(id);
  }

  get size(): number {
    return this.sessions.size;
  }

  private expired(session: Session, now: number): boolean {
    return now - session.lastSeenAt >= this.limits.idleTimeoutMs || now - session.createdAt >= this.limits.maxSessionMs;
  }

  private sweep(): void {
    const now = this.clock.now();
    for (const [id, session] of this.sessions) if (this.expired(session, now)) this.sessions.delete(id);
  }
}

/**
 * Log-in CSRF without server state: the log-in page sets a random pre-session
 * cookie and puts HMAC(key, cookie) into the form; the POST must bring both.
 * The key is random per process, like the sessions it leads to.
 */
export class LoginTokens {
  private readonly key = crypto.randomBytes(32);

  issue(): { cookie: string; token: string } {
    const cookie = randomToken();
    return { cookie, token: this.sign(cookie) };
  }

  /** The token for a pre-session cookie the browser already has (re-rendering the form). */
  tokenFor(cookie: string): string {
    return this.sign(cookie);
  }

  verify(cookie: string | undefined, token: string | undefined): boolean {
    if (cookie === undefined || token === undefined || cookie === '') return false;
    return tokensEqual(token, this.sign(cookie));
  }

  private sign(cookie: string): string {
    return crypto.createHmac('sha256', this.key).update(cookie, 'utf8').digest('base64url');
  }
}
