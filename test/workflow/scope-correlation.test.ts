import { expect } from 'chai';
import { ProcessDefinitionError } from '../../src/bpel/model';
import { startTestServer, eventually, type TestServer } from '../support/harness';
import { finished, variable } from './support';
import { postMessage } from './orders';
import { LINES_WSDL, message, ORDER_LINES_PROCESS, REGISTRY_PROCESS } from './lines';

const engine = { username: 'planner', password: 'planner-secret-1' };
describe('correlation sets declared in a scope', function () {
  this.timeout(60_000);
  let server: TestServer;

  before(async () => {
    // The lines are registered with this server's own LineRegistry process, called as a remote partner.
    server = await startTestServer({ PROVISOR_WORKFLOW_POLL_MS: '50', PROVISOR_OUTBOUND_ALLOW_OWN_PORTS: 'true' });
    await server.addUser(engine.username, 'engine', engine.password);
    const documents = new Map([['lines.wsdl', LINES_WSDL]]);
    await server.app.workflow.deploy({ bpel: REGISTRY_PROCESS, documents, bindings: [], deployedBy: 'tester' });
    const registry = { partnerLink: 'registry', address: `${server.baseUrl}/soap/processes/LineRegistry`, username: engine.username, password: engine.password };
    await server.app.workflow.deploy({ bpel: ORDER_LINES_PROCESS, documents, bindings: [registry], deployedBy: 'tester' });
  });
  after(() => server.close());

  const post = (body: string): Promise<{ status: number; text: string }> => postMessage(server.baseUrl, engine, 'OrderLines', body);
  const correlations = async (id: string): Promise<string[]> =>
    ((await server.dataSource.query('SELECT setName FROM process_correlation WHERE instanceId = ? ORDER BY setName', [id])) as Array<{ setName: string }>).map((r) => r.setName);

  /** Starts an order and waits until both of its lines are registered. */
  async function startOrder(orderId: string): Promise<string> {
    expect((await post(message('Start', 'orderId', orderId))).status).to.equal(202);
    const id = await eventually(async () => {
      const rows = (await server.dataSource.query("SELECT instanceId FROM process_correlation WHERE processName = 'OrderLines' AND setName = 'order' AND value LIKE ?", [`%"${orderId}"%`])) as Array<{ instanceId: string }>;
      return rows[0]?.instanceId;
    }, `the instance of order ${orderId}`);
    await eventually(async () => ((await correlations(id)).length === 3 ? true : undefined), 'both lines to be registered');
    return id;
  }

  const forEachEnded = (id: string): Promise<boolean> =>
    eventually(async () => ((await server.app.workflow.status(id)).activities.find((a) => a.key === '/process/sequence/forEach')?.state === 'COMPLETED' ? true : undefined), 'the forEach to end');

  it('gives each scope instance its own set: parallel branches initiate it with their own values and each takes the message carrying them', async () => {
    const id = await startOrder('o');
    // Both branches registered their line: two instances of the scope's set, each under its scope instance.
    expect(await correlations(id)).to.deep.equal([
      'line@/process/sequence/forEach#1/scope',
      'line@/process/sequence/forEach#2/scope',
      'order',
    ]);
    // The second line's message first: only the second branch takes it, the first goes on waiting.
    expect((await post(message('Ship', 'lineId', 'o-2', 'second'))).status).to.equal(202);
    await eventually(async () => ((await server.app.workflow.status(id)).activities.find((a) => a.key === '/process/sequence/forEach#2/scope/sequence/receive')?.state === 'COMPLETED' ? true : undefined), 'the second branch to take its message');
    const waiting = (await server.app.workflow.status(id)).activities.find((a) => a.key === '/process/sequence/forEach#1/scope/sequence/receive');
    expect(waiting?.state).to.equal('RUNNING');
    expect((await post(message('Ship', 'lineId', 'o-1', 'first'))).status).to.equal(202);
    await forEachEnded(id);
    expect(await variable(server, id, 'note')).to.contain('shipped: o-2=second o-1=first');
    const taken = (await server.dataSource.query("SELECT consumerKey FROM process_message WHERE instanceId = ? AND operation = 'client/ship' ORDER BY id", [id])) as Array<{ consumerKey: string }>;
    expect(taken.map((t) => t.consumerKey)).to.deep.equal(['/process/sequence/forEach#2/scope/sequence/receive', '/process/sequence/forEach#1/scope/sequence/receive']);
  });

  it('forgets a scope instance\'s values when it ends: a later message carrying them is no longer held for the instance', async () => {
    const id = await startOrder('q');
    expect((await post(message('Ship', 'lineId', 'q-1', 'a'))).status).to.equal(202);
    expect((await post(message('Ship', 'lineId', 'q-2', 'b'))).status).to.equal(202);
    await forEachEnded(id);
    expect(await eventually(async () => ((await correlations(id)).length === 1 ? correlations(id) : undefined), 'the lines\' sets to be released')).to.deep.equal(['order']);
    expect((await post(message('Ship', 'lineId', 'q-1', 'late'))).status).to.equal(202);
    const late = (await server.dataSource.query("SELECT instanceId, expiresAt FROM process_message WHERE operation = 'client/ship' AND message LIKE '%late%'")) as Array<{ instanceId: string | null; expiresAt: unknown }>;
    expect(late).to.have.length(1);
    expect(late[0]?.instanceId ?? null).to.equal(null);
    expect(late[0]?.expiresAt).to.not.equal(null);
    expect((await post(message('Finish', 'orderId', 'q'))).status).to.equal(202);
    const view = await finished(server, id);
    expect(view.status, JSON.stringify(view.fault)).to.equal('COMPLETED');
  });

  it('refuses at deploy a set used outside the scope declaring it, and one declared twice in a scope, with their lines', async () => {
    const bpel = ORDER_LINES_PROCESS.replace('name="OrderLines"', 'name="OrderLinesWrong"')
      .replace('<bpel:correlationSet name="line" properties="l:lineId"/>', '<bpel:correlationSet name="line" properties="l:lineId"/><bpel:correlationSet name="line" properties="l:orderId"/>')
      .replace('<bpel:correlations><bpel:correlation set="order"/></bpel:correlations>\n    </bpel:receive>', '<bpel:correlations><bpel:correlation set="line"/></bpel:correlations>\n    </bpel:receive>');
    let error: unknown;
    try {
      await server.app.workflow.deploy({ bpel, documents: new Map([['lines.wsdl', LINES_WSDL]]), bindings: [], deployedBy: 'tester' });
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(ProcessDefinitionError);
    expect((error as ProcessDefinitionError).diagnostics.map((d) => `${d.line}: ${d.message}`)).to.deep.equal([
      '21: correlation set "line" is declared twice in scope /process/sequence/forEach/scope',
      '38: activity /process/sequence/receive[2] "finish": correlation set "line" is not declared by the process or an enclosing scope',
    ]);
  });
});
