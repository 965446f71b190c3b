import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** The current value of a variable of one scope instance. */
@Entity({ name: 'process_variable' })
@Index('idx_variable_key', ['instanceId', 'scopeKey', 'name'], { unique: true })
export class ProcessVariable {
  @PrimaryGeneratedColumn({ type: 'int' })
  id: number;

  @Column({ type: 'varchar', length: 64 })
  instanceId: string;

  @Column({ type: 'varchar', length: 500 })
  scopeKey: string;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  @Column({ type: 'text' })
  value: string;
}
