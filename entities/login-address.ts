import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * Failed log-ins from one client address, shared by every Provisor process
 * on the database (the per-address throttle): an address gets its free
 * failures once, whichever processes it spreads its guesses over. No row: no
 * recent failure.
 */
@Entity({ name: 'login_address' })
export class LoginAddress {
  /** The client's TCP peer address as Node gives it (IPv6 text at most 45 characters). */
  @PrimaryColumn({ type: 'varchar', length: 64 })
  address: string;

  /** Failures since the record was last forgotten (a success does not clear it). */
  @Column({ type: 'int', default: 0 })
  failures: number;

  @Index('idx_login_address_last')
  @Column({ type: 'datetime', precision: 3 })
  lastFailureAt: Date;

  /** No attempt from this address is checked before this time. */
  @Column({ type: 'datetime', precision: 3, nullable: true })
  notBefore: Date | null;
}
