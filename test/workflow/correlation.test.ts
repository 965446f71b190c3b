import { expect } from 'chai';
import { ManualClock } from '../../src/clock';
import { fromSqlDate } from '../../src/db/sql';
import { startTestServer, eventually, type TestServer } from '../support/harness';
import { finished, variable } from './support';
import { BY_ORDER, CONFIRM_PROCESS, orderMessage, orderProcess, ORDERS_WSDL, postMessage, START } from './orders';

const engine = { username: 'planner', password: 'planner-secret-1' };

/** Waits for `start` and then either `go` or ten minutes, whichever comes first. */
const PICK_PROCESS = orderProcess(
  'OrderPick',
  `<bpel:sequence>
    ${START}
    <bpel:pick name="choose">
      <bpel:onMessage partnerLink="client" operation="go" variable="go">${BY_ORDER}
        <bpel:assign><bpel:copy><bpel:from>'go'</bpel:from><bpel:to variable="note"/></bpel:copy></bpel:assign>
      </bpel:onMessage>
      <bpel:onAlarm><bpel:for>'PT10M'</bpel:for>
        <bpel:assign><bpel:copy><bpel:from>'timeout'</bpel:from><bpel:to variable="note"/></bpel:copy></bpel:assign>
      </bpel:onAlarm>
    </bpel:pick>
  </bpel:sequence>`,
  '\n    <bpel:variable name="go" messageType="o:GoIn"/>',
);

/** Created by either of two messages; notes which one. */
const CREATING_PICK_PROCESS = orderProcess(
  'OrderCreatingPick',
  `<bpel:pick createInstance="yes">
    <bpel:onMessage partnerLink="client" operation="start" variable="start"><bpel:correlations><bpel:correlation set="order" initiate="yes"/></bpel:correlations>
      <bpel:assign><bpel:copy><bpel:from>'start'</bpel:from><bpel:to variable="note"/></bpel:copy></bpel:assign>
    </bpel:onMessage>
    <bpel:onMessage partnerLink="client" operation="go" variable="go"><bpel:correlations><bpel:correlation set="order" initiate="yes"/></bpel:correlations>
      <bpel:assign><bpel:copy><bpel:from>concat('go ', $go.p/orderId)</bpel:from><bpel:to variable="note"/></bpel:copy></bpel:assign>
    </bpel:onMessage>
  </bpel:pick>`,
  '\n    <bpel:variable name="go" messageType="o:GoIn"/>',
);

/** Counts `notify` messages in an event handler until `finish` comes. */
const EVENTS_PROCESS = orderProcess(
  'OrderEvents',
  `<bpel:sequence>
    ${START}
    <bpel:scope name="listening">
      <bpel:eventHandlers>
        <bpel:onEvent partnerLink="client" operation="notify" variable="n" messageType="o:NotifyIn">${BY_ORDER}
          <bpel:scope><bpel:assign><bpel:copy><bpel:from>$count + 1</bpel:from><bpel:to variable="count"/></bpel:copy></bpel:assign></bpel:scope>
        </bpel:onEvent>
      </bpel:eventHandlers>
      <bpel:receive name="finish" partnerLink="client" operation="finish" variable="finish">${BY_ORDER}</bpel:receive>
    </bpel:scope>
  </bpel:sequence>`,
  '\n    <bpel:variable name="count" type="xsd:int"><bpel:from>0</bpel:from></bpel:variable>\n    <bpel:variable name="finish" messageType="o:FinishIn"/>',
);

/** The same at process level: the handler is enabled before the start activity initiated the set routing its messages. */
const PROCESS_EVENTS_PROCESS = orderProcess(
  'OrderProcessEvents',
  `<bpel:eventHandlers>
    <bpel:onEvent partnerLink="client" operation="notify" variable="n" messageType="o:NotifyIn">${BY_ORDER}
      <bpel:scope><bpel:assign><bpel:copy><bpel:from>$count + 1</bpel:from><bpel:to variable="count"/></bpel:copy></bpel:assign></bpel:scope>
    </bpel:onEvent>
  </bpel:eventHandlers>
  <bpel:sequence>
    ${START}
    <bpel:receive name="finish" partnerLink="client" operation="finish" variable="finish">${BY_ORDER}</bpel:receive>
  </bpel:sequence>`,
  '\n    <bpel:variable name="count" type="xsd:int"><bpel:from>0</bpel:from></bpel:variable>\n    <bpel:variable name="finish" messageType="o:FinishIn"/>',
);

/** Replies to `confirm` initiating the set the start initiated: bpel:correlationViolation. */
const VIOLATION_PROCESS = CONFIRM_PROCESS.replace('name="OrderConfirm"', 'name="OrderViolation"').replace(
  '<bpel:reply name="answer" partnerLink="client" operation="confirm" variable="answer"/>',
  '<bpel:reply name="answer" partnerLink="client" operation="confirm" variable="answer"><bpel:correlations><bpel:correlation set="order" initiate="yes"/></bpel:correlations></bpel:reply>',
);

/** Takes two `confirm`s in two message exchanges and answers the second first. */
const answerTo = (variable: string, exchange: string): string => `<bpel:assign>
      <bpel:copy><bpel:from><bpel:literal><o:ConfirmResponse><orderId/><note/></o:ConfirmResponse></bpel:literal></bpel:from><bpel:to variable="answer" part="p"/></bpel:copy>
      <bpel:copy><bpel:from>$${variable}.p/orderId</bpel:from><bpel:to>$answer.p/orderId</bpel:to></bpel:copy>
      <bpel:copy><bpel:from>concat('to ', $${variable}.p/note)</bpel:from><bpel:to>$answer.p/note</bpel:to></bpel:copy>
    </bpel:assign>
    <bpel:reply partnerLink="client" operation="confirm" variable="answer" messageExchange="${exchange}"/>`;
const EXCHANGES_PROCESS = orderProcess(
  'OrderExchanges',
  `<bpel:sequence>
    ${START}
    <bpel:receive partnerLink="client" operation="confirm" variable="c1" messageExchange="m1">${BY_ORDER}</bpel:receive>
    <bpel:receive partnerLink="client" operation="confirm" variable="c2" messageExchange="m2">${BY_ORDER}</bpel:receive>
    ${answerTo('c2', 'm2')}
    ${answerTo('c1', 'm1')}
  </bpel:sequence>`,
  '\n    <bpel:variable name="c1" messageType="o:ConfirmIn"/>\n    <bpel:variable name="c2" messageType="o:ConfirmIn"/>\n    <bpel:variable name="answer" messageType="o:ConfirmOut"/>',
).replace('<bpel:variables>', '<bpel:messageExchanges><bpel:messageExchange name="m1"/><bpel:messageExchange name="m2"/></bpel:messageExchanges>\n  <bpel:variables>');

/** Replies to `confirm`, then waits an hour: the reply reaches its caller while the instance goes on. */
const CONFIRM_THEN_WAIT_PROCESS = CONFIRM_PROCESS.replace('name="OrderConfirm"', 'name="OrderConfirmThenWait"').replace(
  '<bpel:reply name="answer" partnerLink="client" operation="confirm" variable="answer"/>',
  `<bpel:reply name="answer" partnerLink="client" operation="confirm" variable="answer"/>
    <bpel:wait name="hour"><bpel:for>'PT1H'</bpel:for></bpel:wait>`,
);

/** Two receives of `go` for one instance at once: bpel:conflictingReceive. */
const CONFLICT_PROCESS = orderProcess(
  'OrderConflict',
  `<bpel:sequence>
    ${START}
    <bpel:flow>
      <bpel:receive partnerLink="client" operation="go" variable="go">${BY_ORDER}</bpel:receive>
      <bpel:receive partnerLink="client" operation="go" variable="go">${BY_ORDER}</bpel:receive>
    </bpel:flow>
  </bpel:sequence>`,
  '\n    <bpel:variable name="go" messageType="o:GoIn"/>',
);

async function instanceOf(server: TestServer, processName: string, orderId: string): Promise<string> {
  return eventually(async () => {
    const rows = (await server.dataSource.query('SELECT c.instanceId FROM process_correlation c WHERE c.processName = ? AND c.value LIKE ?', [processName, `%"${orderId}"%`])) as Array<{ instanceId: string }>;
    return rows[0]?.instanceId;
  }, `the instance of order ${orderId}`);
}

describe('messages after the instance-creating one, routed by correlation', function () {
  this.timeout(60_000);
  let server: TestServer;
  let clock: ManualClock;

  before(async () => {
    // Only the pick's alarm moves this clock, in the last test (WS-Security reads it too).
    clock = new ManualClock(Date.now());
    server = await startTestServer({ PROVISOR_WORKFLOW_POLL_MS: '50', PROVISOR_TOKEN_MAX_SKEW_SECONDS: '3600' }, { clock });
    await server.addUser(engine.username, 'engine', engine.password);
    for (const bpel of [CONFIRM_PROCESS, CONFIRM_THEN_WAIT_PROCESS, PICK_PROCESS, CREATING_PICK_PROCESS, EVENTS_PROCESS, VIOLATION_PROCESS, CONFLICT_PROCESS, EXCHANGES_PROCESS, PROCESS_EVENTS_PROCESS]) {
      await server.app.workflow.deploy({ bpel, documents: new Map([['orders.wsdl', ORDERS_WSDL]]), bindings: [], deployedBy: 'tester' });
    }
  });
  after(() => server.close());

  const post = (processName: string, body: string): Promise<{ status: number; text: string }> => postMessage(server.baseUrl, engine, processName, body);

  describe('when two instances wait for a message of the same operation', () => {
    it('gives each the message carrying its order id, and answers each sender with its own instance\'s reply', async () => {
      expect((await post('OrderConfirm', orderMessage('Start', 'a-1'))).status).to.equal(202);
      expect((await post('OrderConfirm', orderMessage('Start', 'b-2'))).status).to.equal(202);
      const a = await instanceOf(server, 'OrderConfirm', 'a-1');
      const b = await instanceOf(server, 'OrderConfirm', 'b-2');
      const [toB, toA] = await Promise.all([post('OrderConfirm', orderMessage('Confirm', 'b-2', 'second')), post('OrderConfirm', orderMessage('Confirm', 'a-1', 'first'))]);
      expect(toA.status, toA.text).to.equal(200);
      expect(toA.text).to.match(/<orderId>a-1<\/orderId><note>first<\/note>/);
      expect(toB.text).to.match(/<orderId>b-2<\/orderId><note>second<\/note>/);
      expect((await finished(server, a)).status).to.equal('COMPLETED');
      expect((await finished(server, b)).status).to.equal('COMPLETED');
      const taken = (await server.dataSource.query('SELECT instanceId, consumerKey FROM process_message ORDER BY id')) as Array<{ instanceId: string; consumerKey: string }>;
      expect(taken.map((t) => t.consumerKey)).to.deep.equal(['/process/sequence/receive[2]', '/process/sequence/receive[2]']);
      expect(new Set(taken.map((t) => t.instanceId))).to.deep.equal(new Set([a, b]));
    });

    it('keeps a message that comes before its instance, and gives it to the instance once it is there', async () => {
      const early = post('OrderConfirm', orderMessage('Confirm', 'early-3', 'before the start'));
      await eventually(async () => {
        const rows = (await server.dataSource.query("SELECT id FROM process_message WHERE correlationKey <> '' AND instanceId IS NULL AND expiresAt IS NOT NULL")) as unknown[];
        return rows.length === 1 ? true : undefined;
      }, 'the early message to be stored');
      expect((await post('OrderConfirm', orderMessage('Start', 'early-3'))).status).to.equal(202);
      const answer = await early;
      expect(answer.status, answer.text).to.equal(200);
      expect(answer.text).to.contain('<note>before the start</note>');
    });

    it('stores a message sent again under the same MessageID once, and answers both sends with its reply', async () => {
      await post('OrderConfirm', orderMessage('Start', 'd-1'));
      const id = await instanceOf(server, 'OrderConfirm', 'd-1');
      const messageId = 'urn:uuid:0b6c4c2e-8f7e-4c8a-9d3a-5a1f2e3d4c5b';
      const [one, two] = await Promise.all([
        postMessage(server.baseUrl, engine, 'OrderConfirm', orderMessage('Confirm', 'd-1', 'once'), messageId),
        postMessage(server.baseUrl, engine, 'OrderConfirm', orderMessage('Confirm', 'd-1', 'once'), messageId),
      ]);
      expect([one.status, two.status]).to.deep.equal([200, 200]);
      expect(one.text).to.contain('<note>once</note>');
      expect(two.text).to.contain('<note>once</note>');
      expect((await finished(server, id)).status).to.equal('COMPLETED');
      const rows = (await server.dataSource.query("SELECT id FROM process_message WHERE operation = 'client/confirm' AND instanceId = ?", [id])) as unknown[];
      expect(rows).to.have.length(1);
    });

    it('answers the sender as soon as its instance replied, with the clock standing still and the instance going on', async () => {
      await post('OrderConfirmThenWait', orderMessage('Start', 'w-1'));
      const id = await instanceOf(server, 'OrderConfirmThenWait', 'w-1');
      const before = clock.now();
      // Neither the instance's end nor a re-read on the clock can bring this answer: the reply's commit does.
      const answer = await post('OrderConfirmThenWait', orderMessage('Confirm', 'w-1', 'still waiting'));
      expect(answer.status, answer.text).to.equal(200);
      expect(answer.text).to.contain('<note>still waiting</note>');
      expect(clock.now()).to.equal(before);
      const view = await server.app.workflow.status(id);
      expect(view.status).to.equal('RUNNING');
      expect(view.activities.find((a) => a.key === '/process/sequence/wait')?.state).to.equal('RUNNING');
    });

    it('refuses a message that does not carry the correlation values, naming the set', async () => {
      const { status, text } = await post('OrderConfirm', '<o:Confirm xmlns:o="urn:test:orders"><note>no order id</note></o:Confirm>');
      expect(status).to.equal(500);
      expect(text).to.contain('Client');
      expect(text).to.contain('InvalidField');
      expect(text).to.contain('correlation set &quot;order&quot;');
    });
  });

  describe('an instance-creating pick', () => {
    it('with createInstance="yes" starts an instance by whichever of its messages comes', async () => {
      expect((await post('OrderCreatingPick', orderMessage('Go', 'c-1'))).status).to.equal(202);
      const id = await instanceOf(server, 'OrderCreatingPick', 'c-1');
      expect((await finished(server, id)).status).to.equal('COMPLETED');
      expect(await variable(server, id, 'note')).to.contain('go c-1');
    });
  });

  describe('an event handler', () => {
    it('runs its scope for each message of its operation while the scope waits for another one', async () => {
      await post('OrderEvents', orderMessage('Start', 'e-1'));
      const id = await instanceOf(server, 'OrderEvents', 'e-1');
      await post('OrderEvents', orderMessage('Notify', 'e-1'));
      await post('OrderEvents', orderMessage('Notify', 'e-1'));
      await eventually(async () => {
        const view = await server.app.workflow.status(id);
        return view.activities.filter((a) => a.kind === 'onEvent').length === 2 ? true : undefined;
      }, 'both notifications to be taken');
      await post('OrderEvents', orderMessage('Finish', 'e-1'));
      expect((await finished(server, id)).status).to.equal('COMPLETED');
      expect(await variable(server, id, 'count')).to.contain('2');
    });

    it('at process level, waits for the start activity to initiate the set that routes its messages', async () => {
      await post('OrderProcessEvents', orderMessage('Start', 'e-2'));
      const id = await instanceOf(server, 'OrderProcessEvents', 'e-2');
      await post('OrderProcessEvents', orderMessage('Notify', 'e-2'));
      await eventually(async () => ((await server.app.workflow.status(id)).activities.some((a) => a.kind === 'onEvent' && a.key === '/process/eventHandlers/onEvent[1]#1') ? true : undefined), 'the notification to be taken');
      await post('OrderProcessEvents', orderMessage('Finish', 'e-2'));
      const view = await finished(server, id);
      expect(view.status, JSON.stringify(view.fault)).to.equal('COMPLETED');
      expect(await variable(server, id, 'count')).to.contain('1');
    });
  });

  describe('message exchanges', () => {
    it('answer each open request with the reply of its exchange, whatever the order of the replies', async () => {
      await post('OrderExchanges', orderMessage('Start', 'x-1'));
      const id = await instanceOf(server, 'OrderExchanges', 'x-1');
      const first = post('OrderExchanges', orderMessage('Confirm', 'x-1', 'first'));
      await eventually(async () => {
        const rows = (await server.dataSource.query("SELECT id FROM process_message WHERE instanceId = ? AND operation = 'client/confirm'", [id])) as unknown[];
        return rows.length === 1 ? true : undefined;
      }, 'the first request to be taken');
      const second = await post('OrderExchanges', orderMessage('Confirm', 'x-1', 'second'));
      expect(second.status, second.text).to.equal(200);
      expect(second.text).to.contain('<note>to second</note>');
      const answer = await first;
      expect(answer.text).to.contain('<note>to first</note>');
      expect((await finished(server, id)).status).to.equal('COMPLETED');
    });
  });

  describe('the standard faults of correlation', () => {
    it('is bpel:correlationViolation to initiate a set the instance already initiated; the sender hears that the instance ended', async () => {
      await post('OrderViolation', orderMessage('Start', 'v-1'));
      const id = await instanceOf(server, 'OrderViolation', 'v-1');
      const answer = await post('OrderViolation', orderMessage('Confirm', 'v-1', 'x'));
      expect(answer.status).to.equal(500);
      expect(answer.text).to.contain('ended FAULTED without replying');
      const view = await finished(server, id);
      expect(view.status).to.equal('FAULTED');
      expect(view.fault?.name).to.equal('{http://docs.oasis-open.org/wsbpel/2.0/process/executable}correlationViolation');
      expect(view.fault?.message).to.contain('correlation set "order" is already initiated');
    });

    it('is bpel:conflictingReceive for two receives of one operation and correlation waiting at once', async () => {
      await post('OrderConflict', orderMessage('Start', 'k-1'));
      const id = await instanceOf(server, 'OrderConflict', 'k-1');
      const view = await finished(server, id);
      expect(view.status).to.equal('FAULTED');
      expect(view.fault?.name).to.equal('{http://docs.oasis-open.org/wsbpel/2.0/process/executable}conflictingReceive');
    });
  });
  describe('a pick (last: it moves the clock)', () => {
    it('takes the message when it comes before the alarm, and the alarm when no message comes', async () => {
      await post('OrderPick', orderMessage('Start', 'p-1'));
      await post('OrderPick', orderMessage('Start', 'p-2'));
      const first = await instanceOf(server, 'OrderPick', 'p-1');
      const second = await instanceOf(server, 'OrderPick', 'p-2');
      expect((await post('OrderPick', orderMessage('Go', 'p-1'))).status).to.equal(202);
      const one = await finished(server, first);
      // The second one's alarm is due ten minutes after its pick started: move the clock there once it sleeps on it.
      const due = await eventually(async () => {
        const rows = (await server.dataSource.query("SELECT dueAt FROM process_timer WHERE instanceId = ? AND `key` = '/process/sequence/pick/onAlarm[1]'", [second])) as Array<{ dueAt: unknown }>;
        return fromSqlDate(rows[0]?.dueAt)?.getTime();
      }, 'the alarm to be durable');
      // Moved to the due time, and on by a millisecond while the pick is not yet asleep on it (a timer armed late fires then).
      const two = await eventually(async () => {
        clock.advance(Math.max(1, due - clock.now()));
        const view = await server.app.workflow.status(second);
        return view.status === 'RUNNING' ? undefined : view;
      }, 'the alarm to end the second instance');
      expect([one.status, two.status]).to.deep.equal(['COMPLETED', 'COMPLETED']);
      expect(await variable(server, first, 'note')).to.contain('go');
      expect(await variable(server, second, 'note')).to.contain('timeout');
      expect(two.activities.filter((a) => a.kind === 'assign' && a.state === 'COMPLETED').map((a) => a.key)).to.deep.equal(['/process/sequence/pick/onAlarm[1]/assign']);
      expect(two.activities.find((a) => a.key === '/process/sequence/pick/onMessage[1]/assign')?.state).to.equal('SKIPPED');
    });

  });

});

describe('when messages for instances not there yet are not kept', function () {
  this.timeout(60_000);
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ PROVISOR_WORKFLOW_POLL_MS: '50', PROVISOR_WORKFLOW_MESSAGE_KEEP_MS: '0' });
    await server.addUser(engine.username, 'engine', engine.password);
    await server.app.workflow.deploy({ bpel: CONFIRM_PROCESS, documents: new Map([['orders.wsdl', ORDERS_WSDL]]), bindings: [], deployedBy: 'tester' });
  });
  after(() => server.close());

  it('refuses such a message as the client\'s fault, naming the correlation values, and stores nothing', async () => {
    const { status, text } = await postMessage(server.baseUrl, engine, 'OrderConfirm', orderMessage('Confirm', 'nobody', 'x'));
    expect(status).to.equal(500);
    expect(text).to.contain('Client');
    expect(text).to.contain('NoMatchingInstance');
    expect(text).to.contain('&quot;nobody&quot; of correlation set &quot;order&quot;');
    const rows = (await server.dataSource.query('SELECT COUNT(*) AS n FROM process_message')) as Array<{ n: unknown }>;
    expect(Number(rows[0]?.n)).to.equal(0);
  });

  it('still takes a message for a running instance', async () => {
    await postMessage(server.baseUrl, engine, 'OrderConfirm', orderMessage('Start', 'here'));
    await eventually(async () => ((await server.dataSource.query("SELECT instanceId FROM process_correlation WHERE value LIKE '%\"here\"%'")) as unknown[]).length === 1 ? true : undefined, 'the instance to hold its order id');
    const answer = await postMessage(server.baseUrl, engine, 'OrderConfirm', orderMessage('Confirm', 'here', 'y'));
    expect(answer.status, answer.text).to.equal(200);
    expect(answer.text).to.contain('<orderId>here</orderId>');
  });
});
