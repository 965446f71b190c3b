import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** A package repository: a folder or http(s) URL with an index.json and archives. */
@Entity({ name: 'package_repository' })
export class PackageRepository {
  @PrimaryGeneratedColumn({ type: 'int' })
  id: number;

  @Column({ type: 'varchar', length: 1024 })
  location: string;

  /** Lower is searched first. */
  @Column({ type: 'int', default: 100 })
  priority: number;

  @Column({ type: 'datetime', precision: 3 })
  createdAt: Date;
}
