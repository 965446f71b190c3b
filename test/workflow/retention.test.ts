import { expect } from 'chai';
import { ManualClock } from '../../src/clock';
import { toSqlDate } from '../../src/db/sql';
import { eventually, startTestServer, type TestServer } from '../support/harness';
import { deploy, finished, plan } from './support';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** Activities, a variable, a link and a timer: a row in each table the retention job prunes. */
const DETAILED = `<bpel:variables><bpel:variable name="note" type="xsd:string"/></bpel:variables>
  <bpel:flow>
    <bpel:links><bpel:link name="then"/></bpel:links>
    <bpel:assign name="first"><bpel:sources><bpel:source linkName="then"/></bpel:sources>
      <bpel:copy><bpel:from>'kept until pruned'</bpel:from><bpel:to variable="note"/></bpel:copy></bpel:assign>
    <bpel:sequence><bpel:targets><bpel:target linkName="then"/></bpel:targets>
      <bpel:wait name="pause"><bpel:for>'PT0S'</bpel:for></bpel:wait>
      <bpel:empty name="last"/>
    </bpel:sequence>
  </bpel:flow>`;

type Counts = Record<'activity_instance' | 'process_variable' | 'link_state' | 'process_timer', number>;

async function detailRows(server: TestServer, instanceId: string): Promise<Counts> {
  const out: Partial<Counts> = {};
  for (const table of ['activity_instance', 'process_variable', 'link_state', 'process_timer'] as const) {
    const rows = (await server.dataSource.query(`SELECT COUNT(*) AS n FROM ${table} WHERE instanceId = ?`, [instanceId])) as Array<{ n: unknown }>;
    out[table] = Number(rows[0]?.n ?? 0);
  }
  return out as Counts;
}

async function instanceRow(server: TestServer, instanceId: string): Promise<{ status: string; prunedAt: unknown } | undefined> {
  const rows = (await server.dataSource.query('SELECT status, prunedAt FROM process_instance WHERE id = ?', [instanceId])) as Array<{ status: string; prunedAt: unknown }>;
  return rows[0];
}

describe('retention: finished instances older than the retention period lose their detail rows', function () {
  this.timeout(60_000);
  let server: TestServer;
  let clock: ManualClock;

  before(async () => {
    clock = new ManualClock(Date.UTC(2026, 0, 1));
    server = await startTestServer(
      { PROVISOR_WORKFLOW_POLL_MS: '50', PROVISOR_PLAN_RETENTION_DAYS: '30', PROVISOR_PLAN_PRUNE_INTERVAL_MS: String(HOUR_MS), PROVISOR_PLAN_PRUNE_BATCH: '2', PROVISOR_PLAN_PRUNE_MAX_PER_RUN: '2' },
      { clock },
    );
  });
  after(() => server.close());

  it('prunes old finished instances in bounded runs driven by the clock, keeps their instance rows, and leaves running and recent ones alone', async () => {
    const detailed = await deploy(server, plan('Detailed', DETAILED));
    const faulting = await deploy(server, plan('Faulting', `<bpel:sequence><bpel:empty name="before"/><bpel:throw faultName="t:broken"/></bpel:sequence>`));
    const waiting = await deploy(server, plan('Waiting', `<bpel:sequence><bpel:empty name="before"/><bpel:wait name="year"><bpel:for>'P365D'</bpel:for></bpel:wait></bpel:sequence>`));

    const old: string[] = [];
    for (const name of [detailed, faulting, detailed]) {
      const id = await server.app.workflow.start(name, undefined, 'tester');
      await finished(server, id);
      old.push(id);
    }
    const before = await detailRows(server, old[0] ?? '');
    expect(before.activity_instance).to.be.greaterThan(3);
    expect(before.process_variable).to.be.greaterThan(0);
    expect(before.link_state).to.equal(1);
    expect(before.process_timer).to.equal(1);
    const running = await server.app.workflow.start(waiting, undefined, 'tester');
    await eventually(async () => ((await server.app.workflow.status(running)).activities.some((a) => a.name === 'year') ? true : undefined), 'the long wait to start');
    const runningRows = await detailRows(server, running);

    // 31 days on, the hourly job runs and prunes the two oldest (its bound per run).
    clock.advance(31 * DAY_MS);
    const prunedByJob = await eventually(async () => {
      const marked = (await Promise.all(old.map((id) => instanceRow(server, id)))).filter((r) => r?.prunedAt !== null && r?.prunedAt !== undefined);
      return marked.length >= 2 ? marked.length : undefined;
    }, 'the retention job to prune a batch');
    expect(prunedByJob).to.equal(2);

    const recent = await server.app.workflow.start(detailed, undefined, 'tester');
    await finished(server, recent);
    const recentRows = await detailRows(server, recent);

    // The next run takes the rest; then nothing is left to prune.
    expect(await server.app.workflow.pruner.pruneOnce()).to.equal(1);
    expect(await server.app.workflow.pruner.pruneOnce()).to.equal(0);

    for (const id of old) {
      expect(await detailRows(server, id)).to.deep.equal({ activity_instance: 0, process_variable: 0, link_state: 0, process_timer: 0 });
      const view = await server.app.workflow.status(id);
      expect(view.status).to.be.oneOf(['COMPLETED', 'FAULTED']);
      expect(view.activities).to.have.length(0);
    }
    expect((await server.app.workflow.status(old[1] ?? '')).fault?.name).to.equal('{urn:test}broken');
    expect(await detailRows(server, running)).to.deep.equal(runningRows);
    expect(await detailRows(server, recent)).to.deep.equal(recentRows);
    expect((await instanceRow(server, running))?.prunedAt).to.equal(null);
    expect((await instanceRow(server, recent))?.prunedAt).to.equal(null);
    expect((await server.app.workflow.status(running)).status).to.equal('RUNNING');
  });

  it('deletes the messages no instance took within their keep time, and keeps those still kept or taken', async () => {
    const now = clock.now();
    const insert = async (correlationKey: string, expiresAt: number | null, instanceId: string | null): Promise<void> => {
      await server.dataSource.query('INSERT INTO process_message (processName, operation, correlationKey, message, receivedAt, expiresAt, instanceId) VALUES (?, ?, ?, ?, ?, ?, ?)', [
        'Orders',
        'client/confirm',
        correlationKey,
        '{}',
        toSqlDate(new Date(now - HOUR_MS)),
        expiresAt === null ? null : toSqlDate(new Date(expiresAt)),
        instanceId,
      ]);
    };
    await insert('expired', now - 1000, null);
    await insert('still kept', now + HOUR_MS, null);
    await insert('taken', null, 'an-instance');
    await server.app.workflow.pruner.pruneOnce();
    const left = (await server.dataSource.query("SELECT correlationKey FROM process_message WHERE processName = 'Orders' ORDER BY id")) as Array<{ correlationKey: string }>;
    expect(left.map((r) => r.correlationKey)).to.deep.equal(['still kept', 'taken']);
  });
});
