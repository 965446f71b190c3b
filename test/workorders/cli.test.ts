import path from 'node:path';
import { expect } from 'chai';
import { systemClock } from '../../src/clock';
import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/db/data-source';
import { createLogger } from '../../src/log';
import { WorkOrderService, workOrderParts } from '../../src/workorders/service';
import { type CliResult, runCliInProcess, spawnCli } from '../support/cli';
import { freshEnvironment } from '../support/harness';
import { TEST_CATALOG } from '../support/workorders';

describe('the provisor command line for work orders and billing', function () {
  this.timeout(90_000);
  let environment: Awaited<ReturnType<typeof freshEnvironment>>;
  const run = (args: string[], input = ''): Promise<CliResult> => runCliInProcess(args, { ...environment.env, PROVISOR_CATALOG: TEST_CATALOG }, input);

  before(async () => {
    environment = await freshEnvironment();
  });
  after(() => environment.cleanup());

  it('loads the catalog once, and again only what changed', async () => {
    const first = await run(['catalog', 'load']);
    expect(first.code, first.err).to.equal(0);
    expect(first.out).to.match(/3 types loaded; plans deployed for: Echo, Premium, Manual/);
    const again = await run(['catalog', 'load']);
    expect(again.out).to.match(/3 types loaded; plans deployed for: none \(unchanged\)/);
    const list = spawnCli(['catalog', 'list'], { ...environment.env, PROVISOR_CATALOG: TEST_CATALOG });
    expect(list.code, list.err).to.equal(0);
    expect(list.out).to.match(/^Premium\s+3\s+99\.00 EUR\s+TestEcho/m);
  });

  it('refuses a broken catalog file, naming the problem', async () => {
    const r = await run(['catalog', 'load', path.join(path.dirname(TEST_CATALOG), 'echo.bpel')]);
    expect(r.code).to.equal(2);
    expect(r.err).to.match(/catalog .*echo\.bpel: Unexpected token/);
  });

  it('closes an order by hand with a reason, bills it, and exports the bill as CSV', async () => {
    expect((await run(['account', 'add', 'acme'])).code).to.equal(0);
    expect((await run(['user', 'add', 'alice', '--role', 'customer', '--account', 'acme', '--level', '1', '--email', 'Alice@Acme.example'], 'alice-password\n')).code).to.equal(0);
    expect((await run(['user', 'list'])).out).to.match(/^alice\tcustomer\tacme\tlevel=1\talice@acme\.example\tenabled$/m);
    // No server runs here: the order stays NEW until someone acts on it.
    const config = loadConfig(environment.env);
    const dataSource = await openDatabase(config);
    let id: string;
    try {
      const orders = new WorkOrderService(workOrderParts(dataSource, systemClock, createLogger('error')));
      const [alice] = (await dataSource.query("SELECT id, accountId FROM app_user WHERE name = 'alice'")) as Array<{ id: number | string; accountId: number | string }>;
      if (alice === undefined) throw new Error('alice was not created');
      const { workOrderId } = await orders.submit({ userId: Number(alice.id), name: 'alice', role: 'customer', accountId: Number(alice.accountId), level: 1 }, { type: 'Echo', parameters: [{ name: 'volume', value: 'v1' }, { name: 'sizeGiB', value: '5' }], channel: 'soap' });
      id = String(workOrderId);
    } finally {
      await dataSource.destroy();
    }
    expect((await run(['workorder', 'list', '--state', 'NEW'])).out).to.match(new RegExp(`^${id}\\s+Echo\\s+NEW\\s+acme\\s+alice\\s+soap`, 'm'));
    const noReason = await run(['workorder', 'close', id]);
    expect(noReason.code).to.not.equal(0);
    expect(noReason.err).to.match(/--reason/);
    const closed = await run(['workorder', 'close', id, '--reason', 'done by the storage team']);
    expect(closed.code, closed.err).to.equal(0);
    expect(closed.out).to.match(/CLOSED/).and.match(/billed 12\.50 EUR/).and.match(/cli:.*closed by hand: done by the storage team/);
    const twice = await run(['workorder', 'close', id, '--reason', 'again']);
    expect(twice.code).to.equal(2);
    expect(twice.err).to.match(/is CLOSED: it cannot be closed/);
    const csv = await run(['billing', 'export', '--from', '2000-01-01', '--to', '2100-01-01']);
    expect(csv.code, csv.err).to.equal(0);
    expect(csv.out.split('\r\n')[1]).to.match(new RegExp(`^\\d+,${id},[0-9T:.Z-]+,\\d+,alice,\\d+,acme,Echo,12\\.50,EUR$`));
    expect((await run(['billing', 'export', '--from', 'yesterday', '--to', '2100-01-01'])).err).to.match(/--from must be a date/);
    expect((await run(['workorder', 'show', 'abc'])).err).to.match(/whole number/);
    expect((await run(['workorder', 'show', '999'])).err).to.match(/no work order 999/);
  });
});
