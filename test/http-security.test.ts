import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { ConfigError, loadConfig } from '../src/config';
import { startTestServer, type TestServer } from './support/harness';
import { envelope, postRaw, securityHeader } from './support/soap-client';

const operator = { username: 'op', password: 'operator-secret-1' };
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

function faultOf(body: string): { code: string; reason: string } {
  return {
    code: /<faultcode>([^<]*)<\/faultcode>/.exec(body)?.[1] ?? '',
    reason: /<faultstring[^>]*>([^<]*)<\/faultstring>/.exec(body)?.[1] ?? '',
  };
}

describe('the HTTP surface refuses callers\' mistakes as their faults', function () {
  this.timeout(60_000);

  it('refuses a metrics token that is short or has spaces at start-up, naming the setting', () => {
    for (const token of ['short', 'has spaces in it 0123456789']) {
      expect(() => loadConfig({ PROVISOR_METRICS_TOKEN: token }, '/tmp'), token).to.throw(ConfigError, /PROVISOR_METRICS_TOKEN/);
    }
    expect(loadConfig({}, '/tmp').metrics.token).to.equal(undefined);
    expect(loadConfig({ PROVISOR_METRICS_TOKEN: METRICS_TOKEN }, '/tmp').metrics.token).to.equal(METRICS_TOKEN);
  });

  describe('when PROVISOR_METRICS_TOKEN is set', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ PROVISOR_METRICS_TOKEN: METRICS_TOKEN });
    });
    after(() => server.close());

    it('answers /metrics without the bearer token with 401', async () => {
      const response = await fetch(`${server.baseUrl}/metrics`);
      expect(response.status).to.equal(401);
      expect(response.headers.get('www-authenticate')).to.match(/^Bearer/);
      expect(await response.text()).to.not.contain('provisor_');
    });

    it('answers /metrics with a wrong token, or the token under another scheme, with 401', async () => {
      for (const authorization of ['Bearer wrong-token-0123456789abcdef', `Bearer ${METRICS_TOKEN}x`, `Basic ${METRICS_TOKEN}`, `Bearer ${METRICS_TOKEN.slice(0, -1)}`]) {
        const response = await fetch(`${server.baseUrl}/metrics`, { headers: { authorization } });
        expect(response.status, authorization).to.equal(401);
      }
    });

    it('serves /metrics to a request carrying the token', async () => {
      const response = await fetch(`${server.baseUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      expect(response.status).to.equal(200);
      expect(await response.text()).to.match(/provisor_queue_depth\{status="QUEUED"\} \d+/);
    });
  });

  describe('when no metrics token is set', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer();
      await server.addUser(operator.username, 'operator', operator.password);
      await server.app.systems.add('web1', 'local');
    });
    after(() => server.close());

    it('serves /metrics to anyone', async () => {
      const response = await fetch(`${server.baseUrl}/metrics`);
      expect(response.status).to.equal(200);
    });

    it('answers a malformed % escape under /soap/processes/ with 400 naming the path, and goes on serving', async () => {
      for (const bad of ['%E0%A4%A', '%ZZ', 'abc%']) {
        const get = await fetch(`${server.baseUrl}/soap/processes/${bad}?wsdl`);
        expect(get.status, bad).to.equal(400);
        expect(await get.text()).to.contain(`/soap/processes/${bad}`);
        const post = await postRaw(`${server.baseUrl}/soap/processes/${bad}`, envelope('<x:Go xmlns:x="urn:x"/>', securityHeader(operator)));
        expect(post.status, bad).to.equal(400);
      }
      for (const elsewhere of ['/portal/%E0%A4%A', '/%E0%A4%A', '/soap/%E0%A4%A']) {
        const status = (await fetch(`${server.baseUrl}${elsewhere}`)).status;
        expect(status, elsewhere).to.be.below(500);
      }
      expect((await fetch(`${server.baseUrl}/health`)).status).to.equal(200);
      expect((await fetch(`${server.baseUrl}/soap/processes/${encodeURIComponent('Nö such')}?wsdl`)).status).to.equal(404);
    });

    const longName = 'a'.repeat(300);
    const cases: Array<{ operation: string; body: string; field: string }> = [
      { operation: 'File.Delete', body: `<f:Delete xmlns:f="urn:provisor:file:1"><f:system>web1</f:system><f:path>www/${longName}</f:path></f:Delete>`, field: 'path' },
      { operation: 'File.Copy (target)', body: `<f:Copy xmlns:f="urn:provisor:file:1"><f:sourcePath>files/index.html</f:sourcePath><f:targetSystem>web1</f:targetSystem><f:targetPath>${longName}/index.html</f:targetPath></f:Copy>`, field: 'targetPath' },
      { operation: 'File.Copy (source)', body: `<f:Copy xmlns:f="urn:provisor:file:1"><f:sourcePath>files/${longName}</f:sourcePath><f:targetSystem>web1</f:targetSystem><f:targetPath>www/index.html</f:targetPath></f:Copy>`, field: 'sourcePath' },
      { operation: 'File.Copy (multibyte)', body: `<f:Copy xmlns:f="urn:provisor:file:1"><f:sourcePath>files/index.html</f:sourcePath><f:targetSystem>web1</f:targetSystem><f:targetPath>${'é'.repeat(200)}</f:targetPath></f:Copy>`, field: 'targetPath' },
    ];
    for (const c of cases) {
      it(`refuses a path segment over 255 bytes in ${c.operation} at submission as a Client fault naming ${c.field}`, async () => {
        const response = await postRaw(`${server.baseUrl}/soap/File`, envelope(c.body, securityHeader(operator)));
        // SOAP 1.1 carries every fault with HTTP 500 (WS-I Basic Profile); the fault code tells whose fault it is.
        expect(response.status).to.equal(500);
        const fault = faultOf(response.body);
        expect(fault.code).to.match(/Client$/);
        expect(fault.reason).to.match(/at most 255 bytes/);
        expect(response.body).to.match(new RegExp(`<(\\w+:)?field>${c.field}</(\\w+:)?field>`));
        expect(fs.existsSync(path.join(server.config.drivers.systemsDir, 'web1', longName))).to.equal(false);
      });
    }

    it('refuses a 300-character component name as a Client fault naming the component', async () => {
      const response = await postRaw(`${server.baseUrl}/soap/Software`, envelope(`<t:Install xmlns:t="urn:provisor:software:1"><t:system>web1</t:system><t:component>${longName}</t:component></t:Install>`, securityHeader(operator)));
      expect(response.status).to.equal(500);
      expect(faultOf(response.body).code).to.match(/Client$/);
      expect(faultOf(response.body).reason).to.contain('component');
    });
  });
});
