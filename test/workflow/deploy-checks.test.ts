import { expect } from 'chai';
import { partnersWsdl, PARTNERS_WSDL_NAME } from '../../scripts/demo/two-websites';
import { ProcessDefinitionError } from '../../src/bpel/model';
import { startTestServer, type TestServer } from '../support/harness';
import { finished } from './support';

/** A WSDL written with a default namespace: its QNames (`element="Ping"`, `message="PingRequest"`) have no prefix. */
const DEFAULT_NS_WSDL = `<?xml version="1.0" encoding="utf-8"?>
<wsdl:definitions name="Ping" targetNamespace="urn:test:ping" xmlns="urn:test:ping" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:plnk="http://docs.oasis-open.org/wsbpel/2.0/plnktype">
  <wsdl:types>
    <xsd:schema targetNamespace="urn:test:ping" elementFormDefault="qualified">
      <xsd:element name="Ping" type="xsd:string"/>
    </xsd:schema>
  </wsdl:types>
  <wsdl:message name="PingRequest"><wsdl:part name="parameters" element="Ping"/></wsdl:message>
  <wsdl:portType name="PingPortType">
    <wsdl:operation name="Ping"><wsdl:input message="PingRequest"/></wsdl:operation>
  </wsdl:portType>
  <plnk:partnerLinkType name="PingLink"><plnk:role name="service" portType="PingPortType"/></plnk:partnerLinkType>
</wsdl:definitions>`;

const header = `xmlns:bpel="http://docs.oasis-open.org/wsbpel/2.0/process/executable" xmlns:p="urn:test:ping" xmlns:xsd="http://www.w3.org/2001/XMLSchema"`;

describe('deploying a process', function () {
  this.timeout(60_000);
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ PROVISOR_WORKFLOW_POLL_MS: '50' });
  });
  after(() => server.close());

  async function deploy(bpel: string, documents: ReadonlyMap<string, string> = new Map([[PARTNERS_WSDL_NAME, partnersWsdl()]])): Promise<string> {
    return (await server.app.workflow.deploy({ bpel, documents, bindings: [], deployedBy: 'tester' })).name;
  }

  async function problems(bpel: string, documents?: ReadonlyMap<string, string>): Promise<string[]> {
    try {
      await deploy(bpel, documents);
    } catch (err) {
      if (err instanceof ProcessDefinitionError) return err.diagnostics.map((d) => `${d.line}: ${d.message}`);
      throw err;
    }
    return expect.fail('the process deployed');
  }

  describe('when a WSDL writes its QNames under a default namespace', () => {
    it('resolves them in that namespace: the partner link type, port type and message are found', async () => {
      const name = await deploy(
        `<bpel:process name="PingByDefault" targetNamespace="urn:test:p" ${header}>
  <bpel:import importType="http://schemas.xmlsoap.org/wsdl/" namespace="urn:test:ping" location="ping.wsdl"/>
  <bpel:partnerLinks><bpel:partnerLink name="client" partnerLinkType="p:PingLink" myRole="service"/></bpel:partnerLinks>
  <bpel:variables><bpel:variable name="ping" element="p:Ping"/></bpel:variables>
  <bpel:receive partnerLink="client" operation="Ping" variable="ping" createInstance="yes"/>
</bpel:process>`,
        new Map([['ping.wsdl', DEFAULT_NS_WSDL]]),
      );
      expect(name).to.equal('PingByDefault');
    });

    it('still refuses an element variable of another element, naming the default-namespace element', async () => {
      const found = await problems(
        `<bpel:process name="PingWrong" targetNamespace="urn:test:p" ${header}>
  <bpel:import importType="http://schemas.xmlsoap.org/wsdl/" namespace="urn:test:ping" location="ping.wsdl"/>
  <bpel:partnerLinks><bpel:partnerLink name="client" partnerLinkType="p:PingLink" myRole="service"/></bpel:partnerLinks>
  <bpel:variables><bpel:variable name="ping" element="p:Pong"/></bpel:variables>
  <bpel:receive partnerLink="client" operation="Ping" variable="ping" createInstance="yes"/>
</bpel:process>`,
        new Map([['ping.wsdl', DEFAULT_NS_WSDL]]),
      );
      expect(found).to.deep.equal([
        '5: activity /process/receive: variable "ping" holds element {urn:test:ping}Pong, but the operation\'s input {urn:test:ping}PingRequest is element {urn:test:ping}Ping',
      ]);
    });
  });

  describe('when a document has problems of several kinds', () => {
    it('reports the parser\'s and the static checks\' problems together, each once', async () => {
      const found = await problems(`<bpel:process name="ManyProblems" targetNamespace="urn:test:p" ${header}>
  <bpel:variables><bpel:variable name="x" type="xsd:string"/></bpel:variables>
  <bpel:sequence>
    <bpel:validate variables="x"/>
    <bpel:assign><bpel:copy><bpel:from variable="missing"/><bpel:to variable="x"/></bpel:copy></bpel:assign>
    <bpel:rethrow/>
    <bpel:wait/>
  </bpel:sequence>
</bpel:process>`);
      expect(found).to.deep.equal([
        '4: <validate> is not supported by Provisor (line 4); see docs/bpel.md',
        '5: activity /process/sequence/assign: <from> variable "missing" is not a declared variable in scope',
        '6: activity /process/sequence/rethrow: <rethrow> is only allowed in a fault handler (<catch> or <catchAll>)',
        '7: <wait> needs <for> or <until> (line 7)',
      ]);
    });

    it('goes on with the checks that need no WSDL when an import cannot be resolved', async () => {
      const found = await problems(`<bpel:process name="NoWsdl" targetNamespace="urn:test:p" ${header}>
  <bpel:import importType="http://schemas.xmlsoap.org/wsdl/" namespace="urn:nowhere" location="nowhere.wsdl"/>
  <bpel:sequence><bpel:rethrow/></bpel:sequence>
</bpel:process>`);
      expect(found).to.deep.equal([
        '2: import nowhere.wsdl is neither a document sent with the process nor one of Provisor\'s WSDLs',
        '3: activity /process/sequence/rethrow: <rethrow> is only allowed in a fault handler (<catch> or <catchAll>)',
      ]);
    });
  });

  describe('when a plan uses an extension declared mustUnderstand="no"', () => {
    it('runs its extensionActivity as empty, links through it included', async () => {
      const name = await deploy(`<bpel:process name="WithExtension" targetNamespace="urn:test:p" ${header} xmlns:ext="urn:ext" ext:origin="designer">
  <bpel:extensions><bpel:extension namespace="urn:ext" mustUnderstand="no"/></bpel:extensions>
  <bpel:flow>
    <bpel:links><bpel:link name="l"/></bpel:links>
    <bpel:extensionActivity><ext:notify name="tell"><bpel:sources><bpel:source linkName="l"/></bpel:sources></ext:notify></bpel:extensionActivity>
    <bpel:empty name="after"><bpel:targets><bpel:target linkName="l"/></bpel:targets></bpel:empty>
  </bpel:flow>
</bpel:process>`);
      const id = await server.app.workflow.start(name, undefined, 'tester');
      const view = await finished(server, id);
      expect(view.status).to.equal('COMPLETED');
      expect(view.activities.filter((a) => a.name === 'tell' || a.name === 'after').map((a) => [a.name, a.kind, a.state])).to.have.deep.members([
        ['tell', 'empty', 'COMPLETED'],
        ['after', 'empty', 'COMPLETED'],
      ]);
      expect(view.links).to.deep.equal([{ key: '/process/flow~l', status: true }]);
    });
  });
});
