import { expect } from 'chai';
import * as soap from 'soap';
import { partnersWsdl, PARTNERS_WSDL_NAME } from '../../scripts/demo/two-websites';
import { eventually, startTestServer, type TestServer } from '../support/harness';
import { call, soapClient } from '../support/soap-client';
import { plan } from './support';

const engine = { username: 'planner', password: 'planner-secret-1' };

const ECHO_WSDL = `<?xml version="1.0" encoding="utf-8"?>
<wsdl:definitions name="Echo" targetNamespace="urn:test:echo" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:plnk="http://docs.oasis-open.org/wsbpel/2.0/plnktype" xmlns:e="urn:test:echo">
  <wsdl:types>
    <xsd:schema targetNamespace="urn:test:echo" elementFormDefault="qualified">
      <xsd:element name="Echo"><xsd:complexType><xsd:sequence><xsd:element name="text" type="xsd:string"/></xsd:sequence></xsd:complexType></xsd:element>
      <xsd:element name="EchoResponse"><xsd:complexType><xsd:sequence><xsd:element name="text" type="xsd:string"/></xsd:sequence></xsd:complexType></xsd:element>
    </xsd:schema>
  </wsdl:types>
  <wsdl:message name="EchoRequest"><wsdl:part name="parameters" element="e:Echo"/></wsdl:message>
  <wsdl:message name="EchoResponse"><wsdl:part name="parameters" element="e:EchoResponse"/></wsdl:message>
  <wsdl:portType name="EchoPortType">
    <wsdl:operation name="Echo"><wsdl:input message="e:EchoRequest"/><wsdl:output message="e:EchoResponse"/></wsdl:operation>
  </wsdl:portType>
  <plnk:partnerLinkType name="EchoLink"><plnk:role name="service" portType="e:EchoPortType"/></plnk:partnerLinkType>
</wsdl:definitions>`;

const ECHO_PROCESS = `<?xml version="1.0" encoding="utf-8"?>
<bpel:process name="Echo" targetNamespace="urn:test:echo:process" xmlns:bpel="http://docs.oasis-open.org/wsbpel/2.0/process/executable" xmlns:e="urn:test:echo">
  <bpel:import importType="http://schemas.xmlsoap.org/wsdl/" namespace="urn:test:echo" location="echo.wsdl"/>
  <bpel:partnerLinks><bpel:partnerLink name="client" partnerLinkType="e:EchoLink" myRole="service"/></bpel:partnerLinks>
  <bpel:variables>
    <bpel:variable name="in" messageType="e:EchoRequest"/>
    <bpel:variable name="out" messageType="e:EchoResponse"/>
  </bpel:variables>
  <bpel:sequence>
    <bpel:receive name="start" partnerLink="client" operation="Echo" variable="in" createInstance="yes"/>
    <bpel:assign>
      <bpel:copy><bpel:from><bpel:literal><e:EchoResponse><e:text/></e:EchoResponse></bpel:literal></bpel:from><bpel:to variable="out" part="parameters"/></bpel:copy>
      <bpel:copy><bpel:from>concat('echo: ', $in.parameters/e:text)</bpel:from><bpel:to>$out.parameters/e:text</bpel:to></bpel:copy>
    </bpel:assign>
    <bpel:reply name="answer" partnerLink="client" operation="Echo" variable="out"/>
  </bpel:sequence>
</bpel:process>`;

function faultCode(err: unknown): string | undefined {
  const body = String((err as { body?: unknown }).body ?? '');
  return /<p:code>([^<]*)<\/p:code>/.exec(body)?.[1];
}

describe('the WorkflowService and deployed process endpoints', function () {
  this.timeout(60_000);
  let server: TestServer;
  let workflow: soap.Client;

  before(async () => {
    // One test calls this server as a remote partner: its own port must be allowed.
    server = await startTestServer({ PROVISOR_WORKFLOW_POLL_MS: '50', PROVISOR_SIMULATED_MIN_MS: '50', PROVISOR_SIMULATED_MAX_MS: '50', PROVISOR_OUTBOUND_ALLOW_OWN_PORTS: 'true' });
    await server.addUser(engine.username, 'engine', engine.password);
    await server.app.systems.add('sim1', 'simulated');
    workflow = await soapClient(server.baseUrl, 'Workflow', engine);
  });
  after(() => server.close());

  it('deploys a process and serves it at /soap/processes/<name>, where a SOAP client starts it and gets its reply', async () => {
    const deployed = await call<{ processName: string; version: number; endpoint: string }>(workflow, 'DeployProcess', { bpel: ECHO_PROCESS, document: [{ name: 'echo.wsdl', content: ECHO_WSDL }] });
    expect(deployed).to.include({ processName: 'Echo', endpoint: '/soap/processes/Echo' });
    const wsdl = await (await fetch(`${server.baseUrl}/soap/processes/Echo?wsdl`)).text();
    expect(wsdl).to.contain(`location="${server.baseUrl}/soap/processes/Echo"`);
    const client = await soap.createClientAsync(`${server.baseUrl}/soap/processes/Echo?wsdl`);
    client.setSecurity(new soap.WSSecurity(engine.username, engine.password, { passwordType: 'PasswordText', hasNonce: true }));
    const [result] = (await client.EchoAsync({ text: 'hello' })) as [{ text: string }];
    expect(result.text).to.equal('echo: hello');
    const list = await call<{ instance?: Array<{ processName: string; status: string }> }>(workflow, 'ListProcesses', { processName: 'Echo' });
    expect(list.instance?.[0]).to.include({ processName: 'Echo' });
  });

  it('starts an instance with StartProcess and reports every activity with GetProcessStatus', async () => {
    const { instanceId } = await call<{ instanceId: string }>(workflow, 'StartProcess', { processName: 'Echo', input: { part: [{ name: 'parameters', content: '<e:Echo xmlns:e="urn:test:echo"><e:text>again</e:text></e:Echo>' }] } });
    const status = await eventually(async () => {
      const s = await call<{ status: string; activity: Array<{ path: string; kind: string; state: string }> }>(workflow, 'GetProcessStatus', { instanceId });
      return s.status === 'RUNNING' ? undefined : s;
    }, 'the instance to end');
    expect(status.status).to.equal('COMPLETED');
    expect(status.activity.map((a) => [a.path, a.state])).to.deep.include.members([
      ['/process/sequence/receive', 'COMPLETED'],
      ['/process/sequence/assign', 'COMPLETED'],
      ['/process/sequence/reply', 'COMPLETED'],
    ]);
    const again = await call<{ instanceId: string }>(workflow, 'StartProcess', { processName: 'Echo', idempotencyKey: 'once' });
    const retried = await call<{ instanceId: string }>(workflow, 'StartProcess', { processName: 'Echo', idempotencyKey: 'once' });
    expect(retried.instanceId).to.equal(again.instanceId);
  });

  it('delivers StartProcess input to the process variables named like its parts when there is no receive', async () => {
    const bpel = plan(
      'Greeting',
      `<bpel:variables><bpel:variable name="greeting" type="xsd:string"/><bpel:variable name="answer" type="xsd:string"/></bpel:variables>
  <bpel:assign><bpel:copy><bpel:from>concat($greeting, ', world')</bpel:from><bpel:to variable="answer"/></bpel:copy></bpel:assign>`,
    );
    await call(workflow, 'DeployProcess', { bpel, document: [{ name: PARTNERS_WSDL_NAME, content: partnersWsdl() }] });
    const { instanceId } = await call<{ instanceId: string }>(workflow, 'StartProcess', { processName: 'Greeting', input: { part: [{ name: 'greeting', content: 'hello' }] } });
    await eventually(async () => ((await call<{ status: string }>(workflow, 'GetProcessStatus', { instanceId })).status === 'COMPLETED' ? true : undefined), 'the instance to complete');
    const rows = (await server.dataSource.query("SELECT value FROM process_variable WHERE instanceId = ? AND name = 'answer'", [instanceId])) as Array<{ value: string }>;
    expect(rows[0]?.value).to.contain('hello, world');
  });

  describe('bad input is refused with a fault naming the problem', () => {
    const cases: Array<[string, string, string, RegExp]> = [
      ['invalid XML', '<bpel:process', 'InvalidProcess', /line 1/],
      ['an unsupported element', ECHO_PROCESS.replace('<bpel:reply name="answer" partnerLink="client" operation="Echo" variable="out"/>', '<bpel:validate variables="out"/>'), 'InvalidProcess', /validate.*line 1[0-9]/],
      ['an unknown operation', ECHO_PROCESS.replace('operation="Echo" variable="out"', 'operation="Ekko" variable="out"'), 'InvalidProcess', /Ekko/],
      ['an unknown variable', ECHO_PROCESS.replace('variable="out"/>', 'variable="nothing"/>'), 'InvalidProcess', /nothing/],
    ];
    for (const [what, bpel, code, message] of cases) {
      it(`DeployProcess with ${what} → ${code}`, async () => {
        try {
          await call(workflow, 'DeployProcess', { bpel, document: [{ name: 'echo.wsdl', content: ECHO_WSDL }] });
          expect.fail('no fault');
        } catch (err) {
          expect(faultCode(err)).to.equal(code);
          expect(String((err as { body?: unknown }).body)).to.match(message);
        }
      });
    }

    it('StartProcess of an unknown process → UnknownProcess; GetProcessStatus of an unknown instance → UnknownInstance', async () => {
      for (const [operation, args, code] of [
        ['StartProcess', { processName: 'Nope' }, 'UnknownProcess'],
        ['GetProcessStatus', { instanceId: 'nope' }, 'UnknownInstance'],
      ] as const) {
        try {
          await call(workflow, operation, args);
          expect.fail('no fault');
        } catch (err) {
          expect(faultCode(err)).to.equal(code);
        }
      }
    });
  });

  it('invokes a partner over real SOAP when the binding names an address (here this server, as a remote Provisor)', async () => {
    await server.addUser('remote-op', 'operator', 'remote-operator-1');
    const bpel = plan(
      'RemotePartner',
      `<bpel:variables><bpel:variable name="req" messageType="sw:InstallRequest"/><bpel:variable name="res" messageType="sw:InstallResponse"/></bpel:variables>
  <bpel:sequence>
    <bpel:assign><bpel:copy><bpel:from><bpel:literal><sw:Install><sw:system>sim1</sw:system><sw:component>remote-component</sw:component></sw:Install></bpel:literal></bpel:from><bpel:to variable="req" part="parameters"/></bpel:copy></bpel:assign>
    <bpel:invoke name="remoteInstall" partnerLink="software" operation="Install" inputVariable="req" outputVariable="res"/>
  </bpel:sequence>`,
    );
    await call(workflow, 'DeployProcess', {
      bpel,
      document: [{ name: PARTNERS_WSDL_NAME, content: partnersWsdl() }],
      binding: [{ partnerLink: 'software', address: `${server.baseUrl}/soap/Software`, username: 'remote-op', password: 'remote-operator-1' }],
    });
    const { instanceId } = await call<{ instanceId: string }>(workflow, 'StartProcess', { processName: 'RemotePartner' });
    const status = await eventually(async () => {
      const s = await call<{ status: string; fault?: unknown }>(workflow, 'GetProcessStatus', { instanceId });
      return s.status === 'RUNNING' ? undefined : s;
    }, 'the instance to end');
    expect(status.status, JSON.stringify(status.fault)).to.equal('COMPLETED');
    const rows = (await server.dataSource.query("SELECT submittedBy, idempotencyKey FROM provisioning_request WHERE component = 'remote-component'")) as Array<{ submittedBy: string; idempotencyKey: string }>;
    expect(rows.length).to.equal(1);
    expect(rows[0]?.submittedBy).to.equal('remote-op');
    expect(rows[0]?.idempotencyKey).to.equal(`urn:provisor:invoke:${instanceId}/process/sequence/invoke`);
  });

  it('a partner that is down faults the instance with the activity path, and other instances go on', async () => {
    const bpel = plan(
      'DownPartner',
      `<bpel:variables><bpel:variable name="req" messageType="sw:InstallRequest"/><bpel:variable name="res" messageType="sw:InstallResponse"/></bpel:variables>
  <bpel:sequence>
    <bpel:assign><bpel:copy><bpel:from><bpel:literal><sw:Install><sw:system>sim1</sw:system><sw:component>x</sw:component></sw:Install></bpel:literal></bpel:from><bpel:to variable="req" part="parameters"/></bpel:copy></bpel:assign>
    <bpel:invoke name="remoteInstall" partnerLink="software" operation="Install" inputVariable="req" outputVariable="res"/>
  </bpel:sequence>`,
    );
    await call(workflow, 'DeployProcess', { bpel, document: [{ name: PARTNERS_WSDL_NAME, content: partnersWsdl() }], binding: [{ partnerLink: 'software', address: 'http://127.0.0.1:9/soap/Software' }] });
    const { instanceId } = await call<{ instanceId: string }>(workflow, 'StartProcess', { processName: 'DownPartner' });
    const other = await call<{ instanceId: string }>(workflow, 'StartProcess', { processName: 'Echo' });
    const status = await eventually(async () => {
      const s = await call<{ status: string; fault?: { name: string; activityPath?: string; message: string } }>(workflow, 'GetProcessStatus', { instanceId });
      return s.status === 'RUNNING' ? undefined : s;
    }, 'the instance to fault');
    expect(status.status).to.equal('FAULTED');
    expect(status.fault?.name).to.equal('{urn:provisor:workflow:1}partnerUnavailable');
    expect(status.fault?.activityPath).to.equal('/process/sequence/invoke');
    const otherStatus = await eventually(async () => {
      const s = await call<{ status: string }>(workflow, 'GetProcessStatus', { instanceId: other.instanceId });
      return s.status === 'RUNNING' ? undefined : s;
    }, 'the other instance to end');
    expect(otherStatus.status).to.not.equal('RUNNING');
  });

  it('CancelProcess terminates the running scopes and compensates the completed ones when asked', async () => {
    const bpel = plan(
      'Cancellable',
      `<bpel:variables><bpel:variable name="log" type="xsd:string"><bpel:from>''</bpel:from></bpel:variable></bpel:variables>
  <bpel:sequence>
    <bpel:scope name="done">
      <bpel:compensationHandler><bpel:assign><bpel:copy><bpel:from>concat($log, 'undone;')</bpel:from><bpel:to variable="log"/></bpel:copy></bpel:assign></bpel:compensationHandler>
      <bpel:assign><bpel:copy><bpel:from>concat($log, 'done;')</bpel:from><bpel:to variable="log"/></bpel:copy></bpel:assign>
    </bpel:scope>
    <bpel:scope name="slow"><bpel:wait name="long"><bpel:for>'PT1H'</bpel:for></bpel:wait></bpel:scope>
  </bpel:sequence>`,
    );
    await call(workflow, 'DeployProcess', { bpel, document: [{ name: PARTNERS_WSDL_NAME, content: partnersWsdl() }] });
    const { instanceId } = await call<{ instanceId: string }>(workflow, 'StartProcess', { processName: 'Cancellable' });
    await eventually(async () => {
      const s = await call<{ activity?: Array<{ kind: string; state: string }> }>(workflow, 'GetProcessStatus', { instanceId });
      return s.activity?.some((a) => a.kind === 'wait' && a.state === 'RUNNING') === true ? true : undefined;
    }, 'the wait to start');
    const cancelled = await call<{ status: string }>(workflow, 'CancelProcess', { instanceId, compensate: true });
    expect(cancelled.status).to.equal('TERMINATED');
    const s = await call<{ activity: Array<{ name?: string; kind: string; state: string }> }>(workflow, 'GetProcessStatus', { instanceId });
    expect(s.activity.find((a) => a.name === 'done')?.state).to.equal('COMPENSATED');
    expect(s.activity.find((a) => a.name === 'long')?.state).to.equal('TERMINATED');
    const rows = (await server.dataSource.query("SELECT value FROM process_variable WHERE instanceId = ? AND name = 'log'", [instanceId])) as Array<{ value: string }>;
    expect(rows[0]?.value).to.contain('done;undone;');
  });
});
