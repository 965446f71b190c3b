import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * A WS-Security nonce seen in a genuine token, shared by every Provisor
 * process on the database: inserting its row is what decides "seen before",
 * so a replay sent to another process is refused too. Kept until no token
 * carrying it could still be fresh, then pruned.
 */
@Entity({ name: 'ws_nonce' })
export class WsNonce {
  /** SHA-256 of the nonce's decoded bytes, hex (a nonce of any length fits one key). */
  @PrimaryColumn({ type: 'varchar', length: 64 })
  hash: string;

  /** After this time any token carrying the nonce is outside the freshness window: the row may go. */
  @Index('idx_ws_nonce_expires')
  @Column({ type: 'datetime', precision: 3 })
  expiresAt: Date;
}
