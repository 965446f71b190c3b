import type { MigrationInterface, QueryRunner } from 'typeorm';
import { isMysql } from './dialect';

/**
 * process_start_claim: the instance several start activities created for a
 * set of correlation values, unique per process and values, so that two
 * creating messages carrying the same values start one instance.
 */
export class StartClaims1796660000000 implements MigrationInterface {
  name = 'StartClaims1796660000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (isMysql(queryRunner)) {
      await queryRunner.query(
        'CREATE TABLE `process_start_claim` (`id` int NOT NULL AUTO_INCREMENT, `processName` varchar(200) NOT NULL, `correlationKey` varchar(64) NOT NULL, `instanceId` varchar(64) NOT NULL, UNIQUE INDEX `idx_start_claim` (`processName`, `correlationKey`), INDEX `idx_start_claim_instance` (`instanceId`), PRIMARY KEY (`id`)) ENGINE=InnoDB',
      );
    } else {
      await queryRunner.query('CREATE TABLE "process_start_claim" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "processName" varchar(200) NOT NULL, "correlationKey" varchar(64) NOT NULL, "instanceId" varchar(64) NOT NULL)');
      await queryRunner.query('CREATE UNIQUE INDEX "idx_start_claim" ON "process_start_claim" ("processName", "correlationKey") ');
      await queryRunner.query('CREATE INDEX "idx_start_claim_instance" ON "process_start_claim" ("instanceId") ');
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    if (isMysql(queryRunner)) await queryRunner.query('DROP TABLE `process_start_claim`');
    else await queryRunner.query('DROP TABLE "process_start_claim"');
  }
}
