import { expect } from 'chai';
import { startTestServer, type TestServer } from './support/harness';
import { envelope, postRaw, securityHeader } from './support/soap-client';

const operator = { username: 'op', password: 'operator-secret-1' };

describe('Request.GetStatus with waitSeconds (a long poll)', function () {
  this.timeout(60_000);
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
    await server.addUser(operator.username, 'operator', operator.password);
    await server.app.systems.add('slow', 'simulated', { durationMs: '3000' });
    await server.app.systems.add('quick', 'simulated', { durationMs: '300' });
  });
  after(() => server.close());

  async function install(system: string): Promise<string> {
    const r = await postRaw(`${server.baseUrl}/soap/Software`, envelope(`<t:Install xmlns:t="urn:provisor:software:1"><t:system>${system}</t:system><t:component>db</t:component></t:Install>`, securityHeader(operator)));
    const id = /<p:requestId>([^<]*)</.exec(r.body)?.[1];
    if (id === undefined) throw new Error(r.body);
    return id;
  }

  async function getStatus(requestId: string, wait?: string): Promise<{ status: number; body: string }> {
    const extra = wait === undefined ? '' : `<r:waitSeconds>${wait}</r:waitSeconds>`;
    return postRaw(`${server.baseUrl}/soap/Request`, envelope(`<r:GetStatus xmlns:r="urn:provisor:request:1"><r:requestId>${requestId}</r:requestId>${extra}</r:GetStatus>`, securityHeader(operator)));
  }

  it('answers at once without waitSeconds, and only at the end with it', async () => {
    const id = await install('quick');
    expect((await getStatus(id)).body).to.match(/<p:status>(QUEUED|IN_PROGRESS)</);
    expect((await getStatus(id, '30')).body).to.contain('<p:status>COMPLETED_SUCCESS</p:status>');
  });

  it('answers with the current status when the wait runs out first', async () => {
    const id = await install('slow');
    expect((await getStatus(id, '1')).body).to.match(/<p:status>(QUEUED|IN_PROGRESS)</);
    expect((await getStatus(id, '30')).body).to.contain('<p:status>COMPLETED_SUCCESS</p:status>');
  });

  it('refuses a wait outside 0 to 60 seconds, naming the field', async () => {
    const id = await install('quick');
    for (const bad of ['61', '-1', 'soon']) {
      const r = await getStatus(id, bad);
      expect(r.status, bad).to.equal(500);
      expect(r.body, bad).to.contain('<p:code>InvalidField</p:code>').and.contain('<p:field>waitSeconds</p:field>');
    }
  });
});
