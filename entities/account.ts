import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** A billing account; customers belong to one. */
@Entity({ name: 'account' })
export class Account {
  @PrimaryGeneratedColumn({ type: 'int' })
  id: number;

  @Column({ type: 'varchar', length: 200, unique: true })
  name: string;

  @Column({ type: 'varchar', length: 320, nullable: true })
  contact: string | null;

  /** The storage pool (a managed system) its work orders act on; the catalog's default when null. */
  @Column({ type: 'varchar', length: 200, nullable: true })
  storagePool: string | null;

  @Column({ type: 'datetime', precision: 3 })
  createdAt: Date;
}
