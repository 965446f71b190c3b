import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cpuWindow, databaseServerPids, waitForQuiet } from './cpu';
import { DB_LABEL, freshDatabase, total, type DbKind } from './databases';
import { benchParameters, installEnvelope, installJson, JSON_HEADERS, SOAP_HEADERS, withFreshToken, withId } from './envelopes';
import { measure, type LoadResult } from './load';
import { startServer } from './processes';
import { BENCH_SYSTEM, benchCredentials, seed } from './setup';
import { fmt, formatTable, ratio } from './table';

export type IngestCaseId = 'soap-small' | 'soap-digest' | 'soap-50' | 'json-small' | 'json-50' | 'node-soap-small';

interface CaseSpec {
  readonly id: IngestCaseId;
  readonly label: string;
  readonly script: string;
  readonly readyPath: string;
  readonly path: string;
  readonly kind: 'soap' | 'json';
  readonly parameters: number;
  /** A PasswordDigest token with a fresh nonce per request instead of PasswordText without one. */
  readonly digest?: boolean;
}

export const INGEST_CASES: readonly CaseSpec[] = [
  { id: 'soap-small', label: 'Provisor SOAP Install, small', script: 'dist/src/main.js', readyPath: '/health', path: '/soap/Software', kind: 'soap', parameters: 0 },
  { id: 'soap-digest', label: 'Provisor SOAP Install, small, PasswordDigest', script: 'dist/src/main.js', readyPath: '/health', path: '/soap/Software', kind: 'soap', parameters: 0, digest: true },
  { id: 'soap-50', label: 'Provisor SOAP Install, 50 parameters', script: 'dist/src/main.js', readyPath: '/health', path: '/soap/Software', kind: 'soap', parameters: 50 },
  { id: 'json-small', label: 'express JSON baseline, small', script: 'dist/scripts/bench/baseline-server.js', readyPath: '/health', path: '/install', kind: 'json', parameters: 0 },
  { id: 'json-50', label: 'express JSON baseline, 50 parameters', script: 'dist/scripts/bench/baseline-server.js', readyPath: '/health', path: '/install', kind: 'json', parameters: 50 },
  { id: 'node-soap-small', label: 'node-soap soap.listen, small', script: 'dist/scripts/bench/node-soap-server.js', readyPath: '/soap/Software?wsdl', path: '/soap/Software', kind: 'soap', parameters: 0 },
];

const REQUEST_ID = /requestId(?:>|":")[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

export interface IngestSettings {
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
  readonly connections: number;
  /** Longest wait for the machine to be quiet before a case (0: do not wait). */
  readonly quietWaitMs: number;
}

export interface IngestResult extends LoadResult {
  readonly db: DbKind;
  readonly id: IngestCaseId;
  readonly label: string;
  readonly requestBytes: number;
  /** Rows in provisioning_request afterwards. */
  readonly rows: number;
  /** Rows the good responses account for (warm-up + measured + the checked sample). */
  readonly expectedRows: number;
  readonly problems: readonly string[];
  /** Machine load (cores) just before the case, and how long it waited for quiet. */
  readonly before: { busy: number | undefined; waitedMs: number };
}

export interface ProfileCapture {
  /** Folder where node --cpu-prof writes; the caller reads and removes it. */
  readonly dir: string;
}

/** One ingest case: fresh database, seed, server child, one checked request, warm-up, measurement, row count. */
export async function runIngestCase(db: DbKind, spec: CaseSpec, settings: IngestSettings, profile?: ProfileCapture): Promise<IngestResult> {
  const database = await freshDatabase(db);
  const problems: string[] = [];
  try {
    const credentials = benchCredentials();
    await seed(database, credentials);
    const parameters = benchParameters(spec.parameters);
    const component = 'demo-httpd';
    const body = spec.kind === 'soap' ? installEnvelope(credentials, BENCH_SYSTEM, component, parameters, spec.digest === true) : installJson(BENCH_SYSTEM, component, parameters);
    const prepare = spec.digest === true ? (text: string): string => withFreshToken(text, credentials) : undefined;
    const headers = spec.kind === 'soap' ? SOAP_HEADERS : JSON_HEADERS;
    // Wait for a quiet machine before the server starts, not between its start and the load.
    // A server left idle for up to half a minute (the wait after the small case, while MariaDB
    // writes back) then ran the 50-parameter case in a slower, collection-heavy mode for its
    // whole measurement (0.24-0.27 instead of 0.15-0.19 ms of CPU per request), probably
    // because V8 had shrunk its idle heap; measured at once, it never did.
    let before: { busy: number | undefined; waitedMs: number } = { busy: undefined, waitedMs: 0 };
    if (settings.quietWaitMs > 0) before = await waitForQuiet(settings.quietWaitMs);
    const server = await startServer({
      name: spec.id,
      script: spec.script,
      env: database.env,
      readyPath: spec.readyPath,
      nodeArgs: profile === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profile.dir],
    });
    let load: LoadResult;
    try {
      const url = `${server.baseUrl}${spec.path}`;
      // One request by hand first: it must succeed and carry a requestId.
      const sampleBody = withId(body, `sample-${crypto.randomUUID()}`);
      const sample = await fetch(url, { method: 'POST', headers: { ...headers }, body: prepare === undefined ? sampleBody : prepare(sampleBody) });
      const sampleText = await sample.text();
      if (!sample.ok || !REQUEST_ID.test(sampleText)) {
        throw new Error(`${spec.label} on ${DB_LABEL[db]}: the sample request got HTTP ${sample.status}:\n${sampleText.slice(0, 2000)}`);
      }
      const dbPids = db === 'mysql' ? databaseServerPids() : [];
      load = await measure({
        cpu: () => cpuWindow(server.pid, dbPids),
        url,
        body,
        headers,
        prepare,
        connections: settings.connections,
        durationSeconds: settings.durationSeconds,
        warmupSeconds: settings.warmupSeconds,
        verify: (text) => REQUEST_ID.test(text),
      });
      // Requests in flight when autocannon stopped are still being handled: let them finish before the count.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const died = server.exitStatus();
      if (died !== undefined) problems.push(`the server exited during the run (code ${String(died.code)}, signal ${String(died.signal)})`);
    } finally {
      await server.stop();
    }
    const rows = total(await database.countRequests());
    const expectedRows = load.total2xx + 1;
    if (load.errors > 0 || load.non2xx > 0 || load.timeouts > 0 || load.mismatches > 0) {
      problems.push(`errors ${load.errors}, timeouts ${load.timeouts}, non-2xx ${load.non2xx}, bodies without requestId ${load.mismatches}`);
    }
    // Requests in flight when autocannon stops may still be inserted: at most one per connection per run.
    if (rows < expectedRows) problems.push(`only ${rows} rows for ${expectedRows} successful responses`);
    if (rows > expectedRows + 2 * settings.connections) problems.push(`${rows} rows for ${expectedRows} successful responses (more than the in-flight requests explain)`);
    return { ...load, db, id: spec.id, label: spec.label, requestBytes: Buffer.byteLength(prepare === undefined ? withId(body, crypto.randomUUID()) : prepare(body)), rows, expectedRows, problems, before };
  } finally {
    await database.dispose();
  }
}

export function printIngestTable(results: ReadonlyArray<IngestResult & { rounds?: readonly number[] }>): string {
  const withRounds = results.some((r) => (r.rounds?.length ?? 0) > 1);
  const rows = results.map((r) => [
    DB_LABEL[r.db],
    r.label,
    String(r.requestBytes),
    fmt(r.rps),
    fmt(r.p50, 0),
    fmt(r.p99, 0),
    fmt(r.max, 0),
    String(r.errors + r.timeouts + r.non2xx + r.mismatches),
    `${r.rows}/${r.expectedRows}`,
    r.serverCpuMsPerRequest === undefined ? '-' : fmt(r.serverCpuMsPerRequest, 3),
    r.cpu === undefined ? '-' : fmt(r.cpu.server, 2),
    r.cpu === undefined ? '-' : fmt(r.cpu.database, 2),
    r.cpu === undefined ? '-' : fmt(r.cpu.client, 2),
    r.cpu === undefined ? '-' : fmt(r.cpu.other, 2),
    ...(withRounds ? [(r.rounds ?? []).map((x) => fmt(x)).join(' ')] : []),
  ]);
  return formatTable(
    [
      'db',
      'case',
      'req bytes',
      'req/s',
      'p50 ms',
      'p99 ms',
      'max ms',
      'bad',
      'rows/2xx',
      'srv CPU ms/req',
      'srv cores',
      'db cores',
      'client cores',
      'other cores',
      ...(withRounds ? ['req/s by round'] : []),
    ],
    rows,
  );
}

export function printIngestRatios(results: readonly IngestResult[]): string {
  const dbs = [...new Set(results.map((r) => r.db))];
  const rows: string[][] = [];
  for (const db of dbs) {
    const get = (id: IngestCaseId): number => results.find((r) => r.db === db && r.id === id)?.rps ?? NaN;
    rows.push([DB_LABEL[db], 'SOAP small / JSON baseline small', ratio(get('soap-small'), get('json-small')), '≥ 1.00×']);
    rows.push([DB_LABEL[db], 'SOAP 50-param / SOAP small', ratio(get('soap-50'), get('soap-small')), '≥ 0.40×']);
    rows.push([DB_LABEL[db], 'SOAP small PasswordDigest / PasswordText', ratio(get('soap-digest'), get('soap-small')), '']);
    rows.push([DB_LABEL[db], 'JSON 50-param / JSON small', ratio(get('json-50'), get('json-small')), '']);
    rows.push([DB_LABEL[db], 'SOAP 50-param / JSON 50-param', ratio(get('soap-50'), get('json-50')), '']);
    rows.push([DB_LABEL[db], 'node-soap small / Provisor SOAP small', ratio(get('node-soap-small'), get('soap-small')), '']);
  }
  return formatTable(['db', 'ratio (req/s)', 'measured', 'target'], rows);
}

export function makeProfileDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'provisor-bench-prof-'));
}
