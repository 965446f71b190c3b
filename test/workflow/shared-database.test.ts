import { expect } from 'chai';
import { buildApp, type App } from '../../src/app';
import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/db/data-source';
import { createLogger } from '../../src/log';
import { eventually, freshEnvironment, testDatabaseUrl } from '../support/harness';
import { deploy, plan } from './support';

describe('when several Provisor processes share one MySQL database', function () {
  this.timeout(60_000);
  let environment: Awaited<ReturnType<typeof freshEnvironment>>;
  const apps: App[] = [];

  before(async function () {
    // SQLite is one process's database; sharing is what MySQL/MariaDB is for.
    if (testDatabaseUrl() === undefined) this.skip();
    environment = await freshEnvironment({ PROVISOR_WORKFLOW_POLL_MS: '30', PROVISOR_POLL_MS: '30', PROVISOR_SIMULATED_MIN_MS: '20', PROVISOR_SIMULATED_MAX_MS: '20' });
    for (let i = 0; i < 2; i++) {
      const config = loadConfig(environment.env);
      const app = await buildApp({ config, logger: createLogger('error'), dataSource: await openDatabase(config) });
      await app.listen(0, '127.0.0.1');
      apps.push(app);
    }
    await apps[0]?.systems.add('sim1', 'simulated');
  });

  after(async function () {
    if (apps.length === 0) return;
    for (const app of apps) {
      await app.close();
      await app.dataSource.destroy();
    }
    await environment.cleanup();
  });

  it('each instance runs in exactly one of them, and all complete', async () => {
    const [first, second] = apps;
    if (first === undefined || second === undefined) throw new Error('apps not built');
    const seen = apps.map(() => new Set<string>());
    apps.forEach((app, i) => {
      app.notifier.listen({ activity: (event) => void seen[i]?.add(event.instanceId) });
    });
    const name = await deploy(
      { app: first },
      plan(
        'Shared',
        `<bpel:variables><bpel:variable name="req" messageType="sw:InstallRequest"/><bpel:variable name="res" messageType="sw:InstallResponse"/></bpel:variables>
  <bpel:sequence>
    <bpel:assign><bpel:copy><bpel:from><bpel:literal><sw:Install><sw:system>sim1</sw:system><sw:component>c</sw:component></sw:Install></bpel:literal></bpel:from><bpel:to variable="req" part="parameters"/></bpel:copy></bpel:assign>
    <bpel:wait><bpel:for>'PT0.2S'</bpel:for></bpel:wait>
    <bpel:invoke partnerLink="software" operation="Install" inputVariable="req" outputVariable="res"/>
  </bpel:sequence>`,
      ),
    );
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push(await (i % 2 === 0 ? first : second).workflow.start(name, undefined, `starter-${i}`));
    await eventually(async () => {
      const rows = (await first.dataSource.query("SELECT COUNT(*) AS n FROM process_instance WHERE status = 'RUNNING'")) as Array<{ n: unknown }>;
      return Number(rows[0]?.n) === 0 ? true : undefined;
    }, 'every instance to end', 40_000);
    const statuses = (await first.dataSource.query('SELECT status, COUNT(*) AS n FROM process_instance GROUP BY status')) as Array<{ status: string; n: unknown }>;
    expect(statuses.map((s) => [s.status, Number(s.n)])).to.deep.equal([['COMPLETED', 30]]);
    const [a, b] = seen;
    const overlap = [...(a ?? [])].filter((id) => b?.has(id));
    expect(overlap, 'instances run in both processes').to.deep.equal([]);
    expect((a?.size ?? 0) + (b?.size ?? 0)).to.equal(30);
    expect(a?.size, 'the first process took a share').to.be.greaterThan(0);
    expect(b?.size, 'the second process took a share').to.be.greaterThan(0);
    // Each instance invoked Install once (keys are per starter, so 30 requests).
    const requests = (await first.dataSource.query('SELECT COUNT(*) AS n FROM provisioning_request')) as Array<{ n: unknown }>;
    expect(Number(requests[0]?.n)).to.equal(30);
  });
});
