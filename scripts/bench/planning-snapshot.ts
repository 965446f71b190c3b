/**
 * The planning snapshot's cost: `loadPlanningModel` over 200 systems (two
 * roles and a maintenance window each, 5 installed components each: 1,000
 * components with parameters) and the demo repository, on SQLite and on
 * MariaDB. Prints the median and the slowest of the timed loads.
 *
 * Usage: node dist/scripts/bench/planning-snapshot.js [--loads N] [--sqlite-only]
 * (MariaDB at BENCH_MYSQL_URL, default mysql://root@127.0.0.1:3306/provisor_bench_snapshot)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import mysql from 'mysql2/promise';
import type { DataSource } from 'typeorm';
import { InstalledComponent, MaintenanceWindowRow, ManagedSystem, PackageRepository, SystemRole } from '../../entities';
import { loadPlanningModel } from '../../src/changemanager/model-loader';
import { systemClock } from '../../src/clock';
import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/db/data-source';
import { buildDemoRepository, PackageRepositories } from '../../src/drivers/local';

const SYSTEMS = 200;
const COMPONENTS_PER_SYSTEM = 5;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
}

async function fill(dataSource: DataSource, repo: string): Promise<void> {
  const at = new Date();
  await dataSource.getRepository(PackageRepository).insert({ location: repo, priority: 100, createdAt: at });
  for (let i = 0; i < SYSTEMS; i += 1) {
    const { identifiers } = await dataSource.getRepository(ManagedSystem).insert({ name: `sys${i}`, driver: 'simulated', options: '{}', createdAt: at, cluster: `c${i % 10}`, capacity: 2, cpus: 4, memoryMb: 8192, diskGb: 100 });
    const systemId = identifiers[0]?.id as number;
    await dataSource.getRepository(SystemRole).insert([{ systemId, role: 'app-server' }, { systemId, role: `zone-${i % 4}` }]);
    await dataSource.getRepository(MaintenanceWindowRow).insert({ systemId, position: 0, days: '1,2,3,4,5', start: '22:00', durationMinutes: 240, timeZone: 'Europe/Berlin' });
    await dataSource.getRepository(InstalledComponent).insert(
      Array.from({ length: COMPONENTS_PER_SYSTEM }, (_, c) => ({ systemId, name: `component-${c}`, version: '1.0.0', state: 'RUNNING', history: '[]', pid: null, parameters: JSON.stringify({ port: String(8000 + c), mode: 'production' }), updatedAt: at })),
    );
  }
}

async function measure(label: string, env: Record<string, string>, repo: string, loads: number, cacheDir: string): Promise<void> {
  const dataSource = await openDatabase(loadConfig(env));
  try {
    await fill(dataSource, repo);
    const repositories = new PackageRepositories({ cacheDir, indexTtlMs: 60_000, fetchTimeoutMs: 10_000, now: () => Date.now() });
    await loadPlanningModel({ dataSource, repositories, clock: systemClock });
    const times: number[] = [];
    let sizes = '';
    for (let i = 0; i < loads; i += 1) {
      const started = performance.now();
      const model = await loadPlanningModel({ dataSource, repositories, clock: systemClock });
      times.push(performance.now() - started);
      sizes = `${model.systems.length} systems, ${model.packages.length} package versions, ${model.installed.length} components`;
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)] as number;
    console.log(`${label}: ${sizes}; median ${median.toFixed(1)} ms, slowest ${(times[times.length - 1] as number).toFixed(1)} ms over ${loads} loads`);
  } finally {
    await dataSource.destroy();
  }
}

async function main(): Promise<void> {
  const loads = Number(arg('--loads') ?? '20');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'provisor-snapshot-bench-'));
  try {
    const repo = await buildDemoRepository(path.join(dir, 'repo'));
    fs.mkdirSync(path.join(dir, 'sqlite'));
    await measure('SQLite', { PROVISOR_DATA_DIR: path.join(dir, 'sqlite'), LOG_LEVEL: 'error' }, repo, loads, path.join(dir, 'cache'));
    if (process.argv.includes('--sqlite-only')) return;
    const url = new URL(process.env.BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/provisor_bench_snapshot');
    const name = url.pathname.slice(1);
    const admin = await mysql.createConnection({ host: url.hostname, port: Number(url.port || 3306), user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) });
    try {
      await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
      fs.mkdirSync(path.join(dir, 'mysql'));
      await measure('MariaDB', { PROVISOR_DATA_DIR: path.join(dir, 'mysql'), DATABASE_URL: url.toString(), LOG_LEVEL: 'error' }, repo, loads, path.join(dir, 'cache'));
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await admin.end();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
