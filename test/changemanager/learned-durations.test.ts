/**
 * Durations learned from the provisioning requests that ran, on the real
 * database: which tasks count, the estimate, and the planning snapshot and
 * plan that use it.
 */
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { ManagedSystem, PackageRepository, ProvisioningRequest } from '../../entities';
import { LEARNING, loadObservedDurations } from '../../src/changemanager/learned-durations';
import { loadPlanningModel } from '../../src/changemanager/model-loader';
import { DEFAULT_DURATIONS, planChange } from '../../src/changemanager/planner';
import { ManualClock } from '../../src/clock';
import { buildDemoRepository, PackageRepositories } from '../../src/drivers/local';
import { freshDataSource } from '../support/harness';

describe('durations learned from the tasks that ran', function () {
  this.timeout(120_000);
  let dataSource: DataSource;
  let dispose: () => Promise<void>;
  let dir: string;
  let seq = 0;
  const clock = new ManualClock(Date.parse('2026-07-06T08:00:00Z'));

  /** One provisioning request as the engine leaves it, ended `endedAgoS` seconds before the clock's now, having run `seconds`. */
  async function ran(
    operation: string,
    component: string,
    seconds: number,
    options: { version?: string; status?: ProvisioningRequest['status']; endedAgoS?: number; parameters?: Array<{ name: string; value: string }> } = {},
  ): Promise<void> {
    seq += 1;
    const ended = new Date(clock.now() - (options.endedAgoS ?? 60) * 1000);
    const started = new Date(ended.getTime() - seconds * 1000);
    await dataSource.getRepository(ProvisioningRequest).insert({
      id: `req-${seq}`,
      operation,
      systemName: 'app1',
      component,
      version: options.version ?? null,
      task: JSON.stringify({ operation, component, ...(options.version === undefined ? {} : { version: options.version }), parameters: options.parameters ?? [] }),
      conflictKey: `app1/${component}`,
      status: options.status ?? 'COMPLETED_SUCCESS',
      message: null,
      output: null,
      submittedBy: 'admin',
      idempotencyKey: null,
      requestHash: `h${seq}`,
      callbackUrl: null,
      submittedAt: started,
      startedAt: started,
      endedAt: ended,
      leaseOwner: null,
      origin: null,
      leaseExpiresAt: null,
      cancelRequested: false,
    });
  }

  before(async () => {
    ({ dataSource, dispose } = await freshDataSource());
    dir = await mkdtemp(path.join(os.tmpdir(), 'provisor-learned-'));
    await dataSource.getRepository(ManagedSystem).insert({ name: 'app1', driver: 'simulated', options: '{}', createdAt: new Date() });
  });

  after(async () => {
    await dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('learns nothing from fewer tasks than needed, then the 90th percentile of the successful ones, rounded up', async () => {
    await ran('Start', 'demo-app', 4);
    await ran('Start', 'demo-app', 5);
    expect((await loadObservedDurations(dataSource, clock.date())).get('demo-app')?.get('Start'), 'two tasks are not enough').to.equal(undefined);
    for (const s of [3.2, 6, 2, 7.4, 5, 4, 3, 9.1]) await ran('Start', 'demo-app', s);
    await ran('Start', 'demo-app', 500, { status: 'COMPLETED_FAILURE' });
    await ran('Start', 'demo-app', 400, { status: 'UNKNOWN' });
    const learned = await loadObservedDurations(dataSource, clock.date());
    // Ten successful samples: 2 3 3.2 4 4 5 5 6 7.4 9.1; the ninth is 7.4, rounded up.
    expect(learned.get('demo-app')?.get('Start')).to.deep.equal({ seconds: 8, samples: 10 });
  });

  it('leaves out drained Stops and tasks older than the window, and keeps a version of its own', async () => {
    for (let i = 0; i < 3; i++) await ran('Stop', 'demo-db', 2);
    for (let i = 0; i < 5; i++) await ran('Stop', 'demo-db', 90, { parameters: [{ name: 'drain', value: 'true' }] });
    for (let i = 0; i < 5; i++) await ran('Stop', 'demo-db', 300, { endedAgoS: (LEARNING.windowDays + 1) * 86_400 });
    for (let i = 0; i < 3; i++) await ran('Update', 'demo-db', 40, { version: '2.0.0' });
    for (let i = 0; i < 3; i++) await ran('Update', 'demo-db', 10, { version: '1.0.0' });
    const learned = (await loadObservedDurations(dataSource, clock.date())).get('demo-db');
    expect(learned?.get('Stop')).to.deep.equal({ seconds: 2, samples: 3 });
    expect(learned?.get('Update@2.0.0')).to.deep.equal({ seconds: 40, samples: 3 });
    expect(learned?.get('Update@1.0.0')).to.deep.equal({ seconds: 10, samples: 3 });
    expect(learned?.get('Update')).to.deep.equal({ seconds: 40, samples: 6 });
  });

  it('puts the learned durations in the planning snapshot, over the manifest, and the plan uses them', async () => {
    const repo = await buildDemoRepository(path.join(dir, 'demo'));
    await dataSource.getRepository(PackageRepository).insert({ location: repo, priority: 100, createdAt: new Date() });
    const model = await loadPlanningModel({
      dataSource,
      repositories: new PackageRepositories({ cacheDir: dir, indexTtlMs: 0, fetchTimeoutMs: 5000, now: () => clock.now() }),
      clock,
    });
    const db2 = model.packages.find((p) => p.name === 'demo-db' && p.version === '2.0.0');
    const db1 = model.packages.find((p) => p.name === 'demo-db' && p.version === '1.0.0');
    expect(db2?.durations.Update, "2.0.0's own samples").to.equal(40);
    expect(db1?.durations.Update, "1.0.0's own samples").to.equal(10);
    expect(db2?.durations.Stop).to.equal(2);
    const app = model.packages.find((p) => p.name === 'demo-app' && p.version === '2.0.0');
    expect(app?.durations.Start, 'the component’s samples serve every version').to.equal(8);
    const outcome = planChange(model, { changes: [{ operation: 'Install', component: 'demo-db', version: '2.0.0', target: { kind: 'system', system: 'app1' } }] }, [], {
      seed: 1,
      maxSchedules: 200,
      timeLimitMs: 3_600_000,
    });
    expect(outcome.state, outcome.state === 'REJECTED' ? outcome.message : '').to.equal('PLANNED');
    const install = outcome.tasks.find((t) => t.operation === 'Install' && t.component === 'demo-db');
    expect(install?.duration, 'no Install ran: the manifest estimate or the default').to.equal(db2?.durations.Install ?? DEFAULT_DURATIONS.Install);
    const modelWithUpdate = { ...model, installed: [{ system: 'app1', component: 'demo-db', version: '1.0.0', state: 'INSTALLED' as const, parameters: {} }] };
    const update = planChange(modelWithUpdate, { changes: [{ operation: 'Update', component: 'demo-db', version: '2.0.0', target: { kind: 'system', system: 'app1' } }] }, [], {
      seed: 1,
      maxSchedules: 200,
      timeLimitMs: 3_600_000,
    });
    expect(update.state, update.state === 'REJECTED' ? update.message : '').to.equal('PLANNED');
    expect(update.tasks.find((t) => t.operation === 'Update')?.duration, 'the plan takes 2.0.0’s learned Update time').to.equal(40);
  });
});
