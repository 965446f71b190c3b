import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { DestinationDeniedError, DestinationPolicy } from '../../src/net/destination-policy';
import { OutboundError, OutboundHttp } from '../../src/net/outbound-http';
import { endlessServer } from '../support/endless-server';

const MiB = 1024 * 1024;

/** A partner on loopback whose behaviour each test picks. */
async function partner(handle: http.RequestListener): Promise<{ url: string; server: http.Server; closed: Promise<void> }> {
  const server = http.createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/soap`, server, closed: new Promise<void>((resolve) => server.once('close', resolve)) };
}

function sender(maxResponseBytes: number, timeoutMs = 10_000, names: Record<string, string> = {}): OutboundHttp {
  const policy = new DestinationPolicy({ allowNetworks: [], denyNetworks: [], allowOwnPorts: false }, () => [], (host) => {
    const address = names[host];
    return address === undefined ? Promise.reject(new Error(`unknown name ${host}`)) : Promise.resolve([{ address, family: 4 }]);
  });
  return new OutboundHttp(policy, { maxResponseBytes, timeoutMs });
}

async function failure(p: Promise<unknown>): Promise<OutboundError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).to.be.instanceOf(OutboundError);
  return err as OutboundError;
}

describe('the outbound HTTP sender', function () {
  this.timeout(30_000);

  it('stops reading an endless answer at the cap and closes the connection, naming the cap', async () => {
    const p = await endlessServer('/soap');
    try {
      const err = await failure(sender(1 * MiB).post({ url: p.url, headers: {}, body: '<x/>' }));
      expect(err.reason).to.equal('ResponseTooLarge');
      expect(err.message).to.equal(`the answer of ${p.url} went past the limit of ${MiB} bytes (PROVISOR_OUTBOUND_MAX_RESPONSE_BYTES); the connection was closed`);
      await p.cut;
      // The partner was cut off near the cap, not left to stream on (socket buffers account for the rest).
      expect(p.sent()).to.be.below(64 * MiB);
    } finally {
      await p.close();
    }
  });

  it('refuses an answer whose declared length is over the cap before reading it', async () => {
    const p = await partner((_req, res) => {
      res.writeHead(200, { 'content-length': String(200 * MiB) });
      res.write('<partial');
    });
    try {
      const err = await failure(sender(4 * MiB).post({ url: p.url, headers: {}, body: '' }));
      expect(err.reason).to.equal('ResponseTooLarge');
      expect(err.message).to.contain(`declares ${200 * MiB} bytes, over the limit of ${4 * MiB} bytes`);
    } finally {
      p.server.closeAllConnections();
      p.server.close();
    }
  });

  it('gives up on a partner that never answers once the deadline passes', async () => {
    const p = await partner(() => undefined);
    try {
      const err = await failure(sender(MiB, 200).post({ url: p.url, headers: {}, body: '' }));
      expect(err.reason).to.equal('Timeout');
      expect(err.message).to.equal(`${p.url} did not answer within 200 ms`);
    } finally {
      p.server.closeAllConnections();
      p.server.close();
    }
  });

  it('reads an answer within the cap whole, with its status', async () => {
    const p = await partner((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => res.writeHead(202).end(`echo ${Buffer.concat(chunks).toString('utf8')}`));
    });
    try {
      const response = await sender(MiB).post({ url: p.url, headers: { 'content-type': 'text/xml' }, body: '<hello/>' });
      expect(response.status).to.equal(202);
      expect(response.body.toString('utf8')).to.equal('echo <hello/>');
    } finally {
      p.server.close();
    }
  });

  it('connects to the address the policy checked and keeps the host name in the Host header', async () => {
    let host: string | undefined;
    const p = await partner((req, res) => {
      host = req.headers.host;
      res.writeHead(200).end();
    });
    try {
      const port = (p.server.address() as AddressInfo).port;
      await sender(MiB, 10_000, { 'partner.test': '127.0.0.1' }).post({ url: `http://partner.test:${port}/soap`, headers: {}, body: '' });
      expect(host).to.equal(`partner.test:${port}`);
    } finally {
      p.server.close();
    }
  });

  it('checks the destination again when it calls: a refused one is never connected to', async () => {
    let connections = 0;
    const p = await partner((_req, res) => res.writeHead(200).end());
    p.server.on('connection', () => connections++);
    try {
      const port = (p.server.address() as AddressInfo).port;
      // As if this were Provisor's own port: the policy refuses it before any socket is opened.
      const policy = new DestinationPolicy({ allowNetworks: [], denyNetworks: [], allowOwnPorts: false }, () => [port]);
      const err = await new OutboundHttp(policy, { maxResponseBytes: MiB, timeoutMs: 10_000 }).post({ url: p.url, headers: {}, body: '' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(DestinationDeniedError);
      expect((err as Error).message).to.contain(`port ${port} on this host is one of Provisor's own listening ports`);
      expect(connections).to.equal(0);
    } finally {
      p.server.close();
    }
  });
});
