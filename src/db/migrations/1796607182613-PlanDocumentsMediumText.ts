import type { MigrationInterface, QueryRunner } from 'typeorm';
import { isMysql } from './dialect';

/**
 * Process documents larger than MySQL's TEXT (64 KiB), as generated change
 * plans are: MEDIUMTEXT on MySQL and MariaDB (see MEDIUM_TEXT_COLUMNS in
 * src/db/data-source.ts); SQLite's text has no such limit. Written by hand:
 * the generator drops and re-adds a column whose type changes, which would
 * lose the deployed processes; MODIFY keeps them.
 */
export class PlanDocumentsMediumText1796607182613 implements MigrationInterface {
  name = 'PlanDocumentsMediumText1796607182613';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (!isMysql(queryRunner)) return;
    await queryRunner.query('ALTER TABLE `process_definition` MODIFY `bpel` mediumtext NOT NULL');
    await queryRunner.query('ALTER TABLE `process_document` MODIFY `content` mediumtext NOT NULL');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    if (!isMysql(queryRunner)) return;
    await queryRunner.query('ALTER TABLE `process_document` MODIFY `content` text NOT NULL');
    await queryRunner.query('ALTER TABLE `process_definition` MODIFY `bpel` text NOT NULL');
  }
}
