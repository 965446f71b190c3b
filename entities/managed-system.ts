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
}
