import { spawnSync } from 'node:child_process';
import path from 'node:path';
/**
 * `npm run bench`: Provisor's benchmark suite.
 *
 *   1. ingest: Software.Install over SOAP 1.1 (small and 50-parameter
 *      envelopes, and small with a PasswordDigest token whose nonce is fresh
 *      each request) against Provisor as a child process, next to a plain
 *      express JSON endpoint doing the same insert and node-soap's stock
 *      server, on SQLite and on MariaDB;
 *   2. engine: 1,000 queued Install requests run by the deployment engine,
 *      and the cost of one claim with 1,000 and 10,000 requests queued;
 *   3. --profile: the SOAP small case with the server under --cpu-prof;
 *   4. the XML parser on one-line and multi-line documents of up to 199,000
 *      elements (under the default 1 MiB body limit), and on adversarial
 *      shapes (many namespace declarations at the root and per child, deep
 *      nesting, many attributes, long names, long text, many references) of
 *      16 KiB to 1 MiB, whose time per byte must stay flat;
 *   6. work orders end to end (workorder-bench.ts, its own options there).
 *
 * Options (after `npm run bench --`):
 *   --duration S      measured seconds per ingest case (default 10)
 *   --warmup S        warm-up seconds before each (default 2)
 *   --connections N   concurrent connections (default 50)
 *   --sqlite-only | --mysql-only
 *   --no-ingest, --no-engine, --no-claim, --no-parser, --no-workorders   skip a part
 *   --profile         also profile the SOAP small case (on the first database)
 *   --profile-case ID profile another ingest case instead (soap-small, soap-digest, soap-50,
 *                     json-small, json-50, node-soap-small); implies --profile
 *   --case ID[,ID…]   run only these ingest cases (ratios need both of their cases)
 *   --no-wait         do not wait (up to 30 s) for an idle machine before each case
 *   --rounds N        run every ingest and engine case N times, interleaved (default 1);
 *                     the tables show, per case, the round during which the rest
 *                     of the machine was least busy, and every round's req/s
 *   --json FILE       also write every figure as JSON
 * BENCH_MYSQL_URL overrides the MariaDB server (default mysql://root@127.0.0.1:3306/).
 */
import fs from 'node:fs';
import os from 'node:os';
import { waitForQuiet } from './cpu';
import { DB_LABEL, probeMysql, type DbKind } from './databases';
import { printClaimDepthTable, runClaimDepth, type ClaimDepthResult } from './claim-depth';
import { printEngineTable, runEngineCase, type EngineResult } from './engine-bench';
import { INGEST_CASES, makeProfileDir, printIngestRatios, printIngestTable, runIngestCase, type IngestCaseId, type IngestResult, type IngestSettings } from './ingest';
import { printAdversarialTable, printParserScalingTable, runAdversarialShapes, runParserScaling, type AdversarialResult, type ParserScalingResult } from './parser-scaling';
import { newestProfile, printProfile, summarizeProfile, type ProfileSummary } from './profile';
import { fmt } from './table';

interface Options {
  durationSeconds: number;
  warmupSeconds: number;
  connections: number;
  sqlite: boolean;
  mysql: boolean;
  ingest: boolean;
  engine: boolean;
  claim: boolean;
  parser: boolean;
  workOrders: boolean;
  profile: boolean;
  profileCase: IngestCaseId;
  /** The ingest cases to run (all by default). */
  cases: readonly IngestCaseId[];
  wait: boolean;
  rounds: number;
  json: string | undefined;
}

/** A mistake in the command line: printed without a stack trace. */
class UsageError extends Error {}

const USAGE = 'usage: npm run bench -- [--duration S] [--warmup S] [--connections N] [--sqlite-only | --mysql-only] [--no-ingest] [--no-engine] [--no-claim] [--no-parser] [--no-workorders] [--profile] [--profile-case ID] [--case ID[,ID…]] [--no-wait] [--rounds N] [--json FILE]';

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { durationSeconds: 10, warmupSeconds: 2, connections: 50, sqlite: true, mysql: true, ingest: true, engine: true, claim: true, parser: true, workOrders: true, profile: false, profileCase: 'soap-small', cases: INGEST_CASES.map((c) => c.id), wait: true, rounds: 1, json: undefined };
  const number = (flag: string, value: string | undefined, min: number, max: number): number => {
    const n = Number(value);
    if (value === undefined || !Number.isFinite(n) || n < min || n > max) throw new UsageError(`${flag} needs a number from ${min} to ${max}\n${USAGE}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    switch (arg) {
      case '--duration':
        o.durationSeconds = number(arg, argv[++i], 1, 600);
        break;
      case '--warmup':
        o.warmupSeconds = number(arg, argv[++i], 0, 60);
        break;
      case '--connections':
        o.connections = Math.round(number(arg, argv[++i], 1, 1000));
        break;
      case '--sqlite-only':
        o.mysql = false;
        break;
      case '--mysql-only':
        o.sqlite = false;
        break;
      case '--no-ingest':
        o.ingest = false;
        break;
      case '--no-engine':
        o.engine = false;
        break;
      case '--no-claim':
        o.claim = false;
        break;
      case '--no-parser':
        o.parser = false;
        break;
      case '--no-workorders':
        o.workOrders = false;
        break;
      case '--profile':
        o.profile = true;
        break;
      case '--profile-case': {
        const id = argv[++i];
        const spec = INGEST_CASES.find((c) => c.id === id);
        if (spec === undefined) throw new UsageError(`--profile-case needs one of ${INGEST_CASES.map((c) => c.id).join(', ')}\n${USAGE}`);
        o.profile = true;
        o.profileCase = spec.id;
        break;
      }
      case '--case': {
        const ids = (argv[++i] ?? '').split(',');
        for (const id of ids) if (!INGEST_CASES.some((c) => c.id === id)) throw new UsageError(`--case needs ingest case ids among ${INGEST_CASES.map((c) => c.id).join(', ')}\n${USAGE}`);
        o.cases = ids as IngestCaseId[];
        break;
      }
      case '--no-wait':
        o.wait = false;
        break;
      case '--rounds':
        o.rounds = Math.round(number(arg, argv[++i], 1, 10));
        break;
      case '--json': {
        const file = argv[++i];
        if (file === undefined) throw new UsageError(`--json needs a file name\n${USAGE}`);
        o.json = file;
        break;
      }
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      default:
        throw new UsageError(`unknown option ${String(arg)}\n${USAGE}`);
    }
  }
  if (!o.sqlite && !o.mysql) throw new UsageError('--sqlite-only and --mysql-only exclude each other');
  return o;
}

/** The result taken while the rest of the machine was least busy (the first when unknown). */
function leastDisturbed<T>(results: readonly T[], other: (r: T) => number | undefined): T | undefined {
  let best: T | undefined;
  for (const r of results) {
    if (best === undefined || (other(r) ?? Infinity) < (other(best) ?? Infinity)) best = r;
  }
  return best;
}

function say(text = ''): void {
  process.stdout.write(`${text}\n`);
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const began = performance.now();
  const dbs: DbKind[] = [];
  if (options.sqlite) dbs.push('sqlite');
  let mariadbVersion: string | undefined;
  if (options.mysql) {
    const probe = await probeMysql();
    if ('error' in probe) {
      say(`MariaDB/MySQL is unreachable (${probe.error}): skipping the MariaDB cases. Set BENCH_MYSQL_URL or start the server to include them.`);
    } else {
      mariadbVersion = probe.version;
      dbs.push('mysql');
    }
  }
  if (dbs.length === 0) throw new Error('no database to benchmark');

  const cpus = os.cpus();
  say('Provisor benchmark');
  say(`machine: ${cpus.length} × ${cpus[0]?.model.trim() ?? '?'}, ${fmt(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`);
  say(`databases: ${dbs.map((d) => (d === 'mysql' ? `MariaDB ${mariadbVersion ?? '?'}` : 'SQLite (better-sqlite3, WAL)')).join(', ')}`);
  say(`load average at start: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  say(`ingest: ${options.connections} connections, ${options.warmupSeconds} s warm-up + ${options.durationSeconds} s measured per case, autocannon in this process, server in a child process`);
  say();

  const settings: IngestSettings = { durationSeconds: options.durationSeconds, warmupSeconds: options.warmupSeconds, connections: options.connections, quietWaitMs: options.wait ? 30_000 : 0 };
  const ingestRounds: IngestResult[] = [];
  const ingest: Array<IngestResult & { rounds: number[] }> = [];
  const engineRounds: EngineResult[] = [];
  const engine: Array<EngineResult & { rounds: number[] }> = [];
  let profile: (ProfileSummary & { case: IngestCaseId; rps: number; p99: number; db: DbKind }) | undefined;
  const problems: string[] = [];

  if (options.ingest) {
    say('== 1. Ingest');
    for (let round = 1; round <= options.rounds; round++) {
      for (const db of dbs) {
        for (const spec of INGEST_CASES.filter((c) => options.cases.includes(c.id))) {
          process.stdout.write(`  ${options.rounds > 1 ? `round ${round}, ` : ''}${DB_LABEL[db]}: ${spec.label} … `);
          const r = await runIngestCase(db, spec, settings);
          ingestRounds.push(r);
          say(
            `${fmt(r.rps)} req/s, p50 ${fmt(r.p50)} ms, p99 ${fmt(r.p99)} ms, other load ${r.cpu === undefined ? '?' : fmt(r.cpu.other, 2)} cores${r.problems.length > 0 ? `  PROBLEM: ${r.problems.join('; ')}` : ''}`,
          );
          for (const p of r.problems) problems.push(`${DB_LABEL[db]} ${spec.label}: ${p}`);
        }
      }
    }
    for (const db of dbs) {
      for (const spec of INGEST_CASES) {
        const all = ingestRounds.filter((r) => r.db === db && r.id === spec.id);
        const best = leastDisturbed(all, (r) => r.cpu?.other);
        if (best !== undefined) ingest.push({ ...best, rounds: all.map((r) => r.rps) });
      }
    }
    say();
    if (options.rounds > 1) say(`Per case, the round with the least other load on the machine; "req/s by round" lists all ${options.rounds}.`);
    say(printIngestTable(ingest));
    say();
    say(printIngestRatios(ingest));
    say();
    for (const db of dbs) {
      const soap = ingest.find((r) => r.db === db && r.id === 'soap-small');
      if (soap !== undefined) say(`${DB_LABEL[db]}: SOAP small p99 ${fmt(soap.p99)} ms at ${options.connections} connections (target ≤ 30 ms): ${soap.p99 <= 30 ? 'met' : 'NOT met'}`);
    }
    say();
  }

  if (options.engine) {
    say('== 2. Engine throughput (in-process, 1,000 queued Install requests on 50 simulated systems)');
    const engineCases = dbs.flatMap((db) => [0, 20].flatMap((taskMs) => [16, 64].map((concurrency) => ({ db, taskMs, concurrency, tasks: 1000, systems: 50 }))));
    for (let round = 1; round <= options.rounds; round++) {
      for (const c of engineCases) {
        process.stdout.write(`  ${options.rounds > 1 ? `round ${round}, ` : ''}${DB_LABEL[c.db]}: task ${c.taskMs} ms, concurrency ${c.concurrency} … `);
        const r = await runEngineCase({ ...c, quietWaitMs: settings.quietWaitMs });
        engineRounds.push(r);
        say(`${fmt(r.tasksPerSecond)} tasks/s in ${fmt(r.seconds, 2)} s, other load ${r.cpu === undefined ? '?' : fmt(r.cpu.other, 2)} cores${r.problems.length > 0 ? `  PROBLEM: ${r.problems.join('; ')}` : ''}`);
        for (const p of r.problems) problems.push(`engine ${DB_LABEL[c.db]} ${c.taskMs} ms × ${c.concurrency}: ${p}`);
      }
    }
    for (const c of engineCases) {
      const all = engineRounds.filter((r) => r.db === c.db && r.taskMs === c.taskMs && r.concurrency === c.concurrency);
      const best = leastDisturbed(all, (r) => r.cpu?.other);
      if (best !== undefined) engine.push({ ...best, rounds: all.map((r) => r.tasksPerSecond) });
    }
    say();
    say(printEngineTable(engine));
    say();
  }

  const claims: ClaimDepthResult[] = [];
  if (options.claim) {
    say('== 2b. Claim cost against queue depth (RequestStore.claim of 16, distinct components)');
    for (const db of dbs) {
      for (const queued of [1000, 10_000]) {
        process.stdout.write(`  ${DB_LABEL[db]}: ${queued} queued … `);
        const r = await runClaimDepth(db, queued, settings.quietWaitMs);
        claims.push(r);
        say(`median ${fmt(r.medianMs, 1)} ms`);
      }
    }
    say();
    say(printClaimDepthTable(claims));
    say();
  }

  if (options.profile) {
    const db = dbs[0] ?? 'sqlite';
    const spec = INGEST_CASES.find((c) => c.id === options.profileCase);
    if (spec === undefined) throw new Error(`no ingest case ${options.profileCase}`);
    say(`== 3. Profile: ${spec.label} on ${DB_LABEL[db]}, server under node --cpu-prof`);
    const dir = makeProfileDir();
    try {
      const r = await runIngestCase(db, spec, settings, { dir });
      for (const p of r.problems) problems.push(`profiled run: ${p}`);
      const summary = summarizeProfile(newestProfile(dir));
      profile = { ...summary, case: spec.id, rps: r.rps, p99: r.p99, db };
      say(`  (under the profiler: ${fmt(r.rps)} req/s, p99 ${fmt(r.p99)} ms)`);
      say(printProfile(summary));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    say();
  }

  let parser: ParserScalingResult[] = [];
  let adversarial: AdversarialResult[] = [];
  if (options.parser) {
    say('== 4. XML parser (src/xml/parser.ts parseXml): the same elements on one line and one per line');
    if (options.wait) await waitForQuiet(30_000);
    parser = runParserScaling();
    say(printParserScalingTable(parser));
    say();
    say('== 4b. XML parser under adversarial shapes, 16 KiB to 1 MiB (CPU time, best of 5): ns/byte should stay flat');
    adversarial = runAdversarialShapes();
    say(printAdversarialTable(adversarial));
    for (const shape of new Set(adversarial.map((r) => r.shape))) {
      const rows = adversarial.filter((r) => r.shape === shape);
      const first = rows[0];
      const last = rows[rows.length - 1];
      // Linear work keeps ns/byte within a small factor (caches and GC move it); quadratic work multiplies it by the size ratio, 64 here.
      if (first !== undefined && last !== undefined && last.nsPerByte > 8 * Math.max(first.nsPerByte, 10)) {
        problems.push(`parser shape ${shape}: ${fmt(last.nsPerByte, 1)} ns/byte at ${fmt(last.kib)} KiB against ${fmt(first.nsPerByte, 1)} at ${fmt(first.kib)} KiB: not linear`);
      }
    }
    say();
  }

  if (options.workOrders) {
    say('== 6. Work orders end to end (scripts/bench/workorder-bench.ts): SOAP submission → automation → plan → CLOSED → billed');
    if (options.wait) await waitForQuiet(30_000);
    const kinds = options.sqlite && options.mysql ? [] : options.sqlite ? ['--sqlite-only'] : ['--mysql-only'];
    const run = spawnSync(process.execPath, [path.join(__dirname, 'workorder-bench.js'), ...kinds], { stdio: 'inherit' });
    if (run.status !== 0) problems.push(`the work-order benchmark exited with ${String(run.status ?? run.signal)}`);
    say();
  }

  const seconds = (performance.now() - began) / 1000;
  say(`total time: ${fmt(seconds)} s`);
  if (options.json !== undefined) {
    fs.writeFileSync(
      options.json,
      `${JSON.stringify({ node: process.version, cpus: cpus.length, mariadb: mariadbVersion, options, ingest, engine, ingestRounds, engineRounds, claims, profile, parser, adversarial, seconds, problems }, null, 2)}\n`,
    );
  }
  if (problems.length > 0) {
    say('');
    say('PROBLEMS (a figure with a problem is not valid):');
    for (const p of problems) say(`  - ${p}`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  if (err instanceof UsageError) {
    process.stderr.write(`bench: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
