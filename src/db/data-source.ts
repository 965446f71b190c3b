import fs from 'node:fs';
import path from 'node:path';
import 'reflect-metadata';
import mysql from 'mysql2/promise';
import { DataSource, type DataSourceOptions } from 'typeorm';
import type { Config } from '../config';
import { ENTITIES, ProcessDefinition, ProcessDocument } from '../../entities';
import { MIGRATIONS } from './migrations';

export interface DataSourceSettings {
  /** `mariadb` makes TypeORM read MariaDB's catalogue correctly; found by `detectMysqlFlavour`. */
  readonly mysqlFlavour?: 'mysql' | 'mariadb';
  /** Tests only: build the schema from the entities instead of migrations. */
  readonly synchronize?: boolean;
  /** Override the SQLite file (`:memory:` for unit tests). */
  readonly sqliteFile?: string;
}

/**
 * TypeORM options for the configured database: an SQLite file under the data
 * directory by default, MySQL/MariaDB when DATABASE_URL says so.
 */
export function dataSourceOptions(config: Config, settings: DataSourceSettings = {}): DataSourceOptions {
  const common = {
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsRun: false,
    synchronize: settings.synchronize ?? false,
    logging: false,
  } as const;
  if (config.databaseUrl !== undefined) {
    const url = new URL(config.databaseUrl.replace(/^mariadb:/, 'mysql:'));
    return {
      ...common,
      type: settings.mysqlFlavour ?? (config.databaseUrl.startsWith('mariadb:') ? 'mariadb' : 'mysql'),
      host: url.hostname,
      port: url.port === '' ? 3306 : Number(url.port),
      username: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      database: url.pathname.replace(/^\//, ''),
      charset: 'utf8mb4_unicode_ci',
      timezone: 'Z',
      // mysql2 captures a stack trace per query unless told not to: a fifth of the CPU of an insert.
      trace: false,
      poolSize: 20,
      // The group committer sends a batch of transitions as one multi-statement
      // query (one round trip); every statement is built with placeholders.
      extra: { connectTimeout: 10_000, multipleStatements: true },
    };
  }
  const file = settings.sqliteFile ?? path.join(config.dataDir, 'provisor.sqlite');
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  return {
    ...common,
    type: 'better-sqlite3',
    database: file,
    enableWAL: true,
    statementCacheSize: 200,
    timeout: 10_000,
    prepareDatabase: (db: { pragma(sql: string): unknown }) => {
      // WAL with NORMAL sync: a committed row survives a crash of the process.
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
    },
  };
}

/** Asks a MySQL-protocol server whether it is MariaDB (TypeORM reads their catalogues differently). */
export async function detectMysqlFlavour(databaseUrl: string): Promise<'mysql' | 'mariadb'> {
  const url = new URL(databaseUrl.replace(/^mariadb:/, 'mysql:'));
  const connection = await mysql.createConnection({
    host: url.hostname,
    port: url.port === '' ? 3306 : Number(url.port),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    connectTimeout: 10_000,
  });
  try {
    const [rows] = await connection.query('SELECT VERSION() AS version');
    const version = String((rows as Array<{ version: unknown }>)[0]?.version ?? '');
    return /mariadb/i.test(version) ? 'mariadb' : 'mysql';
  } finally {
    await connection.end();
  }
}

/**
 * Columns that hold documents larger than MySQL's TEXT (64 KiB): a generated
 * change plan's BPEL runs to hundreds of kilobytes. The entities declare
 * them `text` (SQLite's only text type, of any length); on MySQL and MariaDB
 * they are MEDIUMTEXT (16 MiB), set on each DataSource's metadata once it is
 * built, so that the migrations, the schema check and the generator agree.
 */
const MEDIUM_TEXT_COLUMNS: ReadonlyArray<readonly [Function, string]> = [
  [ProcessDefinition, 'bpel'],
  [ProcessDocument, 'content'],
];

/** Gives an initialised DataSource the column types of its dialect (see MEDIUM_TEXT_COLUMNS). */
export function applyDialectColumnTypes(dataSource: DataSource): void {
  const type = dataSource.options.type;
  if (type !== 'mysql' && type !== 'mariadb') return;
  for (const [entity, property] of MEDIUM_TEXT_COLUMNS) {
    const column = dataSource.getMetadata(entity).findColumnWithPropertyName(property);
    if (column === undefined) throw new Error(`no column ${property} on ${entity.name}`);
    column.type = 'mediumtext';
  }
}

/** Creates and initialises the DataSource and brings the schema up to date. */
export async function openDatabase(config: Config, settings: DataSourceSettings = {}): Promise<DataSource> {
  const flavour = settings.mysqlFlavour ?? (config.databaseUrl === undefined ? undefined : await detectMysqlFlavour(config.databaseUrl));
  const dataSource = new DataSource(dataSourceOptions(config, { ...settings, mysqlFlavour: flavour }));
  await dataSource.initialize();
  applyDialectColumnTypes(dataSource);
  if (settings.synchronize !== true) await dataSource.runMigrations({ transaction: 'each' });
  return dataSource;
}
