import dns from 'node:dns';
import net from 'node:net';
import { expect } from 'chai';
import { MailIntake, type SessionLimits } from '../../src/mail/intake';
import { eventually } from '../support/harness';
import { captureLogger } from './support';

const LIMITS: SessionLimits = { maxConnections: 100, maxConnectionsPerAddress: 10, maxSessionMs: 600_000, idleTimeoutMs: 60_000 };

/** The intake alone, with the limits a test picks; no mail reaches the work orders. */
async function intakeWith(limits: Partial<SessionLimits>) {
  const { logger, records } = captureLogger();
  const intake = new MailIntake(
    { host: '127.0.0.1', port: 0, addresses: ['orders@provisor.test'], maxMessageBytes: 4096, closeTimeoutMs: 200, limits: { ...LIMITS, ...limits } },
    { submit: () => Promise.reject(new Error('not needed')), getType: () => Promise.reject(new Error('not needed')), listTypes: () => Promise.resolve([]) },
    { findByEmail: () => Promise.resolve(null) },
    { send: () => undefined },
    logger,
  );
  const port = await intake.listen();
  return { intake, port, records };
}

/** A raw SMTP client socket: what the server wrote, and its end. */
interface Conversation {
  readonly socket: net.Socket;
  /** Resolves with the first reply line matching, as soon as it arrives. */
  reply(pattern: RegExp): Promise<string>;
  /** Resolves when the server has closed the connection. */
  readonly closed: Promise<void>;
  send(line: string): void;
}

function connect(port: number): Conversation {
  const socket = net.connect(port, '127.0.0.1');
  let partial = '';
  const lines: string[] = [];
  /** Replies are consumed in order: each wait looks only at lines after the last one matched. */
  let next = 0;
  let waiter: { pattern: RegExp; resolve: (line: string) => void } | undefined;
  const check = (): void => {
    if (waiter === undefined) return;
    for (let i = next; i < lines.length; i++) {
      const line = lines[i] ?? '';
      if (waiter.pattern.test(line)) {
        next = i + 1;
        const { resolve } = waiter;
        waiter = undefined;
        resolve(line);
        return;
      }
    }
  };
  socket.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString('utf8')).split('\r\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    check();
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    socket,
    closed,
    reply: (pattern) =>
      new Promise<string>((resolve) => {
        waiter = { pattern, resolve };
        check();
      }),
    send: (line) => socket.write(`${line}\r\n`),
  };
}

describe('the SMTP intake\'s session limits', function () {
  this.timeout(20_000);

  it('greets without a reverse DNS lookup of the client (a flood of connections is not a flood of lookups)', async () => {
    const { intake, port } = await intakeWith({});
    const lookups: string[] = [];
    const reverse = dns.reverse;
    dns.reverse = ((ip: string, callback: (err: NodeJS.ErrnoException | null, hostnames: string[]) => void) => {
      lookups.push(ip);
      callback(null, []);
    }) as typeof dns.reverse;
    const clients = [connect(port), connect(port), connect(port)];
    try {
      for (const c of clients) expect(await c.reply(/^\d{3} /)).to.match(/^220 /);
      expect(lookups).to.deep.equal([]);
    } finally {
      dns.reverse = reverse;
      for (const c of clients) c.socket.destroy();
      await intake.close();
    }
  });

  it('answers a connection over the overall cap with 421 and closes it', async () => {
    const { intake, port } = await intakeWith({ maxConnections: 2 });
    const open = [connect(port), connect(port)];
    try {
      for (const c of open) await c.reply(/^220 /);
      const third = connect(port);
      expect(await third.reply(/^\d{3} /)).to.match(/^421 .*Too many connected clients/);
      await third.closed;
    } finally {
      for (const c of open) c.socket.destroy();
      await intake.close();
    }
  });

  it('answers a connection over the per-address cap with 421 naming the address, and admits one again once a connection closes', async () => {
    const { intake, port, records } = await intakeWith({ maxConnectionsPerAddress: 1 });
    const first = connect(port);
    try {
      await first.reply(/^220 /);
      const second = connect(port);
      expect(await second.reply(/^\d{3} /)).to.match(/^421 .*Too many connections from 127\.0\.0\.1/);
      await second.closed;
      expect(records.find((r) => r.message === 'SMTP connection refused: too many from one address')).to.include({ level: 'warn', remoteAddress: '127.0.0.1', limit: 1 });
      first.send('QUIT');
      await first.closed;
      // The slot is released when the server has seen the close; until then a new connection may still be refused.
      const third = await eventually(async () => {
        const c = connect(port);
        const line = await c.reply(/^\d{3} /);
        if (line.startsWith('220 ')) return c;
        await c.closed;
        return undefined;
      }, 'a connection to be admitted again', 10_000, 20);
      third.socket.destroy();
    } finally {
      first.socket.destroy();
      await intake.close();
    }
  });

  it('closes a client that stays silent past the idle limit with 421', async () => {
    const { intake, port } = await intakeWith({ idleTimeoutMs: 200 });
    const c = connect(port);
    try {
      await c.reply(/^220 /);
      c.send('EHLO client.test');
      await c.reply(/^250 /);
      expect(await c.reply(/^421 /)).to.match(/^421 .*Timeout/);
      await c.closed;
    } finally {
      c.socket.destroy();
      await intake.close();
    }
  });

  it('closes a session that lasts past the session limit with 421, however active the client', async () => {
    const { intake, port, records } = await intakeWith({ maxSessionMs: 300 });
    const c = connect(port);
    try {
      await c.reply(/^220 /);
      // A slow client that keeps the session alive with NOOPs, each answered before the next.
      let last = '';
      while (!last.startsWith('421 ')) {
        c.send('NOOP');
        last = await c.reply(/^(250|421) /);
      }
      expect(last).to.equal('421 Session time limit (300 ms) reached, closing connection');
      await c.closed;
      expect(records.find((r) => r.message === 'SMTP session closed: time limit reached')).to.include({ level: 'warn', remoteAddress: '127.0.0.1', limitMs: 300 });
    } finally {
      c.socket.destroy();
      await intake.close();
    }
  });
});
