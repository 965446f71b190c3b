import { expect } from 'chai';
import { ProcessDefinitionError } from '../../src/bpel/model';
import { startTestServer, eventually, type TestServer } from '../support/harness';
import { finished, variable } from './support';
import { orderMessage, orderProcess, ORDERS_WSDL, postMessage, START } from './orders';

const engine = { username: 'planner', password: 'planner-secret-1' };
const BPEL = 'xmlns:b="http://docs.oasis-open.org/wsbpel/2.0/process/executable"';

/**
 * Reads the order id of the creating message as a property, and joins two links with getLinkStatus:
 * the note is written only when `high` is true and `low` false.
 */
const PROPERTY_PROCESS = orderProcess(
  'OrderProperty',
  `<bpel:sequence ${BPEL}>
    ${START}
    <bpel:flow>
      <bpel:links><bpel:link name="high"/><bpel:link name="low"/></bpel:links>
      <bpel:empty name="judge">
        <bpel:sources>
          <bpel:source linkName="high"><bpel:transitionCondition>b:getVariableProperty('start', 'o:orderId') = 'gp-1'</bpel:transitionCondition></bpel:source>
          <bpel:source linkName="low"><bpel:transitionCondition>b:getVariableProperty('start', 'o:orderId') != 'gp-1'</bpel:transitionCondition></bpel:source>
        </bpel:sources>
      </bpel:empty>
      <bpel:assign name="mark" suppressJoinFailure="yes">
        <bpel:targets><bpel:joinCondition>b:getLinkStatus('high') and not(b:getLinkStatus('low'))</bpel:joinCondition><bpel:target linkName="high"/><bpel:target linkName="low"/></bpel:targets>
        <bpel:copy><bpel:from>concat('order ', b:getVariableProperty('start', 'o:orderId'))</bpel:from><bpel:to variable="note"/></bpel:copy>
      </bpel:assign>
    </bpel:flow>
  </bpel:sequence>`,
);

describe('bpel:getVariableProperty and bpel:getLinkStatus in a running process', function () {
  this.timeout(60_000);
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ PROVISOR_WORKFLOW_POLL_MS: '50' });
    await server.addUser(engine.username, 'engine', engine.password);
    await server.app.workflow.deploy({ bpel: PROPERTY_PROCESS, documents: new Map([['orders.wsdl', ORDERS_WSDL]]), bindings: [], deployedBy: 'tester' });
  });
  after(() => server.close());

  async function run(orderId: string): Promise<{ id: string; status: string; mark: string | undefined }> {
    expect((await postMessage(server.baseUrl, engine, 'OrderProperty', orderMessage('Start', orderId))).status).to.equal(202);
    const id = await eventually(async () => {
      const rows = (await server.dataSource.query("SELECT instanceId FROM process_correlation WHERE processName = 'OrderProperty' AND value LIKE ?", [`%"${orderId}"%`])) as Array<{ instanceId: string }>;
      return rows[0]?.instanceId;
    }, `the instance of order ${orderId}`);
    const view = await finished(server, id);
    return { id, status: view.status, mark: view.activities.find((a) => a.name === 'mark')?.state };
  }

  it('reads a property through its alias in transition conditions and an assign, and joins on getLinkStatus', async () => {
    const chosen = await run('gp-1');
    expect(chosen.status).to.equal('COMPLETED');
    expect(chosen.mark).to.equal('COMPLETED');
    expect(await variable(server, chosen.id, 'note')).to.contain('order gp-1');
    const other = await run('gp-2');
    expect(other.status).to.equal('COMPLETED');
    expect(other.mark).to.equal('SKIPPED');
    expect(await variable(server, other.id, 'note')).to.contain('none');
  });

  it('refuses at deploy a property without an alias for the variable\'s type, and getLinkStatus outside a joinCondition, with their lines', async () => {
    const bpel = orderProcess(
      'OrderPropertyWrong',
      `<bpel:sequence ${BPEL}>
    ${START}
    <bpel:assign><bpel:copy><bpel:from>b:getVariableProperty('note', 'o:orderId')</bpel:from><bpel:to variable="note"/></bpel:copy></bpel:assign>
    <bpel:if><bpel:condition>b:getLinkStatus('x')</bpel:condition><bpel:empty/></bpel:if>
  </bpel:sequence>`,
    );
    let error: unknown;
    try {
      await server.app.workflow.deploy({ bpel, documents: new Map([['orders.wsdl', ORDERS_WSDL]]), bindings: [], deployedBy: 'tester' });
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(ProcessDefinitionError);
    expect((error as ProcessDefinitionError).message).to.equal(
      [
        `OrderPropertyWrong:14: activity /process/sequence/assign: expression "b:getVariableProperty('note', 'o:orderId')" (line 14): bpel:getVariableProperty property {urn:test:orders}orderId has no property alias for type {http://www.w3.org/2001/XMLSchema}string (variable "note")`,
        `OrderPropertyWrong:15: activity /process/sequence/if: expression "b:getLinkStatus('x')" (line 15): bpel:getLinkStatus('x') is only allowed in a joinCondition`,
      ].join('\n'),
    );
  });
});
