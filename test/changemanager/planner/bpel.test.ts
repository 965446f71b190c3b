import path from 'node:path';
import { expect } from 'chai';
import type { ChangeRequest, GraphFragment, PlanOutcome } from '../../../src/changemanager/change-plan';
import type { PlanningModel } from '../../../src/changemanager/planning-model';
import { planChange } from '../../../src/changemanager/planner';
import { resourceOrder } from '../../../src/changemanager/planner/bpel-generator';
import { checkStaticLimits, DEFAULT_PLAN_LIMITS } from '../../../src/bpel/limits';
import type { Process } from '../../../src/bpel/model';
import { parseProcess } from '../../../src/bpel/parser';
import { validateProcess } from '../../../src/bpel/validate';
import { projectRoot } from '../../../src/project-root';
import { WsdlCatalog } from '../../../src/workflow/wsdl-catalog';
import { startTestServer, type TestServer } from '../../support/harness';
import { finished } from '../../workflow/support';
import { installed, pkg, repeatable, system, T0, threeTier } from './model';

type Planned = Extract<PlanOutcome, { state: 'PLANNED' }>;

function planned(outcome: PlanOutcome): Planned {
  if (outcome.state !== 'PLANNED') expect.fail(`expected a plan, got ${outcome.code}: ${outcome.message}`);
  return outcome;
}

/** What DeployProcess checks: parse, WSDL imports, the static checks with the port types, the plan limits. */
function engineDiagnostics(bpel: Planned['bpel']): { process: Process; diagnostics: string[] } {
  const process = parseProcess(bpel.document, 'plan.bpel', { maxNestingDepth: DEFAULT_PLAN_LIMITS.maxNestingDepth });
  const catalog = new WsdlCatalog(new Map(Object.entries(bpel.imports)), path.join(projectRoot(), 'wsdl'));
  catalog.loadImports(process.imports);
  const diagnostics = [
    ...validateProcess(process, {
      portTypeOf: (link, role) => {
        const name = role === 'partner' ? link.partnerRole : link.myRole;
        const info = name === undefined ? undefined : catalog.portTypeOf(link.partnerLinkType, name);
        return info === undefined ? undefined : { portType: info.name, operations: info.operations };
      },
    }),
    ...checkStaticLimits(process, DEFAULT_PLAN_LIMITS),
  ];
  return { process, diagnostics: diagnostics.map((d) => `${d.line}: ${d.message}`) };
}

const upgradeApps: ChangeRequest = {
  changes: [
    { operation: 'Update', component: 'demo-db', version: '2.0.0', target: { kind: 'system', system: 'db1' } },
    { operation: 'Update', component: 'demo-app', version: '2.0.0', target: { kind: 'cluster', cluster: 'apps' } },
  ],
  deadline: new Date(T0.getTime() + 3_600_000),
};

/** The text of one task's slot in the document. */
function slot(document: string, id: string): string {
  const open = `<bpel:sequence name="${id}.slot">`;
  const from = document.indexOf(open);
  expect(from, `slot of ${id}`).to.be.greaterThan(-1);
  const to = document.indexOf('.slot">', from + open.length);
  return document.slice(from, to === -1 ? undefined : to);
}

describe('the generated WS-BPEL change plan', function () {
  this.timeout(60_000);

  it('passes the engine’s deploy checks', () => {
    const plan = planned(planChange(threeTier(), upgradeApps, [], repeatable));
    const { process, diagnostics } = engineDiagnostics(plan.bpel);
    expect(diagnostics).to.deep.equal([]);
    expect(process.name).to.equal(plan.bpel.processName);
  });

  it('has a scope per task, named by its id, with its undo as compensation and a duration alarm', () => {
    const plan = planned(planChange(threeTier(), upgradeApps, [], repeatable));
    const doc = plan.bpel.document;
    for (const t of plan.tasks) expect(doc).to.contain(`<bpel:scope name="${t.id}">`);
    const update = slot(doc, 'db1.demo-db.Update');
    expect(update).to.contain('<sw:Update><sw:system>db1</sw:system><sw:component>demo-db</sw:component><sw:version>2.0.0</sw:version></sw:Update>');
    expect(update).to.match(/<bpel:compensationHandler>[\s\S]*<sw:Rollback><sw:system>db1<\/sw:system><sw:component>demo-db<\/sw:component><sw:version>1\.0\.0<\/sw:version><\/sw:Rollback>/);
    // 100 s planned, tolerance ×1.5 + 60 s.
    expect(update).to.contain("<bpel:for>'PT210S'</bpel:for>");
    expect(update).to.contain(`<bpel:until>'${new Date(T0.getTime() + (plan.schedule.tasks.find((t) => t.id === 'db1.demo-db.Update')?.start ?? 0) * 1000).toISOString()}'</bpel:until>`);
    // A quiesced stop says so to the driver.
    expect(slot(doc, 'app1.demo-app.Stop')).to.contain('<sw:parameters><sw:parameter><sw:name>drain</sw:name><sw:value>true</sw:value></sw:parameter></sw:parameters>');
    expect(doc).to.match(/<bpel:faultHandlers>\s*<bpel:catchAll>\s*<bpel:sequence name="rollBack">[\s\S]*<bpel:compensate name="undoCompletedTasks"\/>\s*<bpel:rethrow name="failChange"\/>/);
    expect(doc).to.contain("<bpel:until>'2030-01-07T01:00:00.000Z'</bpel:until>");
  });

  it('carries SS links from the invoke, FS from the scope, FF and SF into the task’s finish', () => {
    const model: PlanningModel = {
      takenAt: T0,
      systems: [system('x'), system('y')],
      packages: [pkg('a', '1.0.0'), pkg('b', '1.0.0')],
      installed: [installed('x', 'a', '1.0.0'), installed('y', 'b', '1.0.0')],
    };
    const fragment: GraphFragment = {
      name: 'linked',
      parameters: [],
      tasks: [
        { key: 'one', operation: 'Configure', system: 'x', component: 'a' },
        { key: 'two', operation: 'Configure', system: 'y', component: 'b' },
        { key: 'three', operation: 'Stop', system: 'y', component: 'b' },
      ],
      precedences: [
        { from: 'one', to: 'two', type: 'SS', lag: 5 },
        { from: 'one', to: 'three', type: 'FF' },
        { from: 'two', to: 'three', type: 'SF', lag: 1 },
      ],
    };
    const plan = planned(planChange(model, { changes: [], fragments: [{ fragment, arguments: {} }] }, [], repeatable));
    const doc = plan.bpel.document;
    expect(engineDiagnostics(plan.bpel).diagnostics).to.deep.equal([]);
    expect(doc).to.match(/<bpel:invoke name="x\.a\.Configure\.run\.invoke"[^>]*>\s*<bpel:sources>\s*<bpel:source linkName="x\.a\.Configure-SS-y\.b\.Configure"\/>/);
    expect(doc).to.match(/<bpel:sequence name="y\.b\.Configure\.slot">\s*<bpel:targets>\s*<bpel:target linkName="x\.a\.Configure-SS-y\.b\.Configure"\/>/);
    expect(doc).to.match(/<bpel:scope name="x\.a\.Configure">\s*<bpel:documentation>[^<]*<\/bpel:documentation>\s*<bpel:sources>\s*<bpel:source linkName="x\.a\.Configure-FF-y\.b\.Stop"\/>/);
    expect(doc).to.match(/<bpel:empty name="y\.b\.Stop\.finish">\s*<bpel:targets>\s*<bpel:target linkName="x\.a\.Configure-FF-y\.b\.Stop"\/>\s*<bpel:target linkName="y\.b\.Configure-SF-y\.b\.Stop"\/>/);
  });

  it('orders cluster members the way the schedule did, so a late run never takes more of the cluster down', () => {
    const plan = planned(planChange(threeTier(), { ...upgradeApps, maxUnavailableShare: 0.25 }, [], repeatable));
    const members = ['app1', 'app2', 'app3', 'app4'].sort((a, b) => (plan.schedule.tasks.find((t) => t.id === `${a}.demo-app.Stop`)?.start ?? 0) - (plan.schedule.tasks.find((t) => t.id === `${b}.demo-app.Stop`)?.start ?? 0));
    for (let i = 1; i < members.length; i++) {
      expect(plan.bpel.document).to.contain(`<bpel:link name="${members[i - 1] ?? ''}.demo-app.Start-then-${members[i] ?? ''}.demo-app.Stop"/>`);
    }
    expect(engineDiagnostics(plan.bpel).diagnostics).to.deep.equal([]);
  });

  it('hands each unit of a resource from task to task in start order', () => {
    const order = resourceOrder([
      {
        capacity: 2,
        items: [
          { first: 'a', last: 'a', start: 0, finish: 10 },
          { first: 'b', last: 'b', start: 0, finish: 5 },
          { first: 'c', last: 'c', start: 5, finish: 20 },
          { first: 'd', last: 'd2', start: 10, finish: 12 },
          { first: 'e', last: 'e', start: 12, finish: 13 },
        ],
      },
    ]);
    expect(order).to.deep.equal([
      { from: 'b', to: 'c' },
      { from: 'a', to: 'd' },
      { from: 'd2', to: 'e' },
    ]);
  });

  describe('when it runs on the engine with the simulated driver', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ PROVISOR_SIMULATED_MIN_MS: '50', PROVISOR_SIMULATED_MAX_MS: '50', PROVISOR_WORKFLOW_POLL_MS: '50' });
      await server.app.systems.add('sim1', 'simulated');
      await server.app.systems.add('sim2', 'simulated');
      await server.app.systems.add('broken', 'simulated', { failureRate: '1' });
    });
    after(() => server.close());

    const model = (takenAt: Date): PlanningModel => ({
      takenAt,
      systems: [system('sim1'), system('sim2'), system('broken')],
      packages: [pkg('alpha', '1.0.0', { durations: { Install: 1, InitialConfigure: 1, Start: 1 } }), pkg('beta', '1.0.0', { startable: false, durations: { Install: 1, InitialConfigure: 1 } })],
      installed: [],
    });
    const twoSteps = (second: string): GraphFragment => ({
      name: 'alpha-then-beta',
      parameters: ['second'],
      tasks: [
        { key: 'alpha', operation: 'Install', system: 'sim1', component: 'alpha' },
        { key: 'beta', operation: 'Install', system: '${second}', component: 'beta' },
      ],
      precedences: [{ from: 'alpha', to: 'beta', type: 'FS' }],
    });

    async function run(plan: Planned): Promise<{ status: string; requests: Array<{ operation: string; systemName: string; component: string; status: string }> }> {
      const deployed = await server.app.workflow.deploy({ bpel: plan.bpel.document, documents: new Map(Object.entries(plan.bpel.imports)), bindings: [], deployedBy: 'tester' });
      const id = await server.app.workflow.start(deployed.name, undefined, 'tester');
      const view = await finished(server, id, 30_000);
      const requests = (await server.dataSource.query('SELECT operation, systemName, component, status FROM provisioning_request ORDER BY submittedAt, id')) as Array<{ operation: string; systemName: string; component: string; status: string }>;
      return { status: view.status, requests };
    }

    it('runs every task in the planned order and completes', async () => {
      await server.dataSource.query('DELETE FROM provisioning_request');
      const plan = planned(planChange(model(new Date()), { changes: [], fragments: [{ fragment: twoSteps('sim2'), arguments: { second: 'sim2' } }] }, [], { ...repeatable, pollInterval: 'PT0.05S', processName: 'PlannedInstall' }));
      const { status, requests } = await run(plan);
      expect(status).to.equal('COMPLETED');
      expect(requests.map((r) => `${r.systemName} ${r.operation} ${r.component} ${r.status}`)).to.deep.equal([
        'sim1 Install alpha COMPLETED_SUCCESS',
        'sim1 InitialConfigure alpha COMPLETED_SUCCESS',
        'sim1 Start alpha COMPLETED_SUCCESS',
        'sim2 Install beta COMPLETED_SUCCESS',
        'sim2 InitialConfigure beta COMPLETED_SUCCESS',
      ]);
    });

    it('upgrades a cluster in waves: never more members down at once than the share allows', async () => {
      await server.dataSource.query('DELETE FROM provisioning_request');
      // Three members: the plan of a fourth would not fit MariaDB's 64 KiB process_definition.bpel column (TEXT there).
      for (const name of ['m1', 'm2', 'm3']) await server.app.systems.add(name, 'simulated');
      const quick = { Stop: 1, Update: 1, Start: 1 };
      const cluster: PlanningModel = {
        takenAt: new Date(),
        systems: ['m1', 'm2', 'm3'].map((n) => system(n, { cluster: 'pool' })),
        packages: [pkg('svc', '1.0.0', { provides: ['app-server'], quiesce: { hook: 'drain', timeoutSeconds: 0 }, durations: quick }), pkg('svc', '2.0.0', { provides: ['app-server'], quiesce: { hook: 'drain', timeoutSeconds: 0 }, durations: quick })],
        installed: ['m1', 'm2', 'm3'].map((n) => installed(n, 'svc', '1.0.0')),
      };
      const plan = planned(planChange(cluster, { changes: [{ operation: 'Update', component: 'svc', version: '2.0.0', target: { kind: 'cluster', cluster: 'pool' } }], maxUnavailableShare: 0.7 }, [], { ...repeatable, pollInterval: 'PT0.05S', processName: 'RollingUpgrade' }));
      const { status } = await run(plan);
      expect(status).to.equal('COMPLETED');
      const rows = (await server.dataSource.query("SELECT systemName, operation, startedAt, endedAt FROM provisioning_request WHERE systemName LIKE 'm%' AND status = 'COMPLETED_SUCCESS'")) as Array<{ systemName: string; operation: string; startedAt: Date | string; endedAt: Date | string }>;
      const time = (d: Date | string | undefined): number => (d === undefined ? NaN : new Date(d).getTime());
      const down = ['m1', 'm2', 'm3'].map((m) => {
        const stop = rows.find((r) => r.systemName === m && r.operation === 'Stop');
        const start = rows.find((r) => r.systemName === m && r.operation === 'Start');
        expect(rows.some((r) => r.systemName === m && r.operation === 'Update'), `${m} updated`).to.equal(true);
        expect(stop, `${m} stopped`).to.not.equal(undefined);
        expect(start, `${m} started`).to.not.equal(undefined);
        return [time(stop?.startedAt), time(start?.endedAt)] as const;
      });
      // Two members may be down at once (⌊0.7 × 3⌋); never all three.
      const peak = Math.max(...down.map(([a]) => down.filter(([s, f]) => s <= a && a < f).length));
      expect(peak).to.be.at.most(2);
    });

    it('when a task fails, undoes the completed ones, newest first, and fails', async () => {
      await server.dataSource.query('DELETE FROM provisioning_request');
      const plan = planned(planChange(model(new Date()), { changes: [], fragments: [{ fragment: twoSteps('broken'), arguments: { second: 'broken' } }] }, [], { ...repeatable, pollInterval: 'PT0.05S', processName: 'PlannedFailure' }));
      const { status, requests } = await run(plan);
      expect(status).to.equal('FAULTED');
      expect(requests.map((r) => `${r.systemName} ${r.operation} ${r.component} ${r.status}`)).to.deep.equal([
        'sim1 Install alpha COMPLETED_SUCCESS',
        'sim1 InitialConfigure alpha COMPLETED_SUCCESS',
        'sim1 Start alpha COMPLETED_SUCCESS',
        'broken Install beta COMPLETED_FAILURE',
        'sim1 Stop alpha COMPLETED_SUCCESS',
        'sim1 Uninstall alpha COMPLETED_SUCCESS',
      ]);
    });
  });
});
