import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * Status of a provisioning request (the contract's values):
 * - QUEUED: accepted and durable, not started;
 * - IN_PROGRESS: a worker holds its lease and is performing it;
 * - COMPLETED_SUCCESS / COMPLETED_FAILURE: done (a message says why it failed);
 * - UNKNOWN: the worker was lost mid-task, the outcome cannot be determined.
 */
export const REQUEST_STATUSES = ['QUEUED', 'IN_PROGRESS', 'COMPLETED_SUCCESS', 'COMPLETED_FAILURE', 'UNKNOWN'] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];
export const TERMINAL_STATUSES: readonly RequestStatus[] = ['COMPLETED_SUCCESS', 'COMPLETED_FAILURE', 'UNKNOWN'];

/** A provisioning task accepted by the API; the deployment engine's queue. */
@Entity({ name: 'provisioning_request' })
@Index('idx_request_claim', ['status', 'conflictKey'])
@Index('idx_request_queue', ['status', 'seq'])
@Index('idx_request_conflict', ['conflictKey', 'status', 'seq'])
@Index('idx_request_lease', ['status', 'leaseExpiresAt'])
@Index('idx_request_idempotency', ['submittedBy', 'idempotencyKey'], { unique: true })
export class ProvisioningRequest {
  /** Queue order. */
  @PrimaryGeneratedColumn({ type: 'int' })
  seq: number;

  /** The public requestId. */
  @Index('idx_request_id', { unique: true })
  @Column({ type: 'varchar', length: 64 })
  id: string;

  @Column({ type: 'varchar', length: 32 })
  operation: string;

  /** For Copy, the target system. */
  @Column({ type: 'varchar', length: 200 })
  systemName: string;

  @Column({ type: 'varchar', length: 200, nullable: true })
  component: string | null;

  @Column({ type: 'varchar', length: 100, nullable: true })
  version: string | null;

  /** The task as the driver receives it (JSON), minus the resolved systems. */
  @Column({ type: 'text' })
  task: string;

  /** Tasks with the same key never run at the same time: `system/component` or `system:path`. */
  @Column({ type: 'varchar', length: 255 })
  conflictKey: string;

  @Column({ type: 'varchar', length: 24 })
  status: RequestStatus;

  @Column({ type: 'text', nullable: true })
  message: string | null;

  @Column({ type: 'text', nullable: true })
  output: string | null;

  @Column({ type: 'varchar', length: 200 })
  submittedBy: string;

  /** Explicit idempotencyKey or the WS-Addressing MessageID; unique per user. */
  @Column({ type: 'varchar', length: 255, nullable: true })
  idempotencyKey: string | null;

  /** SHA-256 of the request's content, to tell a retry from a different request under the same key. */
  @Column({ type: 'varchar', length: 64 })
  requestHash: string;

  @Column({ type: 'varchar', length: 2048, nullable: true })
  callbackUrl: string | null;

  @Column({ type: 'datetime', precision: 3 })
  submittedAt: Date;

  @Column({ type: 'datetime', precision: 3, nullable: true })
  startedAt: Date | null;

  @Column({ type: 'datetime', precision: 3, nullable: true })
  endedAt: Date | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  leaseOwner: string | null;

  /**
   * The engine of the process that queued the request: it claims it first;
   * other engines take it once it has waited the affinity period.
   */
  @Column({ type: 'varchar', length: 255, nullable: true })
  origin: string | null;

  @Column({ type: 'datetime', precision: 3, nullable: true })
  leaseExpiresAt: Date | null;

  /** Set when a caller asked to cancel; the worker aborts the task. */
  @Column({ type: 'boolean', default: false })
  cancelRequested: boolean;
}
