import crypto from 'node:crypto';
import type { User } from '../../entities';
import type { LoginGuard } from '../auth/login-guard';
import type { LoginStanding } from '../auth/login-state-store';
import { dummyPasswordHash, verifyPassword } from '../auth/passwords';
import type { Principal } from '../auth/principal';
import type { SecretBox } from '../auth/secret-box';
import type { Clock } from '../clock';
import { ProvisorError } from '../errors';
import { child, findHeader, WSSE_NS, WSU_NS, type Envelope } from './envelope';

const PASSWORD_TEXT = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText';
const PASSWORD_DIGEST = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest';
const BASE64_BINARY = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary';
/** Canonical base64: the standard alphabet in groups of four, `=` padding only at the end, nothing else. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Clients send 16 to 32 random bytes; anything far longer is not a nonce. */
export const MAX_NONCE_BYTES = 128;

export interface UsernameToken {
  readonly username: string;
  readonly password: string;
  readonly digest: boolean;
  /** Base64 as sent (not trimmed). */
  readonly nonce?: string;
  /** The Nonce's EncodingType attribute, when it has one. */
  readonly nonceEncoding?: string;
  readonly created?: string;
}

export interface UserLookup {
  findByName(name: string): Promise<User | null>;
}

/** Checks a password against a stored hash (passwords.ts's verifyPassword; tests count its calls). */
export type PasswordVerifier = (password: string, stored: string) => Promise<boolean>;

/**
 * Where nonces are recorded so that every process refuses a replay
 * (auth/nonce-store.ts keeps them in the database).
 */
export interface NonceRegistry {
  /** Records the nonce as used until `expiresAt`; false when it already was (a replay). */
  remember(nonce: Buffer, expiresAt: number, now: number): Promise<boolean>;
}

export interface AuthenticatorOptions {
  /** The shared record of used nonces: it decides; this process's own map only answers known replays sooner. */
  readonly nonces: NonceRegistry;
  readonly maxTokenAgeSeconds: number;
  readonly maxClockSkewSeconds: number;
  /** How long a user row is trusted before it is read again (disable takes effect within this). */
  readonly userCacheMs?: number;
  /** Upper bound on nonces this process remembers itself; past it the oldest are dropped first. */
  readonly maxNonces?: number;
  readonly verifyPassword?: PasswordVerifier;
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
  const nonce = child(token, WSSE_NS, 'Nonce');
  return {
    username,
    password: password.text,
    digest: type === PASSWORD_DIGEST,
    nonce: nonce?.text,
    nonceEncoding: nonce?.attrs.EncodingType,
    created: (child(token, WSU_NS, 'Created') ?? child(token, WSSE_NS, 'Created'))?.text.trim(),
  };
}

/**
 * Decodes a base64Binary value of a token strictly: XML white space at the
 * ends is dropped (the type's whiteSpace facet), and what remains must be
 * canonical base64 (standard alphabet, `=` padding, unused bits zero, no
 * white space inside). Lenient decoding would let one value be written many
 * ways, and a replayed nonce slip past the cache as a "new" one.
 */
export function decodeBase64Binary(text: string, what: string): Buffer {
  const value = text.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
  if (!BASE64.test(value)) {
    throw new ProvisorError('AuthenticationFailed', `the ${what} is not canonical base64 (the standard alphabet A-Z a-z 0-9 + /, '=' padding to a multiple of four, no white space inside)`);
  }
  const bytes = Buffer.from(value, 'base64');
  if (bytes.toString('base64') !== value) throw new ProvisorError('AuthenticationFailed', `the ${what} is not canonical base64: the unused bits of its last character must be zero`);
  return bytes;
}

/** The token's nonce as bytes: present, canonical base64, 1 to MAX_NONCE_BYTES bytes. */
function decodeNonce(token: UsernameToken): Buffer | undefined {
  if (token.nonce === undefined) return undefined;
  if (token.nonceEncoding !== undefined && token.nonceEncoding !== BASE64_BINARY) {
    throw new ProvisorError('AuthenticationFailed', `the Nonce's EncodingType "${token.nonceEncoding}" is not ${BASE64_BINARY}`);
  }
  const bytes = decodeBase64Binary(token.nonce, 'Nonce');
  if (bytes.length === 0) throw new ProvisorError('AuthenticationFailed', 'the Nonce is empty: send fresh random bytes, base64-encoded');
  if (bytes.length > MAX_NONCE_BYTES) throw new ProvisorError('AuthenticationFailed', `the Nonce is ${bytes.length} bytes long; at most ${MAX_NONCE_BYTES} are accepted`);
  return bytes;
}

function nonceReplayed(): ProvisorError {
  return new ProvisorError('NonceReplayed', 'this Nonce was already used: every message needs a fresh one');
}

interface CachedUser {
  readonly user: User | null;
  /** The name's log-in standing, read with the user row. */
  readonly standing: LoginStanding;
  readonly until: number;
}

/**
 * Verifies WS-Security UsernameTokens (PasswordText and PasswordDigest) with
 * replay protection: a Created outside the freshness window or a Nonce seen
 * before within it is refused. Nonces are compared as the bytes they decode
 * to, and must be canonical base64.
 *
 * Every log-in goes through the LoginGuard (throttling and lockout). An
 * unknown or disabled user costs the same work as a wrong password: scrypt
 * against a dummy hash, or a digest over a dummy secret.
 *
 * scrypt costs tens of milliseconds by design, so a verified (user, password)
 * pair is remembered for as long as the user row is: the check per request is
 * then one SHA-256, and the guard judges by the standing read with the row.
 * Nonces are recorded in the shared registry (the database), so a replay is
 * refused by every process on it; this process also remembers the ones it
 * saw, to refuse their replays without asking the database.
 */
export class Authenticator {
  private readonly users = new Map<string, CachedUser>();
  private readonly verified = new Map<string, number>();
  private readonly digestSecrets = new Map<string, string>();
  private readonly nonces = new Map<string, number>();
  /** PasswordText checks in progress, by name and password hash. */
  private readonly checking = new Map<string, Promise<User | null>>();
  private readonly userCacheMs: number;
  private readonly maxNonces: number;
  private readonly verifyPassword: PasswordVerifier;
  /** Stands in for the password of an unknown or disabled user in a digest. */
  private readonly dummyDigestSecret = crypto.randomBytes(24).toString('base64');

  constructor(
    private readonly lookup: UserLookup,
    private readonly secrets: SecretBox,
    private readonly guard: LoginGuard,
    private readonly clock: Clock,
    private readonly options: AuthenticatorOptions,
  ) {
    this.userCacheMs = options.userCacheMs ?? 1000;
    this.maxNonces = options.maxNonces ?? 1_000_000;
    this.verifyPassword = options.verifyPassword ?? verifyPassword;
  }

  /** Authenticates a token sent from `clientAddress` (the per-address throttle's key). */
  async authenticate(token: UsernameToken | undefined, clientAddress?: string): Promise<Principal> {
    if (token === undefined) {
      throw new ProvisorError('AuthenticationFailed', 'authentication required: send a WS-Security UsernameToken header');
    }
    const now = this.clock.now();
    if (token.created !== undefined) this.checkCreated(token.created, now);
    if (token.digest && (token.nonce === undefined || token.created === undefined)) {
      throw new ProvisorError('AuthenticationFailed', 'a PasswordDigest token needs a Nonce and a Created');
    }
    const nonce = decodeNonce(token);
    const attempt = { name: token.username, address: clientAddress, channel: 'soap' as const };
    const cached = await this.findUser(token.username, now);
    const user = cached.user !== null && !cached.user.disabled ? cached.user : null;
    let principal: User | null;
    if (token.digest) {
      const given = decodeBase64Binary(token.password, 'PasswordDigest value');
      if (user !== null && this.checkDigest(user, token, nonce, given)) {
        await this.guard.admitKnownGood(attempt, cached.standing);
        principal = user;
      } else {
        // Same work for an unknown or disabled user: a digest over a dummy secret.
        if (user === null) this.digestMatches(this.dummyDigestSecret, token, nonce, given);
        principal = await this.guard.attempt(attempt, () => Promise.resolve(null));
      }
    } else if (user !== null && this.verified.has(this.verifiedKey(user, token.password))) {
      await this.guard.admitKnownGood(attempt, cached.standing);
      principal = user;
    } else {
      // A client's first requests often come in parallel with one password: one check (and one counted attempt) serves them all.
      const key = `${token.username}\u0000${crypto.createHash('sha256').update(token.password).digest('base64')}`;
      let check = this.checking.get(key);
      if (check === undefined) {
        check = this.guard.attempt(attempt, () => this.checkText(user, token.password)).finally(() => this.checking.delete(key));
        this.checking.set(key, check);
      }
      principal = await check;
    }
    if (cached.standing.failures > 0 || principal === null) this.users.delete(token.username); // the standing changed: read it again
    if (principal === null) throw new ProvisorError('AuthenticationFailed', `unknown user or wrong password for "${token.username}"`);
    // The nonce is remembered only once the token is proven genuine, so a forger cannot burn a client's nonces.
    if (nonce !== undefined) await this.rememberNonce(nonce, now);
    return { userId: principal.id, name: principal.name, role: principal.role, accountId: principal.accountId, level: principal.level };
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

  private async rememberNonce(nonce: Buffer, now: number): Promise<void> {
    const key = nonce.toString('base64');
    const seenUntil = this.nonces.get(key);
    if (seenUntil !== undefined && seenUntil > now) throw nonceReplayed();
    // Any token carrying this nonce is outside the window after this time.
    const until = now + (this.options.maxTokenAgeSeconds + this.options.maxClockSkewSeconds) * 1000;
    if (!(await this.options.nonces.remember(nonce, until, now))) throw nonceReplayed();
    this.nonces.set(key, until);
    if (this.nonces.size > this.maxNonces || this.nonces.size % 1024 === 0) this.pruneNonces(now);
  }

  private pruneNonces(now: number): void {
    // Insertion order is roughly expiry order: drop from the front.
    for (const [nonce, until] of this.nonces) {
      if (until > now && this.nonces.size <= this.maxNonces) break;
      this.nonces.delete(nonce);
    }
  }

  private async findUser(name: string, now: number): Promise<CachedUser> {
    const cached = this.users.get(name);
    if (cached !== undefined && cached.until > now) return cached;
    const [user, standing] = await Promise.all([this.lookup.findByName(name), this.guard.standing(name)]);
    const entry = { user, standing, until: now + this.userCacheMs };
    this.users.set(name, entry);
    if (this.users.size > 10_000) this.users.clear();
    return entry;
  }

  private verifiedKey(user: User, password: string): string {
    return `${user.id}\u0000${user.passwordHash}\u0000${crypto.createHash('sha256').update(password).digest('base64')}`;
  }

  /** scrypt against the user's hash, or against a dummy hash of the same cost when there is no (enabled) user. */
  private async checkText(user: User | null, password: string): Promise<User | null> {
    const ok = await this.verifyPassword(password, user?.passwordHash ?? (await dummyPasswordHash()));
    if (!ok || user === null) return null;
    if (this.verified.size > 10_000) this.verified.clear();
    this.verified.set(this.verifiedKey(user, password), 1);
    return user;
  }

  private checkDigest(user: User, token: UsernameToken, nonce: Buffer | undefined, given: Buffer): boolean {
    const password = this.digestPassword(user);
    // Without a usable password copy the digest is still computed (over the dummy secret), then refused.
    const matches = this.digestMatches(password ?? this.dummyDigestSecret, token, nonce, given);
    return password !== undefined && matches;
  }

  /** The password copy PasswordDigest needs, decrypted once; undefined when the user has none this key opens. */
  private digestPassword(user: User): string | undefined {
    if (user.digestSecret === null) return undefined;
    let password = this.digestSecrets.get(user.digestSecret);
    if (password === undefined) {
      password = this.secrets.decrypt(user.digestSecret);
      if (password === undefined) return undefined;
      if (this.digestSecrets.size > 10_000) this.digestSecrets.clear();
      this.digestSecrets.set(user.digestSecret, password);
    }
    return password;
  }

  private digestMatches(password: string, token: UsernameToken, nonce: Buffer | undefined, given: Buffer): boolean {
    const expected = crypto
      .createHash('sha1')
      .update(Buffer.concat([nonce ?? Buffer.alloc(0), Buffer.from(token.created ?? '', 'utf8'), Buffer.from(password, 'utf8')]))
      .digest();
    return given.length === expected.length && crypto.timingSafeEqual(given, expected);
  }
}
