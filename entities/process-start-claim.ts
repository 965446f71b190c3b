import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * The instance a process's start activities created for one set of
 * correlation values: with several start activities (`initiate="join"`),
 * the first creating message claims the values, atomically with the
 * instance, and a second one carrying them finds that instance instead of
 * starting another. A claim of an instance that ended is stale and is
 * replaced by the next instance the values create.
 */
@Entity({ name: 'process_start_claim' })
@Index('idx_start_claim', ['processName', 'correlationKey'], { unique: true })
@Index('idx_start_claim_instance', ['instanceId'])
export class ProcessStartClaim {
  @PrimaryGeneratedColumn({ type: 'int' })
  id: number;

  @Column({ type: 'varchar', length: 200 })
  processName: string;

  /** The key of the joined correlation set's values (see src/bpel/properties.ts). */
  @Column({ type: 'varchar', length: 64 })
  correlationKey: string;

  @Column({ type: 'varchar', length: 64 })
  instanceId: string;
}
