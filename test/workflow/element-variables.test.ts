import { expect } from 'chai';
import type * as soap from 'soap';
import { partnersWsdl, PARTNERS_WSDL_NAME } from '../../scripts/demo/two-websites';
import { ProcessDefinitionError } from '../../src/bpel/model';
import { deserializeValue } from '../../src/bpel/xpath';
import { messageValue } from '../../src/bpel/variable-value';
import { parseElement } from '../../src/xml/dom';
import { startTestServer, type TestServer } from '../support/harness';
import { call, soapClient } from '../support/soap-client';
import { finished, soapEnvelope } from './support';

const engine = { username: 'planner', password: 'planner-secret-1' };

const SOFTWARE_OPERATIONS = ['Install', 'Uninstall', 'Update', 'Rollback', 'InitialConfigure', 'Configure', 'Start', 'Stop'] as const;
const REQUEST_OPERATIONS = ['GetStatus', 'GetStartTime', 'GetDuration'] as const;

const HEADER = `xmlns:bpel="http://docs.oasis-open.org/wsbpel/2.0/process/executable"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:sw="urn:provisor:software:1" xmlns:rq="urn:provisor:request:1"
    xmlns:fl="urn:provisor:file:1" xmlns:pl="urn:provisor:examples:partners" xmlns:t="urn:test:run"`;

const LINKS = `
  <bpel:import importType="http://schemas.xmlsoap.org/wsdl/" namespace="urn:provisor:examples:partners" location="${PARTNERS_WSDL_NAME}"/>
  <bpel:import importType="http://schemas.xmlsoap.org/wsdl/" namespace="urn:test:run" location="run.wsdl"/>
  <bpel:partnerLinks>
    <bpel:partnerLink name="client" partnerLinkType="t:RunLink" myRole="service"/>
    <bpel:partnerLink name="software" partnerLinkType="pl:Software" partnerRole="provider"/>
    <bpel:partnerLink name="files" partnerLinkType="pl:File" partnerRole="provider"/>
    <bpel:partnerLink name="requests" partnerLinkType="pl:Request" partnerRole="provider"/>
  </bpel:partnerLinks>`;

/** The process's own port type: Run (request-response, document/literal) and a two-part message for the refusals. */
const RUN_WSDL = `<?xml version="1.0" encoding="utf-8"?>
<wsdl:definitions name="Run" targetNamespace="urn:test:run" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:plnk="http://docs.oasis-open.org/wsbpel/2.0/plnktype" xmlns:t="urn:test:run">
  <wsdl:types>
    <xsd:schema targetNamespace="urn:test:run" elementFormDefault="qualified">
      <xsd:element name="Run"><xsd:complexType><xsd:sequence><xsd:element name="system" type="xsd:string"/></xsd:sequence></xsd:complexType></xsd:element>
      <xsd:element name="RunResponse"><xsd:complexType><xsd:sequence><xsd:element name="requestId" type="xsd:string"/></xsd:sequence></xsd:complexType></xsd:element>
    </xsd:schema>
  </wsdl:types>
  <wsdl:message name="RunRequest"><wsdl:part name="parameters" element="t:Run"/></wsdl:message>
  <wsdl:message name="RunResponse"><wsdl:part name="parameters" element="t:RunResponse"/></wsdl:message>
  <wsdl:message name="TwoParts"><wsdl:part name="a" element="t:Run"/><wsdl:part name="b" type="xsd:string"/></wsdl:message>
  <wsdl:portType name="RunPortType">
    <wsdl:operation name="Run"><wsdl:input message="t:RunRequest"/><wsdl:output message="t:RunResponse"/></wsdl:operation>
    <wsdl:operation name="Pair"><wsdl:input message="t:TwoParts"/><wsdl:output message="t:RunResponse"/></wsdl:operation>
  </wsdl:portType>
  <plnk:partnerLinkType name="RunLink"><plnk:role name="service" portType="t:RunPortType"/></plnk:partnerLinkType>
</wsdl:definitions>`;

/** An invoke of `operation` with element variables `<prefix>In`/`<prefix>Out`, its input built from `fields`. */
function step(prefix: string, operation: string, ns: 'sw' | 'fl' | 'rq', link: string, fields: string): { variables: string; activities: string } {
  return {
    variables: `<bpel:variable name="${prefix}In" element="${ns}:${operation}"/><bpel:variable name="${prefix}Out" element="${ns}:${operation}Response"/>`,
    activities: `
    <bpel:assign name="${prefix}Prepare">
      <bpel:copy><bpel:from><bpel:literal><${ns}:${operation}>${fields}</${ns}:${operation}></bpel:literal></bpel:from><bpel:to variable="${prefix}In"/></bpel:copy>
    </bpel:assign>
    <bpel:invoke name="${prefix}" partnerLink="${link}" operation="${operation}" inputVariable="${prefix}In" outputVariable="${prefix}Out"/>`,
  };
}

/** A plan started by Run that invokes every Provisor operation with element variables and replies the first requestId. */
function everyOperationPlan(): string {
  const steps = [
    ...SOFTWARE_OPERATIONS.map((op) => step(`sw${op}`, op, 'sw', 'software', '<sw:system/><sw:component>db</sw:component>')),
    step('flCopy', 'Copy', 'fl', 'files', '<fl:sourcePath>a.txt</fl:sourcePath><fl:targetSystem>sim1</fl:targetSystem><fl:targetPath>b.txt</fl:targetPath>'),
    step('flDelete', 'Delete', 'fl', 'files', '<fl:system>sim1</fl:system><fl:path>b.txt</fl:path>'),
    ...REQUEST_OPERATIONS.map((op) => step(`rq${op}`, op, 'rq', 'requests', '<rq:requestId/>')),
  ];
  // Each software step's system comes from the received element; each request step's requestId from the first install.
  const withSystem = steps.map((s, i) =>
    i < SOFTWARE_OPERATIONS.length
      ? { ...s, activities: s.activities.replace('</bpel:assign>', `<bpel:copy><bpel:from>$run/t:system</bpel:from><bpel:to>$sw${SOFTWARE_OPERATIONS[i]}In/sw:system</bpel:to></bpel:copy></bpel:assign>`) }
      : s.activities.includes('<rq:requestId/>')
        ? { ...s, activities: s.activities.replace('</bpel:assign>', `<bpel:copy><bpel:from>$swInstallOut/sw:requestId</bpel:from><bpel:to>$${/name="(rq\w+)Prepare"/.exec(s.activities)?.[1]}In/rq:requestId</bpel:to></bpel:copy></bpel:assign>`) }
        : s,
  );
  return `<?xml version="1.0" encoding="utf-8"?>
<bpel:process name="EveryOperation" targetNamespace="urn:test:every" ${HEADER}>${LINKS}
  <bpel:variables>
    <bpel:variable name="run" element="t:Run"/>
    <bpel:variable name="done" element="t:RunResponse"/>
    ${withSystem.map((s) => s.variables).join('\n    ')}
  </bpel:variables>
  <bpel:sequence>
    <bpel:receive name="start" partnerLink="client" operation="Run" variable="run" createInstance="yes"/>
    ${withSystem.map((s) => s.activities).join('')}
    <bpel:assign name="answer">
      <bpel:copy><bpel:from><bpel:literal><t:RunResponse><t:requestId/></t:RunResponse></bpel:literal></bpel:from><bpel:to variable="done"/></bpel:copy>
      <bpel:copy><bpel:from>$swInstallOut/sw:requestId</bpel:from><bpel:to>$done/t:requestId</bpel:to></bpel:copy>
    </bpel:assign>
    <bpel:reply name="reply" partnerLink="client" operation="Run" variable="done"/>
  </bpel:sequence>
</bpel:process>`;
}

const DOCUMENTS = (): Map<string, string> => new Map([[PARTNERS_WSDL_NAME, partnersWsdl()], ['run.wsdl', RUN_WSDL]]);

describe('plans with element variables (WS-BPEL SA00048, SA00058)', function () {
  this.timeout(60_000);
  let server: TestServer;
  let workflow: soap.Client;

  before(async () => {
    server = await startTestServer({ PROVISOR_WORKFLOW_POLL_MS: '50', PROVISOR_SIMULATED_MIN_MS: '20', PROVISOR_SIMULATED_MAX_MS: '20' });
    await server.addUser(engine.username, 'engine', engine.password);
    await server.app.systems.add('sim1', 'simulated');
    workflow = await soapClient(server.baseUrl, 'Workflow', engine);
  });
  after(() => server.close());

  async function deployText(bpel: string): Promise<string> {
    return (await server.app.workflow.deploy({ bpel, documents: DOCUMENTS(), bindings: [], deployedBy: 'tester' })).name;
  }

  async function refusal(bpel: string): Promise<string> {
    try {
      await deployText(bpel);
    } catch (err) {
      if (err instanceof ProcessDefinitionError) return err.message;
      throw err;
    }
    return expect.fail('the plan deployed');
  }

  describe('when a plan receives, invokes every Provisor operation and replies with element variables', () => {
    it('deploys, runs, stores each output as its element and replies with the element', async () => {
      const name = await deployText(everyOperationPlan());
      const input = messageValue({ parameters: parseElement('<t:Run xmlns:t="urn:test:run"><t:system>sim1</t:system></t:Run>') });
      const id = await server.app.workflow.start(name, input, 'tester');
      const reply = await server.app.workflow.awaitReply(id, 20_000);
      expect(reply.status).to.equal('REPLIED');
      const view = await finished(server, id);
      expect(view.status, JSON.stringify(view.fault)).to.equal('COMPLETED');

      // The received element, as the element variable's value.
      const rows = (await server.dataSource.query("SELECT name, value FROM process_variable WHERE instanceId = ? AND scopeKey = '/process'", [id])) as Array<{ name: string; value: string }>;
      const stored = new Map(rows.map((r) => [r.name, deserializeValue(r.value)]));
      const run = stored.get('run');
      expect(run?.kind).to.equal('element');
      // Each output is the response element itself, not a message.
      for (const op of SOFTWARE_OPERATIONS) {
        const out = stored.get(`sw${op}Out`);
        expect(out?.kind, op).to.equal('element');
        if (out?.kind === 'element') expect(out.element.localName).to.equal(`${op}Response`);
      }
      const duration = stored.get('rqGetDurationOut');
      expect(duration?.kind === 'element' ? duration.element.localName : undefined).to.equal('GetDurationResponse');

      // One provisioning request per software and file operation, each named by its invoke in the status.
      const requests = (await server.dataSource.query("SELECT id, operation FROM provisioning_request WHERE systemName = 'sim1'")) as Array<{ id: string; operation: string }>;
      expect(requests.map((r) => r.operation).sort()).to.deep.equal([...SOFTWARE_OPERATIONS, 'Copy', 'Delete'].sort());
      for (const r of requests) {
        const invoke = view.activities.find((a) => a.kind === 'invoke' && a.requestId === String(r.id));
        expect(invoke, `the invoke of ${r.operation}`).to.not.equal(undefined);
      }
      // Request operations answer no requestId of their own.
      expect(view.activities.find((a) => a.name === 'rqGetStatus')?.requestId).to.equal(undefined);
      const installId = requests.find((r) => r.operation === 'Install')?.id;
      expect(reply.status === 'REPLIED' ? reply.xml : '').to.contain(`<t:requestId>${installId}</t:requestId>`);
    });

    it('answers over the process endpoint with the reply element', async () => {
      await deployText(everyOperationPlan());
      const response = await fetch(`${server.baseUrl}/soap/processes/EveryOperation`, {
        method: 'POST',
        headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: 'urn:test:run#Run' },
        body: soapEnvelope(engine, '<t:Run xmlns:t="urn:test:run"><t:system>sim1</t:system></t:Run>'),
      });
      const text = await response.text();
      expect(response.status, text).to.equal(200);
      expect(text).to.match(/<t:RunResponse[^>]*><t:requestId>[^<]+<\/t:requestId><\/t:RunResponse>/);
    });
  });

  describe('when an element variable does not fit the operation', () => {
    const refusing = (variables: string, activity: string, receive = '<bpel:receive partnerLink="client" operation="Run" createInstance="yes"/>'): string => `<?xml version="1.0" encoding="utf-8"?>
<bpel:process name="Refused" targetNamespace="urn:test:refused" ${HEADER}>${LINKS}
  <bpel:variables>${variables}</bpel:variables>
  <bpel:sequence>
    ${receive}
    ${activity}
  </bpel:sequence>
</bpel:process>`;

    it('refuses an element of the wrong type, naming both elements', async () => {
      const message = await refusal(refusing('<bpel:variable name="wrong" element="sw:Uninstall"/><bpel:variable name="out" element="sw:InstallResponse"/>', '<bpel:invoke partnerLink="software" operation="Install" inputVariable="wrong" outputVariable="out"/>'));
      expect(message).to.contain('inputVariable "wrong" holds element {urn:provisor:software:1}Uninstall');
      expect(message).to.contain('is element {urn:provisor:software:1}Install');
    });

    it('refuses a wrong output element, and a wrong reply element', async () => {
      const message = await refusal(
        refusing(
          '<bpel:variable name="in" element="sw:Install"/><bpel:variable name="out" element="sw:StopResponse"/><bpel:variable name="answer" element="t:Run"/>',
          '<bpel:invoke partnerLink="software" operation="Install" inputVariable="in" outputVariable="out"/><bpel:reply partnerLink="client" operation="Run" variable="answer"/>',
        ),
      );
      expect(message).to.contain('outputVariable "out" holds element {urn:provisor:software:1}StopResponse, but the operation\'s output {urn:provisor:software:1}InstallResponse is element {urn:provisor:software:1}InstallResponse');
      expect(message).to.contain('variable "answer" holds element {urn:test:run}Run, but the operation\'s output {urn:test:run}RunResponse is element {urn:test:run}RunResponse');
    });

    it('refuses an element variable for a message of two parts', async () => {
      const message = await refusal(refusing('<bpel:variable name="pair" element="t:Run"/>', '<bpel:empty/>', '<bpel:receive partnerLink="client" operation="Pair" variable="pair" createInstance="yes"/>'));
      expect(message).to.contain('variable "pair" is an element variable, but the operation\'s input {urn:test:run}TwoParts has 2 parts');
    });

    it('refuses a simple-typed variable as an invoke input', async () => {
      const message = await refusal(refusing('<bpel:variable name="text" type="xsd:string"/>', '<bpel:invoke partnerLink="software" operation="Install" inputVariable="text"/>'));
      expect(message).to.contain('inputVariable "text" must be a message variable (messageType=…) or an element variable (element=…)');
    });
  });

  describe('when GetProcessStatus is asked about an instance', () => {
    it('gives each invoke\'s requestId, the link statuses, a scope ended by a handled fault, and the variables on request', async () => {
      const bpel = `<?xml version="1.0" encoding="utf-8"?>
<bpel:process name="Followed" targetNamespace="urn:test:followed" suppressJoinFailure="yes" ${HEADER}>${LINKS.replace(/\s*<bpel:partnerLink name="client"[^>]*>/, '').replace(/\s*<bpel:import[^>]*run\.wsdl"\/>/, '')}
  <bpel:variables>
    <bpel:variable name="in" element="sw:Install"/><bpel:variable name="out" element="sw:InstallResponse"/>
    <bpel:variable name="note" type="xsd:string"><bpel:from>'plain text'</bpel:from></bpel:variable>
  </bpel:variables>
  <bpel:flow>
    <bpel:links><bpel:link name="installed"/><bpel:link name="never"/></bpel:links>
    <bpel:sequence name="install">
      <bpel:sources><bpel:source linkName="installed"/><bpel:source linkName="never"><bpel:transitionCondition>false()</bpel:transitionCondition></bpel:source></bpel:sources>
      <bpel:assign><bpel:copy><bpel:from><bpel:literal><sw:Install><sw:system>sim1</sw:system><sw:component>followed</sw:component></sw:Install></bpel:literal></bpel:from><bpel:to variable="in"/></bpel:copy></bpel:assign>
      <bpel:invoke name="installIt" partnerLink="software" operation="Install" inputVariable="in" outputVariable="out"/>
    </bpel:sequence>
    <bpel:scope name="handled">
      <bpel:targets><bpel:target linkName="installed"/></bpel:targets>
      <bpel:faultHandlers><bpel:catchAll><bpel:empty name="swallowed"/></bpel:catchAll></bpel:faultHandlers>
      <bpel:throw faultName="t:broken"/>
    </bpel:scope>
    <bpel:scope name="normal">
      <bpel:targets><bpel:target linkName="never"/></bpel:targets>
      <bpel:empty/>
    </bpel:scope>
  </bpel:flow>
</bpel:process>`;
      const name = await deployText(bpel);
      const { instanceId } = await call<{ instanceId: string }>(workflow, 'StartProcess', { processName: name });
      await finished(server, instanceId);
      interface Answer {
        status: string;
        activity: Array<{ path: string; kind: string; name?: string; state: string; requestId?: string; handledFault?: string }>;
        link?: Array<{ path: string; status: boolean }>;
        variable?: Array<{ scope: string; name: string; value: string }>;
      }
      const plain = await call<Answer>(workflow, 'GetProcessStatus', { instanceId });
      expect(plain.status).to.equal('COMPLETED');
      expect(plain.variable, 'variables only on request').to.equal(undefined);
      const [request] = (await server.dataSource.query("SELECT id FROM provisioning_request WHERE component = 'followed'")) as Array<{ id: string }>;
      expect(plain.activity.find((a) => a.name === 'installIt')?.requestId).to.equal(String(request?.id));
      const handled = plain.activity.find((a) => a.name === 'handled');
      expect(handled?.state).to.equal('COMPLETED');
      expect(handled?.handledFault).to.equal('{urn:test:run}broken');
      // The scope skipped by dead-path elimination, and one that ran normally, carry no handled fault.
      expect(plain.activity.filter((a) => a.kind === 'scope' && a.name !== 'handled').every((a) => a.handledFault === undefined)).to.equal(true);
      expect(plain.link).to.deep.equal([
        { path: '/process/flow~installed', status: true },
        { path: '/process/flow~never', status: false },
      ]);

      const detailed = await call<Answer>(workflow, 'GetProcessStatus', { instanceId, includeVariables: true });
      const byName = new Map((detailed.variable ?? []).map((v) => [v.name, v]));
      expect(byName.get('note')).to.deep.include({ scope: '/process', value: 'plain text' });
      expect(byName.get('out')?.value).to.match(/^<[\w-]*:?InstallResponse[^>]*>.*requestId.*<\/[\w-]*:?InstallResponse>$/s);
      expect(byName.get('in')?.value).to.contain('followed');
    });

    it('refuses an includeVariables that is not a boolean, naming the field', async () => {
      const error = await call(workflow, 'GetProcessStatus', { instanceId: 'x', includeVariables: 'maybe' }).then(
        () => undefined,
        (err: unknown) => String((err as { body?: unknown }).body ?? err),
      );
      expect(error).to.contain('includeVariables');
      expect(error).to.match(/Client|Sender/);
    });
  });
});
