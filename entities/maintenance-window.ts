import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * A recurring maintenance window of a managed system: from `start` local
 * time in `timeZone`, on each of `days`, for `durationMinutes`. The change
 * manager changes a system that has windows only inside one of them.
 */
@Entity({ name: 'maintenance_window' })
@Index('idx_maintenance_window_system', ['systemId', 'position'], { unique: true })
export class MaintenanceWindowRow {
  @PrimaryGeneratedColumn({ type: 'int' })
  id: number;

  @Column({ type: 'int' })
  systemId: number;

  /** Order of declaration, from 0. */
  @Column({ type: 'int' })
  position: number;

  /** ISO weekdays, comma-separated: `1,2,3,4,5` is Monday to Friday. */
  @Column({ type: 'varchar', length: 20 })
  days: string;

  /** `HH:MM`, 24-hour, local time. */
  @Column({ type: 'varchar', length: 5 })
  start: string;

  @Column({ type: 'int' })
  durationMinutes: number;

  /** An IANA zone name, e.g. `Europe/Berlin`. */
  @Column({ type: 'varchar', length: 64 })
  timeZone: string;
}
