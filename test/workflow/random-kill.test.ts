import type { ChildProcess } from 'node:child_process';
import { expect } from 'chai';
import type * as soap from 'soap';
import type { DataSource } from 'typeorm';
import { partnersWsdl, PARTNERS_WSDL_NAME } from '../../scripts/demo/two-websites';
import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/db/data-source';
import { eventually, freshEnvironment, prepareDatabase } from '../support/harness';
import { call, soapClient } from '../support/soap-client';
import { plan } from './support';
import { freePort, startServerProcess, waitForHealth } from '../support/processes';

/*
 * The engine writes most transitions behind and commits only before an
 * effect, a sleep or the end (docs/workflow.md, "Durability"). This test
 * kills the server with SIGKILL at random moments of plans with a flow, a
 * loop, waits, an alarm and compensation, restarts it each time, and checks
 * that every instance ends exactly as an uninterrupted run of the same plan
 * does, and that every provisioning task was asked for once.
 *
 * The moments come from a seeded generator: PROVISOR_TEST_SEED replays a
 * failing run; the seed is in every assertion's message.
 */

const engine = { username: 'planner', password: 'planner-secret-1' };
const KILLS = 20;

/** mulberry32: a small seeded generator, so a failing run can be replayed. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An Install of `component` (a literal or an XPath expression) on `system`. */
function install(name: string, system: string, component: string): string {
  return `
      <bpel:assign name="${name}_prepare"><bpel:copy>
        <bpel:from><bpel:literal><sw:Install><sw:system>${system}</sw:system><sw:component>x</sw:component></sw:Install></bpel:literal></bpel:from>
        <bpel:to variable="request" part="parameters"/></bpel:copy>
        <bpel:copy><bpel:from>${component}</bpel:from><bpel:to>$request.parameters/sw:component</bpel:to></bpel:copy></bpel:assign>
      <bpel:invoke name="${name}" partnerLink="software" operation="Install" inputVariable="request" outputVariable="response"/>`;
}

/**
 * A plan whose every run takes the same path: a flow of a scope with an
 * alarm (it fires during the scope's wait) and a loop of installs and
 * waits; then a scope with a compensation handler; then a fault that the
 * process's handler catches by compensating. `tag` keeps the components of
 * each plan apart.
 */
function chaosPlan(tag: string): string {
  const q = (s: string): string => `'${tag}-${s}'`;
  return plan(
    `Chaos_${tag}`,
    `<bpel:variables>
    <bpel:variable name="request" messageType="sw:InstallRequest"/>
    <bpel:variable name="response" messageType="sw:InstallResponse"/>
    <bpel:variable name="i" type="xsd:int"><bpel:from>0</bpel:from></bpel:variable>
    <bpel:variable name="alarms" type="xsd:int"><bpel:from>0</bpel:from></bpel:variable>
  </bpel:variables>
  <bpel:faultHandlers>
    <bpel:catch faultName="t:abort">
      <bpel:sequence>
        <bpel:compensate name="undo"/>
        <bpel:empty name="undone"/>
      </bpel:sequence>
    </bpel:catch>
  </bpel:faultHandlers>
  <bpel:sequence>
    <bpel:flow>
      <bpel:scope name="left">
        <bpel:variables>
          <bpel:variable name="request" messageType="sw:InstallRequest"/>
          <bpel:variable name="response" messageType="sw:InstallResponse"/>
        </bpel:variables>
        <bpel:eventHandlers>
          <bpel:onAlarm><bpel:for>'PT0.1S'</bpel:for><bpel:scope><bpel:assign name="left_alarm"><bpel:copy><bpel:from>$alarms + 1</bpel:from><bpel:to variable="alarms"/></bpel:copy></bpel:assign></bpel:scope></bpel:onAlarm>
        </bpel:eventHandlers>
        <bpel:sequence>${install('left_first', 'sim1', q('db'))}
          <bpel:wait name="left_pause"><bpel:for>'PT0.8S'</bpel:for></bpel:wait>${install('left_second', 'sim1', q('web'))}
        </bpel:sequence>
      </bpel:scope>
      <bpel:scope name="right">
        <bpel:variables>
          <bpel:variable name="request" messageType="sw:InstallRequest"/>
          <bpel:variable name="response" messageType="sw:InstallResponse"/>
        </bpel:variables>
        <bpel:while name="right_loop"><bpel:condition>$i &lt; 4</bpel:condition>
          <bpel:sequence>${install('right_step', 'sim2', `concat(${q('r')}, $i)`)}
            <bpel:wait name="right_pause"><bpel:for>'PT0.15S'</bpel:for></bpel:wait>
            <bpel:assign name="right_next"><bpel:copy><bpel:from>$i + 1</bpel:from><bpel:to variable="i"/></bpel:copy></bpel:assign>
          </bpel:sequence>
        </bpel:while>
      </bpel:scope>
    </bpel:flow>
    <bpel:scope name="deploy">
      <bpel:compensationHandler>
        <bpel:sequence>${install('deploy_undo', 'sim1', q('app-undo'))}</bpel:sequence>
      </bpel:compensationHandler>
      <bpel:sequence>${install('deploy_app', 'sim1', q('app'))}</bpel:sequence>
    </bpel:scope>
    <bpel:wait name="settle"><bpel:for>'PT0.2S'</bpel:for></bpel:wait>
    <bpel:throw name="abort" faultName="t:abort"/>
  </bpel:sequence>`,
  );
}

/** Everything of an instance's end state that does not depend on when it ran: status, activities with their states, links, simple variables. */
async function endState(dataSource: DataSource, instanceId: string): Promise<{ status: string; activities: string[]; variables: string[]; timers: string[] }> {
  const [instance] = (await dataSource.query('SELECT status FROM process_instance WHERE id = ?', [instanceId])) as Array<{ status: string }>;
  const activities = (await dataSource.query('SELECT `key`, kind, state FROM activity_instance WHERE instanceId = ?', [instanceId])) as Array<{ key: string; kind: string; state: string }>;
  const variables = (await dataSource.query('SELECT scopeKey, name, value FROM process_variable WHERE instanceId = ?', [instanceId])) as Array<{ scopeKey: string; name: string; value: string }>;
  const timers = (await dataSource.query('SELECT `key`, dueAt, firedAt FROM process_timer WHERE instanceId = ?', [instanceId])) as Array<{ key: string; dueAt: unknown; firedAt: unknown }>;
  return {
    status: instance?.status ?? 'missing',
    activities: activities.map((a) => `${a.key} ${a.kind} ${a.state}`).sort(),
    // Messages carry request ids, which differ from run to run; the counters do not.
    variables: variables.filter((v) => v.name === 'i' || v.name === 'alarms').map((v) => `${v.scopeKey} ${v.name} ${v.value}`).sort(),
    timers: timers.map((t) => `${t.key} ${t.firedAt === null ? 'pending' : 'fired'}`).sort(),
  };
}

describe('when the server is killed with SIGKILL at random moments of plans', function () {
  this.timeout(300_000);
  const seed = Number(process.env.PROVISOR_TEST_SEED ?? Date.now() % 1_000_000);
  const random = generator(seed);
  const said = `seed ${seed} (PROVISOR_TEST_SEED=${seed} replays it)`;
  let environment: Awaited<ReturnType<typeof freshEnvironment>>;
  let env: Record<string, string | undefined>;
  let base: string;
  let child: ChildProcess | undefined;

  before(async () => {
    environment = await freshEnvironment();
    const port = await freePort();
    env = {
      ...environment.env,
      PORT: String(port),
      PROVISOR_POLL_MS: '50',
      PROVISOR_WORKFLOW_POLL_MS: '50',
      PROVISOR_SIMULATED_MIN_MS: '50',
      PROVISOR_SIMULATED_MAX_MS: '50',
      // Every instance is running each time its server dies: without this, the third death suspends it.
      PROVISOR_PLAN_CRASH_LOOP_LIMIT: '1000',
      LOG_LEVEL: 'warn',
    };
    base = `http://127.0.0.1:${port}`;
    await prepareDatabase(env, async (app) => {
      await app.users.addUser({ name: engine.username, role: 'engine', password: engine.password });
      await app.systems.add('sim1', 'simulated');
      await app.systems.add('sim2', 'simulated');
    });
  });

  after(async () => {
    child?.kill('SIGKILL');
    await environment.cleanup();
  });

  async function up(): Promise<soap.Client> {
    child = startServerProcess(env);
    await waitForHealth(base, 60_000);
    return soapClient(base, 'Workflow', engine);
  }

  async function kill(): Promise<void> {
    const dying = child;
    if (dying === undefined) return;
    const exited = new Promise((resolve) => dying.once('exit', resolve));
    dying.kill('SIGKILL');
    await exited;
    child = undefined;
  }

  async function startPlan(workflow: soap.Client, tag: string): Promise<string> {
    await call(workflow, 'DeployProcess', { bpel: chaosPlan(tag), document: [{ name: PARTNERS_WSDL_NAME, content: partnersWsdl() }] });
    const { instanceId } = await call<{ instanceId: string }>(workflow, 'StartProcess', { processName: `Chaos_${tag}` });
    return instanceId;
  }

  async function ended(workflow: soap.Client, instanceId: string): Promise<void> {
    await eventually(async () => {
      const s = await call<{ status: string }>(workflow, 'GetProcessStatus', { instanceId });
      return s.status === 'RUNNING' ? undefined : true;
    }, `instance ${instanceId} to end (${said})`, 60_000, 100);
  }

  it('ends every instance as an uninterrupted run ends, each provisioning task asked for once', async () => {
    let workflow = await up();
    // The reference: the same plan, never interrupted.
    const reference = await startPlan(workflow, 'ref');
    await ended(workflow, reference);

    const instances: string[] = [];
    for (let k = 0; k < KILLS; k++) {
      // A plan runs about two seconds; a new one starts whenever the last has ended, so every kill hits one.
      const last = instances[instances.length - 1];
      const running = last !== undefined && (await call<{ status: string }>(workflow, 'GetProcessStatus', { instanceId: last })).status === 'RUNNING';
      if (!running) instances.push(await startPlan(workflow, `p${instances.length}`));
      await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 700)));
      await kill();
      workflow = await up();
    }
    for (const id of instances) await ended(workflow, id);

    const dataSource = await openDatabase(loadConfig(env));
    try {
      const expected = await endState(dataSource, reference);
      expect(expected.status, said).to.equal('COMPLETED');
      expect(expected.activities.filter((a) => a.includes(' invoke ')).length, said).to.equal(8);
      for (const id of instances) expect(await endState(dataSource, id), `instance ${id}, ${said}`).to.deep.equal(expected);

      // Each plan asks for 8 installs; none twice, whatever the kills interrupted.
      const requests = (await dataSource.query('SELECT systemName, component, COUNT(*) AS n FROM provisioning_request GROUP BY systemName, component')) as Array<{ systemName: string; component: string; n: unknown }>;
      const twice = requests.filter((r) => Number(r.n) !== 1).map((r) => `${r.systemName}/${r.component} × ${Number(r.n)}`);
      expect(twice, said).to.deep.equal([]);
      expect(requests.length, said).to.equal(8 * (instances.length + 1));

      // Timers fired at or after their due time, never early.
      const early = (await dataSource.query('SELECT instanceId, `key` FROM process_timer WHERE firedAt < dueAt')) as unknown[];
      expect(early, said).to.deep.equal([]);
    } finally {
      await dataSource.destroy();
    }
  });
});
