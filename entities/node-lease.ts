import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * A Provisor process's lease on its own liveness, renewed while it runs.
 * Work it claimed (work orders, callback deliveries) stays its own while
 * this row is unexpired; once it expires the work is abandoned and another
 * process adopts it, and every fenced write of the old owner fails.
 */
@Entity({ name: 'node_lease' })
export class NodeLease {
  /** The owner id (`host/pid/random`, see src/lease.ts). */
  @PrimaryColumn({ type: 'varchar', length: 200 })
  owner: string;

  /** Until when the owner counts as alive. */
  @Column({ type: 'datetime', precision: 3 })
  expiresAt: Date;

  @Column({ type: 'datetime', precision: 3 })
  startedAt: Date;
}
