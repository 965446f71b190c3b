/**
 * The change manager's model on the real database (SQLite, or MariaDB when
 * DATABASE_URL is set): system facts set and read with validation, the
 * configuration parameters the resource model records, and the planning
 * snapshot over a real demo repository.
 */
import { expect } from 'chai';
import os from 'node:os';
import path from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import type { DataSource } from 'typeorm';
import { ManagedSystem, PackageRepository } from '../../entities';
import { loadPlanningModel } from '../../src/changemanager/model-loader';
import { SystemFactsStore } from '../../src/changemanager/system-facts';
import { parseWindow } from '../../src/changemanager/windows';
import { ManualClock } from '../../src/clock';
import { isMysqlSource } from '../../src/db/sql';
import { buildDemoRepository, PackageRepositories } from '../../src/drivers/local';
import { ProvisorError } from '../../src/errors';
import { softwareResultStatements } from '../../src/provisioning/resources';
import type { SoftwareOperation } from '../../src/drivers/driver';
import { InstalledComponent } from '../../entities';
import { freshDataSource } from '../support/harness';

describe('the change manager model', function () {
  this.timeout(120_000);
  let dataSource: DataSource;
  let dispose: () => Promise<void>;
  let store: SystemFactsStore;
  let dir: string;
  const clock = new ManualClock(Date.parse('2026-07-06T08:00:00Z'));

  before(async () => {
    ({ dataSource, dispose } = await freshDataSource());
    store = new SystemFactsStore(dataSource);
    dir = await mkdtemp(path.join(os.tmpdir(), 'provisor-model-'));
    const at = new Date();
    await dataSource.getRepository(ManagedSystem).insert([
      { name: 'db1', driver: 'local', options: '{}', createdAt: at },
      { name: 'app1', driver: 'local', options: '{}', createdAt: at },
      { name: 'app2', driver: 'simulated', options: '{}', createdAt: at },
    ]);
  });

  after(async () => {
    await dispose();
    await rm(dir, { recursive: true, force: true });
  });

  async function expectFault(promise: Promise<unknown>, code: string, field: string, message: string): Promise<void> {
    let caught: unknown;
    try {
      await promise;
    } catch (error) {
      caught = error;
    }
    expect(caught).to.be.instanceOf(ProvisorError);
    const error = caught as ProvisorError;
    expect([error.code, error.field]).to.deep.equal([code, field]);
    expect(error.message).to.include(message);
  }

  describe('system facts', () => {
    it('start with capacity 1, no roles, cluster, hardware or windows', async () => {
      expect(await store.get('app2')).to.deep.equal({
        name: 'app2',
        driver: 'simulated',
        roles: [],
        cluster: null,
        capacity: 1,
        hardware: { cpus: null, memoryMb: null, diskGb: null },
        maintenanceWindows: [],
      });
    });

    it('are set together and read back', async () => {
      const facts = await store.set('app1', {
        addRoles: ['app-server', 'web'],
        cluster: 'blue',
        capacity: 2,
        cpus: 8,
        memoryMb: 16384,
        diskGb: 200,
        addWindows: [parseWindow('mon-fri 22:00+4h Europe/Berlin'), parseWindow('sat,sun 01:00+1h')],
      });
      expect(facts).to.deep.equal({
        name: 'app1',
        driver: 'local',
        roles: ['app-server', 'web'],
        cluster: 'blue',
        capacity: 2,
        hardware: { cpus: 8, memoryMb: 16384, diskGb: 200 },
        maintenanceWindows: [
          { days: [1, 2, 3, 4, 5], start: '22:00', durationMinutes: 240, timeZone: 'Europe/Berlin' },
          { days: [6, 7], start: '01:00', durationMinutes: 60, timeZone: 'UTC' },
        ],
      });
    });

    it('change only what is given: roles removed and added, cluster left, windows replaced, a hardware fact cleared', async () => {
      const facts = await store.set('app1', { removeRoles: ['web'], addRoles: ['app-server', 'edge'], cluster: null, memoryMb: null, clearWindows: true, addWindows: [parseWindow('daily 03:00+30m UTC')] });
      expect(facts.roles).to.deep.equal(['app-server', 'edge']);
      expect(facts.cluster).to.equal(null);
      expect(facts.capacity).to.equal(2);
      expect(facts.hardware).to.deep.equal({ cpus: 8, memoryMb: null, diskGb: 200 });
      expect(facts.maintenanceWindows).to.deep.equal([{ days: [1, 2, 3, 4, 5, 6, 7], start: '03:00', durationMinutes: 30, timeZone: 'UTC' }]);
    });

    it('refuse an unknown system', async () => {
      await expectFault(store.set('nowhere', { capacity: 2 }), 'UnknownSystem', 'system', 'system "nowhere" is not registered');
      await expectFault(store.get('nowhere'), 'UnknownSystem', 'system', 'nowhere');
    });

    const bad: [string, Parameters<SystemFactsStore['set']>[1], string, string][] = [
      ['a bad role name', { addRoles: ['App Server'] }, 'role', 'role "App Server" must match'],
      ['a capacity below 1', { capacity: 0 }, 'capacity', 'capacity must be a whole number from 1'],
      ['a fractional capacity', { capacity: 1.5 }, 'capacity', 'got 1.5'],
      ['a bad cluster name', { cluster: 'blue green' }, 'cluster', 'cluster "blue green"'],
      ['zero cpus', { cpus: 0 }, 'cpus', 'cpus must be a whole number'],
      ['a window in an unknown zone', { addWindows: [{ days: [1], start: '22:00', durationMinutes: 60, timeZone: 'Europe/Atlantis' }] }, 'window', 'time zone "Europe/Atlantis"'],
      ['a window with a bad start', { addWindows: [{ days: [1], start: '7:00', durationMinutes: 60, timeZone: 'UTC' }] }, 'window', 'start "7:00"'],
    ];
    for (const [what, change, field, message] of bad) {
      it(`refuse ${what}, naming the field, and write nothing`, async () => {
        const before = await store.get('app1');
        await expectFault(store.set('app1', { ...change, capacity: change.capacity ?? 5, addRoles: [...(change.addRoles ?? []), 'fresh'] }), 'InvalidField', field, message);
        expect(await store.get('app1')).to.deep.equal(before);
      });
    }

    it('refuse more windows than allowed, writing none of them', async () => {
      const windows = Array.from({ length: 20 }, () => parseWindow('mon 01:00+1h'));
      await expectFault(store.set('app1', { addWindows: windows }), 'InvalidField', 'window', 'at most 20 are allowed');
      expect((await store.get('app1')).maintenanceWindows).to.have.length(1);
    });

    it('list every system by name', async () => {
      expect((await store.list()).map((s) => [s.name, s.capacity])).to.deep.equal([['app1', 2], ['app2', 1], ['db1', 1]]);
    });
  });

  describe('the recorded configuration parameters', () => {
    async function record(component: string, operation: SoftwareOperation, parameters: Record<string, string> = {}, version?: string): Promise<void> {
      const system = await dataSource.getRepository(ManagedSystem).findOneByOrFail({ name: 'db1' });
      const existing = await dataSource.getRepository(InstalledComponent).findOneBy({ systemId: system.id, name: component });
      const statements = softwareResultStatements(isMysqlSource(dataSource), existing, {
        systemId: system.id,
        component,
        operation,
        parameters: Object.entries(parameters).map(([name, value]) => ({ name, value })),
        result: { output: '', ...(version === undefined ? {} : { version }) },
        requestId: `r-${operation}`,
        at: clock.date(),
      });
      for (const [sql, params] of statements) await dataSource.query(sql, params as unknown[]);
    }

    it('are replaced by InitialConfigure, merged by Configure, and kept by Start and Update (whose result has no pid here, so it ends STOPPED)', async () => {
      await record('demo-db', 'Install', {}, '1.0.0');
      await record('demo-db', 'InitialConfigure', { port: '8091', datadir: 'var/lib/db' });
      await record('demo-db', 'Configure', { port: '9000' });
      await record('demo-db', 'Start');
      await record('demo-db', 'Update', {}, '2.0.0');
      const model = await loadPlanningModel({ dataSource, repositories: new PackageRepositories({ cacheDir: dir, indexTtlMs: 0, fetchTimeoutMs: 5000, now: () => clock.now() }), clock });
      expect(model.installed).to.deep.equal([{ system: 'db1', component: 'demo-db', version: '2.0.0', state: 'STOPPED', parameters: { port: '9000', datadir: 'var/lib/db' } }]);
      await record('demo-db', 'InitialConfigure', { port: '8095' });
      const again = await loadPlanningModel({ dataSource, repositories: new PackageRepositories({ cacheDir: dir, indexTtlMs: 0, fetchTimeoutMs: 5000, now: () => clock.now() }), clock });
      expect(again.installed[0]?.parameters).to.deep.equal({ port: '8095' });
    });
  });

  describe('the planning snapshot', () => {
    it('holds the systems with their facts, every package version of the demo repository with its declarations, and what is installed', async () => {
      const repo = await buildDemoRepository(path.join(dir, 'demo'));
      await dataSource.getRepository(PackageRepository).insert({ location: repo, priority: 100, createdAt: new Date() });
      await store.set('db1', { addRoles: ['db-server'] });
      const model = await loadPlanningModel({ dataSource, repositories: new PackageRepositories({ cacheDir: dir, indexTtlMs: 0, fetchTimeoutMs: 5000, now: () => clock.now() }), clock });
      expect(model.takenAt.toISOString()).to.equal('2026-07-06T08:00:00.000Z');
      expect(model.systems.map((s) => [s.name, s.roles])).to.deep.equal([['app1', ['app-server', 'edge']], ['app2', []], ['db1', ['db-server']]]);
      const versions = model.packages.filter((p) => p.name.startsWith('demo-')).map((p) => `${p.name}@${p.version}`);
      expect(versions).to.include.members(['demo-app@2.0.0', 'demo-app@1.0.0', 'demo-db@2.0.0', 'demo-db@1.0.0', 'demo-web@2.0.0', 'demo-web@1.0.0', 'demo-httpd@1.1.0', 'demo-site@1.0.0']);
      expect(versions.indexOf('demo-app@2.0.0')).to.be.lessThan(versions.indexOf('demo-app@1.0.0'));
      const app1 = model.packages.find((p) => p.name === 'demo-app' && p.version === '1.0.0');
      expect(app1).to.deep.include({
        requires: [{ component: 'demo-db', range: '>=1.0 <2', placement: { kind: 'role', role: 'db-server' } }],
        conflicts: [],
        provides: ['app-server'],
        quiesce: { hook: 'hooks/quiesce.sh', timeoutSeconds: 30 },
        startable: true,
      });
      expect(app1?.durations.Update).to.be.a('number');
      expect(model.packages.find((p) => p.name === 'demo-app' && p.version === '2.0.0')?.requires[0]?.range).to.equal('>=2.0');
      const site = model.packages.find((p) => p.name === 'demo-site');
      expect(site).to.deep.include({ startable: false, quiesce: null, requires: [{ component: 'demo-httpd', range: '>=1.0.0', placement: { kind: 'same-system' } }] });
      expect(model.installed.map((i) => `${i.system}/${i.component}@${i.version}`)).to.deep.equal(['db1/demo-db@2.0.0']);
    });

    it('refuses to answer a snapshot when a registered repository cannot be read', async () => {
      await dataSource.getRepository(PackageRepository).insert({ location: path.join(dir, 'missing-repo'), priority: 200, createdAt: new Date() });
      await expectFault(
        loadPlanningModel({ dataSource, repositories: new PackageRepositories({ cacheDir: dir, indexTtlMs: 0, fetchTimeoutMs: 5000, now: () => clock.now() }), clock }),
        'Unavailable',
        undefined as unknown as string,
        'missing-repo',
      );
    });
  });
});
