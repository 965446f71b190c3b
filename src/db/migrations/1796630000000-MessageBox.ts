import type { MigrationInterface, QueryRunner } from 'typeorm';
import { isMysql } from './dialect';

/**
 * process_message: messages received for process instances, a row before
 * they are acknowledged; process_correlation: the correlation values each
 * instance initiated, by which messages are routed to it.
 */
export class MessageBox1796630000000 implements MigrationInterface {
  name = 'MessageBox1796630000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (isMysql(queryRunner)) {
      await queryRunner.query(
        'CREATE TABLE `process_message` (`id` int NOT NULL AUTO_INCREMENT, `processName` varchar(200) NOT NULL, `operation` varchar(400) NOT NULL, `correlationKey` varchar(64) NOT NULL, `sourceKey` varchar(64) NULL, `message` longtext NOT NULL, `receivedAt` datetime(3) NOT NULL, `expiresAt` datetime(3) NULL, `instanceId` varchar(64) NULL, `consumerKey` varchar(700) NULL, `reply` longtext NULL, INDEX `idx_message_route` (`processName`, `operation`, `correlationKey`), INDEX `idx_message_consumer` (`instanceId`, `consumerKey`), UNIQUE INDEX `idx_message_source` (`processName`, `sourceKey`), PRIMARY KEY (`id`)) ENGINE=InnoDB',
      );
      await queryRunner.query(
        'CREATE TABLE `process_correlation` (`id` int NOT NULL AUTO_INCREMENT, `instanceId` varchar(64) NOT NULL, `processName` varchar(200) NOT NULL, `setName` varchar(200) NOT NULL, `correlationKey` varchar(64) NOT NULL, `value` text NOT NULL, UNIQUE INDEX `idx_correlation_set` (`instanceId`, `setName`), INDEX `idx_correlation_route` (`processName`, `correlationKey`), PRIMARY KEY (`id`)) ENGINE=InnoDB',
      );
    } else {
      await queryRunner.query(
        'CREATE TABLE "process_message" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "processName" varchar(200) NOT NULL, "operation" varchar(400) NOT NULL, "correlationKey" varchar(64) NOT NULL, "sourceKey" varchar(64), "message" text NOT NULL, "receivedAt" datetime(3) NOT NULL, "expiresAt" datetime(3), "instanceId" varchar(64), "consumerKey" varchar(700), "reply" text)',
      );
      await queryRunner.query('CREATE INDEX "idx_message_route" ON "process_message" ("processName", "operation", "correlationKey") ');
      await queryRunner.query('CREATE INDEX "idx_message_consumer" ON "process_message" ("instanceId", "consumerKey") ');
      await queryRunner.query('CREATE UNIQUE INDEX "idx_message_source" ON "process_message" ("processName", "sourceKey") ');
      await queryRunner.query('CREATE TABLE "process_correlation" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "instanceId" varchar(64) NOT NULL, "processName" varchar(200) NOT NULL, "setName" varchar(200) NOT NULL, "correlationKey" varchar(64) NOT NULL, "value" text NOT NULL)');
      await queryRunner.query('CREATE UNIQUE INDEX "idx_correlation_set" ON "process_correlation" ("instanceId", "setName") ');
      await queryRunner.query('CREATE INDEX "idx_correlation_route" ON "process_correlation" ("processName", "correlationKey") ');
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    if (isMysql(queryRunner)) {
      await queryRunner.query('DROP TABLE `process_correlation`');
      await queryRunner.query('DROP TABLE `process_message`');
    } else {
      await queryRunner.query('DROP TABLE "process_correlation"');
      await queryRunner.query('DROP TABLE "process_message"');
    }
  }
}
