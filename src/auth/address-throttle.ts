import type { DataSource, Repository } from 'typeorm';
import { LoginAddress } from '../../entities';
import { exclusive, execute, isUniqueViolation, toSqlDate } from '../db/sql';
import { delayAfter, type LoginPolicy } from './login-policy';
import { AUTH_SQL } from './sql';

/** An admitted attempt from an address, in flight until it is released (not a failure) or failed. */
export interface AddressClaim {
  readonly address: string;
}

/** What an address's row says now: failures forgotten after the reset time count as none. */
interface AddressStanding {
  readonly failures: number;
  /** Epoch ms; 0 when the address need not wait. */
  readonly notBefore: number;
  /** When this process read (or wrote) it. */
  readonly readAt: number;
}

const CLEAN: Omit<AddressStanding, 'readAt'> = { failures: 0, notBefore: 0 };

/**
 * Undecided attempts one address may have in flight at once in this process,
 * whatever its free failures: a burst of guesses sent in parallel is held to
 * this many password checks before any of them has failed.
 */
const MAX_IN_FLIGHT = 64;

/** Past this many addresses the standings this process has read are dropped (they are only a cache). */
const MAX_CACHED = 10_000;

/** Gives up racing other attempts for a guarded write after this many tries, and counts the failure unguarded. */
const MAX_RACES = 5;

/** Addresses are Node's peer-address text; anything longer than the column is not one and is cut (it is only a key). */
const MAX_ADDRESS_LENGTH = 64;

/**
 * Failed log-ins per client address: the growing waits of the per-name
 * throttle, applied to everything coming from one address (it guesses many
 * names). The failures are rows of `login_address`, shared by every process
 * on the database, so an address gets its free failures once however its
 * attempts are spread. Attempts in flight are counted per process (a crash
 * must not leave an address stuck). Successes do not clear an address: an
 * attacker with one account of their own must not be able to wipe their
 * record by logging in with it.
 */
export class AddressThrottle {
  private readonly inFlight = new Map<string, number>();
  private readonly standings = new Map<string, AddressStanding>();
  private readonly rows: Repository<LoginAddress>;

  constructor(
    private readonly policy: LoginPolicy,
    private readonly dataSource: DataSource,
  ) {
    this.rows = dataSource.getRepository(LoginAddress);
  }

  get enabled(): boolean {
    return this.policy.addressFreeFailures > 0;
  }

  /**
   * When the address may try again, or undefined when it may now. Its
   * failures are read from the database, or from what this process read
   * less than `maxAgeMs` ago (0: always read).
   */
  async retryAt(address: string, now: number, maxAgeMs = 0): Promise<number | undefined> {
    const key = keyOf(address);
    const standing = await this.standing(key, now, maxAgeMs);
    if (standing.notBefore > now) return standing.notBefore;
    return (this.inFlight.get(key) ?? 0) >= Math.max(MAX_IN_FLIGHT, this.policy.addressFreeFailures) ? now + this.policy.initialDelayMs : undefined;
  }

  /**
   * Admits an attempt. It is in flight, not a failure: the first log-ins of
   * many users behind one address (a proxy, a busy client application) sent
   * at once must not throttle each other; `fail` or `release` decides it.
   */
  claim(address: string): AddressClaim | undefined {
    if (!this.enabled) return undefined;
    const key = keyOf(address);
    this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1);
    return { address: key };
  }

  /** The claimed attempt was not a failure (a correct password, or refused or broken before any check). */
  release(claim: AddressClaim | undefined): void {
    if (claim === undefined) return;
    const left = (this.inFlight.get(claim.address) ?? 1) - 1;
    if (left > 0) this.inFlight.set(claim.address, left);
    else this.inFlight.delete(claim.address);
  }

  /** The claimed attempt failed: counted in the database, and the address waits once it is past its free failures. */
  async fail(claim: AddressClaim | undefined, now: number): Promise<void> {
    if (claim === undefined) return;
    this.release(claim);
    const address = claim.address;
    const standing = await exclusive(this.dataSource, async () => {
      for (let race = 0; race < MAX_RACES; race++) {
        const row = await this.rows.findOneBy({ address });
        const current = this.standingOf(row, now);
        const failures = current.failures + 1;
        const wait = delayAfter(failures, this.policy.addressFreeFailures, this.policy);
        const notBefore = Math.max(current.notBefore, wait > 0 ? now + wait : 0);
        const next = { failures, notBefore, readAt: now };
        if (row === null) {
          try {
            await this.rows.insert({ address, failures, lastFailureAt: new Date(now), notBefore: notBefore === 0 ? null : new Date(notBefore) });
            return next;
          } catch (err) {
            if (!isUniqueViolation(err)) throw err;
            continue; // another process counted a failure of this address first
          }
        }
        const changed = await execute(this.dataSource, AUTH_SQL.countAddressFailure, [
          failures,
          toSqlDate(new Date(now)),
          notBefore === 0 ? null : toSqlDate(new Date(notBefore)),
          address,
          row.failures,
        ]);
        if (changed === 1) return next;
      }
      // Failures of this address keep racing each other: count this one all the same.
      await execute(this.dataSource, AUTH_SQL.addAddressFailure, [toSqlDate(new Date(now)), address]);
      return undefined;
    });
    if (standing === undefined) this.standings.delete(address);
    else this.cache(address, standing);
  }

  /** Housekeeping: deletes the rows of addresses whose failures are forgotten. */
  prune(now: number): Promise<number> {
    const before = toSqlDate(new Date(now - this.policy.resetAfterMs));
    return exclusive(this.dataSource, () => execute(this.dataSource, AUTH_SQL.pruneAddresses, [before]));
  }

  private async standing(address: string, now: number, maxAgeMs: number): Promise<AddressStanding> {
    const cached = this.standings.get(address);
    if (cached !== undefined && now - cached.readAt < maxAgeMs && now >= cached.readAt) return cached;
    const standing = { ...this.standingOf(await this.rows.findOneBy({ address }), now), readAt: now };
    this.cache(address, standing);
    return standing;
  }

  private cache(address: string, standing: AddressStanding): void {
    if (this.standings.size >= MAX_CACHED) this.standings.clear();
    this.standings.set(address, standing);
  }

  private standingOf(row: LoginAddress | null, now: number): Omit<AddressStanding, 'readAt'> {
    if (row === null || now - row.lastFailureAt.getTime() >= this.policy.resetAfterMs) return CLEAN;
    return { failures: row.failures, notBefore: row.notBefore?.getTime() ?? 0 };
  }
}

function keyOf(address: string): string {
  return address.length > MAX_ADDRESS_LENGTH ? address.slice(0, MAX_ADDRESS_LENGTH) : address;
}
