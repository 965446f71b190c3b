/**
 * A node paused past its lease (by the OS, a long GC, a lost connection)
 * while another node takes its work over writes nothing when it resumes:
 * every committed write of a workflow instance and the end of a
 * provisioning request are fenced by the owner's claim and node lease.
 */
import crypto from 'node:crypto';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import type { DataSource } from 'typeorm';
import winston from 'winston';
import { buildApp, type App } from '../../src/app';
import { ManualClock, type Clock } from '../../src/clock';
import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/db/data-source';
import { createSimulatedDriver } from '../../src/drivers/simulated';
import { eventually, freshEnvironment, testDatabaseUrl } from '../support/harness';
import { deploy, plan } from '../workflow/support';

const LEASE_MS = 3000;
/** The engine's and the runner's poll interval, on the shared clock. */
const POLL_MS = 20;

/**
 * A process's view of one shared time: it reads the shared clock, and its
 * timers fire with it unless the process is paused: then they wait, and
 * fire late, all at once, when it resumes.
 */
class ProcessClock implements Clock {
  paused = false;
  /** Timers armed for a delay this picks wait too, as if paused (a process whose renewals stall). */
  stalled: ((ms: number) => boolean) | undefined;
  private late: Array<{ ms: number; fn: () => void }> = [];
  constructor(private readonly shared: ManualClock) {}
  now(): number {
    return this.shared.now();
  }
  date(): Date {
    return this.shared.date();
  }
  timer(ms: number, fn: () => void): () => void {
    return this.shared.timer(ms, () => (this.paused || this.stalled?.(ms) === true ? this.late.push({ ms, fn }) : fn()));
  }
  /** Fires the late timers, but those armed for a delay `held` picks, which fire at the next resume. */
  resume(held: (ms: number) => boolean = () => false): void {
    this.paused = false;
    this.stalled = undefined;
    const due = this.late;
    this.late = due.filter((t) => held(t.ms));
    for (const t of due) if (!held(t.ms)) t.fn();
  }
}

interface Node {
  readonly app: App;
  readonly clock: ProcessClock;
  readonly logLines: string[];
}

/** A task of the simulated driver waits until the test lets it end. */
class Gate {
  private open: () => void = () => undefined;
  private opened: Promise<void> = Promise.resolve();
  /** Tasks waiting now. */
  waiting = 0;
  close(): void {
    this.opened = new Promise((resolve) => (this.open = resolve));
  }
  release(): void {
    this.open();
  }
  wait(signal: AbortSignal): Promise<void> {
    this.waiting++;
    return new Promise<void>((resolve, reject) => {
      signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      void this.opened.then(resolve);
    }).finally(() => this.waiting--);
  }
}

/** A plan that sets n to 1, waits `pause`, then adds one to n (and runs `tail` after). */
function countingPlan(name: string, pause: string, tail = ''): string {
  return plan(
    name,
    `<bpel:variables><bpel:variable name="n" type="xsd:int"><bpel:from>0</bpel:from></bpel:variable></bpel:variables>
  <bpel:sequence>
    <bpel:assign name="one"><bpel:copy><bpel:from>1</bpel:from><bpel:to variable="n"/></bpel:copy></bpel:assign>
    <bpel:wait name="pause"><bpel:for>'${pause}'</bpel:for></bpel:wait>
    <bpel:assign name="bump"><bpel:copy><bpel:from>$n + 1</bpel:from><bpel:to variable="n"/></bpel:copy></bpel:assign>${tail}
  </bpel:sequence>`,
  );
}

describe('a node paused past its lease while another takes its work over', function () {
  this.timeout(60_000);
  const shared = new ManualClock(Date.now());
  const gate = new Gate();
  let environment: Awaited<ReturnType<typeof freshEnvironment>>;
  let a: Node;
  let b: Node;
  let dataSources: DataSource[];

  before(async () => {
    environment = await freshEnvironment({
      PROVISOR_WORKORDER_AUTOMATION: 'false',
      PROVISOR_CATALOG_LOAD: 'false',
      PROVISOR_CHANGES: 'false',
      PROVISOR_NODE_LEASE_MS: String(LEASE_MS),
      PROVISOR_POLL_MS: String(POLL_MS),
      PROVISOR_WORKFLOW_POLL_MS: String(POLL_MS),
      PROVISOR_SECRET_KEY: crypto.randomBytes(32).toString('hex'),
    });
    const config = loadConfig(environment.env);
    const first = await openDatabase(config);
    // SQLite: one connection per file in a process, as for the apps of test/cross-node.test.ts.
    const second = testDatabaseUrl() === undefined ? first : await openDatabase(config);
    dataSources = [first, second];
    const drivers = new Map([['simulated', createSimulatedDriver({ durationMs: 1, sleep: (_ms, signal) => gate.wait(signal) })]]);
    const node = async (dataSource: DataSource): Promise<Node> => {
      const clock = new ProcessClock(shared);
      const logLines: string[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _encoding, done) {
          logLines.push(chunk.toString());
          done();
        },
      });
      const logger = winston.createLogger({ level: 'warn', format: winston.format.json(), transports: [new winston.transports.Stream({ stream: sink })] });
      const app = await buildApp({ config, logger, dataSource, clock, drivers });
      await app.lease.start();
      return { app, clock, logLines };
    };
    a = await node(first);
    b = await node(second);
    await a.app.systems.add('sim1', 'simulated');
  });

  after(async () => {
    gate.release();
    for (const node of [a, b]) {
      node.clock.resume();
      await node.app.close(100);
    }
    for (const d of new Set(dataSources)) await d.destroy();
    await environment.cleanup();
  });

  /** Moves the shared time on in steps of a tenth of the lease, letting each running node's renewals reach the database. */
  async function pass(ms: number): Promise<void> {
    for (let done = 0; done < ms; done += LEASE_MS / 10) {
      shared.advance(LEASE_MS / 10);
      for (const node of [a, b]) if (!node.clock.paused) await node.app.lease.renewNow();
    }
  }

  /** Every row of an instance, as stored. */
  async function rowsOf(id: string): Promise<Record<string, unknown>> {
    const q = (sql: string): Promise<unknown> => a.app.dataSource.query(sql, [id]);
    return {
      instance: await q('SELECT status, endedAt, fault, leaseOwner, recoveries FROM process_instance WHERE id = ?'),
      activities: await q('SELECT `key`, kind, name, state, startedAt, endedAt, completionSeq, fault, data FROM activity_instance WHERE instanceId = ? ORDER BY `key`'),
      variables: await q('SELECT scopeKey, name, value FROM process_variable WHERE instanceId = ? ORDER BY scopeKey, name'),
      links: await q('SELECT `key`, value FROM link_state WHERE instanceId = ? ORDER BY `key`'),
      timers: await q('SELECT `key`, kind, dueAt, firedAt FROM process_timer WHERE instanceId = ? ORDER BY `key`'),
    };
  }

  async function owner(id: string): Promise<string | null> {
    const [row] = (await a.app.dataSource.query('SELECT leaseOwner FROM process_instance WHERE id = ?', [id])) as Array<{ leaseOwner: string | null }>;
    return row?.leaseOwner ?? null;
  }

  it('lets the other node run the instance to its end; the resumed node writes none of its own steps and stops it', async () => {
    a.app.workflow.startRunner();
    const name = await deploy(a, countingPlan('Stalled', 'PT10S', '\n    <bpel:empty name="after"/>'));
    const id = await a.app.workflow.start(name, undefined, 'tester');
    expect(await owner(id)).to.equal(a.app.lease.owner);
    await eventually(async () => {
      const timers = (await a.app.dataSource.query('SELECT `key` FROM process_timer WHERE instanceId = ?', [id])) as unknown[];
      return timers.length === 1 && a.app.workflow.activeCount === 1 ? true : undefined;
    }, 'node A to wait in the plan, its due time stored');

    // A stalls; B runs, renews its lease, and takes over the instance once A's lease ran out.
    a.clock.paused = true;
    b.app.workflow.startRunner();
    await pass(2 * LEASE_MS);
    await eventually(async () => ((await owner(id)) === b.app.lease.owner ? true : undefined), 'node B to take the instance over');
    const [taken] = (await rowsOf(id)).instance as Array<{ status: string; recoveries: unknown }>;
    expect([taken?.status, Number(taken?.recoveries)], 'taken from a holder that did not let go of it').to.deep.equal(['RUNNING', 1]);
    await pass(8000);
    await eventually(async () => ((await b.app.workflow.status(id)).status === 'COMPLETED' ? true : undefined), 'node B to end the instance');
    const asEnded = await rowsOf(id);
    const ended = await b.app.workflow.status(id, undefined, { includeVariables: true });
    expect(ended.activities.filter((x) => x.name === 'bump')).to.have.length(1);
    expect(ended.variables?.filter((v) => v.name === 'n').map((v) => v.value)).to.deep.equal(['2']);

    // A resumes: its wait fires late and it goes on from where it was, but its first write is refused.
    // (Its lease keeper, renewing every third of the lease, resumes a moment later: were it first, it
    // would find the lease lost and stop the instance before it wrote anything.)
    const renewal = (ms: number): boolean => ms === Math.floor(LEASE_MS / 3);
    a.clock.resume(renewal);
    await eventually(async () => (a.app.workflow.activeCount === 0 ? true : undefined), 'node A to stop the instance');
    expect(a.logLines.join(''), 'the stale write refused').to.contain('instance stopped here: its lease was lost');
    a.clock.resume();
    await a.app.lease.renewNow();
    expect(await rowsOf(id), 'not one row written by the stale node').to.deep.equal(asEnded);
    expect(a.app.lease.held(), 'the resumed node holds a fresh lease').to.equal(true);
    await a.app.workflow.stopRunner();
    await b.app.workflow.stopRunner();
  });

  it('has the database refuse the write of a node that believes its lease holds when the database says it does not', async () => {
    a.app.workflow.startRunner();
    b.app.workflow.startRunner();
    const name = await deploy(a, countingPlan('Quick', 'PT1.5S'));
    await a.app.lease.renewNow();
    const id = await a.app.workflow.start(name, undefined, 'tester');
    await eventually(async () => {
      const timers = (await a.app.dataSource.query('SELECT `key` FROM process_timer WHERE instanceId = ?', [id])) as unknown[];
      return timers.length === 1 && a.app.workflow.activeCount === 1 ? true : undefined;
    }, 'node A to wait in the plan');
    // A's renewals stall, and so does its instance's wait; in the database's view A's lease is gone
    // (clocks out of step, say), in its own it still holds.
    a.logLines.length = 0;
    const renewal = (ms: number): boolean => ms === Math.floor(LEASE_MS / 3);
    a.clock.stalled = (ms) => renewal(ms) || ms === 1500;
    await a.app.dataSource.query('DELETE FROM node_lease WHERE owner = ?', [a.app.lease.owner]);
    // Nothing in B's process tells it: it finds the instance at a poll, one poll interval of the shared time on.
    await eventually(async () => {
      shared.advance(POLL_MS);
      return (await owner(id)) === b.app.lease.owner ? true : undefined;
    }, 'node B to take the instance over');
    for (let t = 0; t < 1600; t += 100) {
      shared.advance(100);
      await b.app.lease.renewNow();
    }
    await eventually(async () => ((await b.app.workflow.status(id)).status === 'COMPLETED' ? true : undefined), 'node B to end the instance');
    const view = await b.app.workflow.status(id, undefined, { includeVariables: true });
    expect(view.activities.filter((x) => x.name === 'bump')).to.have.length(1);
    expect(view.variables?.filter((v) => v.name === 'n').map((v) => v.value)).to.deep.equal(['2']);
    const asEnded = await rowsOf(id);

    // Later, A's wait fires (its renewals still stalled): its steps, at a later time, are refused by the database.
    shared.advance(200);
    a.clock.resume(renewal);
    await eventually(async () => (a.app.workflow.activeCount === 0 ? true : undefined), 'node A to stop the instance');
    expect(a.app.lease.held(), 'A still believes its lease holds').to.equal(true);
    expect(a.logLines.join(''), 'the stale write refused by the database').to.contain('instance stopped here: its lease was lost');
    expect(await rowsOf(id), 'not one row written by the stale node').to.deep.equal(asEnded);
    a.clock.resume();
    await a.app.lease.renewNow();
    expect(a.app.lease.held(), 'A took a fresh lease').to.equal(true);
    await a.app.workflow.stopRunner();
    await b.app.workflow.stopRunner();
  });

  it('goes on with the instance of a node that outran its lease when nobody took it meanwhile, on that node', async () => {
    a.app.workflow.startRunner();
    const id = await a.app.workflow.start('Stalled', undefined, 'tester');
    await eventually(async () => {
      const timers = (await a.app.dataSource.query('SELECT `key` FROM process_timer WHERE instanceId = ?', [id])) as unknown[];
      return timers.length === 1 && a.app.workflow.activeCount === 1 ? true : undefined;
    }, 'node A to wait in the plan');
    a.clock.paused = true;
    await pass(2 * LEASE_MS + 8000);
    a.clock.resume();
    await a.app.lease.renewNow();
    await eventually(async () => ((await a.app.workflow.status(id)).status === 'COMPLETED' ? true : undefined), 'node A to end the instance');
    const view = await a.app.workflow.status(id, undefined, { includeVariables: true });
    expect(view.activities.filter((x) => x.name === 'bump')).to.have.length(1);
    expect(view.variables?.filter((v) => v.name === 'n').map((v) => v.value)).to.deep.equal(['2']);
    const [row] = (await rowsOf(id)).instance as Array<{ recoveries: unknown; leaseOwner: string | null }>;
    expect([Number(row?.recoveries), row?.leaseOwner], 'its own instance: no recovery').to.deep.equal([0, null]);
    await a.app.workflow.stopRunner();
  });

  it('lets the other node recover the request of the stalled one; the stalled task\'s end is not recorded', async () => {
    gate.close();
    await a.app.engine.start();
    const requestId = await a.app.api.submitSoftware('Install', { system: 'sim1', component: 'fenced', parameters: [] }, { name: 'op' });
    await eventually(async () => (gate.waiting === 1 ? true : undefined), 'node A to start the task');
    expect((await a.app.api.getRequest(requestId)).status).to.equal('IN_PROGRESS');

    a.clock.paused = true;
    await pass(2 * LEASE_MS);
    await b.app.engine.start();
    const recovered = await eventually(async () => {
      const view = await b.app.api.getRequest(requestId);
      return view.status === 'IN_PROGRESS' ? undefined : view;
    }, 'node B to recover the request');
    expect(recovered.status).to.equal('UNKNOWN');

    // The stalled task ends now: its success, its component record and its event are all refused.
    gate.release();
    await eventually(async () => (a.logLines.join('').includes('outcome not recorded') ? true : undefined), 'node A to give the outcome up');
    a.clock.resume();
    const after = await b.app.api.getRequest(requestId);
    expect(after.status).to.equal('UNKNOWN');
    expect(after.message).to.equal(recovered.message);
    expect(await a.app.api.listInstalled('sim1')).to.deep.equal([]);
    await a.app.lease.renewNow();
    await a.app.engine.stop(100);
    await b.app.engine.stop(100);
  });

  it('records the end of a task whose node outran its lease when nobody took its request meanwhile', async () => {
    gate.close();
    await a.app.engine.start();
    const requestId = await a.app.api.submitSoftware('Install', { system: 'sim1', component: 'late', parameters: [] }, { name: 'op' });
    await eventually(async () => (gate.waiting === 1 ? true : undefined), 'node A to start the task');
    a.clock.paused = true;
    await pass(2 * LEASE_MS);
    // No other engine runs: the request stays A's. Its end is refused by the lease, then written once A holds a new one.
    gate.release();
    const ended = await eventually(async () => {
      const view = await a.app.api.getRequest(requestId);
      return view.status === 'IN_PROGRESS' ? undefined : view;
    }, 'the request to end');
    expect(ended.status).to.equal('COMPLETED_SUCCESS');
    expect((await a.app.api.listInstalled('sim1')).map((c) => c.name)).to.deep.equal(['late']);
    a.clock.resume();
    await a.app.engine.stop(100);
  });
});
