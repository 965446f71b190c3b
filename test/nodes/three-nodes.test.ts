/**
 * Three Provisor server processes on one MariaDB database, as behind a load
 * balancer without sticky routing: started at the same moment on a fresh
 * database, a client spreading work orders and provisioning requests over
 * them (a call a node does not answer goes to another node with the same
 * idempotency key), digest replays and a portal session crossing nodes, and
 * one node killed with SIGKILL halfway and started again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { expect } from 'chai';
import { eventually, freshEnvironment, prepareDatabase, testDatabaseUrl } from '../support/harness';
import { PortalClient } from '../support/portal-client';
import { freePort, waitForHealth } from '../support/processes';
import { envelope, securityHeader, type Credentials } from '../support/soap-client';
import { PASSWORD, seedCast, TEST_CATALOG } from '../support/workorders';

const ORDERS = 1000;
const REQUESTS = 1000;
const IN_FLIGHT = 24;
const operator: Credentials = { username: 'op', password: 'operator-secret-1' };
const customer: Credentials = { username: 'alice', password: PASSWORD };
const admin = { username: 'admin', password: PASSWORD };

interface ServerNode {
  readonly port: number;
  readonly baseUrl: string;
  child: ChildProcess;
  /** Every line each run of this node wrote to its log. */
  readonly lines: string[];
  /** Runs that exited by themselves (not killed by the test), with their code. */
  readonly failedStarts: string[];
}

function codeOf(body: string): string | undefined {
  return /<(?:\w+:)?code>([^<]*)<\/(?:\w+:)?code>/.exec(body)?.[1];
}

describe('three nodes on one MariaDB database (MariaDB only)', function () {
  this.timeout(240_000);
  let environment: Awaited<ReturnType<typeof freshEnvironment>>;
  const nodes: ServerNode[] = [];
  let killing = false;

  before(async function () {
    if (testDatabaseUrl() === undefined) this.skip();
    environment = await freshEnvironment({
      PROVISOR_CATALOG: TEST_CATALOG,
      PROVISOR_SECRET_KEY: crypto.randomBytes(32).toString('hex'),
      // Short leases: a node that misses its renewals on a busy machine has its writes refused and
      // its work adopted, never done twice. The killed node's work is taken over at once by its
      // successor on the same host, or by the others once its node lease runs out.
      PROVISOR_NODE_LEASE_MS: '2000',
      PROVISOR_POLL_MS: '50',
      PROVISOR_WORKFLOW_POLL_MS: '50',
      PROVISOR_WORKORDER_POLL_MS: '50',
      PROVISOR_SIMULATED_MIN_MS: '5',
      PROVISOR_SIMULATED_MAX_MS: '30',
      PROVISOR_CHANGES: 'false',
      LOG_LEVEL: 'warn',
    });
  });

  after(async () => {
    killing = true;
    for (const node of nodes) node.child.kill('SIGKILL');
    await environment?.cleanup();
  });

  function start(node: Omit<ServerNode, 'child'> & { child?: ChildProcess }): ChildProcess {
    const child = spawn(process.execPath, [path.join(__dirname, '..', '..', 'src', 'main.js')], {
      env: { ...process.env, ...environment.env, PORT: String(node.port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let partial = '';
    const collect = (chunk: Buffer): void => {
      const text = partial + chunk.toString();
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      node.lines.push(...lines.filter((l) => l !== ''));
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.once('exit', (code, signal) => {
      if (!killing && signal !== 'SIGKILL') node.failedStarts.push(`${node.baseUrl} exited (${code ?? signal})`);
    });
    return child;
  }

  /** Posts a SOAP body to `first`'s node, going on to the next node while one does not answer; a fresh token each time. */
  async function send(first: number, service: string, body: string, who: Credentials): Promise<{ node: number; body: string; header: string }> {
    for (let attempt = 0; attempt < 60; attempt++) {
      const index = (first + attempt) % nodes.length;
      const node = nodes[index] as ServerNode;
      const header = securityHeader(who, { digest: true });
      try {
        const response = await fetch(`${node.baseUrl}/soap/${service}`, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8' }, body: envelope(body, header), signal: AbortSignal.timeout(20_000) });
        const text = await response.text();
        if (response.status === 503) continue;
        return { node: index, body: text, header };
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50 * Math.min(attempt + 1, 10)));
      }
    }
    throw new Error(`no node answered ${service} ${body.slice(0, 120)}`);
  }

  it('closes and bills every order once, ends every request, refuses every replay on every node, keeps the portal session, and logs no error', async () => {
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const node = { port, baseUrl: `http://127.0.0.1:${port}`, lines: [], failedStarts: [] } as unknown as ServerNode;
      nodes.push(node);
    }
    // At the same moment, on a fresh database: each migrates and loads the catalog.
    for (const node of nodes) node.child = start(node);
    await Promise.all(nodes.map((n) => waitForHealth(n.baseUrl, 90_000)));

    await prepareDatabase(environment.env, async (app) => {
      await seedCast({ app });
      await app.users.addUser({ name: operator.username, role: 'operator', password: operator.password });
      await app.systems.add('sim1', 'simulated');
      await app.systems.add('testpool', 'simulated');
    });

    const browser = new Map<string, string>();
    const portal = (i: number): PortalClient => new PortalClient((nodes[i] as ServerNode).baseUrl, browser);
    await portal(0).logIn(admin.username, admin.password);
    for (let i = 0; i < 3; i++) expect((await portal(i).get('/portal/types')).status, `the portal session on node ${i + 1}`).to.equal(200);

    const orderIds = new Map<number, string>();
    const requestIds = new Map<number, string>();
    const faults: string[] = [];
    const replaysAccepted: string[] = [];
    let replays = 0;
    let done = 0;
    let restarted: Promise<void> | undefined;
    const calls = Array.from({ length: ORDERS + REQUESTS }, (_, k) => k);
    const worker = async (): Promise<void> => {
      for (let k = calls.shift(); k !== undefined; k = calls.shift()) {
        const isOrder = k % 2 === 0;
        const i = Math.floor(k / 2);
        const body = isOrder
          ? `<w:SubmitWorkOrder xmlns:w="urn:provisor:workorder:1"><w:type>Echo</w:type><w:parameter><w:name>volume</w:name><w:value>v${i}</w:value></w:parameter><w:parameter><w:name>sizeGiB</w:name><w:value>1</w:value></w:parameter><w:idempotencyKey>order-${i}</w:idempotencyKey></w:SubmitWorkOrder>`
          : `<sw:Install xmlns:sw="urn:provisor:software:1"><sw:system>sim1</sw:system><sw:component>c${i}</sw:component><sw:idempotencyKey>request-${i}</sw:idempotencyKey></sw:Install>`;
        const answer = await send(k % 3, isOrder ? 'WorkOrder' : 'Software', body, isOrder ? customer : operator);
        const id = (isOrder ? /<(?:\w+:)?workOrderId>([^<]+)</ : /<(?:\w+:)?requestId>([^<]+)</).exec(answer.body)?.[1];
        if (id === undefined) faults.push(`${isOrder ? 'order' : 'request'} ${i} on node ${answer.node + 1}: ${answer.body.slice(0, 300)}`);
        else (isOrder ? orderIds : requestIds).set(i, id);
        if (k % 40 === 1 && id !== undefined) {
          // The same message, token and all, replayed to another node.
          replays++;
          const other = nodes[(answer.node + 1 + (k % 2)) % 3] as ServerNode;
          try {
            const replay = await fetch(`${other.baseUrl}/soap/Software`, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8' }, body: envelope(body, answer.header) });
            const code = codeOf(await replay.text());
            if (code !== 'NonceReplayed') replaysAccepted.push(`call ${k} replayed to ${other.baseUrl}: ${code ?? 'accepted'}`);
          } catch {
            replays--; // that node was down: no answer is no acceptance
          }
        }
        done++;
        if (done === Math.floor((ORDERS + REQUESTS) / 2) && restarted === undefined) {
          const victim = nodes[2] as ServerNode;
          victim.child.kill('SIGKILL');
          restarted = new Promise<void>((resolve) => victim.child.once('exit', () => resolve())).then(async () => {
            victim.child = start(victim);
            await waitForHealth(victim.baseUrl, 90_000);
          });
        }
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    await restarted;

    expect(faults, 'calls answered with a fault').to.deep.equal([]);
    expect(orderIds.size).to.equal(ORDERS);
    expect(requestIds.size).to.equal(REQUESTS);
    expect(replays, 'replays sent').to.be.greaterThan(20);
    expect(replaysAccepted, 'replays accepted').to.deep.equal([]);
    for (let i = 0; i < 3; i++) expect((await portal(i).get('/portal/types')).status, `the portal session on node ${i + 1} after the restart`).to.equal(200);

    let snapshot: { orders: Map<string, string>; billed: Map<string, number>; requests: Map<string, string> } | undefined;
    const read = async (): Promise<typeof snapshot> => {
      let result: typeof snapshot;
      await prepareDatabase(environment.env, async (app) => {
        const orders = (await app.dataSource.query('SELECT id, state FROM work_order')) as Array<{ id: unknown; state: string }>;
        const billed = (await app.dataSource.query('SELECT workOrderId, COUNT(*) AS n FROM billable_event GROUP BY workOrderId')) as Array<{ workOrderId: unknown; n: unknown }>;
        const requests = (await app.dataSource.query('SELECT id, status FROM provisioning_request')) as Array<{ id: string; status: string }>;
        result = { orders: new Map(orders.map((o) => [String(o.id), o.state])), billed: new Map(billed.map((b) => [String(b.workOrderId), Number(b.n)])), requests: new Map(requests.map((r) => [r.id, r.status])) };
      });
      return result;
    };
    snapshot = await eventually(
      async () => {
        const s = await read();
        if (s === undefined) return undefined;
        const ordersDone = [...orderIds.values()].every((id) => s.orders.get(id) === 'CLOSED');
        const requestsDone = [...requestIds.values()].every((id) => /^(COMPLETED_SUCCESS|COMPLETED_FAILURE|UNKNOWN)$/.test(s.requests.get(id) ?? ''));
        return ordersDone && requestsDone ? s : undefined;
      },
      'every order closed and every request ended',
      120_000,
      1000,
    );
    expect(snapshot.orders.size, 'orders stored (no duplicates from retries)').to.equal(ORDERS);
    expect(snapshot.requests.size, 'requests stored (no duplicates from retries)').to.equal(REQUESTS);
    for (const id of orderIds.values()) expect(snapshot.billed.get(id), `billable events of order ${id}`).to.equal(1);

    // Every node answers as the database says.
    const sample = [...requestIds.values()].filter((_, i) => i % 50 === 0);
    for (const id of sample) {
      for (let n = 0; n < 3; n++) {
        const answer = await send(n, 'Request', `<r:GetStatus xmlns:r="urn:provisor:request:1"><r:requestId>${id}</r:requestId></r:GetStatus>`, operator);
        expect(/<(?:\w+:)?status>([^<]+)</.exec(answer.body)?.[1], `GetStatus ${id} on node ${n + 1}`).to.equal(snapshot.requests.get(id));
      }
    }

    for (const node of nodes) {
      expect(node.failedStarts, 'runs that failed to start').to.deep.equal([]);
      const errors = node.lines.filter((l) => l.includes('"level":"error"') || l.startsWith('provisor:'));
      expect(errors, `error lines of ${node.baseUrl}`).to.deep.equal([]);
    }
  });
});
