import { Column, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

/**
 * A request for change, as submitted, and where it stands. Its state is one
 * of `CHANGE_STATES` (src/changemanager/change-plan.ts):
 * - PLANNING: accepted; waiting for (or under) planning — the planning queue;
 * - PLANNED: a plan was made (its parts are `change_plan_part` rows); a dry
 *   run stays here, any other is deployed and started at once;
 * - REJECTED: planning refused it (`rejectionCode`, `rejectionMessage`);
 * - RUNNING: its plan runs as process instance `instanceId`;
 * - COMPLETED / FAILED: the instance ended (`outcome` says how it failed);
 * - CANCELLED: cancelled by a caller before it ended.
 * Every move is one guarded write in src/changemanager/change-store.ts.
 */
@Entity({ name: 'change_request' })
@Index('idx_change_queue', ['state', 'leaseExpiresAt'])
@Index('idx_change_list', ['state', 'createdAt'])
@Index('idx_change_idempotency', ['caller', 'idempotencyKey'], { unique: true })
export class ChangeRequestRow {
  /** The public changeId (a UUID). */
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  /** The submitting user; idempotency keys are scoped to it. */
  @Column({ type: 'varchar', length: 200 })
  caller: string;

  /** The caller's idempotencyKey, or its WS-Addressing MessageID. */
  @Column({ type: 'varchar', length: 255, nullable: true })
  idempotencyKey: string | null;

  /** sha-256 of the request as stored: a retried key with another request is refused. */
  @Column({ type: 'varchar', length: 64 })
  requestDigest: string;

  /** The validated request as JSON (dates as ISO text), at most 60,000 bytes. */
  @Column({ type: 'text' })
  request: string;

  @Column({ type: 'varchar', length: 16 })
  state: string;

  @Column({ type: 'int' })
  priority: number;

  @Column({ type: 'boolean' })
  dryRun: boolean;

  @Column({ type: 'datetime', precision: 3, nullable: true })
  deadline: Date | null;

  /** How many times planning was started for it (a replan, or a planner that died, adds one). */
  @Column({ type: 'int', default: 0 })
  planAttempts: number;

  /** The planning lease: who plans it, until when (a dead planner's row is taken over after that). */
  @Column({ type: 'varchar', length: 100, nullable: true })
  leaseOwner: string | null;

  @Column({ type: 'datetime', precision: 3, nullable: true })
  leaseExpiresAt: Date | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  rejectionCode: string | null;

  @Column({ type: 'text', nullable: true })
  rejectionMessage: string | null;

  /** The deployed process of its plan, and its instance, once RUNNING. */
  @Column({ type: 'varchar', length: 200, nullable: true })
  processName: string | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  instanceId: string | null;

  /** Why it FAILED, or who CANCELLED it and why. */
  @Column({ type: 'text', nullable: true })
  outcome: string | null;

  @Column({ type: 'datetime', precision: 3 })
  createdAt: Date;

  @Column({ type: 'datetime', precision: 3 })
  updatedAt: Date;

  @Column({ type: 'datetime', precision: 3, nullable: true })
  plannedAt: Date | null;

  @Column({ type: 'datetime', precision: 3, nullable: true })
  endedAt: Date | null;
}

/**
 * The plan made for a change (tasks, precedences, schedule, checks, the BPEL
 * document and its imports, or a rejection's partial graph) as JSON, cut in
 * parts that each fit a TEXT column on MySQL: `seq` 0, 1, … in order.
 */
@Entity({ name: 'change_plan_part' })
@Index('idx_change_plan_part', ['changeId', 'seq'], { unique: true })
export class ChangePlanPart {
  @PrimaryGeneratedColumn({ type: 'int' })
  id: number;

  @Column({ type: 'varchar', length: 36 })
  changeId: string;

  @Column({ type: 'int' })
  seq: number;

  /** At most 16,000 characters (48,000 bytes of UTF-8). */
  @Column({ type: 'text' })
  content: string;
}
