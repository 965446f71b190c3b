import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** A durable timer of an instance: a `wait` or an `onAlarm`, with its original due time. */
@Entity({ name: 'process_timer' })
@Index('idx_timer_key', ['instanceId', 'key'], { unique: true })
@Index('idx_timer_due', ['firedAt', 'dueAt'])
export class ProcessTimer {
  @PrimaryGeneratedColumn({ type: 'int' })
  id: number;

  @Column({ type: 'varchar', length: 64 })
  instanceId: string;

  @Column({ type: 'varchar', length: 700 })
  key: string;

  @Column({ type: 'varchar', length: 16 })
  kind: string;

  @Column({ type: 'datetime', precision: 3 })
  dueAt: Date;

  @Column({ type: 'datetime', precision: 3, nullable: true })
  firedAt: Date | null;
}
