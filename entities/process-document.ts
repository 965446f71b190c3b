import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { LongText } from './long-text';

/** A WSDL (or other) document sent with DeployProcess, by the name the process imports it under. */
@Entity({ name: 'process_document' })
@Index('idx_document_name', ['definitionId', 'name'], { unique: true })
export class ProcessDocument {
  @PrimaryGeneratedColumn({ type: 'int' })
  id: number;

  @Column({ type: 'int' })
  definitionId: number;

  @Column({ type: 'varchar', length: 512 })
  name: string;

  @Column({ type: 'text' })
  @LongText()
  content: string;
}
