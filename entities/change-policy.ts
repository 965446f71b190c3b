import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/**
 * An operational policy an admin defined: a kind the planner knows, its
 * parameters, and where it applies (every system, or the systems of some
 * roles or clusters). Built-in policies are the planner's and have no row.
 */
@Entity({ name: 'change_policy' })
export class ChangePolicyRow {
  @PrimaryGeneratedColumn({ type: 'int' })
  id: number;

  @Column({ type: 'varchar', length: 100, unique: true })
  name: string;

  @Column({ type: 'varchar', length: 64 })
  kind: string;

  /** JSON object of string values, at most 50 entries. */
  @Column({ type: 'text' })
  parameters: string;

  /** JSON array of `{kind: 'role'|'cluster', name}`; empty: everywhere. */
  @Column({ type: 'text' })
  scopes: string;

  @Column({ type: 'boolean', default: true })
  enabled: boolean;

  @Column({ type: 'varchar', length: 200 })
  createdBy: string;

  @Column({ type: 'datetime', precision: 3 })
  createdAt: Date;

  @Column({ type: 'datetime', precision: 3 })
  updatedAt: Date;
}

/**
 * A named, parameterised graph fragment: a task graph saved from a plan (or
 * written by hand) that later requests reuse by name. `definition` is the
 * planner's fragment shape as JSON.
 */
@Entity({ name: 'change_fragment' })
export class ChangeFragmentRow {
  @PrimaryGeneratedColumn({ type: 'int' })
  id: number;

  @Column({ type: 'varchar', length: 100, unique: true })
  name: string;

  @Column({ type: 'text', nullable: true })
  description: string | null;

  /** JSON: the fragment (its parameters, tasks and precedences), at most 60,000 bytes. */
  @Column({ type: 'text' })
  definition: string;

  @Column({ type: 'varchar', length: 200 })
  createdBy: string;

  @Column({ type: 'datetime', precision: 3 })
  createdAt: Date;

  @Column({ type: 'datetime', precision: 3 })
  updatedAt: Date;
}
