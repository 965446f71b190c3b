import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** One change to a component's version or state: the resource model's history. */
@Entity({ name: 'component_event' })
@Index(['systemId', 'component'])
export class ComponentEvent {
  @PrimaryGeneratedColumn({ type: 'int' })
  id: number;

  @Column({ type: 'int' })
  systemId: number;

  @Column({ type: 'varchar', length: 200 })
  component: string;

  @Column({ type: 'varchar', length: 32 })
  operation: string;

  /** Version after the change; null once uninstalled. */
  @Column({ type: 'varchar', length: 100, nullable: true })
  version: string | null;

  /** State after the change; `UNINSTALLED` once removed. */
  @Column({ type: 'varchar', length: 16 })
  state: string;

  @Column({ type: 'varchar', length: 64 })
  requestId: string;

  @Column({ type: 'datetime', precision: 3 })
  at: Date;
}
