import { expect } from 'chai';
import type { ChangeRequest, GraphFragment, PlannedTask, PlanOutcome, PolicyCheck } from '../../../src/changemanager/change-plan';
import { planChange, validateChangeRequest, type PolicyDefinition } from '../../../src/changemanager/planner';
import { criticalTasks } from '../../../src/changemanager/planner/schedule-adapter';
import { installed, onRole, pkg, repeatable, sameSystem, system, T0, threeTier, window } from './model';

type Planned = Extract<PlanOutcome, { state: 'PLANNED' }>;
type Rejected = Extract<PlanOutcome, { state: 'REJECTED' }>;

function planned(outcome: PlanOutcome): Planned {
  if (outcome.state !== 'PLANNED') expect.fail(`expected a plan, got ${outcome.code}: ${outcome.message}`);
  return outcome;
}

function rejected(outcome: PlanOutcome): Rejected {
  if (outcome.state !== 'REJECTED') expect.fail('expected a rejection, got a plan');
  return outcome;
}

const task = (plan: Planned, id: string): PlannedTask => {
  const found = plan.tasks.find((t) => t.id === id);
  expect(found, `task ${id} in ${plan.tasks.map((t) => t.id).join(', ')}`).to.not.equal(undefined);
  return found as PlannedTask;
};
const at = (plan: Planned, id: string): { start: number; finish: number } => {
  const s = plan.schedule.tasks.find((t) => t.id === id);
  expect(s, `scheduled task ${id}`).to.not.equal(undefined);
  return s as { start: number; finish: number };
};
const checkOf = (plan: { checks: readonly PolicyCheck[] }, policy: string): PolicyCheck => {
  const c = plan.checks.find((x) => x.policy === policy);
  expect(c, `check of ${policy}`).to.not.equal(undefined);
  return c as PolicyCheck;
};

const upgradeApps: ChangeRequest = {
  changes: [
    { operation: 'Update', component: 'demo-db', version: '2.0.0', target: { kind: 'system', system: 'db1' } },
    { operation: 'Update', component: 'demo-app', version: '2.0.0', target: { kind: 'cluster', cluster: 'apps' } },
  ],
};

describe('the change planner', function () {
  this.timeout(30_000);

  describe('when the request is malformed', () => {
    it('validateChangeRequest names every bad field', () => {
      const issues = validateChangeRequest({
        changes: [{ operation: 'Instal', component: '', target: { kind: 'host', host: 'x' } }],
        maxUnavailableShare: 1.5,
        deadline: new Date('2030-01-01T00:00:00Z'),
        earliestStart: new Date('2030-01-02T00:00:00Z'),
      });
      expect(issues.map((i) => i.path)).to.have.members(['changes[0].operation', 'changes[0].component', 'changes[0].target.kind', 'maxUnavailableShare', 'deadline']);
      expect(issues.find((i) => i.path === 'changes[0].operation')?.message).to.contain('Install');
    });

    it('rejects a bad version range, naming the field', () => {
      const out = rejected(planChange(threeTier(), { changes: [{ operation: 'Update', component: 'demo-db', version: '>>2', target: { kind: 'system', system: 'db1' } }] }, []));
      expect(out.code).to.equal('InvalidRequest');
      expect(out.objects).to.deep.equal(['changes[0].version']);
    });

    it('rejects more than 200 changes as RequestTooLarge', () => {
      const changes = Array.from({ length: 201 }, () => ({ operation: 'Start' as const, component: 'demo-web', target: { kind: 'system' as const, system: 'web1' } }));
      expect(rejected(planChange(threeTier(), { changes }, [])).code).to.equal('RequestTooLarge');
    });

    it('rejects an expansion over 5,000 tasks as RequestTooLarge', () => {
      const systems = Array.from({ length: 1700 }, (_, i) => system(`h${i}`, { roles: ['farm'] }));
      const model = { ...threeTier(), systems, installed: [] };
      const out = rejected(planChange(model, { changes: [{ operation: 'Install', component: 'demo-db', target: { kind: 'role', role: 'farm' } }] }, [{ name: 'separate-app-and-db', kind: 'forbid-colocation', parameters: { roleA: 'a', roleB: 'b' }, scopes: [] }]));
      expect(out.code).to.equal('RequestTooLarge');
      expect(out.message).to.contain('5000');
    });
  });

  describe('when the request names what the model does not have', () => {
    const cases: Array<[string, ChangeRequest['changes'][number], string, string[]]> = [
      ['system', { operation: 'Start', component: 'demo-db', target: { kind: 'system', system: 'nope' } }, 'UnknownSystem', ['nope']],
      ['role', { operation: 'Start', component: 'demo-db', target: { kind: 'role', role: 'mainframe' } }, 'UnknownRole', ['mainframe']],
      ['cluster', { operation: 'Start', component: 'demo-db', target: { kind: 'cluster', cluster: 'dbs' } }, 'UnknownCluster', ['dbs']],
      ['component', { operation: 'Install', component: 'demo-nothing', target: { kind: 'system', system: 'web1' } }, 'UnknownComponent', ['demo-nothing']],
      ['version', { operation: 'Update', component: 'demo-db', version: '>=3', target: { kind: 'system', system: 'db1' } }, 'UnknownVersion', ['demo-db', '>=3']],
      ['installed component', { operation: 'Stop', component: 'demo-db', target: { kind: 'system', system: 'web1' } }, 'NotInstalled', ['web1', 'demo-db']],
    ];
    for (const [what, change, code, objects] of cases) {
      it(`rejects an unknown ${what} with ${code}, naming it`, () => {
        const out = rejected(planChange(threeTier(), { changes: [change] }, []));
        expect(out.code).to.equal(code);
        expect(out.objects).to.deep.equal(objects);
      });
    }
  });

  describe('when an install has requirements', () => {
    const model = threeTier({
      systems: [system('shop1', { roles: ['shop'] })],
      packages: [
        pkg('shop', '1.0.0', { requires: [sameSystem('runtime', '^1.0'), sameSystem('agent', '*')], startable: true }),
        pkg('runtime', '1.0.0', { startable: false }),
        pkg('runtime', '1.1.0', { startable: false, requires: [sameSystem('base', '>=1')] }),
        pkg('runtime', '1.2.0', { startable: false }),
        pkg('runtime', '2.0.0', { startable: false }),
        pkg('base', '1.0.0', { startable: false }),
        pkg('base', '1.5.0', { startable: false }),
        pkg('agent', '1.0.0', { requires: [sameSystem('runtime', '<1.2')] }),
        pkg('lonely', '1.0.0', { requires: [sameSystem('runtime', '^3')] }),
      ],
    });

    it('installs them first, transitively, at the highest version every range on the system allows', () => {
      const plan = planned(planChange(model, { changes: [{ operation: 'Install', component: 'shop', target: { kind: 'system', system: 'shop1' } }] }, [], repeatable));
      // runtime ^1.0 (shop) and <1.2 (agent): 1.1.0; it needs base >=1: 1.5.0.
      expect(task(plan, 'shop1.runtime.Install').version).to.equal('1.1.0');
      expect(task(plan, 'shop1.runtime.Install').reason).to.equal('requirement');
      expect(task(plan, 'shop1.base.Install').version).to.equal('1.5.0');
      expect(task(plan, 'shop1.agent.Install').version).to.equal('1.0.0');
      expect(at(plan, 'shop1.base.InitialConfigure').finish).to.be.at.most(at(plan, 'shop1.runtime.Install').start);
      expect(at(plan, 'shop1.runtime.InitialConfigure').finish).to.be.at.most(at(plan, 'shop1.shop.Install').start);
      expect(at(plan, 'shop1.agent.Start').finish).to.be.at.most(at(plan, 'shop1.shop.Install').start);
      // Install → InitialConfigure → Start, Start only for what runs.
      expect(plan.tasks.filter((t) => t.component === 'shop').map((t) => t.operation)).to.deep.equal(['Install', 'InitialConfigure', 'Start']);
      expect(plan.tasks.filter((t) => t.component === 'runtime').map((t) => t.operation)).to.deep.equal(['Install', 'InitialConfigure']);
      expect(task(plan, 'shop1.shop.Install').undo).to.deep.equal({ operation: 'Uninstall', version: '1.0.0' });
      expect(task(plan, 'shop1.shop.InitialConfigure').undo).to.equal(null);
      expect(task(plan, 'shop1.shop.Start').undo).to.deep.equal({ operation: 'Stop' });
    });

    it('rejects a requirement no version satisfies, naming it', () => {
      const out = rejected(planChange(model, { changes: [{ operation: 'Install', component: 'lonely', target: { kind: 'system', system: 'shop1' } }] }, []));
      expect(out.code).to.equal('UnsatisfiableRequirement');
      expect(out.objects).to.deep.equal(['shop1', 'runtime', '^3']);
      expect(out.message).to.contain('lonely 1.0.0 on "shop1" needs runtime, and no available version satisfies ^3');
    });

    it('rejects a role requirement no system of the role meets when no policy watches it', () => {
      const m = threeTier({ systems: [system('web2')], packages: [pkg('demo-web', '2.0.0', { requires: [onRole('demo-app', '>=2', 'app-server')] })] });
      const out = rejected(planChange(m, { changes: [{ operation: 'Install', component: 'demo-web', version: '2.0.0', target: { kind: 'system', system: 'web2' } }] }, []));
      expect(out.code).to.equal('UnsatisfiableRequirement');
      expect(out.objects).to.deep.equal(['demo-app', '>=2', 'app-server']);
    });

    it('orders a role requirement after the change of the request that brings it', () => {
      const plan = planned(planChange(threeTier(), upgradeApps, [], repeatable));
      for (const app of ['app1', 'app2', 'app3', 'app4']) expect(at(plan, `${app}.demo-app.Update`).start).to.be.at.least(at(plan, 'db1.demo-db.Start').finish);
      expect(plan.precedences.some((p) => p.from === 'db1.demo-db.Start' && p.to === 'app1.demo-app.Update' && p.reason.includes('requirement'))).to.equal(true);
    });
  });

  describe('when a component others depend on is updated', () => {
    it('stops its dependents before (quiesced when they can be) and starts them after', () => {
      const clustered = threeTier({ packages: [pkg('demo-web', '1.0.0', { requires: [onRole('demo-app', '*', 'app-server')], quiesce: { hook: 'drain', timeoutSeconds: 7 }, durations: { Stop: 3 } })] });
      // Application servers on their own, not in a cluster.
      const m = { ...clustered, systems: clustered.systems.map((s) => ({ ...s, cluster: null })) };
      const plan = planned(planChange(m, { changes: [{ operation: 'Update', component: 'demo-app', version: '2.0.0', target: { kind: 'system', system: 'app1' } }, { operation: 'Update', component: 'demo-db', version: '2.0.0', target: { kind: 'system', system: 'db1' } }] }, [], repeatable));
      const stop = task(plan, 'web1.demo-web.Stop');
      expect(stop.reason).to.equal('dependent');
      expect(stop.quiesce).to.equal(true);
      expect(stop.duration).to.equal(3 + 7);
      // One Stop and one Start.
      expect(plan.tasks.filter((t) => t.system === 'web1').map((t) => t.operation)).to.deep.equal(['Stop', 'Start']);
      expect(at(plan, 'web1.demo-web.Stop').finish).to.be.at.most(at(plan, 'app1.demo-app.Stop').start);
      expect(at(plan, 'app1.demo-app.Start').finish).to.be.at.most(at(plan, 'web1.demo-web.Start').start);
      // The other application servers use the database through a role and are not in a cluster: stopped around its update.
      for (const app of ['app2', 'app3', 'app4']) {
        expect(task(plan, `${app}.demo-app.Stop`).reason).to.equal('dependent');
        expect(task(plan, `${app}.demo-app.Stop`).quiesce).to.equal(true);
        expect(at(plan, `${app}.demo-app.Stop`).finish).to.be.at.most(at(plan, 'db1.demo-db.Stop').start);
        expect(at(plan, 'db1.demo-db.Start').finish).to.be.at.most(at(plan, `${app}.demo-app.Start`).start);
      }
      expect(task(plan, 'app1.demo-app.Update').undo).to.deep.equal({ operation: 'Rollback', version: '1.0.0' });
    });

    it('does not stop what depends through a role on a cluster being updated in waves: the other members keep serving', () => {
      const plan = planned(planChange(threeTier(), upgradeApps, [], repeatable));
      expect(plan.tasks.filter((t) => t.system === 'web1')).to.deep.equal([]);
      // Nor the members, for the database they use through a role.
      expect(plan.tasks.filter((t) => t.reason === 'dependent')).to.deep.equal([]);
    });

    it('stops a same-system dependent around the change, even in a cluster', () => {
      const m = threeTier({ packages: [pkg('demo-plugin', '1.0.0', { requires: [sameSystem('demo-app', '*')] })], installed: [installed('app2', 'demo-plugin', '1.0.0')] });
      const plan = planned(planChange(m, { changes: [upgradeApps.changes[0] as ChangeRequest['changes'][number], { operation: 'Update', component: 'demo-app', version: '2.0.0', target: { kind: 'system', system: 'app2' } }] }, [], repeatable));
      expect(task(plan, 'app2.demo-plugin.Stop').reason).to.equal('dependent');
      expect(at(plan, 'app2.demo-plugin.Stop').finish).to.be.at.most(at(plan, 'app2.demo-app.Stop').start);
      expect(at(plan, 'app2.demo-app.Start').finish).to.be.at.most(at(plan, 'app2.demo-plugin.Start').start);
    });

    it('rejects an update that leaves a dependent without what it requires', () => {
      const m = threeTier({ packages: [pkg('demo-db', '3.0.0', { provides: ['db-server'] }), pkg('demo-app', '1.0.0', { provides: ['app-server'], requires: [onRole('demo-db', '<3', 'db-server')] })] });
      const out = rejected(planChange(m, { changes: [{ operation: 'Update', component: 'demo-db', version: '3.0.0', target: { kind: 'system', system: 'db1' } }] }, [{ name: 'app-server-requires-db-version', kind: 'role-requirements', parameters: { role: 'app-server' }, scopes: [] }]));
      expect(out.code).to.equal('UnsatisfiableRequirement');
      expect(out.objects).to.include('demo-db');
    });
  });

  describe('the four precedence types, each with a lag, as fragments carry them', () => {
    const model = {
      takenAt: T0,
      systems: [system('x'), system('y')],
      packages: [pkg('a', '1.0.0', { durations: { Configure: 30 } }), pkg('b', '1.0.0', { durations: { Configure: 30 } })],
      installed: [installed('x', 'a', '1.0.0'), installed('y', 'b', '1.0.0')],
    };
    const fragment = (type: 'FS' | 'SS' | 'FF' | 'SF', lag: number): GraphFragment => ({
      name: `two-${type}`,
      parameters: ['first', 'second'],
      tasks: [
        { key: 'one', operation: 'Configure', system: '${first}', component: 'a', parameters: { mode: 'on' } },
        { key: 'two', operation: 'Configure', system: '${second}', component: 'b' },
      ],
      precedences: [{ from: 'one', to: 'two', type, lag }],
    });
    // X starts at 0 and takes 30 s; Y takes 30 s and starts as early as the precedence allows.
    const expected: Array<['FS' | 'SS' | 'FF' | 'SF', number, number]> = [
      ['FS', 30, 60],
      ['SS', 10, 10],
      ['FF', 5, 5],
      ['SF', 50, 20],
    ];
    for (const [type, lag, start] of expected) {
      it(`${type} with lag ${lag}: Y starts at ${start}`, () => {
        const plan = planned(planChange(model, { changes: [], fragments: [{ fragment: fragment(type, lag), arguments: { first: 'x', second: 'y' } }] }, [], repeatable));
        expect(at(plan, 'x.a.Configure').start).to.equal(0);
        expect(at(plan, 'y.b.Configure').start).to.equal(start);
        expect(plan.precedences).to.deep.include({ from: 'x.a.Configure', to: 'y.b.Configure', type, lag, reason: `requested: fragments[0].one ${type} fragments[0].two lag ${lag}s` });
        expect(task(plan, 'x.a.Configure').parameters).to.deep.equal({ mode: 'on' });
        expect(task(plan, 'x.a.Configure').undo).to.deep.equal({ operation: 'Configure', parameters: {} });
      });
    }

    it('rejects a cycle, naming the tasks on it', () => {
      const cyclic: GraphFragment = { ...fragment('FS', 0), precedences: [{ from: 'one', to: 'two' }, { from: 'two', to: 'one', type: 'SS' }] };
      const out = rejected(planChange(model, { changes: [], fragments: [{ fragment: cyclic, arguments: { first: 'x', second: 'y' } }] }, []));
      expect(out.code).to.equal('Cycle');
      expect(out.objects).to.have.members(['x.a.Configure', 'y.b.Configure']);
      expect(out.message).to.match(/x\.a\.Configure → y\.b\.Configure → x\.a\.Configure|y\.b\.Configure → x\.a\.Configure → y\.b\.Configure/);
    });

    it('rejects a fragment without a value for a placeholder, or with an unknown argument', () => {
      const missing = rejected(planChange(model, { changes: [], fragments: [{ fragment: fragment('FS', 0), arguments: { first: 'x' } }] }, []));
      expect(missing.code).to.equal('InvalidFragment');
      expect(missing.message).to.contain('${second}');
      const extra = rejected(planChange(model, { changes: [], fragments: [{ fragment: fragment('FS', 0), arguments: { first: 'x', second: 'y', third: 'z' } }] }, []));
      expect(extra.code).to.equal('InvalidFragment');
      expect(extra.objects).to.include('third');
      const undeclared = validateChangeRequest({ changes: [], fragments: [{ fragment: { ...fragment('FS', 0), parameters: ['first'] }, arguments: { first: 'x' } }] });
      expect(undeclared.map((i) => i.message).join(' ')).to.contain('placeholder "${second}" is not a declared parameter');
    });
  });

  describe('policies', () => {
    it('separate-app-and-db rejects a database server on an application server, naming the policy and the system', () => {
      const out = rejected(planChange(threeTier(), { changes: [{ operation: 'Install', component: 'demo-db', version: '2.0.0', target: { kind: 'system', system: 'app2' } }] }, []));
      expect(out.code).to.equal('PolicyViolation');
      expect(out.objects.slice(0, 2)).to.deep.equal(['separate-app-and-db', 'app2']);
      expect(checkOf(out, 'separate-app-and-db').outcome).to.equal('violated');
    });

    it('a built-in policy can be re-scoped: with no scope it no longer applies', () => {
      const off: PolicyDefinition = { name: 'separate-app-and-db', kind: 'forbid-colocation', parameters: { roleA: 'app-server', roleB: 'db-server' }, scopes: [] };
      const plan = planned(planChange(threeTier(), { changes: [{ operation: 'Install', component: 'demo-db', version: '2.0.0', target: { kind: 'system', system: 'app2' } }] }, [off], repeatable));
      expect(checkOf(plan, 'separate-app-and-db').outcome).to.equal('not-applicable');
    });

    it('app-server-requires-db-version rejects an application server whose database version is missing', () => {
      const out = rejected(planChange(threeTier(), { changes: [{ operation: 'Update', component: 'demo-app', version: '2.0.0', target: { kind: 'cluster', cluster: 'apps' } }] }, []));
      expect(out.code).to.equal('PolicyViolation');
      expect(out.objects[0]).to.equal('app-server-requires-db-version');
      expect(out.message).to.contain('app1: demo-app 2.0.0 requires demo-db >=2 on a db-server');
    });

    it('quiesce-before-upgrade turns the stop before an upgrade in a cluster into a quiesce', () => {
      const plan = planned(planChange(threeTier(), upgradeApps, [], repeatable));
      for (const app of ['app1', 'app2', 'app3', 'app4']) {
        const stop = task(plan, `${app}.demo-app.Stop`);
        expect(stop.quiesce, app).to.equal(true);
        expect(stop.policy).to.equal('quiesce-before-upgrade');
        expect(stop.duration).to.equal(5 + 5);
      }
      expect(checkOf(plan, 'quiesce-before-upgrade').outcome).to.equal('shaped');
      const off = planned(planChange(threeTier(), upgradeApps, [{ name: 'quiesce-before-upgrade', kind: 'quiesce-before-upgrade', parameters: {}, scopes: [] }], repeatable));
      expect(task(off, 'app1.demo-app.Stop').quiesce).to.equal(undefined);
      expect(checkOf(off, 'quiesce-before-upgrade').outcome).to.equal('not-applicable');
    });

    it('cluster-same-version upgrades the other members too', () => {
      const plan = planned(
        planChange(threeTier(), { changes: [upgradeApps.changes[0] as ChangeRequest['changes'][number], { operation: 'Update', component: 'demo-app', version: '2.0.0', target: { kind: 'system', system: 'app1' } }] }, [], repeatable),
      );
      expect(task(plan, 'app1.demo-app.Update').reason).to.equal('requested');
      for (const app of ['app2', 'app3', 'app4']) {
        expect(task(plan, `${app}.demo-app.Update`).reason).to.equal('policy');
        expect(task(plan, `${app}.demo-app.Update`).policy).to.equal('cluster-same-version');
      }
      const check = checkOf(plan, 'cluster-same-version');
      expect(check.outcome).to.equal('shaped');
      expect(check.objects).to.include.members(['apps', 'app2', 'app3', 'app4']);
    });

    it('cluster-unavailability: never more members down at once than the share allows, each down time one block', () => {
      for (const [share, allowed] of [[0.25, 1], [0.5, 2]] as const) {
        const plan = planned(planChange(threeTier(), { ...upgradeApps, maxUnavailableShare: share }, [], repeatable));
        const down = ['app1', 'app2', 'app3', 'app4'].map((app) => [at(plan, `${app}.demo-app.Stop`).start, at(plan, `${app}.demo-app.Start`).finish] as const);
        for (const app of ['app1', 'app2', 'app3', 'app4']) {
          // Contiguous: stop → update → start with no gap.
          expect(at(plan, `${app}.demo-app.Stop`).finish).to.equal(at(plan, `${app}.demo-app.Update`).start);
          expect(at(plan, `${app}.demo-app.Update`).finish).to.equal(at(plan, `${app}.demo-app.Start`).start);
        }
        const peak = Math.max(...down.map(([a]) => down.filter(([s, f]) => s <= a && a < f).length));
        expect(peak, `share ${share}`).to.equal(allowed);
        expect(checkOf(plan, 'cluster-unavailability').outcome).to.equal('satisfied');
      }
    });

    it('an admin max-concurrent policy limits the tasks at once in its scope', () => {
      const limit: PolicyDefinition = { name: 'one-app-task', kind: 'max-concurrent', parameters: { limit: '1' }, scopes: [{ kind: 'cluster', cluster: 'apps' }] };
      const plan = planned(planChange(threeTier(), { ...upgradeApps, maxUnavailableShare: 1 }, [limit], repeatable));
      const spans = plan.schedule.tasks.filter((t) => t.id.startsWith('app'));
      for (const a of spans) for (const b of spans) if (a !== b) expect(a.finish <= b.start || b.finish <= a.start, `${a.id} and ${b.id} overlap`).to.equal(true);
      expect(checkOf(plan, 'one-app-task').outcome).to.equal('shaped');
    });

    it('an admin forbid-colocation policy rejects, naming itself', () => {
      const policy: PolicyDefinition = { name: 'no-web-on-db', kind: 'forbid-colocation', parameters: { roleA: 'web', roleB: 'db-server' }, scopes: [{ kind: 'all' }] };
      const m = threeTier({ systems: [system('db2', { roles: ['web'] })] });
      const out = rejected(planChange(m, { changes: [{ operation: 'Install', component: 'demo-db', target: { kind: 'system', system: 'db2' } }] }, [policy]));
      expect(out.objects.slice(0, 2)).to.deep.equal(['no-web-on-db', 'db2']);
    });

    it('an admin require-component-range policy rejects a plan leaving a system of its role outside the range', () => {
      const policy: PolicyDefinition = { name: 'apps-at-3', kind: 'require-component-range', parameters: { role: 'app-server', component: 'demo-app', range: '>=3' }, scopes: [{ kind: 'role', role: 'app-server' }] };
      const out = rejected(planChange(threeTier(), upgradeApps, [policy]));
      expect(out.code).to.equal('PolicyViolation');
      expect(out.objects).to.include.members(['apps-at-3', 'app1', 'app4']);
    });

    it('refuses an invalid admin policy, naming the field', () => {
      const out = rejected(planChange(threeTier(), upgradeApps, [{ name: 'x', kind: 'max-concurrent', parameters: { limit: '0' }, scopes: [{ kind: 'all' }] }]));
      expect(out.code).to.equal('InvalidRequest');
      expect(out.message).to.contain('parameters.limit');
    });

    it('system-capacity: a system runs at most its capacity of tasks at once', () => {
      const m = { takenAt: T0, systems: [system('big', { capacity: 2 })], packages: ['p', 'q', 'r'].map((n) => pkg(n, '1.0.0', { startable: false, durations: { Install: 50, InitialConfigure: 10 } })), installed: [] };
      const plan = planned(planChange(m, { changes: ['p', 'q', 'r'].map((c) => ({ operation: 'Install' as const, component: c, target: { kind: 'system' as const, system: 'big' } })) }, [], repeatable));
      const spans = plan.schedule.tasks;
      for (const s of spans) expect(spans.filter((o) => o.start <= s.start && s.start < o.finish).length).to.be.at.most(2);
      expect(Math.max(...spans.map((s) => spans.filter((o) => o.start <= s.start && s.start < o.finish).length))).to.equal(2);
      expect(checkOf(plan, 'system-capacity').outcome).to.equal('satisfied');
    });
  });

  describe('maintenance windows', () => {
    it('a task on a system with a window starts inside it (and the others need not wait)', () => {
      const m = threeTier({ systems: [] });
      const withWindow = { ...m, systems: m.systems.map((s) => (s.name === 'db1' ? { ...s, maintenanceWindows: [window([1], '02:00', 60)] } : s)) };
      const plan = planned(planChange(withWindow, { changes: [upgradeApps.changes[0] as ChangeRequest['changes'][number], { operation: 'Start', component: 'demo-web', target: { kind: 'system', system: 'web1' } }] }, [], repeatable));
      for (const id of ['db1.demo-db.Stop', 'db1.demo-db.Update', 'db1.demo-db.Start']) {
        expect(at(plan, id).start, id).to.be.at.least(7200);
        expect(at(plan, id).finish, id).to.be.at.most(10800);
      }
      expect(at(plan, 'web1.demo-web.Start').start).to.equal(0);
      expect(checkOf(plan, 'maintenance-windows').outcome).to.equal('satisfied');
    });

    it('rejects a task longer than every window of its system', () => {
      const m = threeTier();
      const short = { ...m, systems: m.systems.map((s) => (s.name === 'db1' ? { ...s, maintenanceWindows: [window([1, 2, 3, 4, 5], '02:00', 1)] } : s)) };
      const out = rejected(planChange(short, { changes: [upgradeApps.changes[0] as ChangeRequest['changes'][number]] }, []));
      expect(out.code).to.equal('WindowTooShort');
      expect(out.objects).to.deep.equal(['db1.demo-db.Update', 'db1']);
    });

    it('rejects a window it cannot read, naming the system', () => {
      const m = threeTier();
      const bad = { ...m, systems: m.systems.map((s) => (s.name === 'db1' ? { ...s, maintenanceWindows: [window([1], '25:00', 60)] } : s)) };
      const out = rejected(planChange(bad, upgradeApps, []));
      expect(out.code).to.equal('InvalidRequest');
      expect(out.objects).to.deep.equal(['db1']);
    });
  });

  describe('deadlines and earliest start', () => {
    it('a deadline that can be met: lateness ≤ 0, and the plan carries a deadline alarm', () => {
      const plan = planned(planChange(threeTier(), { ...upgradeApps, deadline: new Date(T0.getTime() + 3600_000) }, [], repeatable));
      expect(plan.schedule.lateness).to.be.at.most(0);
      expect(plan.bpel.document).to.contain("<bpel:until>'2030-01-07T01:00:00.000Z'</bpel:until>");
    });

    it('a deadline that cannot be met: still planned, with how late', () => {
      const plan = planned(planChange(threeTier(), { ...upgradeApps, deadline: new Date(T0.getTime() + 100_000) }, [], repeatable));
      expect(plan.schedule.lateness).to.equal(plan.schedule.makespan - 100);
      expect(plan.schedule.lateness).to.be.greaterThan(0);
    });

    it('no task starts before the earliest start', () => {
      const plan = planned(planChange(threeTier(), { ...upgradeApps, earliestStart: new Date(T0.getTime() + 600_000) }, [], repeatable));
      expect(Math.min(...plan.schedule.tasks.map((t) => t.start))).to.equal(600);
    });
  });

  describe('the schedule', () => {
    it('reports its lower bound, never above the makespan', () => {
      const plan = planned(planChange(threeTier(), upgradeApps, [], repeatable));
      expect(plan.schedule.lowerBound.makespan).to.be.at.most(plan.schedule.makespan);
      expect(plan.schedule.lowerBound.criticalPath).to.be.greaterThan(0);
      expect(plan.schedule.plannedStart.toISOString()).to.equal(T0.toISOString());
    });

    it('is the same for the same seed', () => {
      const a = planned(planChange(threeTier(), { ...upgradeApps, maxUnavailableShare: 0.5 }, [], repeatable));
      const b = planned(planChange(threeTier(), { ...upgradeApps, maxUnavailableShare: 0.5 }, [], repeatable));
      expect(b.schedule.tasks).to.deep.equal(a.schedule.tasks);
      expect(b.tasks).to.deep.equal(a.tasks);
      expect(b.bpel.document).to.equal(a.bpel.document);
    });

    it('marks the critical path: what holds up the end, through precedences and shared systems', () => {
      const tasks: PlannedTask[] = [
        { id: 'a', operation: 'Install', system: 's1', component: 'a', duration: 10, reason: 'requested', undo: null },
        { id: 'b', operation: 'Install', system: 's1', component: 'b', duration: 10, reason: 'requested', undo: null },
        { id: 'c', operation: 'Install', system: 's2', component: 'c', duration: 5, reason: 'requested', undo: null },
        { id: 'd', operation: 'Install', system: 's3', component: 'd', duration: 3, reason: 'requested', undo: null },
        { id: 'e', operation: 'Install', system: 's4', component: 'e', duration: 4, reason: 'requested', undo: null },
      ];
      // a then b share s1 (no precedence); b → c FS; d is free; e → c with slack.
      const starts = new Map([['a', 0], ['b', 10], ['c', 20], ['d', 0], ['e', 0]]);
      const critical = criticalTasks(tasks, [{ from: 'b', to: 'c', type: 'FS', lag: 0, reason: '' }, { from: 'e', to: 'c', type: 'FS', lag: 2, reason: '' }], starts);
      expect([...critical].sort()).to.deep.equal(['a', 'b', 'c']);
    });
  });
});
