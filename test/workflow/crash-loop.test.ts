import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import type * as soap from 'soap';
import type { DataSource } from 'typeorm';
import { partnersWsdl, PARTNERS_WSDL_NAME } from '../../scripts/demo/two-websites';
import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/db/data-source';
import { eventually, freshEnvironment, prepareDatabase } from '../support/harness';
import { freePort, startServerProcess, waitForHealth } from '../support/processes';
import { call, soapClient } from '../support/soap-client';
import { plan } from './support';

const engine = { username: 'planner', password: 'planner-secret-1' };
const bin = path.join(__dirname, '..', '..', '..', 'scripts', 'provisor.js');

/** Runs the CLI against the test's database. */
function cli(env: Record<string, string | undefined>, args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

describe('when the server dies again and again while an instance runs', function () {
  this.timeout(180_000);
  const LIMIT = 3;
  let environment: Awaited<ReturnType<typeof freshEnvironment>>;
  let env: Record<string, string | undefined>;
  let base: string;
  let child: ChildProcess | undefined;
  let db: DataSource | undefined;
  /** The instance the first test leaves RUNNING. */
  let runningId = '';

  before(async () => {
    environment = await freshEnvironment();
    const port = await freePort();
    env = { ...environment.env, PORT: String(port), PROVISOR_WORKFLOW_POLL_MS: '50', PROVISOR_CATALOG_LOAD: 'false', PROVISOR_PLAN_CRASH_LOOP_LIMIT: String(LIMIT), LOG_LEVEL: 'warn' };
    base = `http://127.0.0.1:${port}`;
    await prepareDatabase(env, async (app) => {
      await app.users.addUser({ name: engine.username, role: 'engine', password: engine.password });
    });
  });

  after(async () => {
    child?.kill('SIGKILL');
    await db?.destroy();
    await environment.cleanup();
  });

  async function up(): Promise<soap.Client> {
    child = startServerProcess(env);
    await waitForHealth(base);
    return soapClient(base, 'Workflow', engine);
  }

  async function kill(): Promise<void> {
    const dying = child;
    if (dying === undefined) return;
    const exited = new Promise((resolve) => dying.once('exit', resolve));
    dying.kill('SIGKILL');
    await exited;
  }

  async function rows(ids: readonly string[]): Promise<Array<{ id: string; status: string; recoveries: number; leaseOwner: string | null }>> {
    db ??= await openDatabase(loadConfig(env));
    const found = (await db.query(`SELECT id, status, recoveries, leaseOwner FROM process_instance WHERE id IN (${ids.map(() => '?').join(', ')}) ORDER BY id`, [...ids])) as Array<{ id: string; status: string; recoveries: unknown; leaseOwner: string | null }>;
    return found.map((r) => ({ ...r, recoveries: Number(r.recoveries) }));
  }

  it(`suspends an instance its server died running ${LIMIT} times in a row, reports it, and lets an admin resume or cancel it`, async () => {
    let workflow = await up();
    await call(workflow, 'DeployProcess', {
      bpel: plan('LongRunning', `<bpel:sequence><bpel:empty name="begin"/><bpel:wait name="day"><bpel:for>'P1D'</bpel:for></bpel:wait></bpel:sequence>`),
      document: [{ name: PARTNERS_WSDL_NAME, content: partnersWsdl() }],
    });
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) ids.push((await call<{ instanceId: string }>(workflow, 'StartProcess', { processName: 'LongRunning' })).instanceId);
    ids.sort();
    await eventually(async () => ((await rows(ids)).every((r) => r.leaseOwner !== null) ? true : undefined), 'both instances to run');

    // Each restart takes them over from the dead server: a recovery each time.
    for (let crash = 1; crash < LIMIT; crash++) {
      await kill();
      workflow = await up();
      await eventually(async () => ((await rows(ids)).every((r) => r.recoveries === crash && r.status === 'RUNNING' && r.leaseOwner !== null) ? true : undefined), `recovery ${crash}`);
    }
    await kill();
    workflow = await up();
    await eventually(async () => ((await rows(ids)).every((r) => r.status === 'SUSPENDED') ? true : undefined), 'both instances to be suspended');
    expect((await rows(ids)).map((r) => [r.recoveries, r.leaseOwner])).to.deep.equal([
      [LIMIT, null],
      [LIMIT, null],
    ]);

    // Reported: the status over SOAP, the list filtered by it, the metric; the server answers on.
    for (const instanceId of ids) expect((await call<{ status: string }>(workflow, 'GetProcessStatus', { instanceId })).status).to.equal('SUSPENDED');
    const listed = await call<{ instance?: Array<{ instanceId: string }> }>(workflow, 'ListProcesses', { status: 'SUSPENDED' });
    expect((listed.instance ?? []).map((r) => r.instanceId).sort()).to.deep.equal(ids);
    expect(await (await fetch(`${base}/metrics`)).text()).to.match(/^provisor_workflow_instances_suspended_total 2$/m);

    const [resumed = '', cancelled = ''] = ids;
    runningId = resumed;
    const resume = await cli(env, ['plan', 'resume', resumed]);
    expect(resume.code, resume.err).to.equal(0);
    expect(resume.out).to.contain(`instance ${resumed} RUNNING`);
    await eventually(async () => {
      const [row] = await rows([resumed]);
      return row?.status === 'RUNNING' && row.leaseOwner !== null && row.recoveries === 0 ? true : undefined;
    }, 'the running server to resume it');
    expect((await call<{ status: string }>(workflow, 'GetProcessStatus', { instanceId: resumed })).status).to.equal('RUNNING');

    const cancel = await cli(env, ['plan', 'cancel', cancelled]);
    expect(cancel.code, cancel.err).to.equal(0);
    expect(cancel.out).to.contain(`instance ${cancelled} TERMINATED`);
    expect((await call<{ status: string }>(workflow, 'GetProcessStatus', { instanceId: cancelled })).status).to.equal('TERMINATED');

    const again = await cli(env, ['plan', 'resume', cancelled]);
    expect(again.code).to.equal(2);
    expect(again.err).to.match(/TERMINATED: only a SUSPENDED instance can be resumed/);
  });

  it('a server stopped in order (SIGTERM) releases its instances: the next resumes them, neither counted as a crash nor ended TERMINATED', async () => {
    const [row] = await rows([runningId]);
    expect(row?.status).to.equal('RUNNING');
    expect(row?.recoveries).to.equal(0);
    const stopping = child;
    const exited = new Promise((resolve) => stopping?.once('exit', resolve));
    stopping?.kill('SIGTERM');
    await exited;
    const [released] = await rows([runningId]);
    expect(released?.leaseOwner).to.equal(null);
    await up();
    await eventually(async () => {
      const [again] = await rows([runningId]);
      return again !== undefined && again.leaseOwner !== null ? again : undefined;
    }, 'the restarted server to take it up');
    expect((await rows([runningId]))[0]?.recoveries).to.equal(0);
    const view = await call<{ status: string; activity?: Array<{ name?: string; state: string }> }>(await soapClient(base, 'Workflow', engine), 'GetProcessStatus', { instanceId: runningId });
    expect(view.status).to.equal('RUNNING');
    expect((view.activity ?? []).filter((a) => a.name === 'day').map((a) => a.state)).to.deep.equal(['RUNNING']);
  });
});
