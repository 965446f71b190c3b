import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** An activity execution's state, each documented where it is declared. */
export const ACTIVITY_STATES = [
  /** Started, not finished (re-entered on resume). */
  'RUNNING',
  /** Finished normally (skipped on resume). */
  'COMPLETED',
  /** Ended with a fault (re-thrown on resume, so handlers see it again). */
  'FAULTED',
  /** A dead path, or a false join condition with suppressJoinFailure. */
  'SKIPPED',
  /** Stopped by a fault elsewhere, `<exit>` or a cancel. */
  'TERMINATED',
  /** A completed scope whose compensation handler ran. */
  'COMPENSATED',
] as const;
export type ActivityState = (typeof ACTIVITY_STATES)[number];

/**
 * One execution of an activity in an instance. `key` is the activity path
 * with loop iterations and handler runs (`/process/while#3/sequence/invoke`);
 * its state is one of {@link ACTIVITY_STATES}.
 */
@Entity({ name: 'activity_instance' })
@Index('idx_activity_key', ['instanceId', 'key'], { unique: true })
export class ActivityInstance {
  @PrimaryGeneratedColumn({ type: 'int' })
  id: number;

  @Column({ type: 'varchar', length: 64 })
  instanceId: string;

  @Column({ type: 'varchar', length: 700 })
  key: string;

  @Column({ type: 'varchar', length: 32 })
  kind: string;

  @Column({ type: 'varchar', length: 200, nullable: true })
  name: string | null;

  @Column({ type: 'varchar', length: 16 })
  state: ActivityState;

  @Column({ type: 'datetime', precision: 3 })
  startedAt: Date;

  @Column({ type: 'datetime', precision: 3, nullable: true })
  endedAt: Date | null;

  /** Completion order within the instance (compensation runs in reverse). */
  @Column({ type: 'int', nullable: true })
  completionSeq: number | null;

  @Column({ type: 'text', nullable: true })
  fault: string | null;

  /** Activity-specific durable data (JSON): loop iteration, chosen branch, invoke request id, timer due time. */
  @Column({ type: 'text', nullable: true })
  data: string | null;
}
