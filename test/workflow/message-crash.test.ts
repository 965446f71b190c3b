import { expect } from 'chai';
import { eventually } from '../support/harness';
import { ServerProcess } from '../support/processes';
import { BY_ORDER, orderMessage, orderProcess, ORDERS_WSDL, postMessage, START } from './orders';

const engine = { username: 'planner', password: 'planner-secret-1' };

/** Takes `go`, then `notify`: a `notify` sent first waits in the message box. */
const STEPS_PROCESS = orderProcess(
  'OrderSteps',
  `<bpel:sequence>
    ${START}
    <bpel:receive name="go" partnerLink="client" operation="go" variable="go">${BY_ORDER}</bpel:receive>
    <bpel:receive name="notify" partnerLink="client" operation="notify" variable="n">${BY_ORDER}</bpel:receive>
  </bpel:sequence>`,
  '\n    <bpel:variable name="go" messageType="o:GoIn"/>\n    <bpel:variable name="n" messageType="o:NotifyIn"/>',
);

describe('when the server is killed with SIGKILL between a message\'s receipt and its use', function () {
  this.timeout(120_000);
  let server: ServerProcess;
  let base: string;

  before(async () => {
    server = await ServerProcess.prepare({ PROVISOR_WORKFLOW_POLL_MS: '50' }, async (app) => {
      await app.users.addUser({ name: engine.username, role: 'engine', password: engine.password });
      await app.workflow.deploy({ bpel: STEPS_PROCESS, documents: new Map([['orders.wsdl', ORDERS_WSDL]]), bindings: [], deployedBy: 'tester' });
    });
    base = server.baseUrl;
  });

  after(() => server.close());

  it('loses nothing: the acknowledged message is taken by its instance after the restart', async () => {
    await server.start();
    const db = await server.db();
    expect((await postMessage(base, engine, 'OrderSteps', orderMessage('Start', 's-1'))).status).to.equal(202);
    const instanceId = await eventually(async () => {
      const rows = (await db.query("SELECT instanceId FROM process_correlation WHERE processName = 'OrderSteps'")) as Array<{ instanceId: string }>;
      return rows[0]?.instanceId;
    }, 'the instance to hold its order id');
    // The instance waits for `go`; `notify` is acknowledged once it is a row, and stays there.
    expect((await postMessage(base, engine, 'OrderSteps', orderMessage('Notify', 's-1'))).status).to.equal(202);
    const stored = (await db.query("SELECT id, instanceId FROM process_message WHERE operation = 'client/notify'")) as Array<{ id: unknown; instanceId: string | null }>;
    expect(stored.map((r) => r.instanceId)).to.deep.equal([null]);

    await server.killAndRestart();

    expect((await postMessage(base, engine, 'OrderSteps', orderMessage('Go', 's-1'))).status).to.equal(202);
    const status = await eventually(async () => {
      const rows = (await db.query('SELECT status FROM process_instance WHERE id = ?', [instanceId])) as Array<{ status: string }>;
      return rows[0]?.status === 'RUNNING' ? undefined : rows[0]?.status;
    }, 'the instance to end after the restart', 30_000);
    expect(status).to.equal('COMPLETED');
    const taken = (await db.query("SELECT id, instanceId, consumerKey FROM process_message WHERE operation = 'client/notify'")) as Array<{ id: unknown; instanceId: string; consumerKey: string }>;
    expect(taken.map((r) => [Number(r.id), r.instanceId, r.consumerKey])).to.deep.equal([[Number(stored[0]?.id), instanceId, '/process/sequence/receive[3]']]);
  });

  it('replays a take: an activity that took a message before the crash uses that one, not an older one waiting', async () => {
    const db = await server.db();
    expect((await postMessage(base, engine, 'OrderSteps', orderMessage('Start', 's-2'))).status).to.equal(202);
    const instanceId = await eventually(async () => {
      const rows = (await db.query("SELECT instanceId FROM process_correlation WHERE processName = 'OrderSteps' AND value LIKE '%\"s-2\"%'")) as Array<{ instanceId: string }>;
      return rows[0]?.instanceId;
    }, 'the second instance to hold its order id');
    expect((await postMessage(base, engine, 'OrderSteps', orderMessage('Notify', 's-2'))).status).to.equal(202);
    expect((await postMessage(base, engine, 'OrderSteps', orderMessage('Notify', 's-2'))).status).to.equal(202);
    const both = (await db.query("SELECT id FROM process_message WHERE operation = 'client/notify' AND instanceId IS NULL ORDER BY id")) as Array<{ id: unknown }>;
    expect(both).to.have.length(2);
    const [older, newer] = both.map((r) => Number(r.id));
    await server.kill();
    // As a take of the newer message by the instance's third receive would have left it, had the server died right after it.
    await db.query('UPDATE process_message SET instanceId = ?, consumerKey = ? WHERE id = ?', [instanceId, '/process/sequence/receive[3]', newer]);
    await server.start();
    expect((await postMessage(base, engine, 'OrderSteps', orderMessage('Go', 's-2'))).status).to.equal(202);
    await eventually(async () => {
      const rows = (await db.query('SELECT status FROM process_instance WHERE id = ?', [instanceId])) as Array<{ status: string }>;
      return rows[0]?.status === 'COMPLETED' ? true : undefined;
    }, 'the second instance to complete', 30_000);
    const rows = (await db.query("SELECT id, instanceId, consumerKey FROM process_message WHERE operation = 'client/notify' AND id IN (?, ?) ORDER BY id", [older, newer])) as Array<{ id: unknown; instanceId: string | null; consumerKey: string | null }>;
    expect(rows.map((r) => [Number(r.id), r.instanceId, r.consumerKey])).to.deep.equal([
      [older, null, null],
      [newer, instanceId, '/process/sequence/receive[3]'],
    ]);
  });
});
