import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export const ROLES = ['customer', 'operator', 'engine', 'admin'] as const;
/**
 * - customer: own account's work orders, types up to its permission level;
 * - operator, engine: provisioning and workflow operations;
 * - admin: everything, including manual processing.
 */
export type Role = (typeof ROLES)[number];

/** Someone (or something) that calls Provisor. */
@Entity({ name: 'app_user' })
export class User {
  @PrimaryGeneratedColumn({ type: 'int' })
  id: number;

  @Index({ unique: true })
  @Column({ type: 'varchar', length: 200 })
  name: string;

  @Column({ type: 'varchar', length: 16 })
  role: Role;

  @Column({ type: 'int', nullable: true })
  accountId: number | null;

  /** Where the user receives notifications; e-mail intake accepts orders from it (unique). */
  @Index({ unique: true })
  @Column({ type: 'varchar', length: 320, nullable: true })
  email: string | null;

  /** Work-order permission level (customers). */
  @Column({ type: 'int', default: 0 })
  level: number;

  /** `scrypt$N$r$p$salt$hash`, base64 parts. */
  @Column({ type: 'varchar', length: 255 })
  passwordHash: string;

  /**
   * The password encrypted with the server's secret key (AES-256-GCM), kept
   * because WS-Security PasswordDigest needs the password itself to verify.
   */
  @Column({ type: 'varchar', length: 512, nullable: true })
  digestSecret: string | null;

  @Column({ type: 'boolean', default: false })
  disabled: boolean;

  @Column({ type: 'datetime', precision: 3 })
  createdAt: Date;
}
