import { expect } from 'chai';
import { ManualClock, MAX_TIMER_MS } from '../../src/clock';
import { fromSqlDate } from '../../src/db/sql';
import { eventually, startTestServer, type TestServer } from '../support/harness';
import { deploy, finished, plan } from './support';

const DAY_MS = 86_400_000;

/** The stored due and fired times of an instance's timers, by kind. */
async function timers(server: TestServer, instanceId: string): Promise<Array<{ key: string; dueAt: Date | null; firedAt: Date | null }>> {
  const rows = (await server.dataSource.query('SELECT `key`, dueAt, firedAt FROM process_timer WHERE instanceId = ? ORDER BY `key`', [instanceId])) as Array<Record<string, unknown>>;
  return rows.map((r) => ({ key: String(r.key), dueAt: fromSqlDate(r.dueAt), firedAt: fromSqlDate(r.firedAt) }));
}

describe('waits and alarms longer than a Node timer can hold (about 24.8 days)', function () {
  this.timeout(60_000);
  let server: TestServer;
  let clock: ManualClock;

  beforeEach(async () => {
    clock = new ManualClock(Date.UTC(2026, 0, 1));
    server = await startTestServer({ PROVISOR_WORKFLOW_POLL_MS: '50' }, { clock });
  });
  afterEach(() => server.close());

  /** Starts the plan and waits until its first timer is stored and armed on the clock. */
  async function startWaiting(bpel: string): Promise<{ id: string; dueAt: number }> {
    const id = await server.app.workflow.start(await deploy(server, bpel), undefined, 'tester');
    const dueAt = await eventually(async () => {
      const stored = (await timers(server, id))[0]?.dueAt;
      // A long wait is armed in steps of at most MAX_TIMER_MS.
      return stored !== undefined && stored !== null && clock.armedAt(Math.min(stored.getTime(), clock.now() + MAX_TIMER_MS)) ? stored.getTime() : undefined;
    }, 'the timer to be stored and armed');
    return { id, dueAt };
  }

  /** Moves the clock to just before `dueAt` and waits until the wait is armed again for the rest. */
  async function advanceToJustBefore(dueAt: number): Promise<void> {
    clock.advance(dueAt - 60_000 - clock.now());
    await eventually(async () => (clock.armedAt(dueAt) ? true : undefined), 'the long wait to re-arm for the time left');
  }

  for (const days of [30, 100]) {
    it(`a ${days}-day wait does not fire early, and fires when due`, async () => {
      const { id, dueAt } = await startWaiting(
        plan(`LongWait${days}`, `<bpel:sequence><bpel:wait name="long"><bpel:for>'P${days}D'</bpel:for></bpel:wait><bpel:empty name="after"/></bpel:sequence>`),
      );
      expect(dueAt - Date.UTC(2026, 0, 1)).to.equal(days * DAY_MS);
      expect(days * DAY_MS).to.be.greaterThan(MAX_TIMER_MS);

      await advanceToJustBefore(dueAt);
      const waiting = await server.app.workflow.status(id);
      expect(waiting.status).to.equal('RUNNING');
      expect(waiting.activities.map((a) => a.name)).to.not.include('after');
      expect((await timers(server, id))[0]?.firedAt).to.equal(null);

      clock.advance(60_000);
      const view = await finished(server, id);
      expect(view.status).to.equal('COMPLETED');
      expect((await timers(server, id))[0]?.firedAt?.getTime()).to.equal(dueAt);
    });
  }

  it('an onAlarm 40 days after its scope starts does not fire early, and fires when due', async () => {
    const { id, dueAt } = await startWaiting(
      plan(
        'LongAlarm',
        `<bpel:variables><bpel:variable name="alarmed" type="xsd:string"/></bpel:variables>
        <bpel:scope name="watched">
          <bpel:eventHandlers>
            <bpel:onAlarm><bpel:for>'P40D'</bpel:for>
              <bpel:scope><bpel:assign name="raise"><bpel:copy><bpel:from>'yes'</bpel:from><bpel:to variable="alarmed"/></bpel:copy></bpel:assign></bpel:scope>
            </bpel:onAlarm>
          </bpel:eventHandlers>
          <bpel:wait name="long"><bpel:for>'P50D'</bpel:for></bpel:wait>
        </bpel:scope>`,
      ),
    );
    const alarm = (await timers(server, id)).find((t) => t.key.includes('onAlarm'));
    expect(alarm?.dueAt?.getTime()).to.equal(Date.UTC(2026, 0, 1) + 40 * DAY_MS);
    const alarmDue = alarm?.dueAt?.getTime() ?? 0;
    expect(dueAt === alarmDue || dueAt === Date.UTC(2026, 0, 1) + 50 * DAY_MS).to.equal(true);

    await advanceToJustBefore(alarmDue);
    expect((await server.app.workflow.status(id)).activities.map((a) => a.name)).to.not.include('raise');

    clock.advance(60_000);
    await eventually(async () => ((await server.app.workflow.status(id)).activities.some((a) => a.name === 'raise' && a.state === 'COMPLETED') ? true : undefined), 'the alarm handler to run');
    expect((await server.app.workflow.status(id)).status).to.equal('RUNNING');

    expect((await timers(server, id)).find((t) => t.key.endsWith('/wait'))?.firedAt).to.equal(null);
    clock.advance(10 * DAY_MS);
    expect((await finished(server, id)).status).to.equal('COMPLETED');
  });
});
