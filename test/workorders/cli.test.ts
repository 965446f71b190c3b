import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import { freshEnvironment } from '../support/harness';
import { TEST_CATALOG } from '../support/workorders';

const bin = path.join(__dirname, '..', '..', '..', 'scripts', 'provisor.js');

describe('the provisor command line for work orders and billing', function () {
  this.timeout(90_000);
  let environment: Awaited<ReturnType<typeof freshEnvironment>>;
  const run = (args: string[], input = ''): { code: number | null; out: string; err: string } => {
    const r = spawnSync(process.execPath, [bin, ...args], { input, env: { ...process.env, ...environment.env, PROVISOR_CATALOG: TEST_CATALOG }, encoding: 'utf8' });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };

  before(async () => {
    environment = await freshEnvironment();
  });
  after(() => environment.cleanup());

  it('loads the catalog once, and again only what changed', () => {
    const first = run(['catalog', 'load']);
    expect(first.code, first.err).to.equal(0);
    expect(first.out).to.match(/3 types loaded; plans deployed for: Echo, Premium, Manual/);
    const again = run(['catalog', 'load']);
    expect(again.out).to.match(/3 types loaded; plans deployed for: none \(unchanged\)/);
    expect(run(['catalog', 'list']).out).to.match(/^Premium\s+3\s+99\.00 EUR\s+TestEcho/m);
  });

  it('refuses a broken catalog file, naming the problem', () => {
    const r = run(['catalog', 'load', path.join(path.dirname(TEST_CATALOG), 'echo.bpel')]);
    expect(r.code).to.equal(2);
    expect(r.err).to.match(/catalog .*echo\.bpel: Unexpected token/);
  });

  it('closes an order by hand with a reason, bills it, and exports the bill as CSV', () => {
    expect(run(['account', 'add', 'acme']).code).to.equal(0);
    expect(run(['user', 'add', 'alice', '--role', 'customer', '--account', 'acme', '--level', '1', '--email', 'Alice@Acme.example'], 'alice-password\n').code).to.equal(0);
    expect(run(['user', 'list']).out).to.match(/^alice\tcustomer\tacme\tlevel=1\talice@acme\.example\tenabled$/m);
    // No server runs here: the order stays NEW until someone acts on it.
    const submit = spawnSync(
      process.execPath,
      [
        '-e',
        `const { loadConfig } = require('./dist/src/config'); const { openDatabase } = require('./dist/src/db/data-source'); const { WorkOrderService, workOrderParts } = require('./dist/src/workorders/service'); const { systemClock } = require('./dist/src/clock'); const { createLogger } = require('./dist/src/log');
         (async () => { const config = loadConfig(); const ds = await openDatabase(config); const s = new WorkOrderService(workOrderParts(ds, systemClock, createLogger('error')));
         const [u] = await ds.query("SELECT id, accountId FROM app_user WHERE name = 'alice'");
         const r = await s.submit({ userId: u.id, name: 'alice', role: 'customer', accountId: u.accountId, level: 1 }, { type: 'Echo', parameters: [{ name: 'volume', value: 'v1' }, { name: 'sizeGiB', value: '5' }], channel: 'soap' });
         console.log(r.workOrderId); await ds.destroy(); })();`,
      ],
      { cwd: path.join(__dirname, '..', '..', '..'), env: { ...process.env, ...environment.env }, encoding: 'utf8' },
    );
    expect(submit.status, submit.stderr).to.equal(0);
    const id = submit.stdout.trim();
    expect(run(['workorder', 'list', '--state', 'NEW']).out).to.match(new RegExp(`^${id}\\s+Echo\\s+NEW\\s+acme\\s+alice\\s+soap`, 'm'));
    const noReason = run(['workorder', 'close', id]);
    expect(noReason.code).to.not.equal(0);
    expect(noReason.err).to.match(/--reason/);
    const closed = run(['workorder', 'close', id, '--reason', 'done by the storage team']);
    expect(closed.code, closed.err).to.equal(0);
    expect(closed.out).to.match(/CLOSED/).and.match(/billed 12\.50 EUR/).and.match(/cli:.*closed by hand: done by the storage team/);
    const twice = run(['workorder', 'close', id, '--reason', 'again']);
    expect(twice.code).to.equal(2);
    expect(twice.err).to.match(/is CLOSED: it cannot be closed/);
    const csv = run(['billing', 'export', '--from', '2000-01-01', '--to', '2100-01-01']);
    expect(csv.code, csv.err).to.equal(0);
    expect(csv.out.split('\r\n')[1]).to.match(new RegExp(`^\\d+,${id},[0-9T:.Z-]+,\\d+,alice,\\d+,acme,Echo,12\\.50,EUR$`));
    expect(run(['billing', 'export', '--from', 'yesterday', '--to', '2100-01-01']).err).to.match(/--from must be a date/);
    expect(run(['workorder', 'show', 'abc']).err).to.match(/whole number/);
    expect(run(['workorder', 'show', '999']).err).to.match(/no work order 999/);
  });
});
