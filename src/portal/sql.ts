/**
 * Every SQL statement of the portal that is not a plain repository read, on
 * its table `portal_session` (sessions, keyed by the hash of their id).
 * Named and documented like the other parts' query modules: what it does,
 * its parameters in order, and its precondition.
 */
import type { QuerySet } from '../db/sql';

export const PORTAL_SQL = {
  /** Marks a session seen now, unless another process marked it later already. Params: now, idHash, now. */
  touchSession: 'UPDATE portal_session SET lastSeenAt = ? WHERE idHash = ? AND lastSeenAt < ?',

  /** Ends one session (log-out, or a new log-in replacing it). Params: idHash. */
  deleteSession: 'DELETE FROM portal_session WHERE idHash = ?',

  /** Ends every session of a user (disabled, or no longer allowed in the portal). Params: userName. */
  deleteUserSessions: 'DELETE FROM portal_session WHERE userName = ?',

  /** Deletes the sessions that ended: idle too long, or too old. Params: lastSeenBefore, createdBefore. */
  pruneSessions: 'DELETE FROM portal_session WHERE lastSeenAt <= ? OR createdAt <= ?',
} satisfies QuerySet;
