import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** One step of a work order's history: a state change, who made it and why. */
@Entity({ name: 'work_order_event' })
@Index('idx_work_order_event_order', ['workOrderId', 'id'])
export class WorkOrderEvent {
  @PrimaryGeneratedColumn({ type: 'int' })
  id: number;

  @Column({ type: 'int' })
  workOrderId: number;

  @Column({ type: 'datetime', precision: 3 })
  at: Date;

  @Column({ type: 'varchar', length: 16, nullable: true })
  fromState: string | null;

  @Column({ type: 'varchar', length: 16 })
  toState: string;

  /** A user name, or `automation`. */
  @Column({ type: 'varchar', length: 200 })
  actor: string;

  @Column({ type: 'text', nullable: true })
  reason: string | null;
}
