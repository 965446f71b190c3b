import http from 'node:http';
import { expect } from 'chai';
import { queueCallback } from '../src/provisioning/callbacks';
import { parseXml } from '../src/xml/parser';
import { eventually, startTestServer, type TestServer } from './support/harness';
import { envelope, postRaw, securityHeader } from './support/soap-client';

const operator = { username: 'op', password: 'operator-secret-1' };

describe('RequestCompleted callbacks', function () {
  this.timeout(60_000);
  let server: TestServer;
  let receiver: http.Server;
  let receiverUrl: string;
  let failuresLeft = 2;
  let attempts = 0;
  const received: Array<Record<string, unknown>> = [];

  before(async () => {
    server = await startTestServer({ PROVISOR_CALLBACK_BACKOFF_MS: '100', PROVISOR_SIMULATED_MIN_MS: '10', PROVISOR_SIMULATED_MAX_MS: '10' });
    await server.addUser(operator.username, 'operator', operator.password);
    await server.app.systems.add('sim1', 'simulated');
    // The client's endpoint: fails twice with 503, then acknowledges and records the message.
    receiver = http.createServer((req, res) => {
      attempts++;
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (failuresLeft > 0) {
          failuresLeft--;
          res.writeHead(503).end();
          return;
        }
        const root = parseXml(Buffer.concat(chunks).toString('utf8'));
        const body = root.children.find((c) => c.name === 'Body');
        const message = body?.children[0];
        expect(message?.ns).to.equal('urn:provisor:callback:1');
        expect(message?.name).to.equal('RequestCompleted');
        expect(req.headers.soapaction).to.equal('"urn:provisor:callback:1#RequestCompleted"');
        received.push(Object.fromEntries((message?.children ?? []).map((c) => [c.name, c.text])));
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const address = receiver.address();
    receiverUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/callback`;
  });

  after(async () => {
    receiver.close();
    await server.close();
  });

  it('delivers RequestCompleted to the callback endpoint, retrying failed deliveries with back-off', async () => {
    const r = await postRaw(
      `${server.baseUrl}/soap/Software`,
      envelope(`<t:Install xmlns:t="urn:provisor:software:1"><t:system>sim1</t:system><t:component>db</t:component><t:callback>${receiverUrl}</t:callback></t:Install>`, securityHeader(operator)),
    );
    const requestId = /<p:requestId>([^<]*)</.exec(r.body)?.[1];
    expect(requestId).to.be.a('string');
    const message = await eventually(async () => received.find((m) => m.requestId === requestId), 'the callback to arrive');
    expect(message.status).to.equal('COMPLETED_SUCCESS');
    expect(message.operation).to.equal('Install');
    expect(attempts).to.equal(3);
    // The endpoint has the message before the sender records the acknowledgement: wait for the row.
    const state = await eventually(async () => {
      const s = await server.app.callbacks.state(requestId ?? '');
      return s?.status === 'PENDING' ? undefined : s;
    }, 'the delivery to be recorded');
    expect(state?.status).to.equal('DELIVERED');
    expect(state?.attempts).to.equal(3);
  });

  it('keeps retrying a dead endpoint with back-off without holding up the engine', async () => {
    const dead = 'http://127.0.0.1:9/unreachable';
    const r = await postRaw(
      `${server.baseUrl}/soap/Software`,
      envelope(`<t:Install xmlns:t="urn:provisor:software:1"><t:system>sim1</t:system><t:component>cache</t:component><t:callback>${dead}</t:callback></t:Install>`, securityHeader(operator)),
    );
    const requestId = /<p:requestId>([^<]*)</.exec(r.body)?.[1] ?? '';
    const next = await postRaw(
      `${server.baseUrl}/soap/Software`,
      envelope(`<t:Install xmlns:t="urn:provisor:software:1"><t:system>sim1</t:system><t:component>other</t:component></t:Install>`, securityHeader(operator)),
    );
    const nextId = /<p:requestId>([^<]*)</.exec(next.body)?.[1] ?? '';
    const view = await eventually(async () => {
      const v = await server.app.api.getRequest(nextId);
      return v.status === 'COMPLETED_SUCCESS' ? v : undefined;
    }, 'the next request to complete');
    expect(view.status).to.equal('COMPLETED_SUCCESS');
    const state = await eventually(async () => {
      const s = await server.app.callbacks.state(requestId);
      return s !== null && s.attempts >= 2 ? s : undefined;
    }, 'a retried delivery');
    expect(state.status).to.equal('PENDING');
    expect(state.lastError).to.be.a('string').and.not.empty;
  });

  it('gives up at once on a queued callback whose endpoint the outbound policy refuses, without calling it', async () => {
    // A delivery queued before the policy existed, aimed at this server's own port.
    const ownPort = new URL(server.baseUrl).port;
    let hits = 0;
    server.app.server.on('request', (req: http.IncomingMessage) => {
      if (req.url === '/queued-before-upgrade') hits++;
    });
    const r = await postRaw(
      `${server.baseUrl}/soap/Software`,
      envelope(`<t:Install xmlns:t="urn:provisor:software:1"><t:system>sim1</t:system><t:component>queued-before-upgrade</t:component></t:Install>`, securityHeader(operator)),
    );
    const requestId = /<p:requestId>([^<]*)</.exec(r.body)?.[1] ?? '';
    await server.dataSource.transaction((manager) => queueCallback(manager, requestId, `http://127.0.0.1:${ownPort}/queued-before-upgrade`, new Date()));
    server.app.callbacks.wake();
    const state = await eventually(async () => {
      const s = await server.app.callbacks.state(requestId);
      return s?.status === 'FAILED' ? s : undefined;
    }, 'the delivery to be given up');
    expect(state.attempts).to.equal(1);
    expect(state.lastError).to.contain(`port ${ownPort} on this host is one of Provisor's own listening ports`);
    expect(hits).to.equal(0);
  });
});
