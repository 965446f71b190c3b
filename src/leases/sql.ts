/**
 * The node leases' statements (`node_lease`): each process's lease on its
 * own liveness, taken when it starts, renewed while it runs, given up when
 * it stops. Abandoned work is work whose owner has no unexpired lease.
 */
import type { QuerySet } from '../db/sql';

export const LEASE_SQL = {
  /** Takes (or takes again) an owner's lease. Params: owner, expiresAt, startedAt. */
  takeLease: {
    mysql: 'INSERT INTO node_lease (owner, expiresAt, startedAt) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE expiresAt = VALUES(expiresAt)',
    sqlite: 'INSERT INTO node_lease (owner, expiresAt, startedAt) VALUES (?, ?, ?) ON CONFLICT (owner) DO UPDATE SET expiresAt = excluded.expiresAt',
  },

  /**
   * Extends an owner's lease. Precondition: it has not expired (an expired
   * lease is lost: its work may have been adopted, and taking it again is
   * a new lease). Params: expiresAt, owner, now. Changes one row, or none.
   */
  renewLease: 'UPDATE node_lease SET expiresAt = ? WHERE owner = ? AND expiresAt > ?',

  /** Gives an owner's lease up (a clean stop: its work is abandoned at once). Params: owner. */
  dropLease: 'DELETE FROM node_lease WHERE owner = ?',

  /** Leases expired long ago (their rows only). Params: expiredBefore. */
  pruneLeases: 'DELETE FROM node_lease WHERE expiresAt < ?',

  /** The owners whose lease holds at a time. Params: now. Rows: owner. */
  liveOwners: 'SELECT owner FROM node_lease WHERE expiresAt > ?',
} satisfies QuerySet;

/**
 * The fence a write of owned work adds to its guard, as SQL to put in a
 * WHERE clause: the owner's lease holds. Params: owner, now.
 */
export const OWNER_LEASE_HOLDS = 'EXISTS (SELECT 1 FROM node_lease nl WHERE nl.owner = ? AND nl.expiresAt > ?)';

/**
 * The condition that work owned by the column `ownerColumn` is abandoned:
 * no owner, or one whose lease is gone. Params: now.
 */
export function ownerAbandoned(ownerColumn: string): string {
  return `(${ownerColumn} IS NULL OR NOT EXISTS (SELECT 1 FROM node_lease nl WHERE nl.owner = ${ownerColumn} AND nl.expiresAt > ?))`;
}
