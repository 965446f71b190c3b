import { expect } from 'chai';
import type * as soap from 'soap';
import { partnersWsdl, PARTNERS_WSDL_NAME } from '../../scripts/demo/two-websites';
import { eventually, startTestServer, type TestServer } from '../support/harness';
import { call, envelope, postRaw, securityHeader, soapClient } from '../support/soap-client';
import { endlessServer } from '../support/endless-server';
import { remoteInstallPlan } from '../workflow/support';

const operator = { username: 'op', password: 'operator-secret-1' };
const CAP = 64 * 1024;

function unescape(text: string): string {
  return text.replace(/&apos;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function faultOf(body: string): { code?: string; field?: string; reason?: string } {
  const reason = /<faultstring[^>]*>([^<]*)</.exec(body)?.[1];
  return { code: /<p:code>([^<]*)</.exec(body)?.[1], field: /<p:field>([^<]*)</.exec(body)?.[1], reason: reason === undefined ? undefined : unescape(reason) };
}

describe('outbound calls: destination policy and answer cap, end to end', function () {
  this.timeout(60_000);
  let server: TestServer;
  let port: number;
  let workflow: soap.Client;

  before(async () => {
    server = await startTestServer({
      PROVISOR_OUTBOUND_MAX_RESPONSE_BYTES: String(CAP),
      PROVISOR_CALLBACK_MAX_ATTEMPTS: '1',
      PROVISOR_WORKFLOW_POLL_MS: '50',
      PROVISOR_SIMULATED_MIN_MS: '10',
      PROVISOR_SIMULATED_MAX_MS: '10',
    });
    port = Number(new URL(server.baseUrl).port);
    await server.addUser(operator.username, 'operator', operator.password);
    await server.app.systems.add('sim1', 'simulated');
    workflow = await soapClient(server.baseUrl, 'Workflow', operator);
  });

  after(async () => {
    await server.close();
  });

  it('refuses a callback to Provisor\'s own port with a client fault naming the address and the rule, and queues nothing', async () => {
    const callback = `http://127.0.0.1:${port}/soap/Software`;
    const r = await postRaw(
      `${server.baseUrl}/soap/Software`,
      envelope(`<t:Install xmlns:t="urn:provisor:software:1"><t:system>sim1</t:system><t:component>self-callback</t:component><t:callback>${callback}</t:callback></t:Install>`, securityHeader(operator)),
    );
    expect(r.status).to.equal(500);
    expect(r.body).to.contain('<faultcode>soap:Client</faultcode>');
    const fault = faultOf(r.body);
    expect(fault).to.include({ code: 'DestinationDenied', field: 'callback' });
    expect(fault.reason).to.equal(`callback ${callback} (address 127.0.0.1) is refused by the outbound policy: port ${port} on this host is one of Provisor's own listening ports (PROVISOR_OUTBOUND_ALLOW_OWN_PORTS)`);
    const rows = (await server.dataSource.query("SELECT id FROM provisioning_request WHERE component = 'self-callback'")) as unknown[];
    expect(rows).to.have.length(0);
  });

  it('refuses a DeployProcess whose partner address is Provisor\'s own port, storing nothing', async () => {
    try {
      await call(workflow, 'DeployProcess', {
        bpel: remoteInstallPlan('SelfPartner'),
        document: [{ name: PARTNERS_WSDL_NAME, content: partnersWsdl() }],
        binding: [{ partnerLink: 'software', address: `http://localhost:${port}/soap/Software` }],
      });
      expect.fail('no fault');
    } catch (err) {
      const body = unescape(String((err as { body?: unknown }).body ?? ''));
      expect(faultOf(body)).to.include({ code: 'DestinationDenied', field: 'binding' });
      expect(body).to.contain(`binding of partner link "software": http://localhost:${port}/soap/Software (address`);
      expect(body).to.contain(`port ${port} on this host is one of Provisor's own listening ports`);
    }
    const rows = (await server.dataSource.query("SELECT id FROM process_definition WHERE name = 'SelfPartner'")) as unknown[];
    expect(rows).to.have.length(0);
  });

  it('cuts off a callback endpoint that answers without end, records the cap as the error, and /health keeps answering', async () => {
    const endpoint = await endlessServer('/endpoint');
    try {
      const r = await postRaw(
        `${server.baseUrl}/soap/Software`,
        envelope(`<t:Install xmlns:t="urn:provisor:software:1"><t:system>sim1</t:system><t:component>endless-callback</t:component><t:callback>${endpoint.url}</t:callback></t:Install>`, securityHeader(operator)),
      );
      const requestId = /<p:requestId>([^<]*)</.exec(r.body)?.[1] ?? '';
      const state = await eventually(async () => {
        const s = await server.app.callbacks.state(requestId);
        return s?.status === 'FAILED' ? s : undefined;
      }, 'the callback to be given up');
      expect(state.lastError).to.equal(`the answer of ${endpoint.url} went past the limit of ${CAP} bytes (PROVISOR_OUTBOUND_MAX_RESPONSE_BYTES); the connection was closed`);
      await endpoint.cut;
      const health = await fetch(`${server.baseUrl}/health`);
      expect(health.status).to.equal(200);
    } finally {
      await endpoint.close();
    }
  });

  it('faults the invoke of a partner that answers without end, naming the cap', async () => {
    const endpoint = await endlessServer('/endpoint');
    try {
      await call(workflow, 'DeployProcess', { bpel: remoteInstallPlan('EndlessPartner'), document: [{ name: PARTNERS_WSDL_NAME, content: partnersWsdl() }], binding: [{ partnerLink: 'software', address: endpoint.url }] });
      const { instanceId } = await call<{ instanceId: string }>(workflow, 'StartProcess', { processName: 'EndlessPartner' });
      const status = await eventually(async () => {
        const s = await call<{ status: string; fault?: { name: string; message: string } }>(workflow, 'GetProcessStatus', { instanceId });
        return s.status === 'RUNNING' ? undefined : s;
      }, 'the instance to fault');
      expect(status.status).to.equal('FAULTED');
      expect(status.fault?.name).to.equal('{urn:provisor:workflow:1}partnerUnavailable');
      expect(status.fault?.message).to.contain(`went past the limit of ${CAP} bytes (PROVISOR_OUTBOUND_MAX_RESPONSE_BYTES)`);
      await endpoint.cut;
    } finally {
      await endpoint.close();
    }
  });
});
