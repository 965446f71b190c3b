/**
 * Every SQL statement of authentication that is not a plain repository
 * read, on its tables: `login_state` (each user name's failed log-ins and
 * lock). Named and documented like the other parts' query modules: what it
 * does, its parameters in order, and its precondition.
 */
import type { QuerySet } from '../db/sql';

export const AUTH_SQL = {
  /**
   * Counts a failed attempt for a name. Precondition: the row is as it was
   * read (`failures` unchanged) and not locked, so two processes admitting
   * attempts at once cannot both pass the limit.
   * Params: failures, lastFailureAt, notBefore, lockedAt, name, failuresAsRead.
   */
  countFailure: 'UPDATE login_state SET failures = ?, lastFailureAt = ?, notBefore = ?, lockedAt = ? WHERE name = ? AND failures = ? AND lockedAt IS NULL',

  /** Forgets a name's failures (a correct password, or an admin's unlock). Params: name. */
  forgetName: 'DELETE FROM login_state WHERE name = ?',

  /** Drops rows whose failures are forgotten, and locks of names no user has once they are as old. Params: lastFailureBefore. */
  pruneLoginStates: 'DELETE FROM login_state WHERE lastFailureAt < ? AND (lockedAt IS NULL OR name NOT IN (SELECT name FROM app_user))',
} satisfies QuerySet;
