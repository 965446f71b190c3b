import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * The log-in throttle and lockout state of one user name, shared by every
 * Provisor process on the database. Kept by name, not by user id, so that a
 * name nobody has is throttled and locked exactly like a real one (the answers
 * must not tell which names exist). No row: no recent failure.
 */
@Entity({ name: 'login_state' })
export class LoginState {
  @PrimaryColumn({ type: 'varchar', length: 200 })
  name: string;

  /** Consecutive failed log-ins (an attempt counts from the moment it is admitted until it succeeds). */
  @Column({ type: 'int', default: 0 })
  failures: number;

  @Column({ type: 'datetime', precision: 3, nullable: true })
  lastFailureAt: Date | null;

  /** No attempt for this name is checked before this time. */
  @Column({ type: 'datetime', precision: 3, nullable: true })
  notBefore: Date | null;

  /** Set when the failures reach the lockout limit; only `provisor user unlock` (or a correct password of the locking attempt itself) clears it. */
  @Column({ type: 'datetime', precision: 3, nullable: true })
  lockedAt: Date | null;
}
