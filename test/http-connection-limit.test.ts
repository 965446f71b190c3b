import http from 'node:http';
import net from 'node:net';
import { expect } from 'chai';
import { eventually, startTestServer, type TestServer } from './support/harness';

/** Opens a connection from `from` that sends half a request and holds it; resolves once connected. */
async function hold(port: number, from: string): Promise<net.Socket> {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress: from });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write('POST /soap/Request HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n<s:Env');
  return socket;
}

/** Resolves true when the server closes the socket before answering anything. */
async function closedWithoutAnswer(socket: net.Socket): Promise<boolean> {
  let answered = false;
  socket.on('data', () => {
    answered = true;
  });
  if (!socket.destroyed) await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return !answered;
}

async function health(port: number, from: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/health', localAddress: from, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', () => resolve(undefined));
  });
}

function portOf(server: TestServer): number {
  return Number(new URL(server.baseUrl).port);
}

describe('HTTP connection caps', function () {
  this.timeout(60_000);
  let server: TestServer | undefined;
  const sockets: net.Socket[] = [];

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await server?.close();
    server = undefined;
  });

  it('closes a connection over the per-address cap at once, keeps other addresses in, and counts it', async () => {
    server = await startTestServer({ PROVISOR_HTTP_MAX_CONNECTIONS_PER_ADDRESS: '4' });
    const port = portOf(server);
    for (let i = 0; i < 4; i++) sockets.push(await hold(port, '127.0.0.5'));
    const fifth = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.5' });
    fifth.on('error', () => undefined);
    sockets.push(fifth);
    expect(await closedWithoutAnswer(fifth), 'the fifth connection is closed unanswered').to.equal(true);
    expect(sockets.slice(0, 4).every((s) => !s.destroyed), 'the four held connections stay open').to.equal(true);

    expect(await health(port, '127.0.0.6'), 'another address is served').to.equal(200);

    // Once one of the four ends, the address may open another.
    sockets[0]?.destroy();
    const status = await eventually(async () => ((await health(port, '127.0.0.5')) === 200 ? 200 : undefined), 'a connection from the freed address');
    expect(status).to.equal(200);

    const metrics = await fetch(`${server.baseUrl}/metrics`).then((r) => r.text());
    const refused = /provisor_http_connections_refused_total\{reason="address"\} (\d+)/.exec(metrics);
    expect(Number(refused?.[1] ?? 0)).to.be.at.least(1);
  });

  it('closes a connection over the total cap whatever its address', async () => {
    server = await startTestServer({ PROVISOR_HTTP_MAX_CONNECTIONS: '3', PROVISOR_HTTP_MAX_CONNECTIONS_PER_ADDRESS: '0' });
    const port = portOf(server);
    for (let i = 0; i < 3; i++) sockets.push(await hold(port, '127.0.0.7'));
    const other = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.8' });
    other.on('error', () => undefined);
    sockets.push(other);
    expect(await closedWithoutAnswer(other)).to.equal(true);
  });

  it('takes no cap when both are 0', async () => {
    server = await startTestServer({ PROVISOR_HTTP_MAX_CONNECTIONS: '0', PROVISOR_HTTP_MAX_CONNECTIONS_PER_ADDRESS: '0' });
    const port = portOf(server);
    for (let i = 0; i < 100; i++) sockets.push(await hold(port, '127.0.0.9'));
    expect(await health(port, '127.0.0.9')).to.equal(200);
  });

  it('hands the HTTP server only the connections it admits: a refused one never gets an HTTP parser', async () => {
    const { ConnectionLimiter } = await import('../src/net/connection-limit');
    const { systemClock } = await import('../src/clock');
    const { createLogger } = await import('../src/log');
    const plain = http.createServer((_req, res) => res.end('ok'));
    const seen: net.Socket[] = [];
    plain.on('connection', (socket: net.Socket) => seen.push(socket));
    let refused = 0;
    new ConnectionLimiter(
      { maxConnections: 0, maxConnectionsPerAddress: 2 },
      { clock: systemClock, logger: createLogger('error', { silent: true }), onRefused: () => refused++ },
    ).attach(plain);
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', () => resolve()));
    try {
      const port = (plain.address() as net.AddressInfo).port;
      for (let i = 0; i < 2; i++) sockets.push(await hold(port, '127.0.0.11'));
      const over = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.11' });
      over.on('error', () => undefined);
      sockets.push(over);
      expect(await closedWithoutAnswer(over), 'the third connection is closed unanswered').to.equal(true);
      expect(refused).to.equal(1);
      expect(seen.length, "the server's own 'connection' listeners saw only the admitted connections").to.equal(2);
      expect(await health(port, '127.0.0.12'), 'a request from another address is still served').to.equal(200);
      expect(seen.length).to.equal(3);
    } finally {
      for (const s of sockets.splice(0)) s.destroy();
      plain.closeAllConnections();
      await new Promise<void>((resolve) => plain.close(() => resolve()));
    }
  });

  it('refuses a negative cap at start-up, naming the setting', async () => {
    const { loadConfig } = await import('../src/config');
    expect(() => loadConfig({ PROVISOR_HTTP_MAX_CONNECTIONS_PER_ADDRESS: '-1' })).to.throw(/PROVISOR_HTTP_MAX_CONNECTIONS_PER_ADDRESS/);
  });
});
