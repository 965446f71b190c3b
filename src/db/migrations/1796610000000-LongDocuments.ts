import type { MigrationInterface, QueryRunner } from 'typeorm';
import { isMysql } from './dialect';

/** MySQL/MariaDB: process documents and plans may exceed TEXT's 64 KiB (see entities/long-text.ts); SQLite's text has no limit. */
export class LongDocuments1796610000000 implements MigrationInterface {
  name = 'LongDocuments1796610000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (!isMysql(queryRunner)) return;
    await queryRunner.query('ALTER TABLE `process_definition` MODIFY `bpel` longtext NOT NULL');
    await queryRunner.query('ALTER TABLE `process_document` MODIFY `content` longtext NOT NULL');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    if (!isMysql(queryRunner)) return;
    await queryRunner.query('ALTER TABLE `process_document` MODIFY `content` text NOT NULL');
    await queryRunner.query('ALTER TABLE `process_definition` MODIFY `bpel` text NOT NULL');
  }
}
