import { expect } from 'chai';
import { ProcessDefinitionError } from '../../src/bpel/model';
import { startTestServer, eventually, type TestServer } from '../support/harness';
import { finished, soapEnvelope, variable } from './support';
import { BY_ORDER, orderMessage, orderProcess, ORDERS_WSDL, postMessage, START } from './orders';

const engine = { username: 'planner', password: 'planner-secret-1' };

/** An rpc operation of two int parts answering an int and a string, and a document one of one element part each way. */
const CALC_WSDL = `<?xml version="1.0" encoding="utf-8"?>
<wsdl:definitions name="Calc" targetNamespace="urn:test:calc" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:plnk="http://docs.oasis-open.org/wsbpel/2.0/plnktype" xmlns:c="urn:test:calc">
  <wsdl:types>
    <xsd:schema targetNamespace="urn:test:calc">
      <xsd:element name="Echo"><xsd:complexType><xsd:sequence><xsd:element name="text" type="xsd:string"/></xsd:sequence></xsd:complexType></xsd:element>
      <xsd:element name="Echoed"><xsd:complexType><xsd:sequence><xsd:element name="text" type="xsd:string"/></xsd:sequence></xsd:complexType></xsd:element>
    </xsd:schema>
  </wsdl:types>
  <wsdl:message name="AddIn"><wsdl:part name="a" type="xsd:int"/><wsdl:part name="b" type="xsd:int"/></wsdl:message>
  <wsdl:message name="AddOut"><wsdl:part name="sum" type="xsd:int"/><wsdl:part name="note" type="xsd:string"/></wsdl:message>
  <wsdl:message name="EchoIn"><wsdl:part name="payload" element="c:Echo"/></wsdl:message>
  <wsdl:message name="EchoOut"><wsdl:part name="payload" element="c:Echoed"/></wsdl:message>
  <wsdl:portType name="CalcPortType">
    <wsdl:operation name="add"><wsdl:input message="c:AddIn"/><wsdl:output message="c:AddOut"/></wsdl:operation>
    <wsdl:operation name="echo"><wsdl:input message="c:EchoIn"/><wsdl:output message="c:EchoOut"/></wsdl:operation>
  </wsdl:portType>
  <plnk:partnerLinkType name="CalcLink"><plnk:role name="server" portType="c:CalcPortType"/></plnk:partnerLinkType>
</wsdl:definitions>`;

const calcProcess = (name: string, partnerLinks: string, variables: string, body: string): string => `<bpel:process name="${name}" targetNamespace="urn:test:p"
    xmlns:bpel="http://docs.oasis-open.org/wsbpel/2.0/process/executable" xmlns:c="urn:test:calc" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
  <bpel:import importType="http://schemas.xmlsoap.org/wsdl/" namespace="urn:test:calc" location="calc.wsdl"/>
  <bpel:partnerLinks>${partnerLinks}</bpel:partnerLinks>
  <bpel:variables>${variables}</bpel:variables>
  ${body}
</bpel:process>`;

const SERVER_LINK = '<bpel:partnerLink name="client" partnerLinkType="c:CalcLink" myRole="server"/>';

/** Takes `add`'s two parts into two int variables and answers from two variables, part by part. */
const ADD_PROCESS = calcProcess(
  'AddByParts',
  SERVER_LINK,
  '<bpel:variable name="a" type="xsd:int"/><bpel:variable name="b" type="xsd:int"/><bpel:variable name="sum" type="xsd:int"/><bpel:variable name="note" type="xsd:string"/>',
  `<bpel:sequence>
    <bpel:receive partnerLink="client" operation="add" createInstance="yes">
      <bpel:fromParts><bpel:fromPart part="a" toVariable="a"/><bpel:fromPart part="b" toVariable="b"/></bpel:fromParts>
    </bpel:receive>
    <bpel:assign>
      <bpel:copy><bpel:from>$a + $b</bpel:from><bpel:to variable="sum"/></bpel:copy>
      <bpel:copy><bpel:from>concat($a, ' + ', $b)</bpel:from><bpel:to variable="note"/></bpel:copy>
    </bpel:assign>
    <bpel:reply partnerLink="client" operation="add">
      <bpel:toParts><bpel:toPart part="note" fromVariable="note"/><bpel:toPart part="sum" fromVariable="sum"/></bpel:toParts>
    </bpel:reply>
  </bpel:sequence>`,
);

/** Takes `echo`'s element part into an element variable and answers another element variable. */
const ECHO_PROCESS = calcProcess(
  'EchoByParts',
  SERVER_LINK,
  '<bpel:variable name="asked" element="c:Echo"/><bpel:variable name="answer" element="c:Echoed"/>',
  `<bpel:sequence>
    <bpel:receive partnerLink="client" operation="echo" createInstance="yes"><bpel:fromParts><bpel:fromPart part="payload" toVariable="asked"/></bpel:fromParts></bpel:receive>
    <bpel:assign>
      <bpel:copy><bpel:from><bpel:literal><c:Echoed><text/></c:Echoed></bpel:literal></bpel:from><bpel:to variable="answer"/></bpel:copy>
      <bpel:copy><bpel:from>concat('echo: ', $asked/text)</bpel:from><bpel:to>$answer/text</bpel:to></bpel:copy>
    </bpel:assign>
    <bpel:reply partnerLink="client" operation="echo"><bpel:toParts><bpel:toPart part="payload" fromVariable="answer"/></bpel:toParts></bpel:reply>
  </bpel:sequence>`,
);

/** Calls both over SOAP, building each request from variables and taking each answer apart. */
const CALLER_PROCESS = calcProcess(
  'CallsByParts',
  '<bpel:partnerLink name="adder" partnerLinkType="c:CalcLink" partnerRole="server"/><bpel:partnerLink name="echoer" partnerLinkType="c:CalcLink" partnerRole="server"/>',
  `<bpel:variable name="a" type="xsd:int"><bpel:from>40</bpel:from></bpel:variable><bpel:variable name="b" type="xsd:int"><bpel:from>2</bpel:from></bpel:variable>
    <bpel:variable name="sum" type="xsd:int"/><bpel:variable name="note" type="xsd:string"/><bpel:variable name="echoed" type="xsd:string"/>
    <bpel:variable name="ask" element="c:Echo"><bpel:from><bpel:literal><c:Echo><text>ping</text></c:Echo></bpel:literal></bpel:from></bpel:variable>
    <bpel:variable name="heard" element="c:Echoed"/>`,
  `<bpel:sequence>
    <bpel:invoke partnerLink="adder" operation="add">
      <bpel:toParts><bpel:toPart part="a" fromVariable="a"/><bpel:toPart part="b" fromVariable="b"/></bpel:toParts>
      <bpel:fromParts><bpel:fromPart part="sum" toVariable="sum"/><bpel:fromPart part="note" toVariable="note"/></bpel:fromParts>
    </bpel:invoke>
    <bpel:invoke partnerLink="echoer" operation="echo">
      <bpel:toParts><bpel:toPart part="payload" fromVariable="ask"/></bpel:toParts>
      <bpel:fromParts><bpel:fromPart part="payload" toVariable="heard"/></bpel:fromParts>
    </bpel:invoke>
    <bpel:assign><bpel:copy><bpel:from>$heard/text</bpel:from><bpel:to variable="echoed"/></bpel:copy></bpel:assign>
  </bpel:sequence>`,
);

/** Sends a part from a variable nothing initialised: bpel:uninitializedVariable before anything is sent. */
const UNINITIALISED_PROCESS = calcProcess(
  'SendsNothing',
  '<bpel:partnerLink name="adder" partnerLinkType="c:CalcLink" partnerRole="server"/>',
  '<bpel:variable name="a" type="xsd:int"><bpel:from>1</bpel:from></bpel:variable><bpel:variable name="b" type="xsd:int"/><bpel:variable name="sum" type="xsd:int"/>',
  `<bpel:invoke name="add" partnerLink="adder" operation="add">
    <bpel:toParts><bpel:toPart part="a" fromVariable="a"/><bpel:toPart part="b" fromVariable="b"/></bpel:toParts>
    <bpel:fromParts><bpel:fromPart part="sum" toVariable="sum"/></bpel:fromParts>
  </bpel:invoke>`,
);

/**
 * Orders taken apart: `confirm` into an element variable and answered part by part, `go` in a pick's
 * onMessage, `notify` in an onEvent whose fromPart declares its variable in the handler's scope.
 */
const ORDER_PARTS_PROCESS = orderProcess(
  'OrderParts',
  `<bpel:sequence>
    ${START}
    <bpel:scope name="listening">
      <bpel:eventHandlers>
        <bpel:onEvent partnerLink="client" operation="notify">${BY_ORDER}<bpel:fromParts><bpel:fromPart part="p" toVariable="notice"/></bpel:fromParts>
          <bpel:scope><bpel:assign><bpel:copy><bpel:from>concat($note, ' notified ', $notice/orderId)</bpel:from><bpel:to variable="note"/></bpel:copy></bpel:assign></bpel:scope>
        </bpel:onEvent>
      </bpel:eventHandlers>
      <bpel:receive name="confirm" partnerLink="client" operation="confirm">${BY_ORDER}<bpel:fromParts><bpel:fromPart part="p" toVariable="confirm"/></bpel:fromParts></bpel:receive>
    </bpel:scope>
    <bpel:assign>
      <bpel:copy><bpel:from><bpel:literal><o:ConfirmResponse><orderId/><note/></o:ConfirmResponse></bpel:literal></bpel:from><bpel:to variable="answer"/></bpel:copy>
      <bpel:copy><bpel:from>$confirm/orderId</bpel:from><bpel:to>$answer/orderId</bpel:to></bpel:copy>
      <bpel:copy><bpel:from>concat($note, ' confirmed ', $confirm/note)</bpel:from><bpel:to>$answer/note</bpel:to></bpel:copy>
    </bpel:assign>
    <bpel:reply partnerLink="client" operation="confirm"><bpel:toParts><bpel:toPart part="p" fromVariable="answer"/></bpel:toParts></bpel:reply>
    <bpel:pick>
      <bpel:onMessage partnerLink="client" operation="go">${BY_ORDER}<bpel:fromParts><bpel:fromPart part="p" toVariable="go"/></bpel:fromParts>
        <bpel:assign><bpel:copy><bpel:from>concat('went ', $go/orderId)</bpel:from><bpel:to variable="note"/></bpel:copy></bpel:assign>
      </bpel:onMessage>
    </bpel:pick>
  </bpel:sequence>`,
  `
    <bpel:variable name="confirm" element="o:Confirm"/>
    <bpel:variable name="answer" element="o:ConfirmResponse"/>
    <bpel:variable name="go" element="o:Go"/>`,
);

describe('toParts and fromParts over SOAP', function () {
  this.timeout(60_000);
  let server: TestServer;

  before(async () => {
    // The caller reaches this server's own process endpoints as remote partners.
    server = await startTestServer({ PROVISOR_WORKFLOW_POLL_MS: '50', PROVISOR_OUTBOUND_ALLOW_OWN_PORTS: 'true' });
    await server.addUser(engine.username, 'engine', engine.password);
    for (const bpel of [ADD_PROCESS, ECHO_PROCESS]) await server.app.workflow.deploy({ bpel, documents: new Map([['calc.wsdl', CALC_WSDL]]), bindings: [], deployedBy: 'tester' });
    await server.app.workflow.deploy({ bpel: ORDER_PARTS_PROCESS, documents: new Map([['orders.wsdl', ORDERS_WSDL]]), bindings: [], deployedBy: 'tester' });
  });
  after(() => server.close());

  const peer = (processName: string, partnerLink: string): { partnerLink: string; address: string; username: string; password: string } => ({
    partnerLink,
    address: `${server.baseUrl}/soap/processes/${processName}`,
    username: engine.username,
    password: engine.password,
  });

  describe('when a receive takes an rpc message apart and the reply builds the answer part by part', () => {
    it('copies each part into its variable (ints stay numbers) and answers every part in the response wrapper', async () => {
      const { status, text } = await postMessage(server.baseUrl, engine, 'AddByParts', '<c:add xmlns:c="urn:test:calc"><a>2</a><b>3</b></c:add>');
      expect(status, text).to.equal(200);
      expect(text).to.match(/<pv:addResponse xmlns:pv="urn:test:calc"><sum>5<\/sum><note>2 \+ 3<\/note><\/pv:addResponse>/);
    });
  });

  describe('when an invoke builds its request from variables and takes the answer apart', () => {
    it('sends the parts of an rpc and a document operation and sets each variable from its part', async () => {
      const { name } = await server.app.workflow.deploy({ bpel: CALLER_PROCESS, documents: new Map([['calc.wsdl', CALC_WSDL]]), bindings: [peer('AddByParts', 'adder'), peer('EchoByParts', 'echoer')], deployedBy: 'tester' });
      const id = await server.app.workflow.start(name, undefined, 'tester');
      const view = await finished(server, id);
      expect(view.status, JSON.stringify(view.fault)).to.equal('COMPLETED');
      const status = await server.app.workflow.status(id, undefined, { includeVariables: true });
      const values = new Map((status.variables ?? []).map((v) => [v.name, v.value]));
      expect(values.get('sum')).to.equal('42');
      expect(values.get('note')).to.equal('40 + 2');
      expect(values.get('echoed')).to.equal('echo: ping');
    });

    it('faults bpel:uninitializedVariable naming the toPart when a variable it sends has no value, and sends nothing', async () => {
      const { name } = await server.app.workflow.deploy({ bpel: UNINITIALISED_PROCESS, documents: new Map([['calc.wsdl', CALC_WSDL]]), bindings: [peer('AddByParts', 'adder')], deployedBy: 'tester' });
      const before = (await server.dataSource.query("SELECT COUNT(*) AS n FROM process_instance i JOIN process_definition d ON d.id = i.definitionId WHERE d.name = 'AddByParts'")) as Array<{ n: unknown }>;
      const id = await server.app.workflow.start(name, undefined, 'tester');
      const view = await finished(server, id);
      expect(view.status).to.equal('FAULTED');
      expect(view.fault?.name).to.equal('{http://docs.oasis-open.org/wsbpel/2.0/process/executable}uninitializedVariable');
      expect(view.fault?.message).to.contain('activity /process/invoke "add": <toPart part="b"> at line');
      expect(view.fault?.message).to.contain('<from> variable "b" is not initialised');
      const after = (await server.dataSource.query("SELECT COUNT(*) AS n FROM process_instance i JOIN process_definition d ON d.id = i.definitionId WHERE d.name = 'AddByParts'")) as Array<{ n: unknown }>;
      expect(Number(after[0]?.n)).to.equal(Number(before[0]?.n));
    });
  });

  describe('when messages routed by correlation are taken apart', () => {
    it('fills the variables of a receive, an onEvent (declared in its scope) and a pick\'s onMessage, and answers part by part', async () => {
      const post = (body: string): Promise<{ status: number; text: string }> => postMessage(server.baseUrl, engine, 'OrderParts', body);
      expect((await post(orderMessage('Start', 'fp-1'))).status).to.equal(202);
      const id = await eventually(async () => {
        const rows = (await server.dataSource.query("SELECT instanceId FROM process_correlation WHERE processName = 'OrderParts' AND value LIKE '%\"fp-1\"%'")) as Array<{ instanceId: string }>;
        return rows[0]?.instanceId;
      }, 'the instance of order fp-1');
      expect((await post(orderMessage('Notify', 'fp-1'))).status).to.equal(202);
      await eventually(async () => ((await server.app.workflow.status(id)).activities.some((a) => a.kind === 'scope' && a.key.includes('onEvent[1]#1') && a.state === 'COMPLETED') ? true : undefined), 'the notification to be handled');
      const answer = await post(orderMessage('Confirm', 'fp-1', 'by parts'));
      expect(answer.status, answer.text).to.equal(200);
      expect(answer.text).to.match(/<orderId>fp-1<\/orderId><note>none notified fp-1 confirmed by parts<\/note>/);
      expect((await post(orderMessage('Go', 'fp-1'))).status).to.equal(202);
      const view = await finished(server, id);
      expect(view.status, JSON.stringify(view.fault)).to.equal('COMPLETED');
      expect(await variable(server, id, 'note')).to.contain('went fp-1');
    });
  });

  describe('when parts do not fit the WSDL', () => {
    it('refuses the deploy, naming each problem with its line', async () => {
      const wrong = ADD_PROCESS.replace('name="AddByParts"', 'name="AddWrongParts"')
        .replace('<bpel:fromPart part="b" toVariable="b"/>', '<bpel:fromPart part="c" toVariable="b"/>')
        .replace('<bpel:toPart part="sum" fromVariable="sum"/>', '');
      let error: unknown;
      try {
        await server.app.workflow.deploy({ bpel: wrong, documents: new Map([['calc.wsdl', CALC_WSDL]]), bindings: [], deployedBy: 'tester' });
      } catch (err) {
        error = err;
      }
      expect(error).to.be.instanceOf(ProcessDefinitionError);
      expect((error as ProcessDefinitionError).message).to.equal(
        [
          'AddWrongParts:8: activity /process/sequence/receive: <fromPart> part "c" is not a part of message {urn:test:calc}AddIn (its parts: a, b)',
          'AddWrongParts:15: activity /process/sequence/reply: <toParts> gives no <toPart> for part "sum" of message {urn:test:calc}AddOut; every part is given',
        ].join('\n'),
      );
    });
  });
});
