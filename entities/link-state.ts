import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** The status of a flow link in one flow execution (true, or false when dead). */
@Entity({ name: 'link_state' })
@Index('idx_link_key', ['instanceId', 'key'], { unique: true })
export class LinkState {
  @PrimaryGeneratedColumn({ type: 'int' })
  id: number;

  @Column({ type: 'varchar', length: 64 })
  instanceId: string;

  /** Flow execution key + `~` + link name. */
  @Column({ type: 'varchar', length: 700 })
  key: string;

  @Column({ type: 'boolean' })
  value: boolean;
}
