import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { ManualClock } from '../../src/clock';
import { DestinationPolicy } from '../../src/net/destination-policy';
import { OutboundError, OutboundHttp } from '../../src/net/outbound-http';
import { passwordDigest, SoapClient, SoapFault, SoapResponseError } from '../../src/soap/client';
import { parseXml, type XmlElement } from '../../src/xml/parser';

const CAP = 16 * 1024;
const SOAP11_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
const WSSE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';

interface Received {
  readonly headers: http.IncomingHttpHeaders;
  readonly envelope: XmlElement;
}

/** A partner on port 0 that records each request and answers with `answer`. */
async function partner(answer: (res: http.ServerResponse) => void): Promise<{ url: string; received: Received[]; close: () => void }> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, envelope: parseXml(Buffer.concat(chunks).toString('utf8')) });
      answer(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/partner`,
    received,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

function descendant(element: XmlElement, name: string): XmlElement | undefined {
  for (const c of element.children) {
    if (c.name === name) return c;
    const inner = descendant(c, name);
    if (inner !== undefined) return inner;
  }
  return undefined;
}

const envelope = (body: string): string => `<s:Envelope xmlns:s="${SOAP11_NS}"><s:Body>${body}</s:Body></s:Envelope>`;

describe('the outbound SOAP client', function () {
  this.timeout(30_000);
  const clock = new ManualClock(Date.parse('2026-03-01T10:00:00Z'));
  const client = new SoapClient(new OutboundHttp(new DestinationPolicy({ allowNetworks: [], denyNetworks: [], allowOwnPorts: false }, () => []), { maxResponseBytes: CAP, timeoutMs: 5000 }), clock);

  it('sends a SOAP 1.1 envelope with the action, a MessageID and a PasswordDigest UsernameToken dated by the clock, and returns the Body element', async () => {
    const p = await partner((res) => res.writeHead(200, { 'content-type': 'text/xml' }).end(envelope('<r:PingResponse xmlns:r="urn:r"><r:ok>yes</r:ok></r:PingResponse>')));
    try {
      const payload = await client.call({ url: p.url, action: 'urn:r#Ping', body: '<r:Ping xmlns:r="urn:r"/>', messageId: 'urn:m:1', credentials: { username: 'eng', password: 's3cret', passwordType: 'PasswordDigest' } });
      expect([payload?.namespaceURI, payload?.localName, payload?.textContent]).to.deep.equal(['urn:r', 'PingResponse', 'yes']);
      const [got] = p.received;
      expect(got?.headers.soapaction).to.equal('"urn:r#Ping"');
      expect(got?.headers['content-type']).to.equal('text/xml; charset=utf-8');
      const env = got?.envelope;
      expect([env?.ns, env?.name]).to.deep.equal([SOAP11_NS, 'Envelope']);
      expect(descendant(env!, 'MessageID')?.text).to.equal('urn:m:1');
      expect(descendant(env!, 'Username')?.text).to.equal('eng');
      const created = descendant(env!, 'Created')?.text ?? '';
      expect(created).to.equal('2026-03-01T10:00:00.000Z');
      const nonce = Buffer.from(descendant(env!, 'Nonce')?.text ?? '', 'base64');
      expect(descendant(env!, 'Password')?.text).to.equal(passwordDigest(nonce, created, 's3cret'));
      expect(descendant(env!, 'Security')?.ns).to.equal(WSSE);
    } finally {
      p.close();
    }
  });

  it('sends no Header when there is neither MessageID nor credentials', async () => {
    const p = await partner((res) => res.writeHead(202).end());
    try {
      await client.notify({ url: p.url, action: 'urn:r#Done', body: '<r:Done xmlns:r="urn:r"/>' });
      expect(p.received[0]?.envelope.children.map((c) => c.name)).to.deep.equal(['Body']);
    } finally {
      p.close();
    }
  });

  it('turns a SOAP Fault into a SoapFault with its reason and detail element', async () => {
    const fault = '<s:Fault><faultcode>s:Client</faultcode><faultstring>no such order</faultstring><detail><f:OrderFault xmlns:f="urn:f"><f:code>42</f:code></f:OrderFault></detail></s:Fault>';
    const p = await partner((res) => res.writeHead(500, { 'content-type': 'text/xml' }).end(envelope(fault)));
    try {
      const err = await client.call({ url: p.url, action: 'urn:r#Get', body: '<r:Get xmlns:r="urn:r"/>' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(SoapFault);
      const f = err as SoapFault;
      expect([f.status, f.reason, f.detail?.namespaceURI, f.detail?.localName]).to.deep.equal([500, 'no such order', 'urn:f', 'OrderFault']);
    } finally {
      p.close();
    }
  });

  it('takes a 2xx without a body as the answer of a one-way operation (HTTP 202, WS-I BP R2714)', async () => {
    const p = await partner((res) => res.writeHead(202).end());
    try {
      expect(await client.call({ url: p.url, action: 'urn:r#Done', body: '<r:Done xmlns:r="urn:r"/>' })).to.equal(undefined);
      expect(p.received).to.have.length(1);
    } finally {
      p.close();
    }
  });

  it('refuses an answer that is no SOAP envelope, and a one-way message answered outside 2xx, naming the status', async () => {
    const p = await partner((res) => res.writeHead(503, { 'content-type': 'text/html' }).end('<html>busy'));
    try {
      const call = await client.call({ url: p.url, action: 'urn:r#Get', body: '' }).catch((e: unknown) => e);
      expect(call).to.be.instanceOf(SoapResponseError).with.property('reason', 'NotSoap');
      expect((call as Error).message).to.equal('HTTP 503 without a SOAP envelope');
      const notify = await client.notify({ url: p.url, action: 'urn:r#Done', body: '' }).catch((e: unknown) => e);
      expect(notify).to.be.instanceOf(SoapResponseError).with.property('message', 'HTTP 503');
    } finally {
      p.close();
    }
  });

  it('stops reading an answer past the size cap', async () => {
    const p = await partner((res) => res.writeHead(200).end(Buffer.alloc(CAP * 4, ' ')));
    try {
      const err = await client.call({ url: p.url, action: 'urn:r#Get', body: '' }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(OutboundError).with.property('reason', 'ResponseTooLarge');
    } finally {
      p.close();
    }
  });
});
