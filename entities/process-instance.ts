import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** A process instance's status, each documented where it is declared. */
export const INSTANCE_STATUSES = [
  /** Being executed (by the lease holder) or waiting to be resumed. */
  'RUNNING',
  /** The process activity completed. */
  'COMPLETED',
  /** A fault reached the process level uncaught (`fault`, `faultPath`). */
  'FAULTED',
  /** Ended by `<exit>` or CancelProcess. */
  'TERMINATED',
  /**
   * It was running when its server died `crashLoopLimit` times in a row, so it
   * is not resumed until an admin resumes it (back to RUNNING) or cancels it
   * (TERMINATED).
   */
  'SUSPENDED',
] as const;
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];

/** A running or finished process instance (its status: {@link INSTANCE_STATUSES}). */
@Entity({ name: 'process_instance' })
@Index('idx_instance_claim', ['status', 'leaseExpiresAt'])
@Index('idx_instance_retention', ['status', 'endedAt'])
@Index('idx_instance_idempotency', ['startedBy', 'idempotencyKey'], { unique: true })
export class ProcessInstance {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id: string;

  @Column({ type: 'int' })
  definitionId: number;

  @Column({ type: 'varchar', length: 200 })
  processName: string;

  @Column({ type: 'varchar', length: 16 })
  status: InstanceStatus;

  @Column({ type: 'varchar', length: 200 })
  startedBy: string;

  /** StartProcess's idempotencyKey: a retried start returns the first instance. */
  @Column({ type: 'varchar', length: 200, nullable: true })
  idempotencyKey: string | null;

  @Column({ type: 'text', nullable: true })
  fault: string | null;

  @Column({ type: 'varchar', length: 512, nullable: true })
  faultPath: string | null;

  @Column({ type: 'datetime', precision: 3 })
  createdAt: Date;

  @Column({ type: 'datetime', precision: 3, nullable: true })
  endedAt: Date | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  leaseOwner: string | null;

  @Column({ type: 'datetime', precision: 3, nullable: true })
  leaseExpiresAt: Date | null;

  /**
   * Times in a row the instance was taken over from a server that died while
   * running it (a lease that ran out, not one released at shutdown); reset
   * when a server lets go of it in order and when an admin resumes it.
   */
  @Column({ type: 'int', default: 0 })
  recoveries: number;

  /** When the retention job removed the instance's activity, variable, link and timer rows. */
  @Column({ type: 'datetime', precision: 3, nullable: true })
  prunedAt: Date | null;

  /** Set by CancelProcess; 2 = cancel and compensate completed scopes. */
  @Column({ type: 'int', default: 0 })
  cancelRequested: number;
}
