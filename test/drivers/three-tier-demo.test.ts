/**
 * The three-tier demo packages (demo-db, demo-app, demo-web) through the
 * local driver: installed, configured and started on three systems, the
 * application answering through the database and the front end through the
 * application, a drain that lets the request in hand finish and refuses new
 * ones, and an Update from 1.0.0 to 2.0.0 that keeps the data.
 */
import { expect } from 'chai';
import http from 'node:http';
import path from 'node:path';
import { readFile, realpath } from 'node:fs/promises';
import type { Driver, SoftwareOperation, SystemDescriptor, TaskResult } from '../../src/drivers/driver';
import { buildDemoRepository, createLocalDriver } from '../../src/drivers/local';
import { contextFor, eventually, expectDriverError, freePort, killGroup, localSystem, makeTempDir, processAlive, removeDir } from './fixtures';

interface Answer {
  readonly status: number;
  readonly body: string;
}

async function call(url: string, method = 'GET', body?: string): Promise<Answer> {
  const response = await fetch(url, { method, body });
  return { status: response.status, body: await response.text() };
}

describe('the three-tier demo packages on the local driver', function () {
  this.timeout(120_000);
  let base: string;
  let repo: string;
  let driver: Driver;
  const pids = new Set<number>();
  const pidOf = new Map<string, number>();
  const systems: Record<'db' | 'app' | 'web', SystemDescriptor> = {} as Record<'db' | 'app' | 'web', SystemDescriptor>;
  const ports = { db: 0, app: 0, web: 0 };

  before(async () => {
    base = await makeTempDir('three-tier');
    repo = await buildDemoRepository(path.join(base, 'repo'));
    driver = createLocalDriver({ cacheDir: path.join(base, 'cache'), stopTimeoutMs: 5000 });
    for (const name of ['db', 'app', 'web'] as const) {
      const system = localSystem(name, path.join(base, 'systems', name));
      await driver.prepareSystem(system);
      systems[name] = { ...system, options: { root: await realpath(system.options.root as string) } };
      ports[name] = await freePort();
    }
  });

  after(async () => {
    for (const pid of pids) killGroup(pid);
    await driver.close();
    await removeDir(base);
  });

  async function run(on: 'db' | 'app' | 'web', operation: SoftwareOperation, component: string, options: { version?: string; parameters?: Record<string, string> } = {}): Promise<TaskResult> {
    const result = await driver.execute(
      {
        operation,
        component,
        ...(options.version === undefined ? {} : { version: options.version }),
        parameters: Object.entries(options.parameters ?? {}).map(([name, value]) => ({ name, value })),
      },
      contextFor(systems[on], [repo]),
    );
    if (typeof result.pid === 'number') {
      pids.add(result.pid);
      pidOf.set(component, result.pid);
    }
    return result;
  }

  const url = (tier: 'db' | 'app' | 'web', pathname: string): string => `http://127.0.0.1:${ports[tier]}${pathname}`;

  it('installs, configures and starts demo-db, demo-app and demo-web 1.0.0', async () => {
    await run('db', 'Install', 'demo-db', { version: '1.0.0' });
    await run('db', 'InitialConfigure', 'demo-db', { parameters: { port: String(ports.db) } });
    await run('db', 'Start', 'demo-db');
    await run('app', 'Install', 'demo-app', { version: '1.0.0' });
    await run('app', 'InitialConfigure', 'demo-app', { parameters: { port: String(ports.app), dbUrl: url('db', '/') } });
    await run('app', 'Start', 'demo-app');
    await run('web', 'Install', 'demo-web', { version: '1.0.0' });
    await run('web', 'InitialConfigure', 'demo-web', { parameters: { port: String(ports.web), upstreams: url('app', '/') } });
    await run('web', 'Start', 'demo-web');
    expect((await call(url('db', '/version'))).body).to.equal('demo-db 1.0.0\n');
    expect((await call(url('app', '/version'))).body).to.equal('demo-app 1.0.0\n');
    expect((await call(url('web', '/version'))).body).to.equal('demo-web 1.0.0\n');
  });

  it('refuses a bad port by the manifest\'s declaration, keeping the previous configuration', async () => {
    const error = await expectDriverError(run('db', 'Configure', 'demo-db', { parameters: { port: 'ninety' } }), 'InvalidParameter');
    expect(error.message).to.equal('parameter "port" of demo-db 1.0.0 must be a whole number from 1 to 65535, got "ninety"');
    const config = JSON.parse(await readFile(path.join(systems.db.options.root as string, 'etc/demo-db/config.json'), 'utf8')) as Record<string, string>;
    expect(config).to.deep.equal({ port: String(ports.db) });
  });

  it('stores through the front end and the application into the database', async () => {
    expect(await call(url('web', '/api/kv/greeting'), 'PUT', 'hello three tiers')).to.deep.equal({ status: 200, body: 'stored\n' });
    expect(await call(url('app', '/kv/greeting'))).to.deep.equal({ status: 200, body: 'hello three tiers' });
    expect(await call(url('db', '/kv/greeting'))).to.deep.equal({ status: 200, body: 'hello three tiers' });
    expect((await call(url('web', '/api/kv/missing'))).status).to.equal(404);
  });

  it('refuses drain=true for demo-db, which declares no quiesce hook', async () => {
    const error = await expectDriverError(run('db', 'Stop', 'demo-db', { parameters: { drain: 'true' } }), 'InvalidParameter');
    expect(error.message).to.include('demo-db 1.0.0 cannot be drained').and.to.include('no quiesce hook');
    expect((await call(url('db', '/version'))).status).to.equal(200);
  });

  it('refuses a drain value that is neither true nor false', async () => {
    const error = await expectDriverError(run('app', 'Stop', 'demo-app', { parameters: { drain: 'yes' } }), 'InvalidParameter');
    expect(error.message).to.include('drain must be "true" or "false", got "yes"');
  });

  it('drains demo-app on Stop drain=true: the request in hand completes, a new one is refused, the process exits', async () => {
    const appPid = pidOf.get('demo-app') as number;
    expect(processAlive(appPid)).to.equal(true);
    // A PUT whose body is only half sent is in the application's hands until the rest arrives.
    const inHand = http.request(url('app', '/kv/inflight'), { method: 'PUT', headers: { 'Transfer-Encoding': 'chunked' } });
    const answered = new Promise<Answer>((resolve, reject) => {
      inHand.on('response', (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      inHand.on('error', reject);
    });
    inHand.write('first half, ');
    const status = async (): Promise<{ draining: boolean; inFlight: number }> => JSON.parse((await call(url('app', '/admin/status'))).body) as { draining: boolean; inFlight: number };
    expect(await eventually(async () => (await status()).inFlight === 1, 10_000), 'the PUT is in hand').to.equal(true);

    const stopping = run('app', 'Stop', 'demo-app', { parameters: { drain: 'true' } });
    expect(await eventually(async () => (await status()).draining, 10_000), 'draining').to.equal(true);
    expect(await call(url('app', '/kv/greeting'))).to.deep.equal({ status: 503, body: 'demo-app is draining\n' });
    // Through the front end a draining application server is unavailable too (it is the only one).
    expect((await call(url('web', '/api/kv/greeting'))).status).to.equal(502);

    inHand.end('second half');
    expect(await answered).to.deep.equal({ status: 200, body: 'stored\n' });
    const stopped = await stopping;
    expect(stopped.pid).to.equal(null);
    expect(stopped.output).to.include('quiesce hook of demo-app 1.0.0').and.to.include('200 drained');
    expect(await call(url('db', '/kv/inflight'))).to.deep.equal({ status: 200, body: 'first half, second half' });
    expect(await eventually(() => !processAlive(appPid), 5000), 'the application process ended').to.equal(true);
    const refused = await fetch(url('app', '/version')).then(
      () => false,
      () => true,
    );
    expect(refused, 'nothing listens on the application port').to.equal(true);
  });

  it('updates demo-db and demo-app from 1.0.0 to 2.0.0, keeping the data', async () => {
    await run('app', 'Start', 'demo-app');
    const db = await run('db', 'Update', 'demo-db', { version: '2.0.0' });
    expect(db.version).to.equal('2.0.0');
    expect(typeof db.pid).to.equal('number');
    expect((await call(url('db', '/version'))).body).to.equal('demo-db 2.0.0\n');
    const app = await run('app', 'Update', 'demo-app', { version: '2.0.0' });
    expect(app.version).to.equal('2.0.0');
    expect((await call(url('app', '/version'))).body).to.equal('demo-app 2.0.0\n');
    await run('web', 'Update', 'demo-web', { version: '2.0.0' });
    expect((await call(url('web', '/version'))).body).to.equal('demo-web 2.0.0\n');
    expect(await call(url('web', '/api/kv/greeting'))).to.deep.equal({ status: 200, body: 'hello three tiers' });
  });

  it('stops every tier', async () => {
    for (const [tier, component] of [['web', 'demo-web'], ['app', 'demo-app'], ['db', 'demo-db']] as const) {
      const result = await run(tier, 'Stop', component);
      expect(result.pid).to.equal(null);
    }
    for (const pid of pids) expect(await eventually(() => !processAlive(pid), 5000), `pid ${pid} ended`).to.equal(true);
  });
});
