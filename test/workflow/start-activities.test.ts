import { expect } from 'chai';
import { startTestServer, eventually, type TestServer } from '../support/harness';
import { finished, variable } from './support';
import { orderMessage, ORDERS_WSDL, postMessage, TWO_STARTS_PROCESS } from './orders';
import { correlationKey } from '../../src/bpel/properties';
import { messageValue, parseElement } from '../../src/bpel/xpath';

const engine = { username: 'planner', password: 'planner-secret-1' };

describe('several start activities joining one correlation set', function () {
  this.timeout(60_000);
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ PROVISOR_WORKFLOW_POLL_MS: '50' });
    await server.addUser(engine.username, 'engine', engine.password);
    await server.app.workflow.deploy({ bpel: TWO_STARTS_PROCESS, documents: new Map([['orders.wsdl', ORDERS_WSDL]]), bindings: [], deployedBy: 'tester' });
  });
  after(() => server.close());

  const post = (body: string): Promise<{ status: number; text: string }> => postMessage(server.baseUrl, engine, 'OrderTwoStarts', body);

  /** The instances that hold (or held) an order's values. */
  async function instancesOf(orderId: string): Promise<string[]> {
    const rows = (await server.dataSource.query("SELECT DISTINCT instanceId FROM process_correlation WHERE processName = 'OrderTwoStarts' AND value LIKE ? ORDER BY instanceId", [`%"${orderId}"%`])) as Array<{ instanceId: string }>;
    return rows.map((r) => r.instanceId);
  }

  /** The instance of an order, once it has ended, and the instances holding its values. */
  async function endedInstance(orderId: string): Promise<{ ids: string[]; status: string; note: string | undefined }> {
    const id = await eventually(async () => (await instancesOf(orderId))[0], `the instance of order ${orderId}`);
    const view = await finished(server, id);
    return { ids: await instancesOf(orderId), status: view.status, note: await variable(server, id, 'note') };
  }

  it('creates the instance by the first message, whichever it is, and gives it the second one', async () => {
    expect((await post(orderMessage('Go', 'm-1'))).status).to.equal(202);
    const id = await eventually(async () => (await instancesOf('m-1'))[0], 'the instance of order m-1');
    // The go receive took the creating message; the start receive waits for its own, routed by the joined set.
    await eventually(async () => ((await server.app.workflow.status(id)).activities.find((a) => a.name === 'go')?.state === 'COMPLETED' ? true : undefined), 'go to take the creating message');
    expect((await post(orderMessage('Start', 'm-1'))).status).to.equal(202);
    const ended = await endedInstance('m-1');
    expect(ended.ids).to.deep.equal([id]);
    expect(ended.status).to.equal('COMPLETED');
    expect(ended.note).to.contain('start m-1, go m-1');
    const taken = (await server.dataSource.query("SELECT consumerKey FROM process_message WHERE instanceId = ? AND operation = 'client/start'", [id])) as Array<{ consumerKey: string }>;
    expect(taken.map((t) => t.consumerKey)).to.deep.equal(['/process/sequence/flow/receive[1]']);
  });

  it('starts one instance for two creating messages with the same values sent at once', async () => {
    const orders = ['r-1', 'r-2', 'r-3', 'r-4', 'r-5'];
    const answers = await Promise.all(orders.flatMap((order) => [post(orderMessage('Start', order)), post(orderMessage('Go', order))]));
    expect(answers.map((a) => a.status)).to.deep.equal(orders.flatMap(() => [202, 202]));
    for (const order of orders) {
      const ended = await endedInstance(order);
      expect(ended.ids, `instances of order ${order}`).to.have.length(1);
      expect(ended.status).to.equal('COMPLETED');
      expect(ended.note).to.contain(`start ${order}, go ${order}`);
    }
    const claims = (await server.dataSource.query("SELECT COUNT(*) AS n FROM process_start_claim WHERE processName = 'OrderTwoStarts'")) as Array<{ n: unknown }>;
    expect(Number(claims[0]?.n)).to.be.at.least(orders.length);
  });

  it('of two instances created for the same values at the same moment, lets one claim them and names it to the other', async () => {
    const input = messageValue({ p: parseElement(orderMessage('Start', 'z-1')) });
    const join = { set: 'order', key: correlationKey('order', ['z-1']), values: ['z-1'] };
    const results = await Promise.all([1, 2].map(() => server.app.workflow.startJoining('OrderTwoStarts', input, 'tester', undefined, 'client/start', join)));
    const created = results.flatMap((r) => ('instanceId' in r ? [r.instanceId] : []));
    const held = results.flatMap((r) => ('heldBy' in r ? [r.heldBy] : []));
    expect(created).to.have.length(1);
    expect(held).to.deep.equal(created);
    expect(await instancesOf('z-1')).to.deep.equal(created);
    expect((await post(orderMessage('Go', 'z-1'))).status).to.equal(202);
    expect((await finished(server, created[0] ?? '')).status).to.equal('COMPLETED');
  });

  it('takes a creating message sent again under its MessageID as the one that created the instance', async () => {
    const messageId = 'urn:uuid:5d0c1f7e-2a6b-4c1d-9e8f-0a1b2c3d4e5f';
    expect((await postMessage(server.baseUrl, engine, 'OrderTwoStarts', orderMessage('Go', 'i-1'), messageId)).status).to.equal(202);
    expect((await postMessage(server.baseUrl, engine, 'OrderTwoStarts', orderMessage('Go', 'i-1'), messageId)).status).to.equal(202);
    expect((await post(orderMessage('Start', 'i-1'))).status).to.equal(202);
    const ended = await endedInstance('i-1');
    expect(ended.ids).to.have.length(1);
    expect(ended.status).to.equal('COMPLETED');
    const stored = (await server.dataSource.query("SELECT id FROM process_message WHERE processName = 'OrderTwoStarts' AND operation = 'client/go' AND message LIKE '%i-1%'")) as unknown[];
    expect(stored).to.deep.equal([]);
  });

  it('lets the values of an instance that ended create a new one', async () => {
    await post(orderMessage('Start', 'a-1'));
    await post(orderMessage('Go', 'a-1'));
    const first = await endedInstance('a-1');
    expect(first.status).to.equal('COMPLETED');
    expect((await post(orderMessage('Start', 'a-1'))).status).to.equal(202);
    const second = await eventually(async () => (await instancesOf('a-1')).find((id) => !first.ids.includes(id)), 'a second instance of order a-1');
    expect((await post(orderMessage('Go', 'a-1'))).status).to.equal(202);
    expect((await finished(server, second)).status).to.equal('COMPLETED');
    const claim = (await server.dataSource.query("SELECT instanceId FROM process_start_claim WHERE processName = 'OrderTwoStarts' AND instanceId IN (?, ?)", [first.ids[0], second])) as Array<{ instanceId: string }>;
    expect(claim.map((c) => c.instanceId)).to.deep.equal([second]);
  });
});
