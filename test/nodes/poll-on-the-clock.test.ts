/**
 * A poll loop is the fallback for work another node adds: nothing in this
 * process tells it, so it finds the work at its next round, one poll
 * interval of the injected clock after the last. Here the deployment
 * engine's: a request queued by a node without an engine waits until the
 * test moves the clock past the poll interval, and not a moment longer.
 */
import crypto from 'node:crypto';
import { expect } from 'chai';
import type { DataSource } from 'typeorm';
import { buildApp, type App } from '../../src/app';
import { ManualClock } from '../../src/clock';
import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/db/data-source';
import { createLogger } from '../../src/log';
import { eventually, freshEnvironment, testDatabaseUrl } from '../support/harness';

/** The longest poll interval the settings allow: a poll of Node's timers would not come within the test. */
const POLL_MS = 60_000;

/** Lets every callback already due run: timers of the clock are not among them, since it does not move. */
async function turns(n = 50): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('work another node queued is found by the engine\'s poll, on the clock', function () {
  this.timeout(60_000);
  const clock = new ManualClock(Date.now());
  const caller = { name: 'op' };
  let environment: Awaited<ReturnType<typeof freshEnvironment>>;
  let dataSources: DataSource[];
  /** Runs the engine. */
  let worker: App;
  /** Takes submissions in, runs no engine. */
  let front: App;

  before(async () => {
    environment = await freshEnvironment({
      PROVISOR_WORKFLOW: 'false',
      PROVISOR_WORKORDER_AUTOMATION: 'false',
      PROVISOR_CATALOG_LOAD: 'false',
      PROVISOR_CHANGES: 'false',
      PROVISOR_POLL_MS: String(POLL_MS),
      // Far longer than the poll interval: the lease holds across every move of the clock here.
      PROVISOR_NODE_LEASE_MS: String(20 * POLL_MS),
      PROVISOR_SIMULATED_MIN_MS: '1',
      PROVISOR_SIMULATED_MAX_MS: '1',
      PROVISOR_SECRET_KEY: crypto.randomBytes(32).toString('hex'),
    });
    const config = loadConfig(environment.env);
    const first = await openDatabase(config);
    // SQLite: one connection per file in a process, as for the apps of test/cross-node.test.ts.
    const second = testDatabaseUrl() === undefined ? first : await openDatabase(config);
    dataSources = [first, second];
    const logger = createLogger(config.logLevel);
    worker = await buildApp({ config, logger, dataSource: first, clock });
    front = await buildApp({ config: loadConfig({ ...environment.env, PROVISOR_ENGINE: 'false' }), logger, dataSource: second, clock });
    await front.systems.add('sim1', 'simulated');
  });

  after(async () => {
    for (const app of [worker, front]) await app.close(100);
    for (const d of new Set(dataSources)) await d.destroy();
    await environment.cleanup();
  });

  it('leaves the request queued while the clock stands still, and claims it once the clock passes the poll interval', async () => {
    const started = clock.now();
    await worker.engine.start();
    // The first round runs at start; the next is armed on the clock once it found nothing.
    await eventually(async () => (clock.armedAt(started + POLL_MS) ? true : undefined), 'the engine to arm its next poll on the clock');

    const requestId = await front.api.submitSoftware('Install', { system: 'sim1', component: 'web', parameters: [] }, caller);
    await turns();
    expect((await worker.api.getRequest(requestId)).status, 'no poll without the clock moving').to.equal('QUEUED');

    clock.advance(POLL_MS - 1);
    await turns();
    expect((await worker.api.getRequest(requestId)).status, 'no poll a millisecond before the interval').to.equal('QUEUED');
    expect(worker.engine.activeCount).to.equal(0);

    clock.advance(1);
    const done = await eventually(async () => {
      const view = await worker.api.getRequest(requestId);
      return view.status === 'QUEUED' || view.status === 'IN_PROGRESS' ? undefined : view;
    }, 'the engine to claim and perform the request');
    expect(done.status).to.equal('COMPLETED_SUCCESS');
    expect(done.startTime?.getTime(), 'claimed at the poll, on the clock').to.equal(started + POLL_MS);
  });
});
