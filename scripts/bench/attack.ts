/**
 * The attack run: a real Provisor server, started as its own process on a
 * fresh database, is sent every shape that once took it down or let someone
 * in (the parser's namespace and nesting bombs, oversized names, replayed
 * nonces, password guessing, runaway plans, far-future waits, bad paths and
 * escapes, hostile destinations, a plan hijack) together with floods (slow
 * connections, many concurrent bodies, idle SMTP sessions, an endless
 * answer), while a prober asks `/health` every 20 ms and real customers keep
 * ordering. It passes when every attack is refused as the caller's fault (or
 * contained), `/health` answers in under 100 ms throughout, the server is
 * still up, every customer order is CLOSED and billed exactly once, and
 * nothing else is billed.
 *
 * Usage: npm run attack [-- --db sqlite|mysql] [--orders N] [--server-nice N] [--only parser,logins,plans,paths,slow,bodies,smtp,endless]
 * The attacking thread runs at nice 19 (it stands in for another machine and
 * must not take the server's cores); the server and the prober do not.
 * ATTACK_PROF=DIR writes a CPU profile of the server under attack into DIR.
 * Exit code 0 when every check passes, 1 otherwise.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { buildApp } from '../../src/app';
import { createLogger } from '../../src/log';
import { projectRoot } from '../../src/project-root';
import { freshDatabase, type DbKind, type FreshDatabase } from './databases';
import { freePort, startServer, type ServerProcess } from './processes';

const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/';
const WSSE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
const WSU = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd';
const PT = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0';
const BPEL = 'http://docs.oasis-open.org/wsbpel/2.0/process/executable';

interface User {
  readonly username: string;
  readonly password: string;
}

interface Reply {
  readonly status: number;
  readonly body: string;
  readonly ms: number;
}

interface Outcome {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? (process.argv[i + 1] ?? fallback) : fallback;
}

function password(): string {
  return crypto.randomBytes(12).toString('base64url');
}

function token(user: User, options: { digest?: boolean; nonce?: Buffer; nonceText?: string; created?: string } = {}): string {
  const created = options.created ?? new Date().toISOString();
  const nonce = options.nonce ?? crypto.randomBytes(16);
  const type = options.digest === true ? 'PasswordDigest' : 'PasswordText';
  const secret =
    options.digest === true ? crypto.createHash('sha1').update(Buffer.concat([nonce, Buffer.from(created), Buffer.from(user.password)])).digest('base64') : user.password;
  return (
    `<wsse:Security xmlns:wsse="${WSSE}" xmlns:wsu="${WSU}"><wsse:UsernameToken>` +
    `<wsse:Username>${user.username}</wsse:Username><wsse:Password Type="${PT}#${type}">${secret}</wsse:Password>` +
    `<wsse:Nonce>${options.nonceText ?? nonce.toString('base64')}</wsse:Nonce><wsu:Created>${created}</wsu:Created>` +
    `</wsse:UsernameToken></wsse:Security>`
  );
}

function envelope(body: string, header = ''): string {
  return `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="${SOAP11}"><s:Header>${header}</s:Header><s:Body>${body}</s:Body></s:Envelope>`;
}

/**
 * The addresses the run speaks from (all loopback): customers and the health
 * prober from 127.0.0.1, an authenticated attacker from 127.0.0.2, the
 * password guesser and the idle SMTP sessions from 127.0.0.3, the flood of
 * bodies from 127.0.0.4 and the held slow bodies from 127.0.0.5 (each flood
 * from an address of its own, as from machines of their own: the held ones
 * fill their address's connection cap, and the bodies are to be parsed, not
 * refused at a full cap), so the per-address log-in
 * throttle holds the guesser back without holding back the customers.
 */
const FROM = { customer: '127.0.0.1', insider: '127.0.0.2', stranger: '127.0.0.3', flood: '127.0.0.4', holder: '127.0.0.5' } as const;
type From = (typeof FROM)[keyof typeof FROM];

async function post(url: string, body: string, from: From = FROM.insider, timeoutMs = 30_000): Promise<Reply> {
  const started = performance.now();
  const target = new URL(url);
  return new Promise<Reply>((resolve, reject) => {
    const req = http.request(
      { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', localAddress: from, agent: false, headers: { 'content-type': 'text/xml; charset=utf-8', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started }));
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** A caller's mistake: HTTP 4xx, or a SOAP 1.1 fault whose code is Client. */
function isClientFault(reply: Reply): boolean {
  if (reply.status >= 400 && reply.status < 500) return true;
  return reply.status === 500 && /<faultcode>[^<]*Client[^<]*<\/faultcode>/.test(reply.body);
}

function faultSummary(reply: Reply): string {
  const reason = /<faultstring>([^<]{0,160})/.exec(reply.body)?.[1] ?? reply.body.slice(0, 160);
  return `HTTP ${reply.status} in ${reply.ms.toFixed(0)} ms, ${reply.body.length} bytes: ${reason}`;
}

function field(body: string, name: string): string | undefined {
  return new RegExp(`<(?:\\w+:)?${name}>([^<]*)</(?:\\w+:)?${name}>`).exec(body)?.[1];
}

/**
 * Asks /health every `everyMs` until stopped and keeps every latency. It runs
 * in a worker thread of its own, so the attacks this process builds and sends
 * (megabyte strings, hundreds of sockets) cannot delay a probe: what it
 * measures is the server alone.
 */
function healthProber(baseUrl: string, everyMs = 20): { ready: Promise<void>; stop(): Promise<number[]>; failures(): string[] } {
  const worker = new Worker(__filename, { workerData: { probe: { baseUrl, everyMs, from: FROM.customer } } });
  let result: { latencies: number[]; failures: string[] } | undefined;
  let started: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    started = resolve;
  });
  const done = new Promise<void>((resolve, reject) => {
    worker.on('message', (message: 'ready' | { latencies: number[]; failures: string[] }) => {
      if (message === 'ready') {
        started();
        return;
      }
      result = message;
      resolve();
    });
    worker.once('error', reject);
  });
  return {
    ready,
    async stop() {
      worker.postMessage('stop');
      await done;
      await worker.terminate();
      return result?.latencies ?? [];
    },
    failures: () => result?.failures ?? [],
  };
}

/** The prober's loop, in its worker thread. */
async function probeLoop(options: { baseUrl: string; everyMs: number; from: string }): Promise<void> {
  const latencies: number[] = [];
  const failures: string[] = [];
  let firstAt = 0;
  let running = true;
  parentPort?.once('message', () => {
    running = false;
  });
  while (running) {
    const started = performance.now();
    try {
      // A new connection each time: a flood of held connections must not keep anyone else out.
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.get(`${options.baseUrl}/health`, { agent: false, localAddress: options.from }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.setTimeout(5_000, () => req.destroy(new Error('no answer within 5 s')));
        req.on('error', reject);
      });
      if (status !== 200) failures.push(`HTTP ${status}`);
    } catch (err) {
      failures.push((err as Error).message);
    }
    const ms = performance.now() - started;
    if (ms >= 100) failures.push(`a probe took ${ms.toFixed(0)} ms, ${((started - firstAt) / 1000).toFixed(2)} s into the run`);
    if (latencies.length === 0) {
      firstAt = started;
      parentPort?.postMessage('ready');
    }
    latencies.push(ms);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, options.everyMs - ms)));
  }
  parentPort?.postMessage({ latencies, failures });
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
}

/** A minimal plan: no partners, one activity. */
function plan(name: string, activity: string, variables = ''): string {
  return `<bpel:process name="${name}" targetNamespace="urn:attack" xmlns:bpel="${BPEL}">${variables}${activity}</bpel:process>`;
}

function deployBody(bpel: string): string {
  return `<w:DeployProcess xmlns:w="urn:provisor:workflow:1"><w:bpel>${bpel.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</w:bpel></w:DeployProcess>`;
}

class Attack {
  readonly outcomes: Outcome[] = [];
  constructor(
    readonly server: ServerProcess,
    readonly operator: User,
    readonly admin: User,
    readonly victim: User,
    readonly customer: User,
  ) {}

  url(service: string): string {
    return `${this.server.baseUrl}/soap/${service}`;
  }

  record(name: string, ok: boolean, detail: string): void {
    this.outcomes.push({ name, ok, detail });
    process.stdout.write(`  ${ok ? 'ok  ' : 'FAIL'} ${name}: ${detail}\n`);
  }

  async expectClientFault(name: string, service: string, body: string, header?: string): Promise<Reply | undefined> {
    try {
      const reply = await post(this.url(service), envelope(body, header ?? token(this.operator)), header === undefined ? FROM.insider : FROM.stranger);
      this.record(name, isClientFault(reply) && reply.body.length < 16_384, faultSummary(reply));
      return reply;
    } catch (err) {
      this.record(name, false, `no answer: ${(err as Error).message}`);
      return undefined;
    }
  }

  // ---- the parser ----------------------------------------------------------

  async parser(): Promise<void> {
    const decls = (n: number, prefix: string): string => Array.from({ length: n }, (_, i) => ` xmlns:${prefix}${i}="urn:${prefix}:${i}"`).join('');
    const children = (n: number): string => Array.from({ length: n }, (_, i) => `<c xmlns:q${i}="urn:b:${i}"/>`).join('');
    await this.expectClientFault('namespace declarations: 2,000 at the root × 2,000 children declaring one', 'Request', `<r${decls(2_000, 'p')}>${children(2_000)}</r>`);
    await this.expectClientFault('namespace declarations: 60 at the root × 12,000 children declaring one (under the per-element limit)', 'Request', `<r${decls(60, 'p')}>${children(12_000)}</r>`);
    await this.expectClientFault('nesting 100,000 deep', 'Request', '<a>'.repeat(100_000) + '</a>'.repeat(100_000));
    const attrs = Array.from({ length: 20_000 }, (_, i) => ` a${i}="x"`).join('');
    await this.expectClientFault('20,000 attributes on one element', 'Request', `<r${attrs}/>`);
    const longName = 'n'.repeat(500_000);
    await this.expectClientFault('a 500,000-character element name (the fault quotes it bounded)', 'Request', `<${longName}/>`);
    await this.expectClientFault('DTD with an entity', 'Request', '<!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>');
    await this.expectClientFault(
      'mixed content in a simple field (<system>web<b>x</b>01</system>)',
      'Software',
      '<t:Install xmlns:t="urn:provisor:software:1"><t:system>web<t:b>x</t:b>01</t:system><t:component>demo-httpd</t:component></t:Install>',
    );
  }

  // ---- letting people in ---------------------------------------------------

  async nonces(): Promise<void> {
    const body = '<r:GetStatus xmlns:r="urn:provisor:request:1"><r:requestId>no-such-request</r:requestId></r:GetStatus>';
    const nonce = crypto.randomBytes(16);
    const created = new Date().toISOString();
    const first = await post(this.url('Request'), envelope(body, token(this.operator, { digest: true, nonce, created })));
    const accepted = !/Authentication|Nonce/i.test(first.body);
    const b64 = nonce.toString('base64');
    const variants = [b64, `${b64}\n`, b64.replace(/=+$/, ''), nonce.toString('base64url'), `${b64}!`, `${b64}==`, ` ${b64}`];
    let refused = 0;
    for (const text of variants) {
      const reply = await post(this.url('Request'), envelope(body, token(this.operator, { digest: true, nonce, nonceText: text, created })));
      if (isClientFault(reply) && /nonce|authentic|security/i.test(reply.body)) refused += 1;
    }
    this.record('PasswordDigest nonce replayed in 7 encodings', accepted && refused === variants.length, `first use accepted: ${String(accepted)}; replays refused: ${refused}/${variants.length}`);
  }

  async guessing(): Promise<void> {
    const body = '<r:GetStatus xmlns:r="urn:provisor:request:1"><r:requestId>no-such-request</r:requestId></r:GetStatus>';
    let guesses = 0;
    for (let i = 0; i < 40; i++) {
      await post(this.url('Request'), envelope(body, token({ username: this.victim.username, password: `wrong-${i}` })), FROM.stranger);
      guesses += 1;
    }
    const right = await post(this.url('Request'), envelope(body, token(this.victim)), FROM.stranger);
    const refused = isClientFault(right) && /lock|throttl|too many|retry/i.test(right.body);
    this.record(`the right password after ${guesses} wrong ones`, refused, faultSummary(right));
  }

  // ---- plans -----------------------------------------------------------------

  async deploy(bpel: string, user: User = this.operator): Promise<Reply> {
    return post(this.url('Workflow'), envelope(deployBody(bpel), token(user)));
  }

  async start(processName: string): Promise<string | undefined> {
    const reply = await post(this.url('Workflow'), envelope(`<w:StartProcess xmlns:w="urn:provisor:workflow:1"><w:processName>${processName}</w:processName></w:StartProcess>`, token(this.operator)));
    return field(reply.body, 'instanceId');
  }

  async instanceStatus(id: string): Promise<string | undefined> {
    const reply = await post(this.url('Workflow'), envelope(`<w:GetProcessStatus xmlns:w="urn:provisor:workflow:1"><w:instanceId>${id}</w:instanceId></w:GetProcessStatus>`, token(this.operator)));
    return field(reply.body, 'status');
  }

  async untilEnded(id: string, timeoutMs: number): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs;
    let status: string | undefined;
    while (Date.now() < deadline) {
      status = await this.instanceStatus(id);
      if (status !== undefined && status !== 'RUNNING') return status;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return status;
  }

  async plans(): Promise<void> {
    const staticForEach = plan(
      'AttackForEachStatic',
      '<bpel:forEach parallel="yes" counterName="i"><bpel:startCounterValue>1</bpel:startCounterValue><bpel:finalCounterValue>3000000</bpel:finalCounterValue><bpel:scope><bpel:empty/></bpel:scope></bpel:forEach>',
    );
    const deployStatic = await this.deploy(staticForEach);
    this.record('forEach parallel over 3,000,000 (literal) refused at deploy', isClientFault(deployStatic), faultSummary(deployStatic));

    const dynamicForEach = plan(
      'AttackForEachDynamic',
      '<bpel:forEach parallel="yes" counterName="i"><bpel:startCounterValue>1</bpel:startCounterValue><bpel:finalCounterValue>string-length(\'xxx\') * 1000000</bpel:finalCounterValue><bpel:scope><bpel:empty/></bpel:scope></bpel:forEach>',
    );
    await this.runaway('forEach parallel over 3,000,000 (computed) faults the instance', dynamicForEach, 'AttackForEachDynamic');
    await this.runaway('while(true()) of empty faults the instance', plan('AttackWhileTrue', '<bpel:while><bpel:condition>true()</bpel:condition><bpel:empty/></bpel:while>'), 'AttackWhileTrue');

    const deep = plan('AttackDeep', '<bpel:sequence>'.repeat(5_000) + '<bpel:empty/>' + '</bpel:sequence>'.repeat(5_000));
    const deployDeep = await this.deploy(deep);
    this.record('a plan nested 5,000 deep refused at deploy', isClientFault(deployDeep), faultSummary(deployDeep));

    const longWait = plan('AttackLongWait', '<bpel:wait><bpel:for>\'P40D\'</bpel:for></bpel:wait>');
    const deployed = await this.deploy(longWait);
    const id = deployed.status === 200 ? await this.start('AttackLongWait') : undefined;
    if (id === undefined) {
      this.record('a 40-day wait waits', false, faultSummary(deployed));
    } else {
      // Nothing to wait for but the end of the other attacks: checked in finish().
      this.longWaitId = id;
    }

    const hijack = plan('TestEcho', '<bpel:empty/>');
    const hijackReply = await this.deploy(hijack);
    this.record('an operator deploys a process under a catalog plan\'s name', isClientFault(hijackReply), faultSummary(hijackReply));
  }

  longWaitId: string | undefined;

  async runaway(name: string, bpel: string, processName: string): Promise<void> {
    const deployed = await this.deploy(bpel);
    if (deployed.status !== 200) {
      this.record(name, isClientFault(deployed), `refused at deploy: ${faultSummary(deployed)}`);
      return;
    }
    const id = await this.start(processName);
    if (id === undefined) {
      this.record(name, false, 'StartProcess gave no instance id');
      return;
    }
    const status = await this.untilEnded(id, 180_000);
    this.record(name, status === 'FAULTED' || status === 'FAILED', `instance ${id} ended ${String(status)}`);
  }

  // ---- paths and destinations ------------------------------------------------

  async paths(): Promise<void> {
    const escaped = await fetch(`${this.server.baseUrl}/soap/processes/%E0%A4%A`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: envelope('<x/>') });
    const escapedBody = await escaped.text();
    this.record('a malformed % escape under /soap/processes/', escaped.status >= 400 && escaped.status < 500, `HTTP ${escaped.status}: ${escapedBody.slice(0, 120)}`);
    await this.expectClientFault(
      'a 300-byte path segment in File.Delete',
      'File',
      `<f:Delete xmlns:f="urn:provisor:file:1"><f:system>attack1</f:system><f:path>srv/${'x'.repeat(300)}</f:path></f:Delete>`,
    );
    await this.expectClientFault(
      'a callback to the cloud-metadata address',
      'Software',
      '<t:Install xmlns:t="urn:provisor:software:1"><t:system>attack1</t:system><t:component>demo-httpd</t:component><t:callback>http://169.254.169.254/latest/meta-data/</t:callback></t:Install>',
    );
    await this.expectClientFault(
      "a callback to Provisor's own port",
      'Software',
      `<t:Install xmlns:t="urn:provisor:software:1"><t:system>attack1</t:system><t:component>demo-httpd</t:component><t:callback>http://127.0.0.1:${this.server.port}/soap/Request</t:callback></t:Install>`,
    );
  }

  /** A callback endpoint that answers with an endless body: the delivery must stop reading at the cap. */
  async endlessAnswer(): Promise<{ close(): Promise<void> }> {
    let sent = 0;
    const endless = http.createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/xml' });
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const pump = (): void => {
        while (sent < 256 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
    });
    const port = await freePort();
    await new Promise<void>((resolve) => endless.listen(port, '127.0.0.1', resolve));
    const reply = await post(
      this.url('Software'),
      envelope(
        `<t:Install xmlns:t="urn:provisor:software:1"><t:system>attack1</t:system><t:component>demo-httpd</t:component><t:callback>http://127.0.0.1:${port}/cb</t:callback></t:Install>`,
        token(this.operator),
      ),
    );
    this.record('a callback endpoint that answers 256 MiB (accepted; the delivery reads at most the cap)', reply.status === 200, `HTTP ${reply.status}`);
    return {
      close: async () => {
        this.record('the endless answer was cut short', sent < 64 * 1024 * 1024, `${(sent / 1024 / 1024).toFixed(1)} MiB written before the reader hung up`);
        endless.closeAllConnections();
        await new Promise<void>((resolve) => endless.close(() => resolve()));
      },
    };
  }

  // ---- floods ----------------------------------------------------------------

  /** Connections that send a request line and then a header byte now and then. */
  async slowLoris(count: number, holdMs: number): Promise<void> {
    const sockets: net.Socket[] = [];
    let closedByServer = 0;
    for (let i = 0; i < count; i++) {
      const socket = net.connect({ port: this.server.port, host: '127.0.0.1', localAddress: FROM.holder });
      socket.on('error', () => undefined);
      socket.on('close', () => {
        closedByServer += 1;
      });
      socket.write('POST /soap/Request HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n<s:Envelope');
      sockets.push(socket);
    }
    const drip = setInterval(() => {
      for (const socket of sockets) if (!socket.destroyed) socket.write('x');
    }, 1_000);
    await new Promise((resolve) => setTimeout(resolve, holdMs));
    clearInterval(drip);
    for (const socket of sockets) socket.destroy();
    this.record(`${count} slow bodies held for ${holdMs / 1000} s`, true, `${closedByServer} closed by the server before the end`);
  }

  async bodies(count: number, concurrency: number): Promise<void> {
    const body = envelope(`<r:GetStatus xmlns:r="urn:provisor:request:1"><r:requestId>${'z'.repeat(60_000)}</r:requestId></r:GetStatus>`, token({ username: 'nobody', password: 'x' }));
    let next = 0;
    let serverFaults = 0;
    let reset = 0;
    const worker = async (): Promise<void> => {
      while (next < count) {
        next += 1;
        try {
          const reply = await post(this.url('Request'), body, FROM.flood);
          if (!isClientFault(reply)) serverFaults += 1;
        } catch (err) {
          // A connection closed at accept (over a connection cap) is a refusal, not a failure.
          if ((err as NodeJS.ErrnoException).code === 'ECONNRESET') reset += 1;
          else serverFaults += 1;
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, () => worker()));
    this.record(`${count} unauthenticated 60 KB bodies, ${concurrency} at a time`, serverFaults === 0, `${serverFaults} answered other than as the caller's fault, ${reset} closed at accept`);
  }

  async smtpIdle(port: number, count: number, holdMs: number): Promise<void> {
    const sockets: net.Socket[] = [];
    let refused = 0;
    for (let i = 0; i < count; i++) {
      const socket = net.connect({ port, host: '127.0.0.1', localAddress: FROM.stranger });
      socket.on('error', () => undefined);
      socket.on('data', (data: Buffer) => {
        if (data.toString('latin1').startsWith('421')) refused += 1;
      });
      sockets.push(socket);
    }
    await new Promise((resolve) => setTimeout(resolve, holdMs));
    const open = sockets.filter((s) => !s.destroyed && !s.readableEnded).length;
    for (const socket of sockets) socket.destroy();
    this.record(`${count} idle SMTP connections`, refused > 0, `${refused} refused with 421, ${open} still open after ${holdMs / 1000} s`);
  }

  // ---- customers keep ordering -----------------------------------------------

  async orders(count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const reply = await post(
        this.url('WorkOrder'),
        envelope(
          `<w:SubmitWorkOrder xmlns:w="urn:provisor:workorder:1"><w:type>Echo</w:type><w:parameter><w:name>volume</w:name><w:value>vol${i}</w:value></w:parameter><w:parameter><w:name>sizeGiB</w:name><w:value>5</w:value></w:parameter></w:SubmitWorkOrder>`,
          token(this.customer),
        ),
        FROM.customer,
      );
      const id = field(reply.body, 'workOrderId');
      if (id !== undefined) ids.push(id);
      else if (ids.length === 0 && i === 0) process.stdout.write(`  the first order was refused: ${faultSummary(reply)}\n`);
    }
    return ids;
  }
}

async function main(): Promise<void> {
  const kind = arg('db', 'sqlite') as DbKind;
  const orderCount = Number(arg('orders', '50'));
  const db: FreshDatabase = await freshDatabase(kind);
  const operator = { username: 'attack-operator', password: password() };
  const admin = { username: 'attack-admin', password: password() };
  const victim = { username: 'attack-victim', password: password() };
  const customer = { username: 'attack-customer', password: password() };
  const smtpPort = await freePort();
  const catalog = path.join(projectRoot(), 'test', 'fixtures', 'catalog', 'test-catalog.json');
  const env = { PROVISOR_CATALOG: catalog, PROVISOR_SMTP_PORT: String(smtpPort), PROVISOR_ENGINE: 'true', PROVISOR_WORKORDER_POLL_MS: '50', PROVISOR_WORKFLOW_POLL_MS: '50', LOG_LEVEL: 'error' };

  const seedApp = await buildApp({ config: db.config(env), logger: createLogger('error') });
  try {
    await seedApp.loadCatalog();
    await seedApp.users.addAccount('acme', 'billing@acme.example');
    await seedApp.users.addUser({ name: operator.username, role: 'operator', password: operator.password });
    await seedApp.users.addUser({ name: admin.username, role: 'admin', password: admin.password });
    await seedApp.users.addUser({ name: victim.username, role: 'operator', password: victim.password });
    await seedApp.users.addUser({ name: customer.username, role: 'customer', password: customer.password, account: 'acme', level: 3, email: 'c@acme.example' });
    await seedApp.systems.add('attack1', 'simulated');
    await seedApp.systems.add('testpool', 'simulated');
  } finally {
    await seedApp.close(0);
  }

  const server = await startServer({ name: 'provisor', script: 'dist/src/main.js', env: { ...db.env, ...env }, readyPath: '/health', nodeArgs: process.env.ATTACK_PROF === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir=' + process.env.ATTACK_PROF] });
  const attack = new Attack(server, operator, admin, victim, customer);
  const prober = healthProber(server.baseUrl);
  await prober.ready;
  // --server-nice N: on a machine shared with other work, the server process gets priority N (negative needs root), as if it ran alone.
  const serverNice = Number(arg('server-nice', '0'));
  if (serverNice !== 0 && server.pid > 0) os.setPriority(server.pid, serverNice);
  // The attacker would be another machine: here it shares the server's two cores, so its own thread
  // yields them first (nice 19; the server and the prober's thread, started before, keep their priority).
  os.setPriority(19);
  process.stdout.write(`Attack run on ${kind}: server ${server.baseUrl}, SMTP ${smtpPort}\n`);
  const started = Date.now();
  let exitCode = 0;
  try {
    const only = arg('only', '');
    const chosen = (group: string): boolean => only === '' || only.split(',').includes(group);
    const endless = chosen('endless') ? await attack.endlessAnswer() : undefined;
    const [orderIds] = await Promise.all([
      attack.orders(orderCount),
      chosen('parser') ? attack.parser() : undefined,
      chosen('logins') ? attack.nonces() : undefined,
      chosen('logins') ? attack.guessing() : undefined,
      chosen('plans') ? attack.plans() : undefined,
      chosen('paths') ? attack.paths() : undefined,
      chosen('slow') ? attack.slowLoris(300, 8_000) : undefined,
      chosen('bodies') ? attack.bodies(400, 16) : undefined,
      chosen('smtp') ? attack.smtpIdle(smtpPort, 150, 5_000) : undefined,
    ]);
    await endless?.close();

    if (attack.longWaitId !== undefined) {
      const status = await attack.instanceStatus(attack.longWaitId);
      attack.record('a 40-day wait still waits at the end of the run', status === 'RUNNING', `instance ${attack.longWaitId} is ${String(status)}`);
    }

    // Every customer order ends CLOSED and billed exactly once; nothing else is billed.
    const source = await (async () => {
      const app = await buildApp({ config: db.config({ ...env, PROVISOR_ENGINE: 'false', PROVISOR_WORKFLOW: 'false', PROVISOR_WORKORDER_AUTOMATION: 'false', PROVISOR_CATALOG_LOAD: 'false', PROVISOR_SMTP_PORT: '0' }), logger: createLogger('error') });
      return app;
    })();
    try {
      const deadline = Date.now() + 60_000;
      let closed = 0;
      for (;;) {
        const rows = (await source.dataSource.query("SELECT COUNT(*) AS n FROM work_order WHERE state = 'CLOSED'")) as Array<{ n: number | string }>;
        closed = Number(rows[0]?.n ?? 0);
        if (closed >= orderIds.length || Date.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      const billed = (await source.dataSource.query('SELECT COUNT(*) AS n, COUNT(DISTINCT workOrderId) AS orders FROM billable_event')) as Array<{ n: number | string; orders: number | string }>;
      const events = Number(billed[0]?.n ?? 0);
      const distinct = Number(billed[0]?.orders ?? 0);
      attack.record(
        `${orderCount} customer orders during the attack`,
        orderIds.length === orderCount && closed === orderCount && events === orderCount && distinct === orderCount,
        `${orderIds.length} accepted, ${closed} CLOSED, ${events} billable events for ${distinct} orders`,
      );
    } finally {
      await source.close(0);
    }
  } finally {
    const latencies = (await prober.stop()).sort((a, b) => a - b);
    const alive = server.exitStatus() === undefined;
    await server.stop();
    await db.dispose();
    const max = latencies[latencies.length - 1] ?? NaN;
    attack.record(
      `/health every 20 ms for ${((Date.now() - started) / 1000).toFixed(0)} s`,
      alive && prober.failures().length === 0,
      `${latencies.length} probes: p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${max.toFixed(1)} ms; server ${alive ? 'up' : 'DOWN'}${prober.failures().length === 0 ? '' : `; ${prober.failures().join('; ')}`}`,
    );
    const failed = attack.outcomes.filter((o) => !o.ok);
    process.stdout.write(`\n${attack.outcomes.length - failed.length} passed, ${failed.length} failed\n`);
    if (failed.length > 0) exitCode = 1;
  }
  process.exit(exitCode);
}

if (isMainThread) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
} else {
  void probeLoop((workerData as { probe: { baseUrl: string; everyMs: number; from: string } }).probe);
}
