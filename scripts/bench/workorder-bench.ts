/**
 * Work-order throughput end to end: orders submitted over SOAP
 * (`WorkOrder.SubmitWorkOrder`) → claimed by the automation → the type's
 * change plan on the workflow engine → Software.Configure on a `simulated`
 * storage pool, monitored with Request.GetStatus → CLOSED → billed.
 *
 * Cases, each on a fresh database:
 * - storage, 1 process: the project's CreateVolume plan; one Provisor server;
 * - storage, 2 processes (MariaDB): the same orders, two servers sharing the
 *   database, the submissions split between them;
 * - baseline, 1 process: the same path with a no-op plan (the test catalog's
 *   Echo type), to show what the storage plan itself costs.
 *
 * The figure is orders per second from the first submission to the last
 * billable event; the submissions alone are timed too.
 *
 * Usage: node dist/scripts/bench/workorder-bench.js [--sqlite-only|--mysql-only]
 *   [--orders N (2000)] [--callers N (32)] [--pools N (128)] [--case ID]
 *   [--warmup N (1000)] [--cpu-prof DIR]
 * `--case` runs only the case of that id (e.g. storage-1p); `--cpu-prof`
 * writes a V8 CPU profile of each server process into DIR.
 *
 * Each case first puts `--warmup N` (1000) orders through the servers
 * untimed, so that what is measured is the sustained rate of processes
 * whose code the JIT has already optimised, not their start-up.
 */
import os from 'node:os';
import autocannon from 'autocannon';
import path from 'node:path';
import { buildApp } from '../../src/app';
import { openDatabase } from '../../src/db/data-source';
import { createLogger } from '../../src/log';
import { projectRoot } from '../../src/project-root';
import mysql from 'mysql2/promise';
import { databaseServerPids, machineTicks, processCpuMs } from './cpu';
import { DB_LABEL, freshDatabase, mysqlBaseUrl, probeMysql, type DbKind, type FreshDatabase } from './databases';
import { startServer, type ServerProcess } from './processes';

const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/';
const WSSE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
const PASSWORD_TEXT = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText';
const WORKORDER_NS = 'urn:provisor:workorder:1';
const PASSWORD = `bench-${process.pid}-${Date.now()}`;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
}

interface Case {
  readonly id: string;
  readonly label: string;
  readonly processes: number;
  /** A catalog file and the order to submit. */
  readonly catalog: string;
  readonly order: (i: number) => { type: string; parameters: Array<[string, string]> };
}

interface Result {
  readonly id: string;
  readonly db: DbKind;
  readonly orders: number;
  readonly submitSeconds: number;
  readonly totalSeconds: number;
  readonly failed: number;
  readonly billed: number;
  readonly serverCpuMs: number;
  readonly dbCpuMs: number | undefined;
  /** Share of the machine's CPU in use over the run (0–1). */
  readonly machineBusy: number | undefined;
  /** InnoDB row-lock waits and deadlocks during the run (MariaDB). */
  readonly lockWaits: number | undefined;
  readonly deadlocks: number | undefined;
}

/** InnoDB's lock counters, server-wide. */
async function lockCounters(): Promise<{ waits: number; deadlocks: number } | undefined> {
  const url = new URL(mysqlBaseUrl());
  const connection = await mysql.createConnection({ host: url.hostname, port: Number(url.port || 3306), user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) });
  try {
    const [rows] = await connection.query("SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_row_lock_waits', 'Innodb_deadlocks')");
    const of = (name: string): number => Number((rows as Array<{ Variable_name: string; Value: string }>).find((r) => r.Variable_name === name)?.Value ?? 0);
    return { waits: of('Innodb_row_lock_waits'), deadlocks: of('Innodb_deadlocks') };
  } finally {
    await connection.end();
  }
}

function submitEnvelope(user: string, type: string, parameters: ReadonlyArray<[string, string]>, key: string): string {
  return (
    `<?xml version="1.0" encoding="utf-8"?><soapenv:Envelope xmlns:soapenv="${SOAP11}" xmlns:w="${WORKORDER_NS}"><soapenv:Header>` +
    `<wsse:Security xmlns:wsse="${WSSE}" soapenv:mustUnderstand="1"><wsse:UsernameToken><wsse:Username>${user}</wsse:Username>` +
    `<wsse:Password Type="${PASSWORD_TEXT}">${PASSWORD}</wsse:Password></wsse:UsernameToken></wsse:Security></soapenv:Header><soapenv:Body>` +
    `<w:SubmitWorkOrder><w:type>${type}</w:type>${parameters.map(([n, v]) => `<w:parameter><w:name>${n}</w:name><w:value>${v}</w:value></w:parameter>`).join('')}` +
    `<w:idempotencyKey>${key}</w:idempotencyKey></w:SubmitWorkOrder></soapenv:Body></soapenv:Envelope>`
  );
}

/** Accounts acct-k with their own simulated pool pool-k, and one level-3 customer each. */
async function seed(db: FreshDatabase, catalog: string, pools: number): Promise<string[]> {
  const app = await buildApp({ config: db.config(), logger: createLogger('error') });
  const customers: string[] = [];
  try {
    await app.loadCatalog(catalog);
    for (let k = 1; k <= pools; k++) {
      await app.systems.add(`pool-${k}`, 'simulated', { durationMs: '0' });
      await app.users.addAccount(`acct-${k}`, undefined, `pool-${k}`);
      await app.users.addUser({ name: `cust-${k}`, role: 'customer', password: PASSWORD, account: `acct-${k}`, level: 3 });
      customers.push(`cust-${k}`);
    }
  } finally {
    await app.close(0);
  }
  return customers;
}

async function counts(db: FreshDatabase): Promise<{ closed: number; failed: number; billed: number }> {
  const ds = await openDatabase(db.config());
  try {
    const states = (await ds.query('SELECT state, COUNT(*) AS n FROM work_order GROUP BY state')) as Array<{ state: string; n: unknown }>;
    const billed = (await ds.query('SELECT COUNT(*) AS n FROM billable_event')) as Array<{ n: unknown }>;
    const of = (s: string): number => Number(states.find((r) => r.state === s)?.n ?? 0);
    return { closed: of('CLOSED'), failed: of('FAILED'), billed: Number(billed[0]?.n ?? 0) };
  } finally {
    await ds.destroy();
  }
}

/**
 * Submits `total` orders with autocannon (as the ingest benchmark does: a
 * client in another event loop than the servers'), `callers` keep-alive
 * connections split over the servers, customers in turn.
 */
async function submitAll(servers: readonly ServerProcess[], customers: readonly string[], total: number, callers: number, order: Case['order'], first = 0): Promise<void> {
  const run = `${process.pid}-${Date.now()}`;
  let next = first;
  let firstBad: string | undefined;
  const share = (s: number): number => Math.floor(total / servers.length) + (s < total % servers.length ? 1 : 0);
  const results = await Promise.all(
    servers.map((server, s) =>
      autocannon({
        url: `${server.baseUrl}/soap/WorkOrder`,
        method: 'POST',
        connections: Math.max(1, Math.round(callers / servers.length)),
        amount: share(s),
        timeout: 60,
        headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: `"${WORKORDER_NS}#SubmitWorkOrder"` },
        verifyBody: (body) => {
          const ok = /workOrderId>\d+</.test(body);
          if (!ok) firstBad ??= body.slice(0, 1000);
          return ok;
        },
        requests: [
          {
            setupRequest: (request) => {
              const i = next++;
              const o = order(i);
              return { ...request, body: submitEnvelope(customers[i % customers.length] as string, o.type, o.parameters, `${run}-${i}`) };
            },
          },
        ],
      }),
    ),
  );
  const bad = results.reduce((n, r) => n + r.errors + r.timeouts + r.non2xx + r.mismatches, 0);
  if (bad > 0) throw new Error(`${bad} submissions failed (errors, timeouts, non-2xx answers or bodies without a workOrderId); the first: ${firstBad ?? 'no body'}`);
}

/** Waits until `expected` orders have ended (10 minutes at most). */
async function allEnded(db: FreshDatabase, expected: number): Promise<{ closed: number; failed: number; billed: number }> {
  let last = { closed: 0, failed: 0, billed: 0 };
  const deadline = Date.now() + 600_000;
  while (last.closed + last.failed < expected) {
    if (Date.now() > deadline) throw new Error(`only ${last.closed + last.failed} of ${expected} orders ended within 10 minutes`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    last = await counts(db);
  }
  return last;
}

async function runCase(kind: DbKind, c: Case, total: number, callers: number, pools: number, warmup: number): Promise<Result> {
  const db = await freshDatabase(kind, {
    PROVISOR_ENGINE: 'true',
    PROVISOR_ENGINE_CONCURRENCY: '64',
    PROVISOR_CATALOG_LOAD: 'false',
    PROVISOR_WORKORDER_POLL_MS: '100',
    PROVISOR_WORKFLOW_POLL_MS: '100',
    PROVISOR_POLL_MS: '50',
    PROVISOR_SIMULATED_MIN_MS: '0',
    PROVISOR_SIMULATED_MAX_MS: '0',
  });
  try {
    const customers = await seed(db, c.catalog, pools);
    const servers: ServerProcess[] = [];
    const profileDir = arg('--cpu-prof');
    const nodeArgs = profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', path.resolve(profileDir)];
    for (let p = 0; p < c.processes; p++) servers.push(await startServer({ name: `${c.id}-${p + 1}`, script: 'dist/src/main.js', env: db.env, nodeArgs, readyPath: '/health' }));
    try {
      if (warmup > 0) {
        await submitAll(servers, customers, warmup, callers, c.order, total);
        await allEnded(db, warmup);
      }
      const warm = await counts(db);
      const cpuBefore = servers.map((s) => processCpuMs(s.pid) ?? 0);
      const dbBefore = kind === 'mysql' ? mysqlCpu() : undefined;
      const locksBefore = kind === 'mysql' ? await lockCounters() : undefined;
      const machineBefore = machineTicks();
      const started = performance.now();
      await submitAll(servers, customers, total, callers, c.order);
      const submitted = performance.now();
      const ended_ = await allEnded(db, warm.closed + warm.failed + total);
      const last = { closed: ended_.closed - warm.closed, failed: ended_.failed - warm.failed, billed: ended_.billed - warm.billed };
      const ended = performance.now();
      const serverCpuMs = servers.reduce((sum, s, i) => sum + ((processCpuMs(s.pid) ?? 0) - (cpuBefore[i] ?? 0)), 0);
      const dbAfter = kind === 'mysql' ? mysqlCpu() : undefined;
      const locksAfter = kind === 'mysql' ? await lockCounters() : undefined;
      const machineAfter = machineTicks();
      return {
        id: c.id,
        db: kind,
        orders: total,
        submitSeconds: (submitted - started) / 1000,
        totalSeconds: (ended - started) / 1000,
        failed: last.failed,
        billed: last.billed,
        serverCpuMs,
        dbCpuMs: dbBefore === undefined || dbAfter === undefined ? undefined : dbAfter - dbBefore,
        machineBusy: machineBefore === undefined || machineAfter === undefined ? undefined : (machineAfter.busy - machineBefore.busy) / Math.max(1, machineAfter.total - machineBefore.total),
        lockWaits: locksBefore === undefined || locksAfter === undefined ? undefined : locksAfter.waits - locksBefore.waits,
        deadlocks: locksBefore === undefined || locksAfter === undefined ? undefined : locksAfter.deadlocks - locksBefore.deadlocks,
      };
    } finally {
      for (const s of servers) await s.stop();
    }
  } finally {
    await db.dispose();
  }
}

function mysqlCpu(): number | undefined {
  const pids = databaseServerPids();
  if (pids.length === 0) return undefined;
  return pids.reduce((sum, pid) => sum + (processCpuMs(pid) ?? 0), 0);
}

async function main(): Promise<void> {
  const total = Number(arg('--orders') ?? 2000);
  const callers = Number(arg('--callers') ?? 32);
  const pools = Number(arg('--pools') ?? 128);
  const warmup = Number(arg('--warmup') ?? 1000);
  const kinds: DbKind[] = process.argv.includes('--sqlite-only') ? ['sqlite'] : process.argv.includes('--mysql-only') ? ['mysql'] : ['sqlite', 'mysql'];
  const root = projectRoot();
  const storageCatalog = path.join(root, 'scripts', 'catalog', 'storage.json');
  const testCatalog = path.join(root, 'test', 'fixtures', 'catalog', 'test-catalog.json');
  const storage = (i: number): ReturnType<Case['order']> => ({ type: 'CreateVolume', parameters: [['volume', `vol-${i}`], ['sizeGiB', String(1 + (i % 100))]] });
  const noop = (i: number): ReturnType<Case['order']> => ({ type: 'Echo', parameters: [['volume', `vol-${i}`], ['sizeGiB', '1']] });
  process.stdout.write(`work-order benchmark on ${os.cpus().length} cores, Node ${process.version}: ${total} orders, ${callers} SOAP callers, ${pools} accounts with a simulated pool each (0 ms tasks), after ${warmup} untimed warm-up orders per case\n`);
  const rows: Result[] = [];
  for (const kind of kinds) {
    if (kind === 'mysql') {
      const probe = await probeMysql();
      if ('error' in probe) {
        process.stdout.write(`[mysql] skipped: ${probe.error}\n`);
        continue;
      }
    }
    const cases: Case[] = [
      { id: 'baseline-noop-1p', label: 'no-op plan, 1 process (baseline)', processes: 1, catalog: testCatalog, order: noop },
      { id: 'storage-1p', label: 'CreateVolume plan, 1 process', processes: 1, catalog: storageCatalog, order: storage },
    ];
    if (kind === 'mysql') cases.push({ id: 'storage-2p', label: 'CreateVolume plan, 2 processes', processes: 2, catalog: storageCatalog, order: storage });
    const only = arg('--case');
    for (const c of cases.filter((x) => only === undefined || x.id === only)) {
      const r = await runCase(kind, c, total, callers, pools, warmup);
      rows.push(r);
      process.stdout.write(
        `[${DB_LABEL[kind]}] ${c.label}: ${r.orders} orders in ${r.totalSeconds.toFixed(1)} s = ${(r.orders / r.totalSeconds).toFixed(0)} orders/s end to end ` +
          `(submitted in ${r.submitSeconds.toFixed(1)} s = ${(r.orders / r.submitSeconds).toFixed(0)}/s); ${r.failed} failed, ${r.billed} billed; ` +
          `server CPU ${(r.serverCpuMs / r.orders).toFixed(2)} ms/order${r.dbCpuMs === undefined ? '' : `, mariadbd ${(r.dbCpuMs / r.orders).toFixed(2)} ms/order`}` +
          `${r.machineBusy === undefined ? '' : `; machine CPU ${(r.machineBusy * 100).toFixed(0)}% busy`}${r.lockWaits === undefined ? '' : `; InnoDB row-lock waits ${r.lockWaits}, deadlocks ${r.deadlocks ?? '?'}`}\n`,
      );
      if (r.billed !== r.orders - r.failed) throw new Error(`${c.id}: ${r.billed} billable events for ${r.orders - r.failed} closed orders`);
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
