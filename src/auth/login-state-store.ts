import type { DataSource, Repository } from 'typeorm';
import { LoginState } from '../../entities';
import { exclusive, execute, isUniqueViolation, toSqlDate } from '../db/sql';
import { delayAfter, locksAt, type LoginPolicy } from './login-policy';
import { AUTH_SQL } from './sql';

/** What a name's row says now: failures forgotten after the reset time count as none. */
export interface LoginStanding {
  readonly failures: number;
  readonly notBefore: Date | null;
  readonly lockedAt: Date | null;
}

export const CLEAN_STANDING: LoginStanding = Object.freeze({ failures: 0, notBefore: null, lockedAt: null });

/**
 * The outcome of claiming an attempt: admitted (and counted as a failure
 * until it succeeds), or refused because the name is locked or must wait.
 */
export type Claim =
  | { readonly admitted: true; readonly failures: number; readonly locks: boolean; readonly standing: LoginStanding }
  | { readonly admitted: false; readonly reason: 'locked'; readonly standing: LoginStanding }
  | { readonly admitted: false; readonly reason: 'throttled'; readonly retryAt: Date; readonly standing: LoginStanding };

/** Gives up on a claim raced this many times in a row (each race means another attempt for the name got in first). */
const MAX_RACES = 5;

/**
 * The queries of the login_state table. Every change is one guarded write:
 * a claim only applies to the row as it was read (`failures` unchanged and
 * not locked), so two processes admitting attempts for one name at once
 * cannot both pass the limit.
 */
export class LoginStateStore {
  private readonly rows: Repository<LoginState>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly policy: LoginPolicy,
  ) {
    this.rows = dataSource.getRepository(LoginState);
  }

  /** The name's standing now (clean when it has no row). */
  async read(name: string, now: number): Promise<LoginStanding> {
    return this.standingOf(await this.rows.findOneBy({ name }), now);
  }

  /**
   * Admits an attempt for `name` unless it is locked or must wait, counting
   * it as a failure at once: parallel attempts see it, and a crash before
   * the outcome leaves it counted. `succeeded` takes it back.
   */
  claim(name: string, now: number): Promise<Claim> {
    return exclusive(this.dataSource, async () => {
      for (let race = 0; race < MAX_RACES; race++) {
        const row = await this.rows.findOneBy({ name });
        const standing = this.standingOf(row, now);
        if (standing.lockedAt !== null) return { admitted: false, reason: 'locked', standing };
        if (standing.notBefore !== null && standing.notBefore.getTime() > now) return { admitted: false, reason: 'throttled', retryAt: standing.notBefore, standing };
        const failures = standing.failures + 1;
        const locks = locksAt(failures, this.policy);
        const wait = delayAfter(failures, this.policy.freeFailures, this.policy);
        const next: LoginStanding = { failures, notBefore: wait > 0 ? new Date(now + wait) : null, lockedAt: locks ? new Date(now) : null };
        if (row === null) {
          try {
            await this.rows.insert({ name, failures, lastFailureAt: new Date(now), notBefore: next.notBefore, lockedAt: next.lockedAt });
            return { admitted: true, failures, locks, standing: next };
          } catch (err) {
            if (!isUniqueViolation(err)) throw err;
            continue; // another attempt for this name created the row first
          }
        }
        const changed = await execute(
          this.dataSource,
          AUTH_SQL.countFailure,
          [failures, toSqlDate(new Date(now)), next.notBefore === null ? null : toSqlDate(next.notBefore), next.lockedAt === null ? null : toSqlDate(next.lockedAt), name, row.failures],
        );
        if (changed === 1) return { admitted: true, failures, locks, standing: next };
      }
      // Attempts for this name keep racing each other: that is an attack, and waiting is the answer.
      return { admitted: false, reason: 'throttled', retryAt: new Date(now + Math.max(this.policy.initialDelayMs, 1000)), standing: CLEAN_STANDING };
    });
  }

  /** A correct password: the name's failures (and a lock set by this very attempt) are cleared. */
  async succeeded(name: string): Promise<void> {
    await exclusive(this.dataSource, () => execute(this.dataSource, AUTH_SQL.forgetName, [name]));
  }

  /**
   * Housekeeping: drops rows whose failures are forgotten, and locks of names
   * no user has once they are as old (strangers' names cannot pile up).
   */
  async prune(now: number): Promise<number> {
    const before = toSqlDate(new Date(now - this.policy.resetAfterMs));
    return exclusive(this.dataSource, () => execute(this.dataSource, AUTH_SQL.pruneLoginStates, [before]));
  }

  private standingOf(row: LoginState | null, now: number): LoginStanding {
    if (row === null) return CLEAN_STANDING;
    if (row.lockedAt !== null) return { failures: row.failures, notBefore: row.notBefore, lockedAt: row.lockedAt };
    if (row.lastFailureAt === null || now - row.lastFailureAt.getTime() >= this.policy.resetAfterMs) return CLEAN_STANDING;
    return { failures: row.failures, notBefore: row.notBefore, lockedAt: null };
  }
}
