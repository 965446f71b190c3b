import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { LongText } from './long-text';

/**
 * A message received at a process endpoint for a running instance (or for
 * one not there yet): a row before the sender is acknowledged, taken by the
 * receive, onMessage or onEvent of the instance whose correlation values it
 * carries. Taking it is one guarded update (`instanceId` and `consumerKey`
 * set where they were null), so a message is taken once, and a resumed
 * instance finds again the message its activity took before a crash.
 */
@Entity({ name: 'process_message' })
@Index('idx_message_route', ['processName', 'operation', 'correlationKey'])
@Index('idx_message_consumer', ['instanceId', 'consumerKey'])
@Index('idx_message_source', ['processName', 'sourceKey'], { unique: true })
export class ProcessMessage {
  @PrimaryGeneratedColumn({ type: 'int' })
  id: number;

  @Column({ type: 'varchar', length: 200 })
  processName: string;

  /** The partner link and operation it was sent to: `partnerLink/operation`. */
  @Column({ type: 'varchar', length: 400 })
  operation: string;

  /** The hash of its correlation set's name and values (see src/bpel/properties.ts). */
  @Column({ type: 'varchar', length: 64 })
  correlationKey: string;

  /** A hash of the sender and its WS-Addressing MessageID, when it sent one: a message sent again is stored once. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  sourceKey: string | null;

  /** The message, as variables are stored. */
  @LongText()
  @Column({ type: 'text' })
  message: string;

  @Column({ type: 'datetime', precision: 3 })
  receivedAt: Date;

  /** Set when no instance held its correlation values at receipt: it is not taken after this time. */
  @Column({ type: 'datetime', precision: 3, nullable: true })
  expiresAt: Date | null;

  /** The instance that took it. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  instanceId: string | null;

  /** The activity execution that took it (its key in the instance). */
  @Column({ type: 'varchar', length: 700, nullable: true })
  consumerKey: string | null;

  /** The instance's reply to it (a request-response operation), as variables are stored; a fault's reply names it. */
  @LongText()
  @Column({ type: 'text', nullable: true })
  reply: string | null;
}
