import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** A role or tag declared for a managed system (e.g. `app-server`): one row per system and role. */
@Entity({ name: 'system_role' })
@Index('idx_system_role', ['systemId', 'role'], { unique: true })
@Index('idx_system_role_by_role', ['role'])
export class SystemRole {
  @PrimaryGeneratedColumn({ type: 'int' })
  id: number;

  @Column({ type: 'int' })
  systemId: number;

  @Column({ type: 'varchar', length: 64 })
  role: string;
}
