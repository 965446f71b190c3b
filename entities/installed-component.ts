import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** An installed component's lifecycle state, each documented where it is declared. */
export const COMPONENT_STATES = [
  /** Its files are in place; not configured yet. */
  'INSTALLED',
  /** Installed and configured (InitialConfigure or Configure ran); not running. */
  'CONFIGURED',
  /** Its process was started (Start) and has not been stopped. */
  'RUNNING',
  /** Not running: stopped (Stop), or an Update or Rollback replaced the running version. */
  'STOPPED',
] as const;
export type ComponentState = (typeof COMPONENT_STATES)[number];

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

  @Column({ type: 'varchar', length: 16 })
  state: ComponentState;

  /** Previous versions, most recent first, as a JSON array (for Rollback). */
  @Column({ type: 'text' })
  history: string;

  @Column({ type: 'int', nullable: true })
  pid: number | null;

  /**
   * The parameters of its current configuration as a JSON object of
   * strings (what InitialConfigure set, with every later Configure merged
   * in); null until it is configured.
   */
  @Column({ type: 'text', nullable: true })
  parameters: string | null;

  @Column({ type: 'datetime', precision: 3 })
  updatedAt: Date;
}
