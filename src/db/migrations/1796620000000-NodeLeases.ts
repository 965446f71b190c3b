import type { MigrationInterface, QueryRunner } from 'typeorm';
import { isMysql } from './dialect';

/** node_lease: each process's lease on its own liveness, by which abandoned work is told from work still owned. */
export class NodeLeases1796620000000 implements MigrationInterface {
  name = 'NodeLeases1796620000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (isMysql(queryRunner)) {
      await queryRunner.query('CREATE TABLE `node_lease` (`owner` varchar(200) NOT NULL, `expiresAt` datetime(3) NOT NULL, `startedAt` datetime(3) NOT NULL, PRIMARY KEY (`owner`)) ENGINE=InnoDB');
    } else {
      await queryRunner.query('CREATE TABLE "node_lease" ("owner" varchar(200) PRIMARY KEY NOT NULL, "expiresAt" datetime(3) NOT NULL, "startedAt" datetime(3) NOT NULL)');
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(isMysql(queryRunner) ? 'DROP TABLE `node_lease`' : 'DROP TABLE "node_lease"');
  }
}
