import { expect } from 'chai';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { startTestServer, type TestServer } from '../support/harness';
import { finished, soapEnvelope } from './support';
import { postMessage } from './orders';

const engine = { username: 'planner', password: 'planner-secret-1' };
const NS = 'urn:test:refusals';
const WSDL_NS = 'http://schemas.xmlsoap.org/wsdl/';
const SOAP_BINDING_NS = 'http://schemas.xmlsoap.org/wsdl/soap/';
const SOAP11_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
const SOAP12_NS = 'http://www.w3.org/2003/05/soap-envelope';

const element = (name: string, fields: readonly string[]): string =>
  `<xsd:element name="${name}"><xsd:complexType><xsd:sequence>${fields.map((f) => `<xsd:element name="${f}" type="xsd:string"/>`).join('')}</xsd:sequence></xsd:complexType></xsd:element>`;

/** An order service whose two request-response operations may refuse with the fault `rejected` (a `Rejected` element). */
const REFUSALS_WSDL = `<?xml version="1.0" encoding="utf-8"?>
<wsdl:definitions name="Refusals" targetNamespace="${NS}" xmlns:wsdl="${WSDL_NS}"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:plnk="http://docs.oasis-open.org/wsbpel/2.0/plnktype"
    xmlns:vprop="http://docs.oasis-open.org/wsbpel/2.0/varprop" xmlns:r="${NS}">
  <wsdl:types>
    <xsd:schema targetNamespace="${NS}">
      ${element('Place', ['orderId'])}
      ${element('Placed', ['orderId'])}
      ${element('Confirm', ['orderId'])}
      ${element('Confirmed', ['orderId'])}
      ${element('Rejected', ['orderId', 'reason'])}
    </xsd:schema>
  </wsdl:types>
  <wsdl:message name="PlaceIn"><wsdl:part name="p" element="r:Place"/></wsdl:message>
  <wsdl:message name="PlaceOut"><wsdl:part name="p" element="r:Placed"/></wsdl:message>
  <wsdl:message name="ConfirmIn"><wsdl:part name="p" element="r:Confirm"/></wsdl:message>
  <wsdl:message name="ConfirmOut"><wsdl:part name="p" element="r:Confirmed"/></wsdl:message>
  <wsdl:message name="Rejection"><wsdl:part name="detail" element="r:Rejected"/></wsdl:message>
  <wsdl:portType name="OrderPortType">
    <wsdl:operation name="place"><wsdl:input message="r:PlaceIn"/><wsdl:output message="r:PlaceOut"/><wsdl:fault name="rejected" message="r:Rejection"/></wsdl:operation>
    <wsdl:operation name="confirm"><wsdl:input message="r:ConfirmIn"/><wsdl:output message="r:ConfirmOut"/><wsdl:fault name="rejected" message="r:Rejection"/></wsdl:operation>
  </wsdl:portType>
  <plnk:partnerLinkType name="OrderLink"><plnk:role name="service" portType="r:OrderPortType"/></plnk:partnerLinkType>
  <vprop:property name="orderId" type="xsd:string"/>
  <vprop:propertyAlias propertyName="r:orderId" messageType="r:PlaceIn" part="p"><vprop:query>orderId</vprop:query></vprop:propertyAlias>
  <vprop:propertyAlias propertyName="r:orderId" messageType="r:ConfirmIn" part="p"><vprop:query>orderId</vprop:query></vprop:propertyAlias>
</wsdl:definitions>`;

function refusalProcess(name: string, body: string): string {
  return `<bpel:process name="${name}" targetNamespace="urn:test:p" xmlns:bpel="http://docs.oasis-open.org/wsbpel/2.0/process/executable"
    xmlns:r="${NS}" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
  <bpel:import importType="${WSDL_NS}" namespace="${NS}" location="refusals.wsdl"/>
  <bpel:partnerLinks><bpel:partnerLink name="client" partnerLinkType="r:OrderLink" myRole="service"/></bpel:partnerLinks>
  <bpel:variables>
    <bpel:variable name="place" messageType="r:PlaceIn"/>
    <bpel:variable name="placed" messageType="r:PlaceOut"/>
    <bpel:variable name="confirm" messageType="r:ConfirmIn"/>
    <bpel:variable name="rejection" messageType="r:Rejection"/>
    <bpel:variable name="rejected" element="r:Rejected"/>
  </bpel:variables>
  <bpel:correlationSets><bpel:correlationSet name="order" properties="r:orderId"/></bpel:correlationSets>
  ${body}
</bpel:process>`;
}

/** Fills the `rejection` message with the order's id and a reason. */
const REJECT = (from: string, reason: string): string => `<bpel:assign>
      <bpel:copy><bpel:from><bpel:literal><r:Rejected><orderId/><reason>${reason}</reason></r:Rejected></bpel:literal></bpel:from><bpel:to variable="rejection" part="detail"/></bpel:copy>
      <bpel:copy><bpel:from>$${from}.p/orderId</bpel:from><bpel:to>$rejection.detail/orderId</bpel:to></bpel:copy>
    </bpel:assign>`;

/** Refuses the request that created the instance. */
const REFUSE_AT_START = refusalProcess(
  'RefuseAtStart',
  `<bpel:sequence>
    <bpel:receive name="place" partnerLink="client" operation="place" variable="place" createInstance="yes"/>
    ${REJECT('place', 'out of stock')}
    <bpel:reply name="refuse" partnerLink="client" operation="place" variable="rejection" faultName="r:rejected"/>
  </bpel:sequence>`,
);

/** Refuses the request that created the instance, taken by an onMessage of a creating pick. */
const REFUSE_BY_PICK = refusalProcess(
  'RefuseByPick',
  `<bpel:pick createInstance="yes">
    <bpel:onMessage partnerLink="client" operation="place" variable="place">
      <bpel:sequence>
        ${REJECT('place', 'closed today')}
        <bpel:reply name="refuse" partnerLink="client" operation="place" variable="rejection" faultName="r:rejected"/>
      </bpel:sequence>
    </bpel:onMessage>
  </bpel:pick>`,
);

/** Accepts the order, then refuses its confirmation (a message taken after the instance was created). */
const REFUSE_LATER = refusalProcess(
  'RefuseLater',
  `<bpel:sequence>
    <bpel:receive name="place" partnerLink="client" operation="place" variable="place" createInstance="yes">
      <bpel:correlations><bpel:correlation set="order" initiate="yes"/></bpel:correlations>
    </bpel:receive>
    <bpel:assign><bpel:copy><bpel:from><bpel:literal><r:Placed><orderId/></r:Placed></bpel:literal></bpel:from><bpel:to variable="placed" part="p"/></bpel:copy>
      <bpel:copy><bpel:from>$place.p/orderId</bpel:from><bpel:to>$placed.p/orderId</bpel:to></bpel:copy></bpel:assign>
    <bpel:reply name="accept" partnerLink="client" operation="place" variable="placed"/>
    <bpel:receive name="confirm" partnerLink="client" operation="confirm" variable="confirm">
      <bpel:correlations><bpel:correlation set="order"/></bpel:correlations>
    </bpel:receive>
    ${REJECT('confirm', 'payment declined')}
    <bpel:reply name="refuse" partnerLink="client" operation="confirm" variable="rejection" faultName="r:rejected"/>
  </bpel:sequence>`,
);

/** Refuses the creating request with a fault message built by toParts from an element variable. */
const REFUSE_BY_PARTS = refusalProcess(
  'RefuseByParts',
  `<bpel:sequence>
    <bpel:receive name="place" partnerLink="client" operation="place" variable="place" createInstance="yes"/>
    <bpel:assign>
      <bpel:copy><bpel:from><bpel:literal><r:Rejected><orderId/><reason>no such item</reason></r:Rejected></bpel:literal></bpel:from><bpel:to variable="rejected"/></bpel:copy>
      <bpel:copy><bpel:from>$place.p/orderId</bpel:from><bpel:to>$rejected/orderId</bpel:to></bpel:copy>
    </bpel:assign>
    <bpel:reply name="refuse" partnerLink="client" operation="place" faultName="r:rejected"><bpel:toParts><bpel:toPart part="detail" fromVariable="rejected"/></bpel:toParts></bpel:reply>
  </bpel:sequence>`,
);

const place = (orderId: string): string => `<r:Place xmlns:r="${NS}"><orderId>${orderId}</orderId></r:Place>`;
const confirm = (orderId: string): string => `<r:Confirm xmlns:r="${NS}"><orderId>${orderId}</orderId></r:Confirm>`;

/** The SOAP 1.1 Fault of an answer: its faultcode, faultstring, and the elements its detail holds. */
function soapFault(text: string): { faultcode: string; faultstring: string; detail: Element[] } {
  const doc = new DOMParser().parseFromString(text, 'text/xml');
  const fault = doc.getElementsByTagNameNS(SOAP11_NS, 'Fault')[0];
  expect(fault, `a soap:Fault in ${text}`).to.not.equal(undefined);
  const child = (name: string): Element | undefined => Array.from(fault?.getElementsByTagName(name) ?? [])[0];
  const detail = child('detail');
  expect(detail, `a detail in ${text}`).to.not.equal(undefined);
  const elements: Element[] = [];
  for (let n = detail?.firstChild ?? null; n !== null; n = n.nextSibling) if (n.nodeType === 1) elements.push(n as Element);
  return { faultcode: child('faultcode')?.textContent?.trim() ?? '', faultstring: child('faultstring')?.textContent ?? '', detail: elements };
}

/** The one `Rejected` element a fault's detail carries, as [orderId, reason]. */
function rejection(detail: readonly Element[]): [string | null | undefined, string | null | undefined] {
  expect(detail.map((e) => `{${e.namespaceURI ?? ''}}${e.localName ?? ''}`)).to.deep.equal([`{${NS}}Rejected`]);
  const field = (name: string): string | null | undefined => detail[0]?.getElementsByTagName(name)[0]?.textContent;
  return [field('orderId'), field('reason')];
}

/** The data of an instance's completed reply activity named `name`. */
async function replyData(server: TestServer, instanceId: string, name: string): Promise<Record<string, unknown>> {
  const rows = (await server.dataSource.query("SELECT data FROM activity_instance WHERE instanceId = ? AND kind = 'reply' AND name = ? AND state = 'COMPLETED'", [instanceId, name])) as Array<{ data: string | null }>;
  expect(rows, `the completed reply "${name}"`).to.have.length(1);
  return JSON.parse(rows[0]?.data ?? 'null') as Record<string, unknown>;
}

/** The instance of a process that holds or took a message of an order. */
async function instanceOf(server: TestServer, processName: string): Promise<string> {
  const rows = (await server.dataSource.query('SELECT id FROM process_instance WHERE processName = ? ORDER BY createdAt DESC', [processName])) as Array<{ id: string }>;
  expect(rows, `instances of ${processName}`).to.have.length(1);
  return rows[0]?.id ?? '';
}

describe('a reply with faultName answers its caller with a SOAP Fault carrying the fault message', function () {
  this.timeout(60_000);
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ PROVISOR_WORKFLOW_POLL_MS: '50' });
    await server.addUser(engine.username, 'engine', engine.password);
    for (const bpel of [REFUSE_AT_START, REFUSE_BY_PICK, REFUSE_LATER, REFUSE_BY_PARTS]) {
      await server.app.workflow.deploy({ bpel, documents: new Map([['refusals.wsdl', REFUSALS_WSDL]]), bindings: [], deployedBy: 'tester' });
    }
  });
  after(() => server.close());

  describe('when it answers the request that created the instance', () => {
    it('sends HTTP 500 and a soap:Server Fault naming the fault, not a normal response holding the fault element, and records the fault in the reply\'s row', async () => {
      const { status, text } = await postMessage(server.baseUrl, engine, 'RefuseAtStart', place('o-1'));
      expect(status, text).to.equal(500);
      const fault = soapFault(text);
      expect(fault.faultcode).to.match(/^[\w-]+:Server$/);
      expect(fault.faultstring).to.contain(`{${NS}}rejected`);
      expect(rejection(fault.detail)).to.deep.equal(['o-1', 'out of stock']);
      // Recorded in the reply's row, which is what the endpoint reads the answer from.
      const id = await instanceOf(server, 'RefuseAtStart');
      expect((await finished(server, id)).status).to.equal('COMPLETED');
      expect(await replyData(server, id, 'refuse')).to.include({ replied: true, fault: `{${NS}}rejected` });
    });

    it('sends the Fault when the creating message was taken by an onMessage of a pick', async () => {
      const { status, text } = await postMessage(server.baseUrl, engine, 'RefuseByPick', place('o-2'));
      expect(status, text).to.equal(500);
      expect(rejection(soapFault(text).detail)).to.deep.equal(['o-2', 'closed today']);
      expect(await replyData(server, await instanceOf(server, 'RefuseByPick'), 'refuse')).to.include({ fault: `{${NS}}rejected` });
    });

    it('sends a SOAP 1.2 Receiver Fault, with the part\'s element in its Detail, to a SOAP 1.2 request', async () => {
      const envelope = soapEnvelope(engine, place('o-5')).split(SOAP11_NS).join(SOAP12_NS);
      const response = await fetch(`${server.baseUrl}/soap/processes/RefuseAtStart`, { method: 'POST', headers: { 'content-type': 'application/soap+xml; charset=utf-8' }, body: envelope });
      const text = await response.text();
      expect(response.status, text).to.equal(500);
      const doc = new DOMParser().parseFromString(text, 'text/xml');
      expect(doc.getElementsByTagNameNS(SOAP12_NS, 'Value')[0]?.textContent).to.match(/^[\w-]+:Receiver$/);
      const detail = doc.getElementsByTagNameNS(SOAP12_NS, 'Detail')[0];
      const entries: Element[] = [];
      for (let n = detail?.firstChild ?? null; n !== null; n = n.nextSibling) if (n.nodeType === 1) entries.push(n as Element);
      expect(rejection(entries)).to.deep.equal(['o-5', 'out of stock']);
    });

    it('sends the fault message a toParts builds, and the same Fault again to the request sent again under its MessageID', async () => {
      const messageId = 'urn:uuid:0b6f3a52-7c1e-4d8a-9f20-5e4d3c2b1a09';
      for (const attempt of [1, 2]) {
        const { status, text } = await postMessage(server.baseUrl, engine, 'RefuseByParts', place('o-3'), messageId);
        expect(status, `attempt ${attempt}: ${text}`).to.equal(500);
        expect(rejection(soapFault(text).detail)).to.deep.equal(['o-3', 'no such item']);
      }
      expect(await replyData(server, await instanceOf(server, 'RefuseByParts'), 'refuse')).to.include({ fault: `{${NS}}rejected` });
    });
  });

  describe('when it answers a message taken after the instance was created', () => {
    it('answers the creating request normally, then the later one with the Fault, and records the fault with that message', async () => {
      const placed = await postMessage(server.baseUrl, engine, 'RefuseLater', place('o-4'));
      expect(placed.status, placed.text).to.equal(200);
      expect(placed.text).to.contain('<orderId>o-4</orderId>');
      expect(placed.text).to.not.contain('Fault');
      const { status, text } = await postMessage(server.baseUrl, engine, 'RefuseLater', confirm('o-4'));
      expect(status, text).to.equal(500);
      const fault = soapFault(text);
      expect(fault.faultcode).to.match(/^[\w-]+:Server$/);
      expect(fault.faultstring).to.contain(`{${NS}}rejected`);
      expect(rejection(fault.detail)).to.deep.equal(['o-4', 'payment declined']);
      const id = await instanceOf(server, 'RefuseLater');
      expect((await finished(server, id)).status).to.equal('COMPLETED');
      const stored = (await server.dataSource.query("SELECT reply FROM process_message WHERE instanceId = ? AND operation = 'client/confirm'", [id])) as Array<{ reply: string }>;
      expect(stored.map((s) => (JSON.parse(s.reply) as { fault?: string }).fault)).to.deep.equal([`{${NS}}rejected`]);
      expect(await replyData(server, id, 'refuse')).to.include({ fault: `{${NS}}rejected` });
      expect(await replyData(server, id, 'accept')).to.not.have.property('fault');
    });
  });

  describe('when a client reads ?wsdl', () => {
    it('finds the fault declared for each operation, in the port type and in the binding as a literal soap:fault', async () => {
      const response = await fetch(`${server.baseUrl}/soap/processes/RefuseLater?wsdl`);
      expect(response.status).to.equal(200);
      const text = await response.text();
      const doc = new DOMParser().parseFromString(text, 'text/xml');
      const faultsOf = (parent: string): Array<[string | null, string[]]> =>
        Array.from(doc.getElementsByTagNameNS(WSDL_NS, parent)).flatMap((p) =>
          Array.from(p.getElementsByTagNameNS(WSDL_NS, 'operation')).map((o): [string | null, string[]] => [o.getAttribute('name'), Array.from(o.getElementsByTagNameNS(WSDL_NS, 'fault')).map((f) => f.getAttribute('name') ?? '')]),
        );
      expect(faultsOf('portType')).to.deep.equal([
        ['place', ['rejected']],
        ['confirm', ['rejected']],
      ]);
      expect(faultsOf('binding')).to.deep.equal([
        ['place', ['rejected']],
        ['confirm', ['rejected']],
      ]);
      const soapFaults = Array.from(doc.getElementsByTagNameNS(SOAP_BINDING_NS, 'fault')).map((f) => [f.getAttribute('name'), f.getAttribute('use')]);
      expect(soapFaults).to.deep.equal([
        ['rejected', 'literal'],
        ['rejected', 'literal'],
      ]);
    });
  });
});
