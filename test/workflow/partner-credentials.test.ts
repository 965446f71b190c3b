import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import type * as soap from 'soap';
import { partnersWsdl, PARTNERS_WSDL_NAME } from '../../scripts/demo/two-websites';
import { eventually, startTestServer, type TestServer } from '../support/harness';
import { call, soapClient } from '../support/soap-client';
import { remoteInstallPlan } from './support';

const engine = { username: 'planner', password: 'planner-secret-1' };
const PARTNER_PASSWORD = 'partner-secret-<&>-1';

interface Token {
  readonly username: string;
  readonly type: string;
  readonly password: string;
  readonly nonce: string;
  readonly created: string;
}

function unescape(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

describe('partner link credentials', function () {
  this.timeout(60_000);
  let server: TestServer;
  let workflow: soap.Client;
  let partner: http.Server;
  let partnerUrl: string;
  const tokens: Token[] = [];
  const bodies: string[] = [];

  before(async () => {
    server = await startTestServer({ PROVISOR_WORKFLOW_POLL_MS: '50' });
    await server.addUser(engine.username, 'engine', engine.password);
    workflow = await soapClient(server.baseUrl, 'Workflow', engine);
    // The remote partner: records the UsernameToken of each call and answers Install.
    partner = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        bodies.push(body);
        const field = (pattern: RegExp): string => unescape(pattern.exec(body)?.[1] ?? '');
        tokens.push({
          username: field(/<wsse:Username>([^<]*)</),
          type: field(/<wsse:Password Type="[^"#]*#(\w+)"/),
          password: field(/<wsse:Password[^>]*>([^<]*)</),
          nonce: field(/<wsse:Nonce[^>]*>([^<]*)</),
          created: field(/<wsu:Created>([^<]*)</),
        });
        res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' });
        res.end('<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><sw:InstallResponse xmlns:sw="urn:provisor:software:1"><sw:requestId>r-1</sw:requestId></sw:InstallResponse></s:Body></s:Envelope>');
      });
    });
    await new Promise<void>((resolve) => partner.listen(0, '127.0.0.1', resolve));
    partnerUrl = `http://127.0.0.1:${(partner.address() as AddressInfo).port}/soap/Software`;
  });

  after(async () => {
    partner.close();
    await server.close();
  });

  async function run(processName: string): Promise<Token> {
    const before = tokens.length;
    const { instanceId } = await call<{ instanceId: string }>(workflow, 'StartProcess', { processName });
    const status = await eventually(async () => {
      const s = await call<{ status: string; fault?: unknown }>(workflow, 'GetProcessStatus', { instanceId });
      return s.status === 'RUNNING' ? undefined : s;
    }, 'the instance to end');
    expect(status.status, JSON.stringify(status.fault)).to.equal('COMPLETED');
    expect(tokens.length).to.equal(before + 1);
    return tokens[before] as Token;
  }

  async function descriptorOf(name: string): Promise<string> {
    const rows = (await server.dataSource.query('SELECT descriptor FROM process_definition WHERE name = ? ORDER BY version DESC', [name])) as Array<{ descriptor: string }>;
    return rows[0]?.descriptor ?? '';
  }

  it('stores the partner password sealed, never in clear', async () => {
    await call(workflow, 'DeployProcess', {
      bpel: remoteInstallPlan('SealedPartner'),
      document: [{ name: PARTNERS_WSDL_NAME, content: partnersWsdl() }],
      binding: [{ partnerLink: 'software', address: partnerUrl, username: 'remote', password: PARTNER_PASSWORD }],
    });
    const descriptor = await descriptorOf('SealedPartner');
    expect(descriptor).to.not.contain('partner-secret');
    const stored = (JSON.parse(descriptor) as { bindings: Array<Record<string, unknown>> }).bindings[0];
    expect(stored).to.not.have.property('password');
    expect(stored?.sealedPassword).to.match(/^v1\./);
  });

  it('sends the sealed password as PasswordText by default', async () => {
    const token = await run('SealedPartner');
    expect(token).to.include({ username: 'remote', type: 'PasswordText', password: PARTNER_PASSWORD });
  });

  it('sends a PasswordDigest with Nonce and Created when the partner is configured to take it, and no clear password', async () => {
    await call(workflow, 'DeployProcess', {
      bpel: remoteInstallPlan('DigestPartner'),
      document: [{ name: PARTNERS_WSDL_NAME, content: partnersWsdl() }],
      binding: [{ partnerLink: 'software', address: partnerUrl, username: 'remote', password: PARTNER_PASSWORD, passwordType: 'PasswordDigest' }],
    });
    const token = await run('DigestPartner');
    expect(token.type).to.equal('PasswordDigest');
    expect(token.nonce).to.not.equal('');
    expect(Number.isNaN(Date.parse(token.created))).to.equal(false);
    const expected = crypto
      .createHash('sha1')
      .update(Buffer.concat([Buffer.from(token.nonce, 'base64'), Buffer.from(token.created, 'utf8'), Buffer.from(PARTNER_PASSWORD, 'utf8')]))
      .digest('base64');
    expect(token.password).to.equal(expected);
    expect(bodies[bodies.length - 1]).to.not.contain('partner-secret');
  });

  it('refuses an unknown passwordType as a client fault naming the field', async () => {
    try {
      await call(workflow, 'DeployProcess', {
        bpel: remoteInstallPlan('BadType'),
        document: [{ name: PARTNERS_WSDL_NAME, content: partnersWsdl() }],
        binding: [{ partnerLink: 'software', address: partnerUrl, username: 'remote', password: 'x', passwordType: 'Plain' }],
      });
      expect.fail('no fault');
    } catch (err) {
      const body = String((err as { body?: unknown }).body ?? '');
      expect(/<p:code>([^<]*)</.exec(body)?.[1]).to.equal('InvalidField');
      expect(body).to.contain('passwordType');
    }
  });

  it('still calls with a password stored in clear by an earlier version', async () => {
    await call(workflow, 'DeployProcess', { bpel: remoteInstallPlan('LegacyPartner'), document: [{ name: PARTNERS_WSDL_NAME, content: partnersWsdl() }], binding: [{ partnerLink: 'software', address: partnerUrl }] });
    // What the descriptor looked like before passwords were sealed.
    const legacy = JSON.stringify({ bindings: [{ partnerLink: 'software', address: partnerUrl, username: 'remote', password: 'legacy-clear-1' }] });
    await server.dataSource.query("UPDATE process_definition SET descriptor = ? WHERE name = 'LegacyPartner'", [legacy]);
    const token = await run('LegacyPartner');
    expect(token).to.include({ username: 'remote', type: 'PasswordText', password: 'legacy-clear-1' });
  });
});
