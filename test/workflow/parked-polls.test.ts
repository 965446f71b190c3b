import { expect } from 'chai';
import { ManualClock } from '../../src/clock';
import { fromSqlDate } from '../../src/db/sql';
import { eventually, startTestServer, type TestServer } from '../support/harness';
import { deploy, finished, plan } from './support';

const PERIOD_MS = 10_000;

/**
 * Install, then poll GetStatus every 10 s until the request ends: the
 * monitoring loop of a change plan (invoke, keep the status, wait unless
 * done). `extra` adds to the loop's body.
 */
function monitorPlan(name: string, component: string, extra = '', condition = "not(starts-with($status, 'COMPLETED'))"): string {
  return plan(
    name,
    `<bpel:variables>
    <bpel:variable name="request" messageType="sw:InstallRequest"/>
    <bpel:variable name="response" messageType="sw:InstallResponse"/>
    <bpel:variable name="statusRequest" messageType="rq:GetStatusRequest"/>
    <bpel:variable name="statusResponse" messageType="rq:GetStatusResponse"/>
    <bpel:variable name="status" type="xsd:string"><bpel:from>''</bpel:from></bpel:variable>
    <bpel:variable name="n" type="xsd:int"><bpel:from>0</bpel:from></bpel:variable>
  </bpel:variables>
  <bpel:sequence>
    <bpel:assign><bpel:copy><bpel:from><bpel:literal><sw:Install><sw:system>sim1</sw:system><sw:component>${component}</sw:component></sw:Install></bpel:literal></bpel:from><bpel:to variable="request" part="parameters"/></bpel:copy></bpel:assign>
    <bpel:invoke name="install" partnerLink="software" operation="Install" inputVariable="request" outputVariable="response"/>
    <bpel:assign>
      <bpel:copy><bpel:from><bpel:literal><rq:GetStatus><rq:requestId/></rq:GetStatus></bpel:literal></bpel:from><bpel:to variable="statusRequest" part="parameters"/></bpel:copy>
      <bpel:copy><bpel:from>$response.parameters/sw:requestId</bpel:from><bpel:to>$statusRequest.parameters/rq:requestId</bpel:to></bpel:copy>
    </bpel:assign>
    <bpel:while name="monitor"><bpel:condition>${condition}</bpel:condition>
      <bpel:sequence>
        <bpel:invoke name="poll" partnerLink="requests" operation="GetStatus" inputVariable="statusRequest" outputVariable="statusResponse"/>
        <bpel:assign><bpel:copy><bpel:from>$statusResponse.parameters/rq:status</bpel:from><bpel:to variable="status"/></bpel:copy></bpel:assign>${extra}
        <bpel:if><bpel:condition>not(starts-with($status, 'COMPLETED'))</bpel:condition><bpel:wait name="pause"><bpel:for>'PT10S'</bpel:for></bpel:wait></bpel:if>
      </bpel:sequence>
    </bpel:while>
  </bpel:sequence>`,
  );
}

interface LoopState {
  iteration: number;
  inBody: boolean;
  parked?: number;
  parking?: boolean;
  resumeAt?: number;
}

describe('poll loops park on a running request instead of polling it', function () {
  this.timeout(60_000);
  let server: TestServer;
  let clock: ManualClock;

  beforeEach(async () => {
    clock = new ManualClock(Date.UTC(2026, 0, 1));
    // Tasks that run until cancelled; leases that outlast every move of the clock here.
    server = await startTestServer(
      {
        PROVISOR_WORKFLOW_POLL_MS: '50',
        PROVISOR_SIMULATED_MIN_MS: '3600000',
        PROVISOR_SIMULATED_MAX_MS: '3600000',
        PROVISOR_LEASE_MS: '3600000',
        PROVISOR_WORKFLOW_LEASE_MS: '3600000',
        PROVISOR_NODE_LEASE_MS: '3600000',
      },
      { clock },
    );
    await server.app.systems.add('sim1', 'simulated');
  });
  afterEach(() => server.close());

  async function loopState(id: string): Promise<{ state: string; data: LoopState } | undefined> {
    const rows = (await server.dataSource.query("SELECT state, data FROM activity_instance WHERE instanceId = ? AND name = 'monitor'", [id])) as Array<{ state: string; data: string | null }>;
    const row = rows[0];
    return row === undefined || row.data === null ? undefined : { state: row.state, data: JSON.parse(row.data) as LoopState };
  }

  /** The poll invokes' rows: iteration (from the key) and start, in iteration order. */
  async function polls(id: string): Promise<Array<{ iteration: number; startedAt: number; endedAt: number | undefined }>> {
    const rows = (await server.dataSource.query("SELECT `key`, startedAt FROM activity_instance WHERE instanceId = ? AND name = 'poll'", [id])) as Array<{ key: string; startedAt: unknown }>;
    const sequences = (await server.dataSource.query("SELECT `key`, endedAt FROM activity_instance WHERE instanceId = ? AND kind = 'sequence' AND `key` LIKE '%while#%'", [id])) as Array<{ key: string; endedAt: unknown }>;
    return rows
      .map((r) => {
        const iteration = Number(/while#(\d+)/.exec(r.key)?.[1]);
        const body = sequences.find((s) => Number(/while#(\d+)/.exec(s.key)?.[1]) === iteration);
        return { iteration, startedAt: fromSqlDate(r.startedAt)?.getTime() ?? 0, endedAt: fromSqlDate(body?.endedAt)?.getTime() };
      })
      .sort((a, b) => a.iteration - b.iteration);
  }

  async function timerCount(id: string): Promise<number> {
    const rows = (await server.dataSource.query('SELECT COUNT(*) AS n FROM process_timer WHERE instanceId = ?', [id])) as Array<{ n: unknown }>;
    return Number(rows[0]?.n);
  }

  async function runningRequest(component: string): Promise<string> {
    return eventually(async () => {
      const rows = (await server.dataSource.query("SELECT id FROM provisioning_request WHERE component = ? AND status = 'IN_PROGRESS'", [component])) as Array<{ id: string }>;
      return rows[0]?.id;
    }, `the ${component} task to run`);
  }

  /**
   * Moves the clock to each wait's due time until the loop parks (or,
   * with `untilIterations`, until it has run that many iterations);
   * returns the loop's state then.
   */
  async function pollUntil(id: string, untilIterations?: number): Promise<LoopState> {
    for (let step = 0; step < 20; step++) {
      const next = await eventually<{ parked: LoopState } | { due: number }>(async () => {
        const loop = await loopState(id);
        if (loop !== undefined) {
          if (untilIterations === undefined ? loop.data.parking === true : loop.data.iteration >= untilIterations && !loop.data.inBody) return { parked: loop.data };
        }
        const rows = (await server.dataSource.query('SELECT MAX(dueAt) AS due FROM process_timer WHERE instanceId = ?', [id])) as Array<{ due: unknown }>;
        const due = fromSqlDate(rows[0]?.due)?.getTime();
        return due !== undefined && due > clock.now() ? { due } : undefined;
      }, 'the loop to wait or park');
      if ('parked' in next) return next.parked;
      clock.advance(next.due - clock.now());
    }
    throw new Error('the loop neither parked nor ended in 20 polls');
  }

  it('a parked loop sleeps without polling, wakes at the request\'s end, and asks again when its next poll was due', async () => {
    const id = await server.app.workflow.start(await deploy(server, monitorPlan('Parked', 'db')), undefined, 'tester');
    const requestId = await runningRequest('db');
    const parkedAt = await pollUntil(id);
    const template = parkedAt.iteration;
    const before = await polls(id);
    expect(before.map((p) => p.iteration)).to.deep.equal(Array.from({ length: template }, (_, i) => i + 1));
    const last = before[before.length - 1];
    if (last === undefined || last.endedAt === undefined) throw new Error('the last polled iteration has no end');
    expect(last.endedAt - last.startedAt).to.equal(PERIOD_MS);

    // Parked: moving the clock arms nothing and asks nothing.
    const timersBefore = await timerCount(id);
    clock.advance(35_000);
    expect((await polls(id)).length).to.equal(template);
    expect(await timerCount(id)).to.equal(timersBefore);
    expect((await loopState(id))?.data.parking).to.equal(true);

    // The request ends (cancelled): the loop counts the polls that would have asked meanwhile
    // (at +10, +20, +30 and +40 s after the last one) and sleeps until the next one was due.
    await server.app.api.cancel(requestId, { name: 'tester' });
    const resumeAt = last.startedAt + 5 * PERIOD_MS;
    const waiting = await eventually(async () => {
      const loop = await loopState(id);
      return loop?.data.resumeAt !== undefined ? loop.data : undefined;
    }, 'the loop to sleep until its next poll was due');
    expect(waiting).to.include({ iteration: template + 4, parked: 4, resumeAt });
    clock.advance(resumeAt - clock.now());

    const view = await finished(server, id);
    expect(view.status, JSON.stringify(view.fault)).to.equal('COMPLETED');
    const after = await polls(id);
    expect(after.map((p) => p.iteration)).to.deep.equal([...before.map((p) => p.iteration), template + 5]);
    expect(after[after.length - 1]?.startedAt).to.equal(resumeAt);
    const loop = await loopState(id);
    expect(loop?.state).to.equal('COMPLETED');
    expect(loop?.data).to.deep.equal({ iteration: template + 5, inBody: false, parked: 4 });
    const status = (await server.dataSource.query("SELECT value FROM process_variable WHERE instanceId = ? AND name = 'status'", [id])) as Array<{ value: string }>;
    expect(JSON.parse(status[0]?.value ?? '{}')).to.deep.equal({ kind: 'simple', value: 'COMPLETED_FAILURE' });
    const requests = (await server.dataSource.query("SELECT COUNT(*) AS n FROM provisioning_request WHERE component = 'db'")) as Array<{ n: unknown }>;
    expect(Number(requests[0]?.n)).to.equal(1);
  });

  it('parks after the first iteration when what it changed is only what each iteration writes before it reads it', async () => {
    // The first poll changes `status` (from '' to the running status) and `statusResponse`: the body writes both
    // whole before reading them, so a second poll would write the same and the loop parks after the first.
    // A pause before the loop, so that its first poll finds the task running.
    const paused = monitorPlan('ParkedFirst', 'cache').replace('<bpel:while name="monitor">', '<bpel:wait name="settle"><bpel:for>\'PT1S\'</bpel:for></bpel:wait>\n    <bpel:while name="monitor">');
    const id = await server.app.workflow.start(await deploy(server, paused), undefined, 'tester');
    const requestId = await runningRequest('cache');
    const settling = await eventually(async () => {
      const rows = (await server.dataSource.query("SELECT dueAt FROM process_timer WHERE instanceId = ? AND `key` LIKE '%wait%'", [id])) as Array<{ dueAt: unknown }>;
      return fromSqlDate(rows[0]?.dueAt)?.getTime();
    }, 'the pause to be armed');
    clock.advance(settling - clock.now());
    const parkedAt = await pollUntil(id);
    expect(parkedAt.iteration).to.equal(1);
    expect((await polls(id)).map((p) => p.iteration)).to.deep.equal([1]);
    // The request ends at once (cancelled): the next poll was due then, so the loop asks again without sleeping.
    await server.app.api.cancel(requestId, { name: 'tester' });
    const view = await finished(server, id);
    expect(view.status, JSON.stringify(view.fault)).to.equal('COMPLETED');
    const status = (await server.dataSource.query("SELECT value FROM process_variable WHERE instanceId = ? AND name = 'status'", [id])) as Array<{ value: string }>;
    expect(JSON.parse(status[0]?.value ?? '{}')).to.deep.equal({ kind: 'simple', value: 'COMPLETED_FAILURE' });
    expect((await polls(id)).map((p) => p.iteration)).to.deep.equal([1, 2]);
  });

  it('does not park after an iteration that changed a variable its body reads before it writes it', async () => {
    // Each iteration appends to `note`: it reads what the one before left.
    const appending =
      '\n        <bpel:assign><bpel:copy><bpel:from>concat($note, \'.\')</bpel:from><bpel:to variable="note"/></bpel:copy></bpel:assign>';
    const plan = monitorPlan('Appending', 'queue', appending, "not(starts-with($status, 'COMPLETED')) and string-length($note) &lt; 3").replace(
      '<bpel:variable name="n" type="xsd:int">',
      '<bpel:variable name="note" type="xsd:string"><bpel:from>\'\'</bpel:from></bpel:variable>\n    <bpel:variable name="n" type="xsd:int">',
    );
    const id = await server.app.workflow.start(await deploy(server, plan), undefined, 'tester');
    await runningRequest('queue');
    await pollUntil(id, 3);
    const view = await finished(server, id);
    expect(view.status, JSON.stringify(view.fault)).to.equal('COMPLETED');
    expect((await polls(id)).map((p) => p.iteration)).to.deep.equal([1, 2, 3]);
    expect((await loopState(id))?.data).to.deep.equal({ iteration: 3, inBody: false });
  });

  /** Runs a monitoring loop that counts its iterations with `increment` up to 4 and checks that it ran all four, parking none. */
  async function countsEveryIteration(name: string, component: string, increment: string): Promise<void> {
    const counting = `\n        <bpel:assign><bpel:copy><bpel:from>${increment}</bpel:from><bpel:to variable="n"/></bpel:copy></bpel:assign>`;
    const id = await server.app.workflow.start(await deploy(server, monitorPlan(name, component, counting, "not(starts-with($status, 'COMPLETED')) and $n &lt; 4")), undefined, 'tester');
    await runningRequest(component);
    await pollUntil(id, 4);
    const view = await finished(server, id);
    expect(view.status, JSON.stringify(view.fault)).to.equal('COMPLETED');
    expect((await polls(id)).map((p) => p.iteration)).to.deep.equal([1, 2, 3, 4]);
    expect((await loopState(id))?.data).to.deep.equal({ iteration: 4, inBody: false });
  }

  it('counts a read through bpel:getVariableData as a read: a loop that counts that way does not park', async () => {
    await countsEveryIteration('CountingByName', 'mq', "bpel:getVariableData('n') + 1");
  });

  it('a loop whose iterations change a variable runs every iteration', async () => {
    await countsEveryIteration('Counting', 'web', '$n + 1');
  });

  it('cancelling a parked instance ends it TERMINATED with the iterations it parked counted', async () => {
    const id = await server.app.workflow.start(await deploy(server, monitorPlan('Cancelled', 'app')), undefined, 'tester');
    const requestId = await runningRequest('app');
    const parkedAt = await pollUntil(id);
    clock.advance(35_000);
    expect(await server.app.workflow.cancel(id, false)).to.equal('TERMINATED');
    const view = await finished(server, id);
    expect(view.status).to.equal('TERMINATED');
    const loop = await loopState(id);
    expect(loop?.state).to.equal('TERMINATED');
    expect(loop?.data).to.include({ iteration: parkedAt.iteration + 4, parked: 4 });
    await server.app.api.cancel(requestId, { name: 'tester' });
  });
});
