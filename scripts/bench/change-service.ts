/**
 * The ChangeManagerService's benchmark: how fast SubmitChangeRequest answers
 * (the change is only stored; planning follows), how many changes the queue
 * plans a second, and how long /health waits meanwhile (planning runs in the
 * server's process, so a plan holds the event loop up to its budget).
 *
 * N dry-run requests (each: install demo-httpd and demo-site on one of 20
 * simulated systems) are sent by 8 callers over real HTTP; /health is asked
 * every 25 ms until every change is planned.
 *
 * Usage: node dist/scripts/bench/change-service.js [--changes N]
 * (SQLite in a temporary folder; DATABASE_URL=mysql://… for MySQL/MariaDB.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { buildDemoRepository } from '../../src/drivers/local';
import { createLogger } from '../../src/log';

const CM = 'urn:provisor:changemanager:1';
const PASSWORD = 'bench-password-long';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

function envelope(body: string): string {
  const security = `<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><wsse:UsernameToken><wsse:Username>bench</wsse:Username><wsse:Password>${PASSWORD}</wsse:Password></wsse:UsernameToken></wsse:Security>`;
  return `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header>${security}</s:Header><s:Body>${body}</s:Body></s:Envelope>`;
}

async function main(): Promise<void> {
  const changes = Number(arg('--changes') ?? 200);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'provisor-bench-changes-'));
  const config = loadConfig({ ...process.env, PROVISOR_DATA_DIR: dataDir, PROVISOR_CATALOG_LOAD: 'false', LOG_LEVEL: 'error', PROVISOR_CHANGES_POLL_MS: '50' });
  const app = await buildApp({ config, logger: createLogger('error') });
  try {
    await app.users.addUser({ name: 'bench', role: 'operator', password: PASSWORD });
    for (let i = 0; i < 20; i++) await app.systems.add(`sim${i}`, 'simulated', {});
    await app.systems.addRepository(await buildDemoRepository(path.join(dataDir, 'repository')));
    const port = await app.listen(0, '127.0.0.1');
    const base = `http://127.0.0.1:${port}`;

    let probing = true;
    const health: number[] = [];
    const prober = (async () => {
      while (probing) {
        const t0 = performance.now();
        await fetch(`${base}/health`).then((r) => r.text());
        health.push(performance.now() - t0);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();

    const started = performance.now();
    const latencies: number[] = [];
    const ids: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < changes) {
          const n = next++;
          const system = `sim${n % 20}`;
          const body = `<c:SubmitChangeRequest xmlns:c="${CM}"><c:change><c:operation>Install</c:operation><c:component>demo-httpd</c:component><c:target><c:system>${system}</c:system></c:target></c:change><c:change><c:operation>Install</c:operation><c:component>demo-site</c:component><c:target><c:system>${system}</c:system></c:target></c:change><c:dryRun>true</c:dryRun></c:SubmitChangeRequest>`;
          const t0 = performance.now();
          const response = await fetch(`${base}/soap/ChangeManager`, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: `"${CM}#SubmitChangeRequest"` }, body: envelope(body) });
          const text = await response.text();
          latencies.push(performance.now() - t0);
          const id = /<(?:\w+:)?changeId>([^<]+)</.exec(text)?.[1];
          if (id === undefined) throw new Error(`no changeId: ${text.slice(0, 500)}`);
          ids.push(id);
        }
      }),
    );
    const submitted = performance.now();
    for (;;) {
      const waiting = (await app.changes.list({ state: 'PLANNING', limit: 1 })).total;
      if (waiting === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const planned = performance.now();
    probing = false;
    await prober;
    const states = new Map<string, number>();
    for (const state of ['PLANNED', 'REJECTED'] as const) states.set(state, (await app.changes.list({ state, limit: 1 })).total);
    const sortedLatency = [...latencies].sort((a, b) => a - b);
    const sortedHealth = [...health].sort((a, b) => a - b);
    const planMs = [];
    for (const id of ids.slice(0, 50)) {
      const view = await app.changes.get(id);
      if (view.plan?.state === 'PLANNED') planMs.push(view.plan.schedule.search.elapsedMs);
    }
    const figures = {
      database: config.databaseUrl === undefined ? 'sqlite' : 'mysql',
      changes,
      submitMs: { p50: percentile(sortedLatency, 50), p95: percentile(sortedLatency, 95), max: sortedLatency[sortedLatency.length - 1] ?? 0 },
      submittedIn: (submitted - started) / 1000,
      allPlannedIn: (planned - started) / 1000,
      plansPerSecond: changes / ((planned - started) / 1000),
      states: Object.fromEntries(states),
      searchMs: { mean: planMs.reduce((a, b) => a + b, 0) / Math.max(1, planMs.length) },
      healthMs: { p50: percentile(sortedHealth, 50), p99: percentile(sortedHealth, 99), max: sortedHealth[sortedHealth.length - 1] ?? 0, probes: health.length },
      cores: os.cpus().length,
      load: os.loadavg().map((l) => Number(l.toFixed(2))),
    };
    console.log(JSON.stringify(figures, (_k, v: unknown) => (typeof v === 'number' ? Math.round(v * 10) / 10 : v), 2));
  } finally {
    await app.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
