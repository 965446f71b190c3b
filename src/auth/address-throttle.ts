import { delayAfter, type LoginPolicy } from './login-policy';

interface AddressEntry {
  failures: number;
  lastFailureAt: number;
  notBefore: number;
}

/** An admitted attempt from an address, counted as a failure until released. */
export interface AddressClaim {
  readonly address: string;
  readonly failures: number;
  readonly previousNotBefore: number;
}

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
    return entry !== undefined && entry.notBefore > now ? entry.notBefore : undefined;
  }

  /** Counts an attempt as a failure from the start, so that parallel attempts see it; `release` takes it back. */
  claim(address: string, now: number): AddressClaim | undefined {
    if (!this.enabled) return undefined;
    let entry = this.current(address, now);
    if (entry === undefined) {
      if (this.entries.size >= MAX_ADDRESSES) this.sweep(now);
      entry = { failures: 0, lastFailureAt: now, notBefore: 0 };
      this.entries.set(address, entry);
    }
    const previousNotBefore = entry.notBefore;
    entry.failures += 1;
    entry.lastFailureAt = now;
    const wait = delayAfter(entry.failures, this.policy.addressFreeFailures, this.policy);
    entry.notBefore = wait > 0 ? now + wait : 0;
    return { address, failures: entry.failures, previousNotBefore };
  }

  /** The claimed attempt was not a failure (a correct password, or refused before any check). */
  release(claim: AddressClaim | undefined): void {
    if (claim === undefined) return;
    const entry = this.entries.get(claim.address);
    if (entry === undefined) return;
    // Only undo the wait this claim set when no attempt from the address came since.
    if (entry.failures === claim.failures) entry.notBefore = claim.previousNotBefore;
    entry.failures = Math.max(0, entry.failures - 1);
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
