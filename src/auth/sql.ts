/**
 * Every SQL statement of authentication that is not a plain repository
 * read, on its tables: `login_state` (each user name's failed log-ins and
 * lock), `login_address` (each client address's failed log-ins) and
 * `ws_nonce` (the WS-Security nonces of genuine tokens). Named and documented like the other parts' query modules: what it
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

  /**
   * Counts a failed attempt from an address. Precondition: `failures` is as
   * it was read, so two processes counting at once cannot lose one.
   * Params: failures, lastFailureAt, notBefore, address, failuresAsRead.
   */
  countAddressFailure: 'UPDATE login_address SET failures = ?, lastFailureAt = ?, notBefore = ? WHERE address = ? AND failures = ?',

  /** Counts a failed attempt from an address whatever its row holds (the guarded count kept losing races). Params: lastFailureAt, address. */
  addAddressFailure: 'UPDATE login_address SET failures = failures + 1, lastFailureAt = ? WHERE address = ?',

  /** Drops the rows of addresses whose failures are forgotten. Params: lastFailureBefore. */
  pruneAddresses: 'DELETE FROM login_address WHERE lastFailureAt < ?',

  /** Records a nonce unless its row exists: one changed row means the nonce is new. Params: hash, expiresAt. */
  rememberNonce: { mysql: 'INSERT IGNORE INTO ws_nonce (hash, expiresAt) VALUES (?, ?)', sqlite: 'INSERT OR IGNORE INTO ws_nonce (hash, expiresAt) VALUES (?, ?)' },

  /** Takes over a nonce whose time ran out (not pruned yet); one changed row means this caller took it. Params: expiresAt, hash, now. */
  retakeNonce: 'UPDATE ws_nonce SET expiresAt = ? WHERE hash = ? AND expiresAt <= ?',

  /**
   * Deletes up to `batch` nonces whose time ran out, oldest first (MySQL
   * deletes with ORDER BY … LIMIT; SQLite needs a subquery). Params: now.
   */
  pruneNonces: (batch: number) => ({
    mysql: `DELETE FROM ws_nonce WHERE expiresAt <= ? ORDER BY expiresAt LIMIT ${Math.floor(batch)}`,
    sqlite: `DELETE FROM ws_nonce WHERE hash IN (SELECT hash FROM ws_nonce WHERE expiresAt <= ? ORDER BY expiresAt LIMIT ${Math.floor(batch)})`,
  }),
} satisfies QuerySet;
