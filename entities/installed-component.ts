import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** A software component installed on a managed system, as the engine last recorded it. */
@Entity({ name: 'installed_component' })
@Index(['systemId', 'name'], { unique: true })
export class InstalledComponent {
  @PrimaryGeneratedColumn({ type: 'int' })
  id: number;

  @Column({ type: 'int' })
  systemId: number;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  @Column({ type: 'varchar', length: 100 })
  version: string;

  /** INSTALLED, CONFIGURED, RUNNING or STOPPED. */
  @Column({ type: 'varchar', length: 16 })
  state: string;

  /** Previous versions, most recent first, as a JSON array (for Rollback). */
  @Column({ type: 'text' })
  history: string;

  @Column({ type: 'int', nullable: true })
  pid: number | null;

  @Column({ type: 'datetime', precision: 3 })
  updatedAt: Date;
}
