import crypto from 'node:crypto';
import type { User } from '../../entities';
import type { Principal } from '../auth/principal';
import { verifyPassword } from '../auth/passwords';
import type { SecretBox } from '../auth/secret-box';
import type { Clock } from '../clock';
import { ProvisorError } from '../errors';
import { child, findHeader, WSSE_NS, WSU_NS, type Envelope } from './envelope';

const PASSWORD_TEXT = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText';
const PASSWORD_DIGEST = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest';

export interface UsernameToken {
  readonly username: string;
  readonly password: string;
  readonly digest: boolean;
  /** Base64 as sent. */
  readonly nonce?: string;
  readonly created?: string;
}

export interface UserLookup {
  findByName(name: string): Promise<User | null>;
}

export interface AuthenticatorOptions {
  readonly maxTokenAgeSeconds: number;
  readonly maxClockSkewSeconds: number;
  /** How long a user row is trusted before it is read again (disable takes effect within this). */
  readonly userCacheMs?: number;
  /** Upper bound on remembered nonces; past it the oldest are dropped first. */
  readonly maxNonces?: number;
}

/** Extracts the UsernameToken from a WS-Security header, or undefined when there is none. */
export function readUsernameToken(envelope: Envelope): UsernameToken | undefined {
  const security = findHeader(envelope, WSSE_NS, 'Security');
  if (security === undefined) return undefined;
  const token = child(security, WSSE_NS, 'UsernameToken');
  if (token === undefined) return undefined;
  const username = child(token, WSSE_NS, 'Username')?.text.trim();
  const password = child(token, WSSE_NS, 'Password');
  if (username === undefined || username === '' || password === undefined) {
    throw new ProvisorError('AuthenticationFailed', 'the UsernameToken needs a Username and a Password');
  }
  const type = password.attrs.Type ?? PASSWORD_TEXT;
  if (type !== PASSWORD_TEXT && type !== PASSWORD_DIGEST) {
    throw new ProvisorError('AuthenticationFailed', `password type "${type}" is not PasswordText or PasswordDigest`);
  }
  return {
    username,
    password: password.text,
    digest: type === PASSWORD_DIGEST,
    nonce: child(token, WSSE_NS, 'Nonce')?.text.trim(),
    created: (child(token, WSU_NS, 'Created') ?? child(token, WSSE_NS, 'Created'))?.text.trim(),
  };
}

/**
 * Verifies WS-Security UsernameTokens (PasswordText and PasswordDigest) with
 * replay protection: a Created outside the freshness window or a Nonce seen
 * before within it is refused.
 *
 * scrypt costs tens of milliseconds by design, so a verified (user, password)
 * pair is remembered for as long as the user row is: the check per request is
 * then one SHA-256. The nonce cache is per process; several processes behind
 * one address each keep their own (see docs/operations.md).
 */
export class Authenticator {
  private readonly users = new Map<string, { user: User | null; until: number }>();
  private readonly verified = new Map<string, number>();
  private readonly digestSecrets = new Map<string, string>();
  private readonly nonces = new Map<string, number>();
  private readonly userCacheMs: number;
  private readonly maxNonces: number;

  constructor(
    private readonly lookup: UserLookup,
    private readonly secrets: SecretBox,
    private readonly clock: Clock,
    private readonly options: AuthenticatorOptions,
  ) {
    this.userCacheMs = options.userCacheMs ?? 1000;
    this.maxNonces = options.maxNonces ?? 1_000_000;
  }

  async authenticate(token: UsernameToken | undefined): Promise<Principal> {
    if (token === undefined) {
      throw new ProvisorError('AuthenticationFailed', 'authentication required: send a WS-Security UsernameToken header');
    }
    const now = this.clock.now();
    if (token.created !== undefined) this.checkCreated(token.created, now);
    if (token.digest && (token.nonce === undefined || token.created === undefined)) {
      throw new ProvisorError('AuthenticationFailed', 'a PasswordDigest token needs a Nonce and a Created');
    }
    const user = await this.findUser(token.username, now);
    if (user === null || user.disabled) {
      throw new ProvisorError('AuthenticationFailed', `unknown user or wrong password for "${token.username}"`);
    }
    const ok = token.digest ? this.checkDigest(user, token) : await this.checkText(user, token.password);
    if (!ok) throw new ProvisorError('AuthenticationFailed', `unknown user or wrong password for "${token.username}"`);
    // The nonce is remembered only once the token is proven genuine, so a forger cannot burn a client's nonces.
    if (token.nonce !== undefined) this.rememberNonce(token.nonce, now);
    return { userId: user.id, name: user.name, role: user.role, accountId: user.accountId, level: user.level };
  }

  private checkCreated(created: string, now: number): void {
    const at = Date.parse(created);
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(created) || Number.isNaN(at)) {
      throw new ProvisorError('TokenExpired', `Created "${created}" is not an xsd:dateTime with a time zone`);
    }
    if (now - at > this.options.maxTokenAgeSeconds * 1000) {
      throw new ProvisorError('TokenExpired', `the token was created at ${created}, more than ${this.options.maxTokenAgeSeconds} s ago`);
    }
    if (at - now > this.options.maxClockSkewSeconds * 1000) {
      throw new ProvisorError('TokenExpired', `the token's Created ${created} is more than ${this.options.maxClockSkewSeconds} s in the future`);
    }
  }

  private rememberNonce(nonce: string, now: number): void {
    const seenUntil = this.nonces.get(nonce);
    if (seenUntil !== undefined && seenUntil > now) {
      throw new ProvisorError('NonceReplayed', 'this Nonce was already used: every message needs a fresh one');
    }
    // Any token carrying this nonce is outside the window after this time.
    this.nonces.set(nonce, now + (this.options.maxTokenAgeSeconds + this.options.maxClockSkewSeconds) * 1000);
    if (this.nonces.size > this.maxNonces || this.nonces.size % 1024 === 0) this.pruneNonces(now);
  }

  private pruneNonces(now: number): void {
    // Insertion order is roughly expiry order: drop from the front.
    for (const [nonce, until] of this.nonces) {
      if (until > now && this.nonces.size <= this.maxNonces) break;
      this.nonces.delete(nonce);
    }
  }

  private async findUser(name: string, now: number): Promise<User | null> {
    const cached = this.users.get(name);
    if (cached !== undefined && cached.until > now) return cached.user;
    const user = await this.lookup.findByName(name);
    this.users.set(name, { user, until: now + this.userCacheMs });
    if (this.users.size > 10_000) this.users.clear();
    return user;
  }

  private async checkText(user: User, password: string): Promise<boolean> {
    const key = `${user.id}\u0000${user.passwordHash}\u0000${crypto.createHash('sha256').update(password).digest('base64')}`;
    if (this.verified.has(key)) return true;
    if (!(await verifyPassword(password, user.passwordHash))) return false;
    if (this.verified.size > 10_000) this.verified.clear();
    this.verified.set(key, 1);
    return true;
  }

  private checkDigest(user: User, token: UsernameToken): boolean {
    if (user.digestSecret === null) return false;
    let password = this.digestSecrets.get(user.digestSecret);
    if (password === undefined) {
      password = this.secrets.decrypt(user.digestSecret);
      if (password === undefined) return false;
      if (this.digestSecrets.size > 10_000) this.digestSecrets.clear();
      this.digestSecrets.set(user.digestSecret, password);
    }
    const expected = crypto
      .createHash('sha1')
      .update(Buffer.concat([Buffer.from(token.nonce ?? '', 'base64'), Buffer.from(token.created ?? '', 'utf8'), Buffer.from(password, 'utf8')]))
      .digest();
    const given = Buffer.from(token.password.trim(), 'base64');
    return given.length === expected.length && crypto.timingSafeEqual(given, expected);
  }
}
