import { delayAfter, type LoginPolicy } from './login-policy';

interface AddressEntry {
  failures: number;
  /** Attempts admitted and not yet decided. */
  inFlight: number;
  lastFailureAt: number;
  notBefore: number;
}

/** An admitted attempt from an address, in flight until it is released (not a failure) or failed. */
export interface AddressClaim {
  readonly address: string;
}

/**
 * Undecided attempts one address may have in flight at once, whatever its
 * free failures: a burst of guesses sent in parallel is held to this many
 * password checks before any of them has failed.
 */
const MAX_IN_FLIGHT = 64;

/** Past this many addresses the forgotten ones are swept, then the oldest dropped. */
const MAX_ADDRESSES = 100_000;

/**
 * Failed log-ins per client address, in this process's memory: the growing
 * waits of the per-name throttle, applied to everything coming from one
 * address (it guesses many names). Deliberately per process (docs/operations.md):
 * the per-name limits in the database are the ones every process shares.
 * Successes do not clear an address: an attacker with one account of their
 * own must not be able to wipe their record by logging in with it.
 */
export class AddressThrottle {
  private readonly entries = new Map<string, AddressEntry>();

  constructor(private readonly policy: LoginPolicy) {}

  get enabled(): boolean {
    return this.policy.addressFreeFailures > 0;
  }

  /** When the address may try again, or undefined when it may now. */
  retryAt(address: string, now: number): number | undefined {
    const entry = this.current(address, now);
    if (entry === undefined) return undefined;
    if (entry.notBefore > now) return entry.notBefore;
    return entry.inFlight >= Math.max(MAX_IN_FLIGHT, this.policy.addressFreeFailures) ? now + this.policy.initialDelayMs : undefined;
  }

  /**
   * Admits an attempt. It is in flight, not a failure: the first log-ins of
   * many users behind one address (a proxy, a busy client application) sent
   * at once must not throttle each other; `fail` or `release` decides it.
   */
  claim(address: string, now: number): AddressClaim | undefined {
    if (!this.enabled) return undefined;
    let entry = this.current(address, now);
    if (entry === undefined) {
      if (this.entries.size >= MAX_ADDRESSES) this.sweep(now);
      entry = { failures: 0, inFlight: 0, lastFailureAt: now, notBefore: 0 };
      this.entries.set(address, entry);
    }
    entry.inFlight += 1;
    return { address };
  }

  /** The claimed attempt was not a failure (a correct password, or refused or broken before any check). */
  release(claim: AddressClaim | undefined): void {
    if (claim === undefined) return;
    const entry = this.entries.get(claim.address);
    if (entry !== undefined) entry.inFlight = Math.max(0, entry.inFlight - 1);
  }

  /** The claimed attempt failed: counted, and the address waits once it is past its free failures. */
  fail(claim: AddressClaim | undefined, now: number): void {
    if (claim === undefined) return;
    let entry = this.entries.get(claim.address);
    if (entry === undefined) {
      entry = { failures: 0, inFlight: 1, lastFailureAt: now, notBefore: 0 };
      this.entries.set(claim.address, entry);
    }
    entry.inFlight = Math.max(0, entry.inFlight - 1);
    entry.failures += 1;
    entry.lastFailureAt = now;
    const wait = delayAfter(entry.failures, this.policy.addressFreeFailures, this.policy);
    entry.notBefore = Math.max(entry.notBefore, wait > 0 ? now + wait : 0);
  }

  private current(address: string, now: number): AddressEntry | undefined {
    const entry = this.entries.get(address);
    if (entry !== undefined && now - entry.lastFailureAt >= this.policy.resetAfterMs) {
      this.entries.delete(address);
      return undefined;
    }
    return entry;
  }

  private sweep(now: number): void {
    for (const [address, entry] of this.entries) if (now - entry.lastFailureAt >= this.policy.resetAfterMs) this.entries.delete(address);
    // Still full: drop the oldest (insertion order), as the nonce cache does.
    for (const address of this.entries.keys()) {
      if (this.entries.size < MAX_ADDRESSES) break;
      this.entries.delete(address);
    }
  }
}
