import type { ChildProcess } from 'node:child_process';
import { expect } from 'chai';
import type * as soap from 'soap';
import { partnersWsdl, PARTNERS_WSDL_NAME } from '../../scripts/demo/two-websites';
import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/db/data-source';
import { fromSqlDate } from '../../src/db/sql';
import { eventually, freshEnvironment, prepareDatabase } from '../support/harness';
import { call, soapClient } from '../support/soap-client';
import { plan } from './support';
import { freePort, startServerProcess, waitForHealth } from '../support/processes';

const engine = { username: 'planner', password: 'planner-secret-1' };

function branch(name: string, system: string): string {
  const install = (step: string, component: string): string => `
        <bpel:assign name="${name}_${step}_prepare"><bpel:copy>
          <bpel:from><bpel:literal><sw:Install><sw:system>${system}</sw:system><sw:component>${component}</sw:component></sw:Install></bpel:literal></bpel:from>
          <bpel:to variable="request" part="parameters"/></bpel:copy></bpel:assign>
        <bpel:invoke name="${name}_${step}" partnerLink="software" operation="Install" inputVariable="request" outputVariable="response"/>
        <bpel:assign><bpel:copy>
          <bpel:from><bpel:literal><rq:GetStatus><rq:requestId/></rq:GetStatus></bpel:literal></bpel:from>
          <bpel:to variable="statusRequest" part="parameters"/></bpel:copy>
          <bpel:copy><bpel:from>$response.parameters/sw:requestId</bpel:from><bpel:to>$statusRequest.parameters/rq:requestId</bpel:to></bpel:copy>
          <bpel:copy><bpel:from>'QUEUED'</bpel:from><bpel:to variable="status"/></bpel:copy></bpel:assign>
        <bpel:while><bpel:condition>not(starts-with($status, 'COMPLETED') or $status = 'UNKNOWN')</bpel:condition>
          <bpel:sequence>
            <bpel:invoke partnerLink="requests" operation="GetStatus" inputVariable="statusRequest" outputVariable="statusResponse"/>
            <bpel:assign><bpel:copy><bpel:from>$statusResponse.parameters/rq:status</bpel:from><bpel:to variable="status"/></bpel:copy></bpel:assign>
            <bpel:wait><bpel:for>'PT0.1S'</bpel:for></bpel:wait>
          </bpel:sequence>
        </bpel:while>
        <bpel:if><bpel:condition>$status != 'COMPLETED_SUCCESS'</bpel:condition><bpel:throw faultName="t:stepFailed"/></bpel:if>`;
  return `
    <bpel:scope name="${name}">
      <bpel:variables>
        <bpel:variable name="request" messageType="sw:InstallRequest"/>
        <bpel:variable name="response" messageType="sw:InstallResponse"/>
        <bpel:variable name="statusRequest" messageType="rq:GetStatusRequest"/>
        <bpel:variable name="statusResponse" messageType="rq:GetStatusResponse"/>
        <bpel:variable name="status" type="xsd:string"/>
      </bpel:variables>
      <bpel:eventHandlers>
        <bpel:onAlarm><bpel:for>'PT2S'</bpel:for><bpel:scope><bpel:empty name="${name}_late"/></bpel:scope></bpel:onAlarm>
      </bpel:eventHandlers>
      <bpel:sequence>${install('first', 'db')}
        <bpel:wait name="${name}_pause"><bpel:for>'PT3S'</bpel:for></bpel:wait>${install('second', 'web')}
      </bpel:sequence>
    </bpel:scope>`;
}

describe('when the server is killed with SIGKILL in the middle of a plan', function () {
  this.timeout(120_000);
  let environment: Awaited<ReturnType<typeof freshEnvironment>>;
  let env: Record<string, string | undefined>;
  let base: string;
  let child: ChildProcess | undefined;

  before(async () => {
    environment = await freshEnvironment();
    const port = await freePort();
    // A node lease of an hour: the instance goes on within the test only if the restarted server takes it
    // over at once from its dead predecessor on the same host, without waiting for the lease to run out.
    env = { ...environment.env, PORT: String(port), PROVISOR_NODE_LEASE_MS: '3600000', PROVISOR_POLL_MS: '50', PROVISOR_WORKFLOW_POLL_MS: '50', PROVISOR_SIMULATED_MIN_MS: '200', PROVISOR_SIMULATED_MAX_MS: '200', LOG_LEVEL: 'warn' };
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

  const start = (): ChildProcess => startServerProcess(env);



  async function up(): Promise<soap.Client> {
    await waitForHealth(base);
    return soapClient(base, 'Workflow', engine);
  }

  it('resumes every instance where it was: timers keep their due time, and each provisioning task runs once', async () => {
    child = start();
    let workflow = await up();
    const bpel = plan('Durable', `<bpel:flow>${branch('left', 'sim1')}${branch('right', 'sim2')}</bpel:flow>`);
    await call(workflow, 'DeployProcess', { bpel, document: [{ name: PARTNERS_WSDL_NAME, content: partnersWsdl() }] });
    const { instanceId } = await call<{ instanceId: string }>(workflow, 'StartProcess', { processName: 'Durable' });
    // Kill while both branches wait between their two installs.
    await eventually(async () => {
      const s = await call<{ activity?: Array<{ name?: string; state: string }> }>(workflow, 'GetProcessStatus', { instanceId });
      const waiting = (s.activity ?? []).filter((a) => (a.name === 'left_pause' || a.name === 'right_pause') && a.state === 'RUNNING');
      return waiting.length === 2 ? true : undefined;
    }, 'both branches to be waiting', 20_000, 50);
    child.kill('SIGKILL');
    await new Promise((resolve) => child?.once('exit', resolve));

    child = start();
    workflow = await up();
    const final = await eventually(async () => {
      const s = await call<{ status: string; fault?: unknown; activity?: Array<{ name?: string; path: string; state: string; startTime: Date; endTime?: Date }> }>(workflow, 'GetProcessStatus', { instanceId });
      return s.status === 'RUNNING' ? undefined : s;
    }, 'the instance to complete after the restart', 30_000, 100);
    expect(final.status, JSON.stringify(final.fault)).to.equal('COMPLETED');
    const byName = (name: string) => (final.activity ?? []).filter((a) => a.name === name);
    const dataSource = await openDatabase(loadConfig(env));
    try {
      for (const side of ['left', 'right']) {
        const pause = byName(`${side}_pause`);
        expect(pause.length).to.equal(1);
        const [timer] = (await dataSource.query('SELECT t.dueAt, t.firedAt, a.startedAt FROM process_timer t JOIN activity_instance a ON a.instanceId = t.instanceId AND a.`key` = t.`key` WHERE a.instanceId = ? AND a.name = ?', [instanceId, `${side}_pause`])) as Array<Record<string, unknown>>;
        const at = (value: unknown): number => fromSqlDate(value)?.getTime() ?? NaN;
        const due = at(timer?.dueAt);
        // Set when the wait first began (a resumed wait computing its due time again would be seconds later).
        expect(due - at(timer?.startedAt), 'the wait kept the due time its first run stored').to.be.within(3000, 3500);
        expect(at(timer?.firedAt), 'and fired neither before it').to.be.at.least(due);
        expect(new Date(pause[0]?.endTime ?? 0).getTime(), 'nor ended before it').to.be.at.least(due);
        expect(byName(`${side}_late`).map((a) => a.state), 'the alarm fired once').to.deep.equal(['COMPLETED']);
      }
    } finally {
      await dataSource.destroy();
    }
  });

  it('ran each provisioning task exactly once', async () => {
    const config = loadConfig(env);
    const dataSource = await openDatabase(config);
    try {
      const rows = (await dataSource.query('SELECT systemName, component, COUNT(*) AS n, MIN(status) AS status FROM provisioning_request GROUP BY systemName, component ORDER BY systemName, component')) as Array<{ systemName: string; component: string; n: unknown; status: string }>;
      expect(rows.map((r) => [r.systemName, r.component, Number(r.n), r.status])).to.deep.equal([
        ['sim1', 'db', 1, 'COMPLETED_SUCCESS'],
        ['sim1', 'web', 1, 'COMPLETED_SUCCESS'],
        ['sim2', 'db', 1, 'COMPLETED_SUCCESS'],
        ['sim2', 'web', 1, 'COMPLETED_SUCCESS'],
      ]);
    } finally {
      await dataSource.destroy();
    }
  });
});
