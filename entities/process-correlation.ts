import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * The values an instance initiated one of its correlation sets with: the
 * process endpoint routes a message to the instance holding the values the
 * message carries.
 */
@Entity({ name: 'process_correlation' })
@Index('idx_correlation_set', ['instanceId', 'setName'], { unique: true })
@Index('idx_correlation_route', ['processName', 'correlationKey'])
export class ProcessCorrelation {
  @PrimaryGeneratedColumn({ type: 'int' })
  id: number;

  @Column({ type: 'varchar', length: 64 })
  instanceId: string;

  @Column({ type: 'varchar', length: 200 })
  processName: string;

  @Column({ type: 'varchar', length: 200 })
  setName: string;

  /** The hash of the set's name and values (see src/bpel/properties.ts). */
  @Column({ type: 'varchar', length: 64 })
  correlationKey: string;

  /** The values, as a JSON array of strings in the order of the set's properties. */
  @Column({ type: 'text' })
  value: string;
}
