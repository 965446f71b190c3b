import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import type { DataSource } from 'typeorm';
import { buildApp, type App } from '../../src/app';
import type { Role } from '../../entities';
import type { Clock } from '../../src/clock';
import { loadConfig, type Config, type Env } from '../../src/config';
import { openDatabase } from '../../src/db/data-source';
import { createLogger } from '../../src/log';

let counter = 0;

/** The MySQL URL the suite runs against, or undefined for SQLite. */
export function testDatabaseUrl(): string | undefined {
  const url = process.env.DATABASE_URL;
  return url === undefined || url === '' ? undefined : url;
}

/**
 * A fresh database environment: a new SQLite file in a temp folder, or a new
 * database on the MySQL server named by DATABASE_URL.
 */
export async function freshEnvironment(extra: Env = {}): Promise<{ env: Env; dataDir: string; cleanup: () => Promise<void> }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'provisor-test-'));
  const base = testDatabaseUrl();
  const env: Record<string, string | undefined> = { PROVISOR_DATA_DIR: dataDir, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error', ...extra };
  let dbName: string | undefined;
  if (base !== undefined) {
    const url = new URL(base);
    dbName = `${url.pathname.slice(1) || 'provisor_test'}_${process.pid}_${++counter}`;
    const admin = await mysql.createConnection({ host: url.hostname, port: Number(url.port || 3306), user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) });
    await admin.query(`DROP DATABASE IF EXISTS \`${dbName}\``);
    await admin.query(`CREATE DATABASE \`${dbName}\` CHARACTER SET utf8mb4`);
    await admin.end();
    url.pathname = `/${dbName}`;
    env.DATABASE_URL = url.toString();
  }
  return {
    env,
    dataDir,
    cleanup: async () => {
      if (base !== undefined && dbName !== undefined) {
        const url = new URL(base);
        const admin = await mysql.createConnection({ host: url.hostname, port: Number(url.port || 3306), user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) });
        await admin.query(`DROP DATABASE IF EXISTS \`${dbName}\``);
        await admin.end();
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface TestServer {
  readonly app: App;
  readonly config: Config;
  readonly dataSource: DataSource;
  readonly baseUrl: string;
  readonly env: Env;
  readonly dataDir: string;
  addUser(name: string, role: Role, password: string): Promise<void>;
  close(): Promise<void>;
}

/** A migrated DataSource on a fresh database (SQLite, or MySQL when DATABASE_URL is set), and its removal. */
export async function freshDataSource(): Promise<{ dataSource: DataSource; dispose(): Promise<void> }> {
  const environment = await freshEnvironment();
  const dataSource = await openDatabase(loadConfig(environment.env));
  return {
    dataSource,
    async dispose() {
      await dataSource.destroy();
      await environment.cleanup();
    },
  };
}

/**
 * Gives the enclosing mocha suite a migrated DataSource on a fresh database:
 * opened before its tests (handed to `opened`), removed after them.
 */
export function withFreshDataSource(opened: (dataSource: DataSource) => void): void {
  let fresh: Awaited<ReturnType<typeof freshDataSource>> | undefined;
  before(async () => {
    fresh = await freshDataSource();
    opened(fresh.dataSource);
  });
  after(() => fresh?.dispose());
}

/** Builds the real app on a fresh database and listens on a free port; `clock` replaces the system clock. */
export async function startTestServer(extra: Env = {}, options: { clock?: Clock } = {}): Promise<TestServer> {
  const environment = await freshEnvironment({ PROVISOR_POLL_MS: '50', PROVISOR_CATALOG_LOAD: 'false', PROVISOR_WORKORDER_POLL_MS: '50', ...extra });
  const config = loadConfig(environment.env);
  const dataSource = await openDatabase(config);
  const app = await buildApp({ config, logger: createLogger(config.logLevel), dataSource, clock: options.clock });
  const port = await app.listen(0, '127.0.0.1');
  return {
    app,
    config,
    dataSource,
    env: environment.env,
    dataDir: environment.dataDir,
    baseUrl: `http://127.0.0.1:${port}`,
    async addUser(name, role, password) {
      await app.users.addUser({ name, role, password });
    },
    async close() {
      await app.close(2000);
      await dataSource.destroy();
      await environment.cleanup();
    },
  };
}

export async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/**
 * Prepares a database for a server that a test starts as a process of its
 * own: builds the app on `env` (without listening), lets `prepare` add users,
 * systems and repositories, and closes it again.
 */
export async function prepareDatabase(env: Env, prepare: (app: App) => Promise<void>): Promise<void> {
  const config = loadConfig(env);
  const dataSource = await openDatabase(config);
  const app = await buildApp({ config, logger: createLogger('error'), dataSource });
  try {
    await prepare(app);
  } finally {
    await app.close();
    await dataSource.destroy();
  }
}
