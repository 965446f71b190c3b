import http from 'node:http';
import { Worker } from 'node:worker_threads';
import { expect } from 'chai';
import { createLogger } from '../../src/log';
import { widenAccept, type AcceptHandles } from '../../src/net/accept-handles';

/**
 * A client in a thread of its own: opens `count` connections to `port`,
 * counts each established one in `connected` (the kernel completes the
 * handshake whether or not the server has accepted yet), sends a GET on
 * each and reports the status lines it got back.
 */
const CLIENT = `
const net = require('node:net');
const { workerData, parentPort } = require('node:worker_threads');
const connected = new Int32Array(workerData.connected);
const statuses = [];
for (let i = 0; i < workerData.count; i++) {
  const socket = net.connect(workerData.port, '127.0.0.1', () => {
    Atomics.add(connected, 0, 1);
    socket.write('GET / HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n');
  });
  let answer = '';
  socket.on('data', (chunk) => { answer += chunk; });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    statuses.push(answer.split('\\r\\n')[0]);
    if (statuses.length === workerData.count) parentPort.postMessage(statuses);
  });
}
`;

interface Burst {
  /** How many connections each turn of the event loop accepted, turn by turn (turns with none left out). */
  readonly perTurn: number[];
  /** The status line of every answer. */
  readonly statuses: string[];
}

/**
 * Holds this thread's event loop while `count` connections queue up in the
 * kernel, then lets it go and counts the accepts of each turn.
 */
async function burst(server: http.Server, count: number): Promise<Burst> {
  const port = (server.address() as { port: number }).port;
  const connected = new SharedArrayBuffer(4);
  const worker = new Worker(CLIENT, { eval: true, workerData: { port, count, connected } });
  const answered = new Promise<string[]>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  let turn = 0;
  const accepts = new Map<number, number>();
  const onConnection = (): void => {
    accepts.set(turn, (accepts.get(turn) ?? 0) + 1);
  };
  server.on('connection', onConnection);
  // The loop is held (no fixed sleep: until the worker has seen every handshake complete, with a bound).
  const view = new Int32Array(connected);
  const deadline = Date.now() + 20_000;
  while (Atomics.load(view, 0) < count) {
    if (Date.now() > deadline) throw new Error(`only ${Atomics.load(view, 0)} of ${count} connections were established`);
    Atomics.wait(view, 0, Atomics.load(view, 0), 10);
  }
  let counting = true;
  const tick = (): void => {
    turn += 1;
    if (counting) setImmediate(tick);
  };
  setImmediate(tick);
  try {
    const statuses = await answered;
    return { perTurn: [...accepts.values()], statuses };
  } finally {
    counting = false;
    server.off('connection', onConnection);
    await worker.terminate();
  }
}

describe('extra accept handles', function () {
  this.timeout(60_000);
  const logger = createLogger('error');
  let server: http.Server | undefined;
  let handles: AcceptHandles | undefined;

  async function listening(): Promise<http.Server> {
    const s = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
    server = s;
    return s;
  }

  afterEach(async () => {
    handles?.close();
    handles = undefined;
    const s = server;
    server = undefined;
    if (s !== undefined) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  });

  it('accepts several waiting connections in one turn of the event loop, and serves each through the server', async () => {
    const s = await listening();
    handles = widenAccept(s, 7, logger);
    await handles.ready;
    expect(handles.copies(), 'listening handles added').to.equal(7);

    const result = await burst(s, 40);
    expect(result.statuses, 'every connection is answered by the server').to.have.length(40);
    expect(result.statuses.every((line) => line === 'HTTP/1.1 200 OK'), result.statuses.join(', ')).to.equal(true);
    expect(result.perTurn.reduce((a, b) => a + b, 0), 'every connection was seen by the server').to.equal(40);
    expect(Math.max(...result.perTurn), `accepts per turn: ${result.perTurn.join(' ')}`).to.be.greaterThan(1);
    expect(Math.max(...result.perTurn), 'no more than the handles').to.be.at.most(8);
  });

  it('adds nothing when asked for no copies, and the server works as before', async () => {
    const s = await listening();
    handles = widenAccept(s, 0, logger);
    await handles.ready;
    expect(handles.copies()).to.equal(0);
    const result = await burst(s, 10);
    expect(result.statuses.filter((line) => line === 'HTTP/1.1 200 OK')).to.have.length(10);
  });

  it('stops accepting on the copies when closed: the server keeps its own handle, and closes without waiting on them', async () => {
    const s = await listening();
    handles = widenAccept(s, 3, logger);
    await handles.ready;
    handles.close();
    expect(handles.copies()).to.equal(0);
    const result = await burst(s, 12);
    expect(result.statuses.filter((line) => line === 'HTTP/1.1 200 OK'), 'served through the server\'s own handle').to.have.length(12);
    expect(Math.max(...result.perTurn), `one accept per turn again: ${result.perTurn.join(' ')}`).to.equal(1);
  });
});
