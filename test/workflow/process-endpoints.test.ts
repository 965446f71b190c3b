import { expect } from 'chai';
import { DOMParser } from '@xmldom/xmldom';
import { startTestServer, type TestServer } from '../support/harness';
import { postMessage } from './orders';
import { finished } from './support';

const engine = { username: 'planner', password: 'planner-secret-1' };
const WSDL_NS = 'http://schemas.xmlsoap.org/wsdl/';

/**
 * A port type of a peer engine's style: a document/literal operation whose element is not named like
 * it (`process` takes `QueryRequest`, with unqualified children), and an rpc one of two type parts.
 * The document also has a binding and a service of its own.
 */
const QUERY_WSDL = `<?xml version="1.0" encoding="utf-8"?>
<wsdl:definitions name="Query" targetNamespace="urn:test:query" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    xmlns:plnk="http://docs.oasis-open.org/wsbpel/2.0/plnktype" xmlns:q="urn:test:query">
  <wsdl:types>
    <xsd:schema targetNamespace="urn:test:query">
      <xsd:element name="QueryRequest"><xsd:complexType><xsd:sequence><xsd:element name="value" type="xsd:string"/></xsd:sequence></xsd:complexType></xsd:element>
      <xsd:element name="QueryResponse"><xsd:complexType><xsd:sequence><xsd:element name="echo" type="xsd:string"/><xsd:element name="tag" type="xsd:string"/></xsd:sequence></xsd:complexType></xsd:element>
    </xsd:schema>
  </wsdl:types>
  <wsdl:message name="QueryIn"><wsdl:part name="payload" element="q:QueryRequest"/></wsdl:message>
  <wsdl:message name="QueryOut"><wsdl:part name="payload" element="q:QueryResponse"/></wsdl:message>
  <wsdl:message name="AddIn"><wsdl:part name="a" type="xsd:int"/><wsdl:part name="b" type="xsd:int"/></wsdl:message>
  <wsdl:message name="AddOut"><wsdl:part name="sum" type="xsd:int"/><wsdl:part name="note" type="xsd:string"/></wsdl:message>
  <wsdl:portType name="QueryPortType">
    <wsdl:operation name="process"><wsdl:input message="q:QueryIn"/><wsdl:output message="q:QueryOut"/></wsdl:operation>
    <wsdl:operation name="add"><wsdl:input message="q:AddIn"/><wsdl:output message="q:AddOut"/></wsdl:operation>
  </wsdl:portType>
  <wsdl:binding name="QueryBinding" type="q:QueryPortType">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
  </wsdl:binding>
  <wsdl:service name="QueryService"><wsdl:port name="QueryPort" binding="q:QueryBinding"><soap:address location="http://elsewhere.example/query"/></wsdl:port></wsdl:service>
  <plnk:partnerLinkType name="QueryLink"><plnk:role name="server" portType="q:QueryPortType"/></plnk:partnerLinkType>
</wsdl:definitions>`;

const header = `xmlns:bpel="http://docs.oasis-open.org/wsbpel/2.0/process/executable" xmlns:q="urn:test:query" xmlns:a="urn:test:attr"`;
const imports = `
  <bpel:import importType="http://schemas.xmlsoap.org/wsdl/" namespace="urn:test:query" location="query.wsdl"/>
  <bpel:partnerLinks><bpel:partnerLink name="client" partnerLinkType="q:QueryLink" myRole="server"/></bpel:partnerLinks>`;

/** Answers `process` with the unqualified child's text and the namespaced attribute's value. */
const QUERY_PROCESS = `<bpel:process name="QueryByElement" targetNamespace="urn:test:p" ${header}>${imports}
  <bpel:variables><bpel:variable name="in" messageType="q:QueryIn"/><bpel:variable name="out" messageType="q:QueryOut"/></bpel:variables>
  <bpel:sequence>
    <bpel:receive partnerLink="client" operation="process" variable="in" createInstance="yes"/>
    <bpel:assign>
      <bpel:copy><bpel:from><bpel:literal><q:QueryResponse><echo/><tag/></q:QueryResponse></bpel:literal></bpel:from><bpel:to variable="out" part="payload"/></bpel:copy>
      <bpel:copy><bpel:from>$in.payload/value</bpel:from><bpel:to>$out.payload/echo</bpel:to></bpel:copy>
      <bpel:copy><bpel:from>string($in.payload/@a:tag)</bpel:from><bpel:to>$out.payload/tag</bpel:to></bpel:copy>
    </bpel:assign>
    <bpel:reply partnerLink="client" operation="process" variable="out"/>
  </bpel:sequence>
</bpel:process>`;

/** Answers rpc `add` with both output parts. */
const ADD_PROCESS = `<bpel:process name="AddByRpc" targetNamespace="urn:test:p" ${header}>${imports}
  <bpel:variables><bpel:variable name="in" messageType="q:AddIn"/><bpel:variable name="out" messageType="q:AddOut"/></bpel:variables>
  <bpel:sequence>
    <bpel:receive partnerLink="client" operation="add" variable="in" createInstance="yes"/>
    <bpel:assign>
      <bpel:copy><bpel:from>$in.a + $in.b</bpel:from><bpel:to variable="out" part="sum"/></bpel:copy>
      <bpel:copy><bpel:from>concat($in.a, ' + ', $in.b)</bpel:from><bpel:to variable="out" part="note"/></bpel:copy>
    </bpel:assign>
    <bpel:reply partnerLink="client" operation="add" variable="out"/>
  </bpel:sequence>
</bpel:process>`;

describe('process endpoints map messages as their WSDL says', function () {
  this.timeout(60_000);
  let server: TestServer;

  before(async () => {
    // The invoke tests call this server's own process endpoints as remote partners.
    server = await startTestServer({ PROVISOR_WORKFLOW_POLL_MS: '50', PROVISOR_OUTBOUND_ALLOW_OWN_PORTS: 'true' });
    await server.addUser(engine.username, 'engine', engine.password);
    for (const bpel of [QUERY_PROCESS, ADD_PROCESS]) {
      await server.app.workflow.deploy({ bpel, documents: new Map([['query.wsdl', QUERY_WSDL]]), bindings: [], deployedBy: 'tester' });
    }
  });
  after(() => server.close());

  const post = (processName: string, body: string): Promise<{ status: number; text: string }> => postMessage(server.baseUrl, engine, processName, body);

  describe('when the operation is document/literal with an element not named like it', () => {
    it('chooses the operation by the element its input part names, keeping unqualified children and namespaced attributes', async () => {
      const { status, text } = await post('QueryByElement', '<q:QueryRequest xmlns:q="urn:test:query" xmlns:x="urn:test:attr" x:tag="blue"><value>hello</value></q:QueryRequest>');
      expect(status, text).to.equal(200);
      const body = new DOMParser().parseFromString(text, 'text/xml').getElementsByTagNameNS('urn:test:query', 'QueryResponse')[0];
      expect(body, text).to.not.equal(undefined);
      const children = Array.from({ length: body?.childNodes.length ?? 0 }, (_, i) => body?.childNodes.item(i)).filter((n) => n?.nodeType === 1);
      expect(children.map((c) => [c?.namespaceURI ?? null, c?.localName, c?.textContent])).to.deep.equal([
        [null, 'echo', 'hello'],
        [null, 'tag', 'blue'],
      ]);
    });

    it('refuses a body element that is no operation\'s input as the client\'s fault, naming what it takes', async () => {
      const { status, text } = await post('QueryByElement', '<q:process xmlns:q="urn:test:query"><value>x</value></q:process>');
      expect(status).to.equal(500);
      expect(text).to.contain('Client');
      expect(text).to.contain('{urn:test:query}process is not the input of an operation');
      expect(text).to.contain('{urn:test:query}QueryRequest for process');
    });
  });

  describe('when the operation is rpc/literal with several parts', () => {
    it('takes every part from its accessor and answers every part in the response wrapper', async () => {
      const { status, text } = await post('AddByRpc', '<q:add xmlns:q="urn:test:query"><a>2</a><b>3</b></q:add>');
      expect(status, text).to.equal(200);
      expect(text).to.match(/<pv:addResponse xmlns:pv="urn:test:query"><sum>5<\/sum><note>2 \+ 3<\/note><\/pv:addResponse>/);
    });

    it('refuses a missing part or an unknown accessor, naming it', async () => {
      const missing = await post('AddByRpc', '<q:add xmlns:q="urn:test:query"><a>2</a></q:add>');
      expect(missing.status).to.equal(500);
      expect(missing.text).to.contain('part &quot;b&quot; of its input is missing');
      const unknown = await post('AddByRpc', '<q:add xmlns:q="urn:test:query"><a>2</a><b>3</b><c>4</c></q:add>');
      expect(unknown.text).to.contain('{}c, which is not a part of its input (a, b)');
      expect(unknown.text).to.contain('Client');
    });
  });

  describe('when a plan invokes a remote rpc operation of two parts, and a document one whose part is not "parameters"', () => {
    it('sends every part and reads every part of the answers', async () => {
      const bpel = `<bpel:process name="CallsPeers" targetNamespace="urn:test:p" ${header} xmlns:xsd="http://www.w3.org/2001/XMLSchema">
  <bpel:import importType="http://schemas.xmlsoap.org/wsdl/" namespace="urn:test:query" location="query.wsdl"/>
  <bpel:partnerLinks>
    <bpel:partnerLink name="adder" partnerLinkType="q:QueryLink" partnerRole="server"/>
    <bpel:partnerLink name="querier" partnerLinkType="q:QueryLink" partnerRole="server"/>
  </bpel:partnerLinks>
  <bpel:variables>
    <bpel:variable name="addIn" messageType="q:AddIn"/><bpel:variable name="addOut" messageType="q:AddOut"/>
    <bpel:variable name="queryIn" messageType="q:QueryIn"/><bpel:variable name="queryOut" messageType="q:QueryOut"/>
    <bpel:variable name="sum" type="xsd:int"/><bpel:variable name="note" type="xsd:string"/><bpel:variable name="echo" type="xsd:string"/>
  </bpel:variables>
  <bpel:sequence>
    <bpel:assign>
      <bpel:copy><bpel:from>40</bpel:from><bpel:to variable="addIn" part="a"/></bpel:copy>
      <bpel:copy><bpel:from>2</bpel:from><bpel:to variable="addIn" part="b"/></bpel:copy>
      <bpel:copy><bpel:from><bpel:literal><q:QueryRequest a:tag="green"><value>ping</value></q:QueryRequest></bpel:literal></bpel:from><bpel:to variable="queryIn" part="payload"/></bpel:copy>
    </bpel:assign>
    <bpel:invoke partnerLink="adder" operation="add" inputVariable="addIn" outputVariable="addOut"/>
    <bpel:invoke partnerLink="querier" operation="process" inputVariable="queryIn" outputVariable="queryOut"/>
    <bpel:assign>
      <bpel:copy><bpel:from>$addOut.sum</bpel:from><bpel:to variable="sum"/></bpel:copy>
      <bpel:copy><bpel:from>$addOut.note</bpel:from><bpel:to variable="note"/></bpel:copy>
      <bpel:copy><bpel:from>concat($queryOut.payload/echo, '/', $queryOut.payload/tag)</bpel:from><bpel:to variable="echo"/></bpel:copy>
    </bpel:assign>
  </bpel:sequence>
</bpel:process>`;
      const peer = (processName: string, partnerLink: string): { partnerLink: string; address: string; username: string; password: string } => ({
        partnerLink,
        address: `${server.baseUrl}/soap/processes/${processName}`,
        username: engine.username,
        password: engine.password,
      });
      const { name } = await server.app.workflow.deploy({ bpel, documents: new Map([['query.wsdl', QUERY_WSDL]]), bindings: [peer('AddByRpc', 'adder'), peer('QueryByElement', 'querier')], deployedBy: 'tester' });
      const id = await server.app.workflow.start(name, undefined, 'tester');
      const view = await finished(server, id);
      expect(view.status, JSON.stringify(view.fault)).to.equal('COMPLETED');
      const status = await server.app.workflow.status(id, undefined, { includeVariables: true });
      const values = new Map((status.variables ?? []).map((v) => [v.name, v.value]));
      expect(values.get('sum')).to.equal('42');
      expect(values.get('note')).to.equal('40 + 2');
      expect(values.get('echo')).to.equal('ping/green');
    });
  });

  describe('when a client reads ?wsdl', () => {
    it('gets one binding and one service, addressed here, with each operation\'s style', async () => {
      const text = await (await fetch(`${server.baseUrl}/soap/processes/AddByRpc?wsdl`)).text();
      const doc = new DOMParser().parseFromString(text, 'text/xml');
      expect(doc.getElementsByTagNameNS(WSDL_NS, 'service').length).to.equal(1);
      expect(doc.getElementsByTagNameNS(WSDL_NS, 'binding').length).to.equal(1);
      const address = doc.getElementsByTagNameNS('http://schemas.xmlsoap.org/wsdl/soap/', 'address')[0];
      expect(address?.getAttribute('location')).to.equal(`${server.baseUrl}/soap/processes/AddByRpc`);
      const styles = Array.from(doc.getElementsByTagNameNS('http://schemas.xmlsoap.org/wsdl/soap/', 'operation')).map((o) => o.getAttribute('style'));
      expect(styles).to.deep.equal(['document', 'rpc']);
    });
  });
});
