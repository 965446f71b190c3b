import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { LongText } from './long-text';

/** A deployed WS-BPEL process (one row per version). */
@Entity({ name: 'process_definition' })
@Index('idx_definition_version', ['name', 'version'], { unique: true })
export class ProcessDefinition {
  @PrimaryGeneratedColumn({ type: 'int' })
  id: number;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  @Column({ type: 'int' })
  version: number;

  @Column({ type: 'text' })
  @LongText()
  bpel: string;

  /** JSON deployment descriptor: partner link bindings. */
  @Column({ type: 'text' })
  descriptor: string;

  /**
   * sha-256 of the process and the documents deployed with it (see
   * src/workflow/definition-digest.ts): a catalog plan's version is
   * billable only when it matches the catalog's file. Null for versions
   * deployed before digests were recorded.
   */
  @Column({ type: 'varchar', length: 64, nullable: true })
  digest: string | null;

  @Column({ type: 'varchar', length: 200 })
  deployedBy: string;

  @Column({ type: 'datetime', precision: 3 })
  deployedAt: Date;
}
