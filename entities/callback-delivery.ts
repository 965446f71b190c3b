import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * A RequestCompleted notification owed to a caller's endpoint:
 * PENDING until acknowledged with a 2xx (DELIVERED) or out of attempts (FAILED).
 */
@Entity({ name: 'callback_delivery' })
@Index('idx_callback_due', ['status', 'nextAttemptAt'])
export class CallbackDelivery {
  @PrimaryGeneratedColumn({ type: 'int' })
  id: number;

  @Index('idx_callback_request', { unique: true })
  @Column({ type: 'varchar', length: 64 })
  requestId: string;

  @Column({ type: 'varchar', length: 2048 })
  url: string;

  @Column({ type: 'varchar', length: 16 })
  status: 'PENDING' | 'DELIVERED' | 'FAILED';

  @Column({ type: 'int', default: 0 })
  attempts: number;

  @Column({ type: 'datetime', precision: 3 })
  nextAttemptAt: Date;

  @Column({ type: 'text', nullable: true })
  lastError: string | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  leaseOwner: string | null;

  @Column({ type: 'datetime', precision: 3, nullable: true })
  leaseExpiresAt: Date | null;
}
