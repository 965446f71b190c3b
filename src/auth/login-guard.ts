import type { Clock } from '../clock';
import { ProvisorError } from '../errors';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import type { AddressClaim, AddressThrottle } from './address-throttle';
import type { Claim, LoginStanding, LoginStateStore } from './login-state-store';

export const LOGIN_CHANNELS = ['soap', 'portal'] as const;
/** Where a log-in comes from: a SOAP UsernameToken or the portal's form. */
export type LoginChannel = (typeof LOGIN_CHANNELS)[number];

export interface LoginAttempt {
  /** The user name as given (it may belong to nobody). */
  readonly name: string;
  /** The client's address; undefined when unknown (the per-address throttle then does not apply). */
  readonly address: string | undefined;
  readonly channel: LoginChannel;
}

/**
 * A log-in refused before the password was looked at: the name or the
 * address must wait (LoginThrottled) or the account is locked (AccountLocked).
 */
export class LoginRefused extends ProvisorError {
  constructor(
    code: 'LoginThrottled' | 'AccountLocked',
    message: string,
    /** Whole seconds until the next attempt may be checked (throttled only). */
    readonly retryAfterSeconds: number | undefined,
  ) {
    super(code, message);
  }
}

/** The longest user name (login_state.name and app_user.name are varchar(200)). */
const MAX_NAME_LENGTH = 200;

/** Failures between two sweeps of forgotten login_state and login_address rows (per process). */
const PRUNE_EVERY = 500;

/**
 * How old an address's failures as this process last read them may be when a
 * log-in with a password known to be right is judged (as old as the cached
 * user row it comes with): such calls do not read the database each time.
 */
const KNOWN_GOOD_ADDRESS_MAX_AGE_MS = 1000;

/**
 * Throttling and lockout of log-ins, for SOAP and the portal alike. Per user
 * name (in the database, shared by every process): the first failures are
 * free, then each one doubles the wait before the next attempt is checked,
 * and at the limit the name is locked until an administrator unlocks it.
 * Per client address (in the database too): the same growing waits,
 * never a lock. A refused attempt is answered without checking its password.
 */
export class LoginGuard {
  private failuresSincePrune = 0;

  constructor(
    private readonly store: LoginStateStore,
    private readonly addresses: AddressThrottle,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  /** The name's standing now, straight from the database. */
  standing(name: string): Promise<LoginStanding> {
    return this.store.read(name, this.clock.now());
  }

  /**
   * Checks one log-in: claims it (refusing it when the address or the name
   * must wait, or the name is locked), runs `verify`, and records the
   * outcome. `verify` returns null for a wrong password or an unknown or
   * disabled user; so does this.
   */
  async attempt<T>(attempt: LoginAttempt, verify: () => Promise<T | null>): Promise<T | null> {
    const now = this.clock.now();
    await this.checkAddress(attempt, now, 0);
    const addressClaim = attempt.address === undefined ? undefined : this.addresses.claim(attempt.address);
    if (attempt.name.length > MAX_NAME_LENGTH) {
      // No user has such a name (nor could a row hold it): a failure by definition, after the same work as any.
      await this.verifyReleasingOnError(verify, addressClaim);
      await this.addresses.fail(addressClaim, now);
      this.metrics.loginFailures.labels(attempt.channel).inc();
      return null;
    }
    let claim: Claim;
    try {
      claim = await this.store.claim(attempt.name, now);
    } catch (err) {
      this.addresses.release(addressClaim);
      throw err;
    }
    if (!claim.admitted) {
      this.addresses.release(addressClaim);
      throw this.refusal(attempt, claim, now);
    }
    const result = await this.verifyReleasingOnError(verify, addressClaim);
    if (result !== null) {
      await this.store.succeeded(attempt.name);
      this.addresses.release(addressClaim);
      return result;
    }
    await this.addresses.fail(addressClaim, now);
    this.metrics.loginFailures.labels(attempt.channel).inc();
    if (claim.locks) {
      this.metrics.loginLockouts.labels(attempt.channel).inc();
      this.logger.warn('login: account locked after failed log-ins', { user: attempt.name, channel: attempt.channel, address: attempt.address, failures: claim.failures });
    }
    if (++this.failuresSincePrune >= PRUNE_EVERY) {
      this.failuresSincePrune = 0;
      await this.store.prune(now);
      await this.addresses.prune(now);
    }
    return null;
  }

  /**
   * A log-in whose password is already known to be right (a SOAP client's
   * cached credentials): refused all the same when the address or the name
   * must wait or is locked, by the `standing` the caller read (at most its
   * cache time old); a name with failures is cleared.
   */
  async admitKnownGood(attempt: LoginAttempt, standing: LoginStanding): Promise<void> {
    const now = this.clock.now();
    await this.checkAddress(attempt, now, KNOWN_GOOD_ADDRESS_MAX_AGE_MS);
    if (standing.lockedAt !== null) throw this.refusal(attempt, { admitted: false, reason: 'locked', standing }, now);
    if (standing.notBefore !== null && standing.notBefore.getTime() > now) throw this.refusal(attempt, { admitted: false, reason: 'throttled', retryAt: standing.notBefore, standing }, now);
    if (standing.failures > 0) await this.store.succeeded(attempt.name);
  }

  private async verifyReleasingOnError<T>(verify: () => Promise<T | null>, addressClaim: AddressClaim | undefined): Promise<T | null> {
    try {
      return await verify();
    } catch (err) {
      // A technical failure is not the caller's; the name's claim stays counted (as after a crash).
      this.addresses.release(addressClaim);
      throw err;
    }
  }

  private async checkAddress(attempt: LoginAttempt, now: number, maxAgeMs: number): Promise<void> {
    if (attempt.address === undefined || !this.addresses.enabled) return;
    const retryAt = await this.addresses.retryAt(attempt.address, now, maxAgeMs);
    if (retryAt === undefined) return;
    const seconds = secondsUntil(retryAt, now);
    this.metrics.loginRefusals.labels(attempt.channel, 'address').inc();
    this.logger.warn('login: attempt throttled', { user: attempt.name, channel: attempt.channel, address: attempt.address, scope: 'address', retryAfterSeconds: seconds });
    throw new LoginRefused(
      'LoginThrottled',
      `too many failed log-ins from this address: try again in ${seconds} s (after ${new Date(retryAt).toISOString()}); this attempt was not checked`,
      seconds,
    );
  }

  private refusal(attempt: LoginAttempt, claim: Extract<Claim, { admitted: false }>, now: number): LoginRefused {
    if (claim.reason === 'locked') {
      this.metrics.loginRefusals.labels(attempt.channel, 'locked').inc();
      this.logger.warn('login: refused, account locked', { user: attempt.name, channel: attempt.channel, address: attempt.address });
      return new LoginRefused('AccountLocked', `the account "${attempt.name}" is locked after too many failed log-ins; an administrator can unlock it (provisor user unlock ${attempt.name})`, undefined);
    }
    const seconds = secondsUntil(claim.retryAt.getTime(), now);
    this.metrics.loginRefusals.labels(attempt.channel, 'user').inc();
    this.logger.warn('login: attempt throttled', { user: attempt.name, channel: attempt.channel, address: attempt.address, scope: 'user', retryAfterSeconds: seconds });
    return new LoginRefused(
      'LoginThrottled',
      `too many failed log-ins for "${attempt.name}": try again in ${seconds} s (after ${claim.retryAt.toISOString()}); this attempt was not checked`,
      seconds,
    );
  }
}

function secondsUntil(at: number, now: number): number {
  return Math.max(1, Math.ceil((at - now) / 1000));
}
