import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/**
 * A type of work order customers can submit, loaded from the catalog file:
 * who may order it, what it asks for, what it costs and which change plan
 * carries it out.
 */
@Entity({ name: 'work_order_type' })
export class WorkOrderType {
  @PrimaryGeneratedColumn({ type: 'int' })
  id: number;

  @Column({ type: 'varchar', length: 100, unique: true })
  name: string;

  @Column({ type: 'varchar', length: 200 })
  title: string;

  @Column({ type: 'text' })
  description: string;

  /** The lowest customer permission level that may order it. */
  @Column({ type: 'int' })
  minLevel: number;

  /** The parameter definitions (JSON array of ParameterDefinition). */
  @Column({ type: 'text' })
  parameters: string;

  /** Price in minor units (cents). */
  @Column({ type: 'int' })
  priceMinor: number;

  @Column({ type: 'varchar', length: 3 })
  currency: string;

  /** The deployed WS-BPEL process that fulfils it. */
  @Column({ type: 'varchar', length: 200 })
  planName: string;

  /** sha256 of the plan and its documents, so a reload redeploys only what changed. */
  @Column({ type: 'varchar', length: 64 })
  planDigest: string;

  /** Orders of this type wait for an admin instead of the automation. */
  @Column({ type: 'boolean', default: false })
  manual: boolean;

  /** False once the type left the catalog: kept for its orders, no longer orderable. */
  @Column({ type: 'boolean', default: true })
  active: boolean;

  @Column({ type: 'datetime', precision: 3 })
  updatedAt: Date;
}
