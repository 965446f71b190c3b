import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** A managed system: where provisioning tasks act, through its driver. */
@Entity({ name: 'managed_system' })
export class ManagedSystem {
  @PrimaryGeneratedColumn({ type: 'int' })
  id: number;

  @Column({ type: 'varchar', length: 200, unique: true })
  name: string;

  /** `local`, `simulated` or `ssh`. */
  @Column({ type: 'varchar', length: 32 })
  driver: string;

  /** Driver options (JSON object of strings); for `local`, `root`. */
  @Column({ type: 'text' })
  options: string;

  @Column({ type: 'datetime', precision: 3 })
  createdAt: Date;

  /** The cluster it belongs to (systems of one cluster are changed in waves); null: none. */
  @Column({ type: 'varchar', length: 100, nullable: true })
  cluster: string | null;

  /** How many provisioning tasks the change manager runs on it at once (at least 1). */
  @Column({ type: 'int', default: 1 })
  capacity: number;

  /** Hardware facts, declared by an operator; null where unknown. */
  @Column({ type: 'int', nullable: true })
  cpus: number | null;

  @Column({ type: 'int', nullable: true })
  memoryMb: number | null;

  @Column({ type: 'int', nullable: true })
  diskGb: number | null;

  /** Free space, in MB, of the filesystem holding the system's root when the facts were last read; null: never read. */
  @Column({ type: 'int', nullable: true })
  freeDiskMb: number | null;

  /** The host's operating system as it names itself (os-release), when last read; null: unknown. */
  @Column({ type: 'varchar', length: 200, nullable: true })
  os: string | null;

  /** The host's kernel (`uname -sr`), when last read; null: unknown. */
  @Column({ type: 'varchar', length: 200, nullable: true })
  kernel: string | null;

  /** When the driver last read the host's facts; null: never. */
  @Column({ type: 'datetime', precision: 3, nullable: true })
  factsReadAt: Date | null;
}
