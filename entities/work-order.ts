import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * A work order's state:
 * - NEW: submitted, waiting for the automation (or an admin, when manual);
 * - IN_PROGRESS: its change plan is running;
 * - CLOSED: done (and billed);
 * - FAILED: the plan failed, or an admin failed it; an admin may retry it.
 */
export const WORK_ORDER_STATES = ['NEW', 'IN_PROGRESS', 'CLOSED', 'FAILED'] as const;
export type WorkOrderState = (typeof WORK_ORDER_STATES)[number];

export const INTAKE_CHANNELS = ['soap', 'portal', 'email'] as const;
export type IntakeChannel = (typeof INTAKE_CHANNELS)[number];

/** A customer's order for a change; the automation's queue. */
@Entity({ name: 'work_order' })
@Index('idx_work_order_queue', ['state', 'manual', 'id'])
@Index('idx_work_order_account', ['accountId', 'state', 'id'])
@Index('idx_work_order_idempotency', ['customerId', 'idempotencyKey'], { unique: true })
export class WorkOrder {
  /** The public workOrderId. */
  @PrimaryGeneratedColumn({ type: 'int' })
  id: number;

  @Column({ type: 'varchar', length: 100 })
  typeName: string;

  /** The submitting user. */
  @Column({ type: 'int' })
  customerId: number;

  @Column({ type: 'int' })
  accountId: number;

  /** The validated parameters, normalised, as a JSON object in the type's parameter order. */
  @Column({ type: 'text' })
  parameters: string;

  @Column({ type: 'varchar', length: 16 })
  state: WorkOrderState;

  @Column({ type: 'varchar', length: 16 })
  channel: IntakeChannel;

  /** Left for manual processing: the automation does not pick it up. */
  @Column({ type: 'boolean', default: false })
  manual: boolean;

  /** How many times its plan was started (retries add one). */
  @Column({ type: 'int', default: 0 })
  attempt: number;

  @Column({ type: 'varchar', length: 64, nullable: true })
  processInstanceId: string | null;

  /** The version of its type's plan the order's last finished run executed. */
  @Column({ type: 'int', nullable: true })
  planVersion: number | null;

  /** The digest of that plan version; billing requires the catalog's. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  planDigest: string | null;

  /** Why it failed or how it was closed. */
  @Column({ type: 'text', nullable: true })
  outcome: string | null;

  /** The plan activity that failed. */
  @Column({ type: 'varchar', length: 500, nullable: true })
  failedActivity: string | null;

  @Column({ type: 'varchar', length: 200, nullable: true })
  idempotencyKey: string | null;

  @Column({ type: 'varchar', length: 100, nullable: true })
  leaseOwner: string | null;

  @Column({ type: 'datetime', precision: 3, nullable: true })
  leaseExpiresAt: Date | null;

  @Column({ type: 'datetime', precision: 3 })
  createdAt: Date;

  @Column({ type: 'datetime', precision: 3 })
  updatedAt: Date;

  @Column({ type: 'datetime', precision: 3, nullable: true })
  closedAt: Date | null;
}
