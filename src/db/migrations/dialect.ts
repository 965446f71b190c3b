import type { QueryRunner } from 'typeorm';

/** True on MySQL and MariaDB, false on SQLite. */
export function isMysql(queryRunner: QueryRunner): boolean {
  const type = queryRunner.connection.driver.options.type;
  return type === 'mysql' || type === 'mariadb';
}
