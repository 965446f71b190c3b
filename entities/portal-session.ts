import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * A logged-in portal session, shared by every Provisor process on the
 * database so that any of them serves it. The row holds a hash of the
 * session id (the cookie value), never the id itself: reading the table
 * gives no way in.
 */
@Entity({ name: 'portal_session' })
export class PortalSession {
  /** SHA-256 of the session id, hex. */
  @PrimaryColumn({ type: 'varchar', length: 64 })
  idHash: string;

  /** Whose session; disabling the user deletes its sessions. */
  @Index('idx_portal_session_user')
  @Column({ type: 'varchar', length: 200 })
  userName: string;

  @Column({ type: 'datetime', precision: 3 })
  createdAt: Date;

  /** The last request seen with it, to within a minute (the row is not rewritten on every request). */
  @Index('idx_portal_session_seen')
  @Column({ type: 'datetime', precision: 3 })
  lastSeenAt: Date;
}
