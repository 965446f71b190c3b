import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { loadConfig, type Config, type Env } from '../../src/config';
import { openDatabase } from '../../src/db/data-source';

/** The two database kinds every ingest and engine case runs on. */
export type DbKind = 'sqlite' | 'mysql';

export const DB_LABEL: Readonly<Record<DbKind, string>> = { sqlite: 'SQLite', mysql: 'MariaDB' };

/** Where the MariaDB cases go: BENCH_MYSQL_URL, else the local server as root with no password. */
export function mysqlBaseUrl(): string {
  const url = process.env.BENCH_MYSQL_URL;
  return url === undefined || url === '' ? 'mysql://root@127.0.0.1:3306/' : url;
}

async function adminConnection(base: string): Promise<mysql.Connection> {
  const url = new URL(base);
  return mysql.createConnection({
    host: url.hostname,
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    connectTimeout: 3000,
  });
}

/** The server's version string, or an Error saying why it cannot be reached. */
export async function probeMysql(): Promise<{ version: string } | { error: string }> {
  try {
    const connection = await adminConnection(mysqlBaseUrl());
    try {
      const [rows] = await connection.query('SELECT VERSION() AS version');
      return { version: String((rows as Array<{ version: unknown }>)[0]?.version ?? '?') };
    } finally {
      await connection.end();
    }
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

/** A fresh, empty database of one kind: its environment (for loadConfig and child processes) and its removal. */
export interface FreshDatabase {
  readonly kind: DbKind;
  readonly env: Env;
  readonly dataDir: string;
  config(extra?: Env): Config;
  /** Rows in provisioning_request, by status. */
  countRequests(): Promise<Record<string, number>>;
  dispose(): Promise<void>;
}

let counter = 0;

export async function freshDatabase(kind: DbKind, extra: Env = {}): Promise<FreshDatabase> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'provisor-bench-'));
  const env: Record<string, string | undefined> = { PROVISOR_DATA_DIR: dataDir, LOG_LEVEL: 'warn', PROVISOR_ENGINE: 'false', ...extra };
  let dbName: string | undefined;
  if (kind === 'mysql') {
    dbName = `provisor_bench_${process.pid}_${++counter}`;
    const admin = await adminConnection(mysqlBaseUrl());
    try {
      await admin.query(`DROP DATABASE IF EXISTS \`${dbName}\``);
      await admin.query(`CREATE DATABASE \`${dbName}\` CHARACTER SET utf8mb4`);
    } finally {
      await admin.end();
    }
    const url = new URL(mysqlBaseUrl());
    url.pathname = `/${dbName}`;
    env.DATABASE_URL = url.toString();
  } else {
    env.DATABASE_URL = undefined;
  }
  const config = (more: Env = {}): Config => loadConfig({ ...env, ...more });
  return {
    kind,
    env,
    dataDir,
    config,
    async countRequests() {
      const ds = await openDatabase(config());
      try {
        const rows = (await ds.query('SELECT status, COUNT(*) AS n FROM provisioning_request GROUP BY status')) as Array<{ status: string; n: unknown }>;
        const out: Record<string, number> = {};
        for (const r of rows) out[r.status] = Number(r.n);
        return out;
      } finally {
        await ds.destroy();
      }
    },
    async dispose() {
      if (dbName !== undefined) {
        const admin = await adminConnection(mysqlBaseUrl());
        try {
          await admin.query(`DROP DATABASE IF EXISTS \`${dbName}\``);
        } finally {
          await admin.end();
        }
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function total(counts: Readonly<Record<string, number>>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}
