import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** What a closed work order costs; the database allows one per order. */
@Entity({ name: 'billable_event' })
@Index('idx_billable_time', ['createdAt'])
export class BillableEvent {
  @PrimaryGeneratedColumn({ type: 'int' })
  id: number;

  @Index('idx_billable_order', { unique: true })
  @Column({ type: 'int' })
  workOrderId: number;

  @Column({ type: 'int' })
  customerId: number;

  @Column({ type: 'varchar', length: 200 })
  customerName: string;

  @Column({ type: 'int' })
  accountId: number;

  @Column({ type: 'varchar', length: 200 })
  accountName: string;

  @Column({ type: 'varchar', length: 100 })
  typeName: string;

  /** In minor units (cents). */
  @Column({ type: 'int' })
  amountMinor: number;

  @Column({ type: 'varchar', length: 3 })
  currency: string;

  @Column({ type: 'datetime', precision: 3 })
  createdAt: Date;
}
