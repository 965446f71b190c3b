import { expect } from 'chai';
import { eventually } from '../support/harness';
import { ServerProcess } from '../support/processes';
import { LINES_WSDL, message, ORDER_LINES_PROCESS, REGISTRY_PROCESS } from './lines';
import { orderMessage, ORDERS_WSDL, postMessage, TWO_STARTS_PROCESS } from './orders';

const engine = { username: 'planner', password: 'planner-secret-1' };

describe('when the server is killed with SIGKILL while correlation sets of scopes and start activities are held', function () {
  this.timeout(120_000);
  let server: ServerProcess;
  let base: string;

  before(async () => {
    // The order's lines are registered with the server's own LineRegistry process, as a remote partner.
    server = await ServerProcess.prepare({ PROVISOR_WORKFLOW_POLL_MS: '50', PROVISOR_OUTBOUND_ALLOW_OWN_PORTS: 'true' }, async (app, baseUrl) => {
      await app.users.addUser({ name: engine.username, role: 'engine', password: engine.password });
      const lines = new Map([['lines.wsdl', LINES_WSDL]]);
      await app.workflow.deploy({ bpel: REGISTRY_PROCESS, documents: lines, bindings: [], deployedBy: 'tester' });
      const registry = { partnerLink: 'registry', address: `${baseUrl}/soap/processes/LineRegistry`, username: engine.username, password: engine.password };
      await app.workflow.deploy({ bpel: ORDER_LINES_PROCESS, documents: lines, bindings: [registry], deployedBy: 'tester' });
      await app.workflow.deploy({ bpel: TWO_STARTS_PROCESS, documents: new Map([['orders.wsdl', ORDERS_WSDL]]), bindings: [], deployedBy: 'tester' });
    });
    base = server.baseUrl;
    await server.start();
  });

  after(() => server.close());

  const killAndRestart = (): Promise<void> => server.killAndRestart();

  async function holder(processName: string, orderId: string): Promise<string> {
    const db = await server.db();
    return eventually(async () => {
      const rows = (await db.query("SELECT instanceId FROM process_correlation WHERE processName = ? AND setName = 'order' AND value LIKE ?", [processName, `%"${orderId}"%`])) as Array<{ instanceId: string }>;
      return rows[0]?.instanceId;
    }, `the instance of order ${orderId}`);
  }

  async function ended(instanceId: string): Promise<string> {
    const db = await server.db();
    return eventually(async () => {
      const rows = (await db.query('SELECT status FROM process_instance WHERE id = ?', [instanceId])) as Array<{ status: string }>;
      return rows[0]?.status === 'RUNNING' ? undefined : rows[0]?.status;
    }, 'the instance to end after the restart', 30_000);
  }

  it('routes each line\'s message by its scope instance\'s values after the restart', async () => {
    const db = await server.db();
    expect((await postMessage(base, engine, 'OrderLines', message('Start', 'orderId', 'c'))).status).to.equal(202);
    const id = await holder('OrderLines', 'c');
    await eventually(async () => (((await db.query('SELECT setName FROM process_correlation WHERE instanceId = ?', [id])) as unknown[]).length === 3 ? true : undefined), 'both lines to be registered');
    await killAndRestart();
    expect((await postMessage(base, engine, 'OrderLines', message('Ship', 'lineId', 'c-2', 'two'))).status).to.equal(202);
    expect((await postMessage(base, engine, 'OrderLines', message('Ship', 'lineId', 'c-1', 'one'))).status).to.equal(202);
    expect((await postMessage(base, engine, 'OrderLines', message('Finish', 'orderId', 'c'))).status).to.equal(202);
    expect(await ended(id)).to.equal('COMPLETED');
    const taken = (await db.query("SELECT consumerKey, message FROM process_message WHERE instanceId = ? AND operation = 'client/ship' ORDER BY consumerKey", [id])) as Array<{ consumerKey: string; message: string }>;
    expect(taken.map((t) => [t.consumerKey, t.message.includes('c-1') ? 'c-1' : 'c-2'])).to.deep.equal([
      ['/process/sequence/forEach#1/scope/sequence/receive', 'c-1'],
      ['/process/sequence/forEach#2/scope/sequence/receive', 'c-2'],
    ]);
  });

  it('gives the second creating message to the instance the first one created before the restart', async () => {
    const db = await server.db();
    expect((await postMessage(base, engine, 'OrderTwoStarts', orderMessage('Go', 'k-1'))).status).to.equal(202);
    const id = await holder('OrderTwoStarts', 'k-1');
    await eventually(async () => (((await db.query("SELECT state FROM activity_instance WHERE instanceId = ? AND `key` = '/process/sequence/flow/receive[2]'", [id])) as Array<{ state: string }>)[0]?.state === 'COMPLETED' ? true : undefined), 'go to take the creating message');
    await killAndRestart();
    expect((await postMessage(base, engine, 'OrderTwoStarts', orderMessage('Start', 'k-1'))).status).to.equal(202);
    expect(await ended(id)).to.equal('COMPLETED');
    const instances = (await db.query("SELECT COUNT(*) AS n FROM process_instance WHERE processName = 'OrderTwoStarts'")) as Array<{ n: unknown }>;
    expect(Number(instances[0]?.n)).to.equal(1);
  });
});
