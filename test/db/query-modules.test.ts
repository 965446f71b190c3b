import { expect } from 'chai';
import type { DataSource } from 'typeorm';
import { AUTH_SQL } from '../../src/auth/sql';
import type { RowShape } from '../../src/db/group-commit';
import { dialectOf, forDialect, isMysqlSource, type Dialect, type QuerySet } from '../../src/db/sql';
import { CHANGE_SQL } from '../../src/changemanager/sql';
import { PORTAL_SQL } from '../../src/portal/sql';
import { PROVISIONING_ROWS, PROVISIONING_SQL } from '../../src/provisioning/sql';
import { LEASE_SQL } from '../../src/leases/sql';
import { WORKFLOW_ROWS, WORKFLOW_SQL } from '../../src/workflow/sql';
import { WORK_ORDER_ROWS, WORK_ORDER_SQL, type MoveShape } from '../../src/workorders/sql';
import { withFreshDataSource } from '../support/harness';

const MODULES: ReadonlyArray<readonly [string, QuerySet, Readonly<Record<string, RowShape>>]> = [
  ['auth', AUTH_SQL, {}],
  ['portal', PORTAL_SQL, {}],
  ['changemanager', CHANGE_SQL, {}],
  ['provisioning', PROVISIONING_SQL, PROVISIONING_ROWS],
  ['workflow', WORKFLOW_SQL, WORKFLOW_ROWS],
  ['workorders', WORK_ORDER_SQL, WORK_ORDER_ROWS],
  ['leases', LEASE_SQL, {}],
];

const run: MoveShape = { effect: 'run', leased: true, withPlan: false };
const end: MoveShape = { effect: 'end', leased: false, withPlan: true };
const hold: MoveShape = { effect: 'hold', leased: false, withPlan: false };

/**
 * The arguments each template is prepared with: every variant its callers
 * produce. A template missing here fails the test, so a new one gets its
 * variants listed.
 */
const TEMPLATE_ARGS: Readonly<Record<string, ReadonlyArray<readonly unknown[]>>> = {
  'auth.pruneNonces': [[5000]],
  'changemanager.countChanges': [[false], [true]],
  'changemanager.listChanges': [[false], [true]],
  'provisioning.lockQueued': [[1], [3]],
  'provisioning.startRequests': [[2]],
  'provisioning.startedRequests': [[2]],
  'provisioning.heldRequests': [[2]],
  'provisioning.lostRequests': [[0], [2]],
  'provisioning.markUnknown': [[false], [true]],
  'provisioning.componentsByNames': [[1], [3]],
  'workflow.listInstances': [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ],
  'workflow.claimCandidates': [
    [0, false],
    [2, true],
  ],
  'workflow.claimInstances': [
    [1, 0, false],
    [3, 2, true],
  ],
  'workflow.heldWithRecoveries': [[2]],
  'workflow.activityData': [[1], [3]],
  'workflow.leaseStates': [[2]],
  'workflow.fenceInstances': [[2]],
  'workflow.releaseInstances': [[2]],
  'workflow.markPruned': [[2]],
  'workflow.detailRows': [
    ['activity_instance', 2],
    ['process_variable', 1],
    ['link_state', 1],
    ['process_timer', 1],
    ['process_correlation', 1],
    ['process_message', 2],
    ['process_start_claim', 1],
  ],
  'workflow.deleteDetailRows': [
    ['activity_instance', 2],
    ['process_variable', 1],
    ['link_state', 1],
    ['process_timer', 1],
    ['process_correlation', 1],
    ['process_message', 2],
    ['process_start_claim', 1],
  ],
  'workflow.waitingMessages': [[1], [2]],
  'workflow.keysWithMessages': [[1], [3]],
  'workorders.moveOne': [
    [run, false, true],
    [{ ...run, leased: false }, true, false],
    [hold, false, false],
    [end, true, false],
    [{ ...end, withPlan: false }, false, false],
    [end, true, false, true],
  ],
  'workorders.moveMany': [
    [run, 2, 1, true],
    [end, 3, 3, false],
    [hold, 1, 1, false],
  ],
  'workorders.lockOrders': [[2]],
  'workorders.events': [[1], [3]],
  'workorders.countOrders': [
    [{ accountId: false, accountName: false, state: false }],
    [{ accountId: true, accountName: false, state: true, manual: false }],
    [{ accountId: false, accountName: true, state: false, manual: true }],
  ],
  'workorders.orderPage': [
    [{ accountId: false, accountName: false, state: false }],
    [{ accountId: true, accountName: false, state: true, manual: true }],
  ],
  'workorders.ordersToRun': [[2]],
  'workorders.billingOf': [[2]],
};

/** Every statement text of a module in a dialect, with its name (a template once per listed variant). */
function texts(part: string, queries: QuerySet, dialect: Dialect): Array<[string, string]> {
  const resolved = forDialect(queries, dialect) as Readonly<Record<string, string | ((...args: unknown[]) => string)>>;
  const out: Array<[string, string]> = [];
  for (const [name, entry] of Object.entries(resolved)) {
    if (typeof entry === 'string') {
      out.push([`${part}.${name}`, entry]);
      continue;
    }
    const variants = TEMPLATE_ARGS[`${part}.${name}`];
    if (variants === undefined) throw new Error(`template ${part}.${name} has no arguments listed in TEMPLATE_ARGS`);
    variants.forEach((args, i) => out.push([`${part}.${name}#${i}`, entry(...args)]));
  }
  return out;
}

describe('query modules', () => {
  let dataSource: DataSource;
  withFreshDataSource((opened) => (dataSource = opened));

  /** Has the database compile a statement without running it: unknown tables or columns and syntax errors fail. */
  async function prepare(sql: string): Promise<void> {
    if (isMysqlSource(dataSource)) {
      const runner = dataSource.createQueryRunner();
      try {
        await runner.query('SET @provisor_statement = ?', [sql]);
        await runner.query('PREPARE provisor_statement FROM @provisor_statement');
        await runner.query('DEALLOCATE PREPARE provisor_statement');
      } finally {
        await runner.release();
      }
      return;
    }
    (dataSource.driver as unknown as { databaseConnection: { prepare(sql: string): unknown } }).databaseConnection.prepare(sql);
  }

  it('gives every statement a text in both dialects (no dialect pair left unresolved)', () => {
    for (const dialect of ['mysql', 'sqlite'] as const) {
      for (const [part, queries, rows] of MODULES) {
        for (const [name, sql] of texts(part, queries, dialect)) expect(sql, name).to.be.a('string').that.matches(/^(SELECT|INSERT|UPDATE|DELETE) /);
        for (const shape of Object.values(rows)) expect(shape.text[dialect]).to.match(/^INSERT INTO /);
      }
    }
  });

  it('lists arguments only for templates that exist', () => {
    const names = new Set(MODULES.flatMap(([part, queries]) => Object.keys(queries).map((name) => `${part}.${name}`)));
    expect(Object.keys(TEMPLATE_ARGS).filter((name) => !names.has(name))).to.deep.equal([]);
  });

  it("compiles every statement and row shape of every part's query module on this database", async () => {
    const dialect = dialectOf(dataSource);
    const failures: string[] = [];
    for (const [part, queries, rows] of MODULES) {
      const all: Array<[string, string]> = [...texts(part, queries, dialect), ...Object.entries(rows).map(([name, shape]): [string, string] => [`${part} row ${name}`, shape.text[dialect]])];
      for (const [name, sql] of all) {
        try {
          await prepare(sql);
        } catch (err) {
          failures.push(`${name}: ${(err as Error).message}`);
        }
      }
    }
    expect(failures).to.deep.equal([]);
  });

  it('refuses a statement naming a column that does not exist (the check above can fail)', async () => {
    let failed = false;
    try {
      await prepare('SELECT noSuchColumn FROM work_order');
    } catch {
      failed = true;
    }
    expect(failed).to.equal(true);
  });
});
