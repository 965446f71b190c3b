/**
 * Workflow engine benchmarks:
 * 1. engine overhead per activity: one instance looping over in-process
 *    no-op invokes and assigns, activities per second;
 * 2. 1,000 concurrent instances, each invoking a slow simulated Install and
 *    polling GetStatus until it completes: completion time against the ideal
 *    (the critical path: one task's duration), and peak memory.
 *
 * Usage: node dist/scripts/bench/workflow-bench.js [--sqlite-only|--mysql-only] [--overhead-only|--concurrent-only] [--callback|--callback-only] [--instances N] [--engine-concurrency N] [--task-ms MS] [--iterations N] [--heap-snapshot-at SECONDS]
 * MariaDB is read from BENCH_DATABASE_URL (default mysql://root@127.0.0.1:3306/provisor_bench_wf).
 * BENCH_TRACE=1 prints the requests' states as the run goes and how long the tasks took from
 * their start to their end; BENCH_CPU=1 the process's CPU time in each tenth of a second;
 * BENCH_READS=1 the most frequent reads.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import mysql from 'mysql2/promise';
import { partnersWsdl, PARTNERS_WSDL_NAME } from '../demo/two-websites';
import { buildApp } from '../../src/app';
import { parseProcess } from '../../src/bpel/parser';
import { loadConfig, type Env } from '../../src/config';
import { openDatabase } from '../../src/db/data-source';
import { createLogger } from '../../src/log';
import { projectRoot } from '../../src/project-root';
import { countStatements } from '../../test/support/statement-counter';
import { groupCommitter } from '../../src/db/group-commit';
import { fromSqlDate } from '../../src/db/sql';
import { systemClock } from '../../src/clock';
import { InstanceStore } from '../../src/workflow/instance-store';
import { Interpreter, type PartnerInvoker, type WorkflowObserver } from '../../src/workflow/interpreter';

const HEADER = `xmlns:bpel="http://docs.oasis-open.org/wsbpel/2.0/process/executable" xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    xmlns:sw="urn:provisor:software:1" xmlns:rq="urn:provisor:request:1" xmlns:pl="urn:provisor:examples:partners"`;
const PARTNERS = `<bpel:import importType="http://schemas.xmlsoap.org/wsdl/" namespace="urn:provisor:examples:partners" location="${PARTNERS_WSDL_NAME}"/>
  <bpel:partnerLinks>
    <bpel:partnerLink name="software" partnerLinkType="pl:Software" partnerRole="provider"/>
    <bpel:partnerLink name="requests" partnerLinkType="pl:Request" partnerRole="provider"/>
  </bpel:partnerLinks>`;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
}

async function environment(kind: 'sqlite' | 'mysql', extra: Env): Promise<{ env: Env; cleanup: () => Promise<void> }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'provisor-wfbench-'));
  const env: Record<string, string | undefined> = { PROVISOR_DATA_DIR: dataDir, LOG_LEVEL: 'error', ...extra };
  let drop = async (): Promise<void> => undefined;
  if (kind === 'mysql') {
    const url = new URL(process.env.BENCH_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/provisor_bench_wf');
    const admin = await mysql.createConnection({ host: url.hostname, port: Number(url.port || 3306), user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) });
    const db = url.pathname.slice(1);
    await admin.query(`DROP DATABASE IF EXISTS \`${db}\``);
    await admin.query(`CREATE DATABASE \`${db}\``);
    env.DATABASE_URL = url.toString();
    drop = async () => {
      await admin.query(`DROP DATABASE IF EXISTS \`${db}\``);
      await admin.end();
    };
  }
  return {
    env,
    cleanup: async () => {
      await drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Engine overhead: activities per second with in-process no-op invokes.
 * `effects`: the invokes count as having effects (like Install), so the
 * engine commits its state before each; otherwise they are read-only
 * (like GetStatus, which they are).
 */
async function overhead(kind: 'sqlite' | 'mysql', iterations: number, effects: boolean): Promise<{ activities: number; seconds: number; commits: number }> {
  const { env, cleanup } = await environment(kind, {});
  const config = loadConfig(env);
  const dataSource = await openDatabase(config);
  try {
    const bpel = `<bpel:process name="Overhead" targetNamespace="urn:bench" ${HEADER}>${PARTNERS}
  <bpel:variables>
    <bpel:variable name="i" type="xsd:int"><bpel:from>0</bpel:from></bpel:variable>
    <bpel:variable name="req" messageType="rq:GetStatusRequest"/><bpel:variable name="res" messageType="rq:GetStatusResponse"/>
  </bpel:variables>
  <bpel:sequence>
    <bpel:assign><bpel:copy><bpel:from><bpel:literal><rq:GetStatus><rq:requestId>x</rq:requestId></rq:GetStatus></bpel:literal></bpel:from><bpel:to variable="req" part="parameters"/></bpel:copy></bpel:assign>
    <bpel:while><bpel:condition>$i &lt; ${iterations}</bpel:condition>
      <bpel:sequence>
        <bpel:invoke partnerLink="requests" operation="GetStatus" inputVariable="req" outputVariable="res"/>
        <bpel:assign><bpel:copy><bpel:from>$i + 1</bpel:from><bpel:to variable="i"/></bpel:copy></bpel:assign>
      </bpel:sequence>
    </bpel:while>
  </bpel:sequence>
</bpel:process>`;
    const processModel = parseProcess(bpel, 'overhead.bpel');
    const instanceId = 'overhead-1';
    await dataSource.query("INSERT INTO process_instance (id, definitionId, processName, status, startedBy, createdAt, cancelRequested) VALUES (?, 0, 'Overhead', 'RUNNING', 'bench', ?, 0)", [instanceId, '2026-01-01 00:00:00.000']);
    const store = new InstanceStore(dataSource, instanceId);
    await store.load();
    const response = (await import('../../src/bpel/xpath')).messageValue({ parameters: (await import('../../src/bpel/xpath')).parseElement('<rq:GetStatusResponse xmlns:rq="urn:provisor:request:1"><rq:status>QUEUED</rq:status></rq:GetStatusResponse>') });
    const noop: PartnerInvoker = { invoke: () => Promise.resolve(response), effectFree: () => !effects };
    const committer = groupCommitter(dataSource);
    const commitsBefore = committer.commits;
    const quiet: WorkflowObserver = { activity: () => undefined, alarm: () => undefined, instance: () => undefined };
    const interpreter = new Interpreter(processModel, store, { instanceId, invoker: noop, observer: quiet, clock: systemClock, log: createLogger('error') });
    const started = process.hrtime.bigint();
    const outcome = await interpreter.run(new AbortController().signal);
    // The instance's end is durable: what was written behind is committed with it.
    await (store as { durable?: () => Promise<unknown> }).durable?.();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const commits = committer.commits - commitsBefore;
    if (outcome.status !== 'COMPLETED') throw new Error(`overhead plan ended ${outcome.status}`);
    const rows = (await dataSource.query('SELECT COUNT(*) AS n FROM activity_instance WHERE instanceId = ?', [instanceId])) as Array<{ n: unknown }>;
    return { activities: Number(rows[0]?.n), seconds, commits };
  } finally {
    await dataSource.destroy();
    await cleanup();
  }
}

/** N instances, each invoking a slow simulated Install and polling GetStatus every 200 ms. */
/** How the instances learn of their task's end: polling GetStatus, or the RequestCompleted callback to their own endpoint. */
type Watch = 'poll' | 'callback';

async function concurrent(kind: 'sqlite' | 'mysql', instances: number, taskMs: number, watch: Watch = 'poll'): Promise<{ seconds: number; ideal: number; peakRssMb: number; baseRssMb: number; completed: number; commits: number; activities: number; reads: number; cpuMs: number }> {
  const { env, cleanup } = await environment(kind, {
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'error',
    PROVISOR_SIMULATED_MIN_MS: String(taskMs),
    PROVISOR_SIMULATED_MAX_MS: String(taskMs),
    PROVISOR_ENGINE_CONCURRENCY: arg('--engine-concurrency') ?? String(Math.min(1024, instances)),
    PROVISOR_WORKFLOW_MAX_INSTANCES: String(Math.max(5000, instances)),
    PROVISOR_WORKFLOW_POLL_MS: '100',
    PROVISOR_POLL_MS: '50',
  });
  const config = loadConfig(env);
  const dataSource = await openDatabase(config);
  const app = await buildApp({ config, logger: createLogger(config.logLevel), dataSource });
  try {
    for (let s = 0; s < 20; s++) await app.systems.add(`sim${s}`, 'simulated');
    const bpel = `<bpel:process name="Poller" targetNamespace="urn:bench" ${HEADER}>${PARTNERS}
  <bpel:variables>
    <bpel:variable name="req" messageType="sw:InstallRequest"/><bpel:variable name="res" messageType="sw:InstallResponse"/>
    <bpel:variable name="statusReq" messageType="rq:GetStatusRequest"/><bpel:variable name="statusRes" messageType="rq:GetStatusResponse"/>
    <bpel:variable name="status" type="xsd:string"><bpel:from>'QUEUED'</bpel:from></bpel:variable>
  </bpel:variables>
  <bpel:sequence>
    <bpel:assign><bpel:copy><bpel:from>$in.parameters</bpel:from><bpel:to variable="req" part="parameters"/></bpel:copy></bpel:assign>
    <bpel:invoke partnerLink="software" operation="Install" inputVariable="req" outputVariable="res"/>
    <bpel:assign>
      <bpel:copy><bpel:from><bpel:literal><rq:GetStatus><rq:requestId/></rq:GetStatus></bpel:literal></bpel:from><bpel:to variable="statusReq" part="parameters"/></bpel:copy>
      <bpel:copy><bpel:from>$res.parameters/sw:requestId</bpel:from><bpel:to>$statusReq.parameters/rq:requestId</bpel:to></bpel:copy>
    </bpel:assign>
    <bpel:while><bpel:condition>not(starts-with($status, 'COMPLETED'))</bpel:condition>
      <bpel:sequence>
        <bpel:wait><bpel:for>'PT0.2S'</bpel:for></bpel:wait>
        <bpel:invoke partnerLink="requests" operation="GetStatus" inputVariable="statusReq" outputVariable="statusRes"/>
        <bpel:assign><bpel:copy><bpel:from>$statusRes.parameters/rq:status</bpel:from><bpel:to variable="status"/></bpel:copy></bpel:assign>
      </bpel:sequence>
    </bpel:while>
  </bpel:sequence>
</bpel:process>`.replace('<bpel:variables>', '<bpel:variables>\n    <bpel:variable name="in" messageType="sw:InstallRequest"/>')
      .replace('<bpel:sequence>\n    <bpel:assign><bpel:copy><bpel:from>$in.parameters', '<bpel:sequence>\n    <bpel:receive partnerLink="starter" operation="Install" variable="in" createInstance="yes"/>\n    <bpel:assign><bpel:copy><bpel:from>$in.parameters')
      .replace('<bpel:partnerLinks>', '<bpel:import importType="http://schemas.xmlsoap.org/wsdl/" namespace="urn:bench:start" location="starter.wsdl"/>\n  <bpel:partnerLinks>\n    <bpel:partnerLink name="starter" partnerLinkType="b:Starter" myRole="starter"/>')
      .replace('xmlns:pl="urn:provisor:examples:partners"', 'xmlns:pl="urn:provisor:examples:partners" xmlns:b="urn:bench:start"');
    const starter = `<wsdl:definitions name="Starter" targetNamespace="urn:bench:start" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:plnk="http://docs.oasis-open.org/wsbpel/2.0/plnktype" xmlns:sw="urn:provisor:software:1" xmlns:b="urn:bench:start">
  <wsdl:import namespace="urn:provisor:software:1" location="software.wsdl"/>
  <wsdl:portType name="StarterPortType"><wsdl:operation name="Install"><wsdl:input message="sw:InstallRequest"/></wsdl:operation></wsdl:portType>
  <plnk:partnerLinkType name="Starter"><plnk:role name="starter" portType="b:StarterPortType"/></plnk:partnerLinkType>
</wsdl:definitions>`;
    await app.workflow.deploy({ bpel, documents: new Map([[PARTNERS_WSDL_NAME, partnersWsdl()], ['starter.wsdl', starter]]), bindings: [], deployedBy: 'bench' });
    // The callback variant: docs/examples/install-with-callback.bpel, as shipped.
    const examples = path.join(projectRoot(), 'docs', 'examples');
    await app.workflow.deploy({
      bpel: fs.readFileSync(path.join(examples, 'install-with-callback.bpel'), 'utf8'),
      documents: new Map([['install-with-callback.wsdl', fs.readFileSync(path.join(examples, 'install-with-callback.wsdl'), 'utf8')]]),
      bindings: [],
      deployedBy: 'bench',
    });
    const { messageValue, parseElement } = await import('../../src/bpel/xpath');
    global.gc?.();
    const baseRss = process.memoryUsage().rss;
    let peakRss = baseRss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 50);
    const port = await app.listen(0, '127.0.0.1');
    const callbackUrl = `http://127.0.0.1:${port}/soap/processes/InstallWithCallback`;
    const committer = groupCommitter(dataSource);
    const commitsBefore = committer.commits;
    // The reads: SELECT statements through the DataSource (the group committer's own MySQL pool only writes).
    const reads = countStatements(dataSource, (sql) => /^\s*SELECT/i.test(sql));
    const cpuBefore = process.cpuUsage();
    const started = Date.now();
    // The process's CPU time every 10 ms, to read what the start burst cost up to the last task's submission.
    const cpuAt: Array<{ at: number; ms: number }> = [];
    const cpuSampler = setInterval(() => {
      const used = process.cpuUsage(cpuBefore);
      cpuAt.push({ at: Date.now(), ms: (used.user + used.system) / 1000 });
    }, 10);
    // The instances arrive together (a thousand work orders at once), as concurrent starts.
    const starts: Array<Promise<string>> = [];
    for (let i = 0; i < instances; i++) {
      const callback = watch === 'callback' ? `<sw:callback>${callbackUrl}</sw:callback>` : '';
      const input = messageValue({ parameters: parseElement(`<sw:Install xmlns:sw="urn:provisor:software:1"><sw:system>sim${i % 20}</sw:system><sw:component>c${i}</sw:component>${callback}</sw:Install>`) });
      starts.push(app.workflow.start(watch === 'callback' ? 'InstallWithCallback' : 'Poller', input, 'bench'));
    }
    const instanceIds = await Promise.all(starts);
    // `--heap-snapshot-at S`: a heap snapshot S seconds after the starts (what an instance holds while it runs).
    const snapshotAt = arg('--heap-snapshot-at');
    if (snapshotAt !== undefined) {
      setTimeout(() => console.log(`heap snapshot: ${v8.writeHeapSnapshot()}`), Number(snapshotAt) * 1000);
    }
    let completed = 0;
    const trace = process.env.BENCH_TRACE === '1';
    for (let tick = 0; ; tick++) {
      if (trace && tick % 10 === 0) {
        const counts = (await dataSource.query('SELECT status, COUNT(*) AS n FROM provisioning_request GROUP BY status')) as Array<{ status: string; n: unknown }>;
        console.log(`  +${((Date.now() - started) / 1000).toFixed(1)} s: ${counts.map((c) => `${c.status} ${Number(c.n)}`).join(', ')}; commits ${committer.commits}, queued writes ${(committer as unknown as { queue: unknown[] }).queue.length}`);
      }
      const rows = (await dataSource.query("SELECT COUNT(*) AS n FROM process_instance WHERE status <> 'RUNNING'")) as Array<{ n: unknown }>;
      completed = Number(rows[0]?.n);
      if (completed >= instances || Date.now() - started > 600_000) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const seconds = (Date.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    clearInterval(cpuSampler);
    // The benchmark's own completion check (one COUNT every 100 ms) is in the count; it is the same for both variants.
    const counted = reads.stop();
    // BENCH_READS=1: the most frequent reads, to see where they come from.
    if (process.env.BENCH_READS === '1') for (const [text, n] of [...counted.byText].sort((x, y) => y[1] - x[1]).slice(0, 12)) console.log(`  ${n} × ${text}`);
    const readCount = counted.count;
    const commits = committer.commits - commitsBefore;
    clearInterval(sampler);
    const activityRows = (await dataSource.query('SELECT COUNT(*) AS n FROM activity_instance')) as Array<{ n: unknown }>;
    const times = (await dataSource.query('SELECT submittedAt, startedAt, endedAt FROM provisioning_request')) as Array<Record<string, unknown>>;
    const latest = (column: string): string => {
      const ms = Math.max(...times.map((t) => (fromSqlDate(t[column]) ?? new Date(0)).getTime()));
      return `${((ms - started) / 1000).toFixed(2)} s`;
    };
    const lastSubmitted = Math.max(...times.map((t) => (fromSqlDate(t.submittedAt) ?? new Date(0)).getTime()));
    // The first sample at or after the last submission (10 ms resolution).
    const burstCpuMs = cpuAt.find((c) => c.at >= lastSubmitted)?.ms ?? NaN;
    if (trace) {
      // How long the tasks took, from their start to their end (the simulated task sleeps its set time).
      const spread = (from: string, to: string): string => {
        const spans = times.map((t) => (fromSqlDate(t[to])?.getTime() ?? NaN) - (fromSqlDate(t[from])?.getTime() ?? NaN)).sort((a, b) => a - b);
        const at = (q: number): string => `${Math.round(spans[Math.min(spans.length - 1, Math.floor(q * spans.length))] ?? NaN)}`;
        return `min ${at(0)}, median ${at(0.5)}, 90 % ${at(0.9)}, max ${at(1)}`;
      };
      console.log(`  task submission to start, ms: ${spread('submittedAt', 'startedAt')}; start to end: ${spread('startedAt', 'endedAt')}`);
      // From each task's end to its instance's (instance i installed component c<i>).
      const taskEnds = new Map(((await dataSource.query('SELECT component, endedAt FROM provisioning_request')) as Array<{ component: string; endedAt: unknown }>).map((r) => [r.component, fromSqlDate(r.endedAt)?.getTime() ?? NaN]));
      const instanceEnded = new Map(((await dataSource.query('SELECT id, endedAt FROM process_instance')) as Array<{ id: string; endedAt: unknown }>).map((r) => [r.id, fromSqlDate(r.endedAt)?.getTime() ?? NaN]));
      const lags = instanceIds.map((id, i) => (instanceEnded.get(id) ?? NaN) - (taskEnds.get(`c${i}`) ?? NaN)).sort((a, b) => a - b);
      const lag = (q: number): string => `${Math.round(lags[Math.min(lags.length - 1, Math.floor(q * lags.length))] ?? NaN)}`;
      console.log(`  task end to its instance's end, ms: min ${lag(0)}, median ${lag(0.5)}, 90 % ${lag(0.9)}, max ${lag(1)}`);
    }
    // BENCH_CPU=1: the process's CPU time used in each tenth of a second of the run.
    if (process.env.BENCH_CPU === '1') {
      const line: string[] = [];
      let previous = 0;
      for (let t = 100; t <= (Date.now() - started) + 100; t += 100) {
        const sample = cpuAt.find((c) => c.at - started >= t) ?? cpuAt[cpuAt.length - 1];
        if (sample === undefined) break;
        line.push(`${(t / 1000).toFixed(1)}:${(sample.ms - previous).toFixed(0)}`);
        previous = sample.ms;
      }
      console.log(`  CPU ms per 0.1 s: ${line.join(' ')}`);
    }
    // When the last instance's end was recorded (the completion check above sees it up to 100 ms later).
    const instanceEnds = (await dataSource.query('SELECT MAX(endedAt) AS last FROM process_instance')) as Array<{ last: unknown }>;
    const lastInstanceEnd = `${(((fromSqlDate(instanceEnds[0]?.last) ?? new Date(0)).getTime() - started) / 1000).toFixed(2)} s`;
    console.log(`[${kind}] the tasks: last submitted after ${latest('submittedAt')}, last started after ${latest('startedAt')}, last ended after ${latest('endedAt')}; last instance ended after ${lastInstanceEnd}; process CPU up to the last submission ${burstCpuMs.toFixed(0)} ms (${(burstCpuMs / instances).toFixed(2)} ms per instance)`);
    const ok = (await dataSource.query("SELECT COUNT(*) AS n FROM process_instance WHERE status = 'COMPLETED'")) as Array<{ n: unknown }>;
    return { seconds, ideal: taskMs / 1000, peakRssMb: peakRss / 2 ** 20, baseRssMb: baseRss / 2 ** 20, completed: Number(ok[0]?.n), commits, activities: Number(activityRows[0]?.n), reads: readCount, cpuMs: (cpu.user + cpu.system) / 1000 };
  } finally {
    await app.close();
    await dataSource.destroy();
    await cleanup();
  }
}

async function main(): Promise<void> {
  const kinds: Array<'sqlite' | 'mysql'> = process.argv.includes('--sqlite-only') ? ['sqlite'] : process.argv.includes('--mysql-only') ? ['mysql'] : ['sqlite', 'mysql'];
  const instances = Number(arg('--instances') ?? 1000);
  const taskMs = Number(arg('--task-ms') ?? 2000);
  const iterations = Number(arg('--iterations') ?? 1000);
  console.log(`workflow benchmarks on ${os.cpus().length} cores, Node ${process.version}`);
  const load = (): string => `load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`;
  for (const kind of kinds) {
    if (!process.argv.includes('--concurrent-only')) {
      for (const effects of [false, true]) {
        const o = await overhead(kind, iterations, effects);
        console.log(
          `[${kind}] engine overhead, ${effects ? 'invokes with effects' : 'read-only invokes'}: ${o.activities} activities in ${o.seconds.toFixed(2)} s = ${(o.activities / o.seconds).toFixed(0)} activities/s (${((o.seconds / o.activities) * 1000).toFixed(3)} ms each); ${o.commits} commits = ${(o.commits / o.activities).toFixed(3)} per activity; ${load()}`,
        );
      }
    }
    if (process.argv.includes('--overhead-only')) continue;
    // --callback: also the same instances waiting for the RequestCompleted callback; --callback-only: only those.
    const watches: Watch[] = process.argv.includes('--callback-only') ? ['callback'] : process.argv.includes('--callback') ? ['poll', 'callback'] : ['poll'];
    for (const watch of watches) {
      const c = await concurrent(kind, instances, taskMs, watch);
      console.log(
        `[${kind}] ${instances} concurrent instances ${watch === 'poll' ? 'polling' : 'called back at the end of'} a ${taskMs} ms task: ${c.completed} completed in ${c.seconds.toFixed(2)} s; ideal (critical path) ${c.ideal.toFixed(2)} s; ratio ${(c.seconds / c.ideal).toFixed(2)}x; RSS ${c.baseRssMb.toFixed(0)} MB before, peak ${c.peakRssMb.toFixed(0)} MB; ${c.commits} commits for ${c.activities} activities = ${(c.commits / c.activities).toFixed(3)} per activity; ${c.reads} reads (${(c.reads / instances).toFixed(2)} per task); process CPU ${c.cpuMs.toFixed(0)} ms (${(c.cpuMs / instances).toFixed(2)} ms per task); ${load()}`,
      );
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
