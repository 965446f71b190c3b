import type { MigrationInterface, QueryRunner } from 'typeorm';
import { isMysql } from './dialect';

/** provisioning_request.origin: the engine that claims a request first. */
export class EngineAffinity1796541913471 implements MigrationInterface {
  name = 'EngineAffinity1796541913471';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (isMysql(queryRunner)) {
      await queryRunner.query("ALTER TABLE `provisioning_request` ADD `origin` varchar(255) NULL");
    } else {
      await queryRunner.query('ALTER TABLE "provisioning_request" ADD COLUMN "origin" varchar(255)');
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    if (isMysql(queryRunner)) {
      await queryRunner.query("ALTER TABLE `provisioning_request` DROP COLUMN `origin`");
    } else {
      await queryRunner.query('ALTER TABLE "provisioning_request" DROP COLUMN "origin"');
    }
  }
}
