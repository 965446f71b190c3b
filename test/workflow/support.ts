import { expect } from 'chai';
import { partnersWsdl, PARTNERS_WSDL_NAME } from '../../scripts/demo/two-websites';
import type { InstanceView } from '../../src/workflow/runtime';
import { eventually, type TestServer } from '../support/harness';

/** Namespaces and partner links most test plans share. */
export const HEADER = `xmlns:bpel="http://docs.oasis-open.org/wsbpel/2.0/process/executable"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    xmlns:sw="urn:provisor:software:1" xmlns:rq="urn:provisor:request:1"
    xmlns:pl="urn:provisor:examples:partners" xmlns:t="urn:test"`;

export const PARTNERS = `
  <bpel:import importType="http://schemas.xmlsoap.org/wsdl/" namespace="urn:provisor:examples:partners" location="${PARTNERS_WSDL_NAME}"/>
  <bpel:partnerLinks>
    <bpel:partnerLink name="software" partnerLinkType="pl:Software" partnerRole="provider"/>
    <bpel:partnerLink name="requests" partnerLinkType="pl:Request" partnerRole="provider"/>
  </bpel:partnerLinks>`;

/** A process document around a body (variables and activity). */
export function plan(name: string, body: string): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<bpel:process name="${name}" targetNamespace="urn:test" ${HEADER}>${PARTNERS}
${body}
</bpel:process>`;
}

/** A plan that installs component c on sim1 through its software partner link (bound remotely by the test). */
export const remoteInstallPlan = (name: string): string =>
  plan(
    name,
    `<bpel:variables><bpel:variable name="req" messageType="sw:InstallRequest"/><bpel:variable name="res" messageType="sw:InstallResponse"/></bpel:variables>
  <bpel:sequence>
    <bpel:assign><bpel:copy><bpel:from><bpel:literal><sw:Install><sw:system>sim1</sw:system><sw:component>c</sw:component></sw:Install></bpel:literal></bpel:from><bpel:to variable="req" part="parameters"/></bpel:copy></bpel:assign>
    <bpel:invoke name="remoteInstall" partnerLink="software" operation="Install" inputVariable="req" outputVariable="res"/>
  </bpel:sequence>`,
  );

export async function deploy(server: Pick<TestServer, 'app'>, bpel: string): Promise<string> {
  const deployed = await server.app.workflow.deploy({ bpel, documents: new Map([[PARTNERS_WSDL_NAME, partnersWsdl()]]), bindings: [], deployedBy: 'tester' });
  return deployed.name;
}

/** Deploys, starts and waits for the instance to end. */
export async function runPlan(server: TestServer, bpel: string, timeoutMs = 20_000): Promise<InstanceView> {
  const name = await deploy(server, bpel);
  const id = await server.app.workflow.start(name, undefined, 'tester');
  return finished(server, id, timeoutMs);
}

export async function finished(server: TestServer, id: string, timeoutMs = 20_000): Promise<InstanceView> {
  return eventually(async () => {
    const view = await server.app.workflow.status(id);
    return view.status === 'RUNNING' ? undefined : view;
  }, `instance ${id} to end`, timeoutMs, 50);
}

export function activity(view: InstanceView, name: string): InstanceView['activities'][number] {
  const found = view.activities.find((a) => a.name === name);
  expect(found, `activity "${name}" in ${view.activities.map((a) => a.name ?? a.key).join(', ')}`).to.not.equal(undefined);
  return found as InstanceView['activities'][number];
}

/** The value of a simple-typed process variable, as stored. */
export async function variable(server: TestServer, instanceId: string, name: string): Promise<string | undefined> {
  const rows = (await server.dataSource.query("SELECT value FROM process_variable WHERE instanceId = ? AND scopeKey = '/process' AND name = ?", [instanceId, name])) as Array<{ value: string }>;
  return rows[0]?.value;
}

/** A SOAP 1.1 envelope around `body`, with a PasswordText UsernameToken for `user`. */
export function soapEnvelope(user: { readonly username: string; readonly password: string }, body: string): string {
  const created = new Date().toISOString();
  return `<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
  <soap:Header>
    <wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">
      <wsse:UsernameToken><wsse:Username>${user.username}</wsse:Username><wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText">${user.password}</wsse:Password><wsu:Created>${created}</wsu:Created></wsse:UsernameToken>
    </wsse:Security>
  </soap:Header>
  <soap:Body>${body}</soap:Body>
</soap:Envelope>`;
}
