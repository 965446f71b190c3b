/**
 * The change manager end to end on the `local` driver: a database server, a
 * cluster of four application servers and a web front end, running the demo
 * packages at 1.0.0 as real processes, are upgraded to 2.0.0 by one request
 * for change submitted over SOAP. The plan keeps the four policies of the
 * original design, runs to COMPLETED, every component ends at 2.0.0 and
 * answers, never more application servers are down at once than the request
 * allows (read from the provisioning requests' start and end times), and
 * the run takes the planned time give or take 25%.
 */
import { expect } from 'chai';
import { freePort } from '../support/processes';
import { eventually, type TestServer } from '../support/harness';
import { changeServer, changeXml, cmCall, OPERATOR, scaledDemoRepository, textOf } from './support';
import { SystemFactsStore } from '../../src/changemanager/system-facts';
import { fromSqlDate } from '../../src/db/sql';
import path from 'node:path';

const APPS = ['app1', 'app2', 'app3', 'app4'] as const;
const SHARE = 0.5;
/** The share of the manifests' estimates the plan is made with. */
const ESTIMATES = 0.25;

interface RequestRow {
  readonly systemName: string;
  readonly operation: string;
  readonly component: string;
  readonly version: string | null;
  readonly status: string;
  readonly startedAt: Date;
  readonly endedAt: Date;
}

describe('a three-tier application upgraded by one request for change, on the local driver', function () {
  this.timeout(300_000);
  let server: TestServer;
  const ports = new Map<string, number>();

  async function provision(system: string, operation: 'Install' | 'InitialConfigure' | 'Start' | 'Stop', component: string, options: { version?: string; parameters?: Record<string, string> } = {}): Promise<void> {
    const id = await server.app.api.submitSoftware(operation, { system, component, version: options.version, parameters: Object.entries(options.parameters ?? {}).map(([name, value]) => ({ name, value })) }, { name: 'setup' });
    const view = await server.app.api.getRequest(id, 60_000);
    expect(view.status, `${operation} ${component} on ${system}: ${view.message ?? ''}`).to.equal('COMPLETED_SUCCESS');
  }

  async function answer(system: string, pathname: string): Promise<string> {
    const response = await fetch(`http://127.0.0.1:${ports.get(system) ?? 0}${pathname}`);
    return response.text();
  }

  before(async () => {
    // The demo packages as built, with their manifests' estimates at a quarter (the plan's shape is the same, and it runs in a quarter of the time).
    server = await changeServer(0, { PROVISOR_CHANGES_STATUS_POLL: 'PT0.2S' }, { quickRepository: false });
    await server.app.systems.addRepository(await scaledDemoRepository(path.join(server.dataDir, 'real-repository'), ESTIMATES));
    const facts = new SystemFactsStore(server.dataSource);
    for (const system of ['db1', ...APPS, 'web1']) {
      await server.app.systems.add(system, 'local', {});
      ports.set(system, await freePort());
    }
    for (const app of APPS) await facts.set(app, { cluster: 'shop' });
    const dbUrl = `http://127.0.0.1:${ports.get('db1') ?? 0}/`;
    await provision('db1', 'Install', 'demo-db', { version: '1.0.0' });
    await provision('db1', 'InitialConfigure', 'demo-db', { parameters: { port: String(ports.get('db1')) } });
    await provision('db1', 'Start', 'demo-db');
    for (const app of APPS) {
      await provision(app, 'Install', 'demo-app', { version: '1.0.0' });
      await provision(app, 'InitialConfigure', 'demo-app', { parameters: { port: String(ports.get(app)), dbUrl } });
      await provision(app, 'Start', 'demo-app');
    }
    const upstreams = APPS.map((a) => `http://127.0.0.1:${ports.get(a) ?? 0}/`).join(',');
    await provision('web1', 'Install', 'demo-web', { version: '1.0.0' });
    await provision('web1', 'InitialConfigure', 'demo-web', { parameters: { port: String(ports.get('web1')), upstreams } });
    await provision('web1', 'Start', 'demo-web');
    expect(await answer('web1', '/version')).to.equal('demo-web 1.0.0\n');
  });

  after(async () => {
    // The demo servers are real processes: stop them before the server goes.
    for (const [system, component] of [['web1', 'demo-web'], ...APPS.map((a) => [a, 'demo-app']), ['db1', 'demo-db']] as const) {
      try {
        await provision(system, 'Stop', component);
      } catch {
        // Already stopped (or never started): nothing to stop.
      }
    }
    await server.close();
  });

  it('plans with the four policies, runs, ends with every component at 2.0.0, keeps the cluster available and takes the planned time', async () => {
    const before = new Date();
    const submitted = await cmCall(
      server,
      OPERATOR,
      'SubmitChangeRequest',
      changeXml('Update', 'demo-db', { system: 'db1' }, '2.0.0') + changeXml('Update', 'demo-app', { cluster: 'shop' }, '2.0.0') + changeXml('Update', 'demo-web', { system: 'web1' }, '2.0.0') + `<c:maxUnavailableShare>${SHARE}</c:maxUnavailableShare>`,
    );
    expect(submitted.fault, submitted.body).to.equal(undefined);
    const id = textOf(submitted.body, 'changeId') as string;

    // The plan, asserted from the plan.
    const planned = await eventually(async () => {
      const view = await server.app.changes.get(id);
      return view.state === 'PLANNING' ? undefined : view;
    }, 'the change to be planned');
    const plan = planned.plan;
    if (plan?.state !== 'PLANNED') throw new Error(`not planned: ${planned.rejectionCode ?? ''} ${planned.rejectionMessage ?? ''}`);
    const check = (name: string): string => plan.checks.find((c) => c.policy === name)?.outcome ?? 'missing';
    expect(check('separate-app-and-db')).to.equal('satisfied');
    expect(check('app-server-requires-db-version')).to.be.oneOf(['satisfied', 'shaped']);
    expect(check('quiesce-before-upgrade')).to.be.oneOf(['satisfied', 'shaped']);
    expect(check('cluster-same-version')).to.be.oneOf(['satisfied', 'shaped']);
    expect(plan.checks.filter((c) => c.outcome === 'violated')).to.deep.equal([]);
    // Every application server is drained before its update, and the database is at 2.0.0 before any application server starts at 2.0.0.
    const start = new Map(plan.schedule.tasks.map((t) => [t.id, t]));
    const dbUpdate = plan.tasks.find((t) => t.system === 'db1' && t.operation === 'Update');
    expect(dbUpdate, 'the database update').to.not.equal(undefined);
    for (const app of APPS) {
      const drain = plan.tasks.find((t) => t.system === app && t.operation === 'Stop' && t.quiesce === true);
      const update = plan.tasks.find((t) => t.system === app && t.operation === 'Update');
      expect(drain, `${app} drained`).to.not.equal(undefined);
      expect(update?.version, `${app} updated`).to.equal('2.0.0');
      expect(start.get(drain?.id ?? '')?.finish ?? Infinity).to.be.at.most(start.get(update?.id ?? '')?.start ?? -1);
      expect(start.get(dbUpdate?.id ?? '')?.finish ?? Infinity).to.be.at.most(start.get(update?.id ?? '')?.finish ?? -1);
    }

    // It runs to its end.
    const done = await eventually(async () => {
      const view = await server.app.changes.get(id);
      return view.state === 'COMPLETED' || view.state === 'FAILED' || view.state === 'CANCELLED' ? view : undefined;
    }, 'the change to end', 240_000, 250);
    expect(done.state, done.outcome ?? '').to.equal('COMPLETED');

    // Every component at the new version, and answering.
    const versions = (await server.dataSource.query('SELECT s.name AS system, c.name AS component, c.version FROM installed_component c JOIN managed_system s ON s.id = c.systemId')) as Array<{ system: string; component: string; version: string }>;
    for (const [system, component] of [['db1', 'demo-db'], ...APPS.map((a) => [a, 'demo-app']), ['web1', 'demo-web']] as const) {
      expect(versions.find((v) => v.system === system && v.component === component)?.version, `${component} on ${system}`).to.equal('2.0.0');
    }
    expect(await answer('db1', '/version')).to.equal('demo-db 2.0.0\n');
    for (const app of APPS) expect(await answer(app, '/version')).to.equal('demo-app 2.0.0\n');
    expect(await answer('web1', '/version')).to.equal('demo-web 2.0.0\n');

    // Never more application servers down at once than allowed: down from the start of its first Stop or Update to the end of its last Start or Update.
    const rows = ((await server.dataSource.query("SELECT systemName, operation, component, version, status, startedAt, endedAt FROM provisioning_request WHERE submittedAt >= ? AND submittedBy <> 'setup' ORDER BY seq", [
      before.toISOString().replace('T', ' ').replace('Z', ''),
    ])) as Array<Record<string, unknown>>).map((r): RequestRow => ({ systemName: String(r.systemName), operation: String(r.operation), component: String(r.component), version: r.version === null ? null : String(r.version), status: String(r.status), startedAt: fromSqlDate(r.startedAt) as Date, endedAt: fromSqlDate(r.endedAt) as Date }));
    expect(rows.every((r) => r.status === 'COMPLETED_SUCCESS')).to.equal(true);
    const allowed = Math.max(1, Math.floor(APPS.length * SHARE));
    const down = APPS.map((app) => {
      const mine = rows.filter((r) => r.systemName === app);
      const first = mine.filter((r) => r.operation === 'Stop' || r.operation === 'Update').map((r) => r.startedAt.getTime());
      const last = mine.filter((r) => r.operation === 'Start' || r.operation === 'Update').map((r) => r.endedAt.getTime());
      expect(first.length, `${app} was changed`).to.be.greaterThan(0);
      return [Math.min(...first), Math.max(...last)] as const;
    });
    let peak = 0;
    for (const [from] of down) peak = Math.max(peak, down.filter(([f, t]) => f <= from && from < t).length);
    expect(peak, `application servers down at once: ${JSON.stringify(down)}`).to.be.at.most(allowed);

    // The actual makespan is within 25% of the planned one.
    const actual = (Math.max(...rows.map((r) => r.endedAt.getTime())) - Math.min(...rows.map((r) => r.startedAt.getTime()))) / 1000;
    const plannedMakespan = plan.schedule.makespan;
    expect(actual, `actual ${actual}s against planned ${plannedMakespan}s`).to.be.within(plannedMakespan * 0.75, plannedMakespan * 1.25);
  });
});
