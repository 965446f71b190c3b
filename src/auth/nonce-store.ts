import crypto from 'node:crypto';
import type { DataSource } from 'typeorm';
import { GroupCommitter } from '../db/group-commit';
import { dialectOf, exclusive, execute, forDialect, isMysqlSource, toSqlDate } from '../db/sql';
import { AUTH_SQL } from './sql';

/** Rows deleted by one prune at most: a prune is one short indexed statement, never a long lock. */
const PRUNE_BATCH = 5000;

/** Nonces remembered by this process between two prunes. */
const PRUNE_EVERY = 2000;

/**
 * The WS-Security nonces of genuine tokens, in the database (`ws_nonce`), so
 * that every process sharing it refuses a replay, whichever of them the
 * first use reached. A nonce is keyed by the SHA-256 of its decoded bytes;
 * the insert that creates its row is what decides "not seen before", so two
 * processes given the same nonce at the same moment cannot both accept it.
 * A row outlives the freshness window of any token that carries it, then
 * it is pruned (a batch every few thousand nonces, by expiry order).
 *
 * Every PasswordDigest call pays for this insert, so the inserts of calls
 * arriving together go to MySQL together: a group committer of the store's
 * own sends them in one transaction and one round trip, each insert on its
 * own so that each call learns whether its row went in. SQLite runs each
 * insert alone (a commit there costs no round trip).
 */
export class NonceStore {
  private readonly sql: ReturnType<typeof forDialect<typeof AUTH_SQL>>;
  private readonly insertSql: string;
  private readonly pruneSql: string;
  /** MySQL only: on SQLite a commit costs no round trip, and one statement alone is cheapest. */
  private readonly committer: GroupCommitter | undefined;
  private sincePrune = 0;

  constructor(private readonly dataSource: DataSource) {
    const mysql = isMysqlSource(dataSource);
    // Its own: nonce inserts neither wait behind nor delay the workflow engine's batches.
    this.committer = mysql ? new GroupCommitter(dataSource) : undefined;
    this.sql = forDialect(AUTH_SQL, dialectOf(dataSource));
    // Insert-if-absent: one changed row means the nonce is new.
    this.insertSql = this.sql.rememberNonce;
    this.pruneSql = this.sql.pruneNonces(PRUNE_BATCH);
  }

  /** The key a nonce is stored under: the SHA-256 of its bytes, hex. */
  static keyOf(nonce: Buffer): string {
    return crypto.createHash('sha256').update(nonce).digest('hex');
  }

  /**
   * Records a nonce as used until `expiresAt`. True when it was not in use
   * (this call took it), false when some process had recorded it and its
   * time has not run out: a replay.
   */
  async remember(nonce: Buffer, expiresAt: number, now: number): Promise<boolean> {
    const key = NonceStore.keyOf(nonce);
    const until = toSqlDate(new Date(expiresAt));
    let fresh: boolean;
    if (this.committer !== undefined) {
      const [inserted] = await this.committer.write([{ sql: this.insertSql, params: [key, until], table: 'ws_nonce' }]);
      fresh = inserted?.changed === 1;
    } else {
      fresh = (await exclusive(this.dataSource, () => execute(this.dataSource, this.insertSql, [key, until]))) === 1;
    }
    if (!fresh) {
      // A row whose time ran out (not pruned yet) no longer counts: take it over, guarded so that only one taker wins.
      fresh = (await exclusive(this.dataSource, () => execute(this.dataSource, this.sql.retakeNonce, [until, key, toSqlDate(new Date(now))]))) === 1;
    }
    if (++this.sincePrune >= PRUNE_EVERY) {
      this.sincePrune = 0;
      await this.prune(now);
    }
    return fresh;
  }

  /** Deletes up to one batch of nonces whose time ran out; returns how many. */
  prune(now: number): Promise<number> {
    return exclusive(this.dataSource, () => execute(this.dataSource, this.pruneSql, [toSqlDate(new Date(now))]));
  }
}
