import { expect } from 'chai';
import { InstalledComponent, ManagedSystem } from '../entities';
import { loadConfig } from '../src/config';
import { openDatabase } from '../src/db/data-source';
import { type CliResult, runCliInProcess, spawnCli } from './support/cli';
import { freshEnvironment } from './support/harness';

describe('provisor system set / show / list', function () {
  this.timeout(60_000);
  let environment: Awaited<ReturnType<typeof freshEnvironment>>;
  const run = (args: string[]): Promise<CliResult> => runCliInProcess(args, environment.env);

  before(async () => {
    environment = await freshEnvironment();
    expect((await run(['system', 'add', 'app1', '--driver', 'simulated'])).code).to.equal(0);
  });
  after(() => environment.cleanup());

  it('sets roles, cluster, capacity, hardware and windows, and shows them', async () => {
    const set = await run(['system', 'set', 'app1', '--role', 'app-server', '--role', 'web', '--cluster', 'blue', '--capacity', '3', '--cpus', '4', '--memory', '8192', '--window', 'mon-fri 22:00+4h Europe/Berlin', '--window', 'sat,sun 01:00+90m']);
    expect(set.code, set.err).to.equal(0);
    const show = spawnCli(['system', 'show', 'app1'], environment.env);
    expect(show.code, show.err).to.equal(0);
    expect(show.out.split('\n')).to.include.members([
      'roles: app-server, web',
      'cluster: blue',
      'capacity: 3 tasks at once',
      'hardware: cpus 4, memory 8192 MB, disk unknown',
      '  mon-fri 22:00+4h Europe/Berlin',
      '  sat,sun 01:00+1h30m UTC',
      'installed: none',
    ]);
    expect((await run(['system', 'list'])).out).to.match(/^app1\tsimulated\t\troles=app-server,web\tcluster=blue\tcapacity=3\tcpus=4 memory=8192MB disk=- free=-\tos=-\tkernel=-\tfactsRead=-$/m);
  });

  it('removes a role, leaves the cluster, clears windows and forgets a hardware fact', async () => {
    const set = await run(['system', 'set', 'app1', '--remove-role', 'web', '--no-cluster', '--clear-windows', '--cpus', 'unknown']);
    expect(set.code, set.err).to.equal(0);
    expect(set.out.split('\n')).to.include.members(['roles: app-server', 'cluster: -', 'hardware: cpus unknown, memory 8192 MB, disk unknown', 'maintenance windows: none (changes at any time)']);
  });

  it('shows the installed components with version, state and configuration parameters', async () => {
    const dataSource = await openDatabase(loadConfig(environment.env));
    try {
      const system = await dataSource.getRepository(ManagedSystem).findOneByOrFail({ name: 'app1' });
      await dataSource.getRepository(InstalledComponent).insert({ systemId: system.id, name: 'demo-app', version: '1.0.0', state: 'RUNNING', history: '[]', pid: null, parameters: '{"port":"8092","dbUrl":"http://db1:8091"}', updatedAt: new Date() });
    } finally {
      await dataSource.destroy();
    }
    const show = spawnCli(['system', 'show', 'app1'], environment.env);
    expect(show.out).to.match(/^ {2}demo-app +1\.0\.0 +RUNNING +port=8092 dbUrl=http:\/\/db1:8091$/m);
  });

  it('refuses bad input with a message naming it, exit code 2, and changes nothing', async () => {
    const cases: [string[], RegExp][] = [
      [['system', 'set', 'nowhere', '--capacity', '2'], /system "nowhere" is not registered/],
      [['system', 'show', 'nowhere'], /system "nowhere" is not registered/],
      [['system', 'set', 'app1', '--capacity', '0'], /capacity must be a whole number from 1/],
      [['system', 'set', 'app1', '--capacity', 'two'], /--capacity must be a whole number, got "two"/],
      [['system', 'set', 'app1', '--role', 'Bad Role', '--capacity', '7'], /role "Bad Role" must match/],
      [['system', 'set', 'app1', '--window', 'mon 25:00+1h', '--capacity', '7'], /--window: maintenance window start "25:00"/],
      [['system', 'set', 'app1', '--window', 'mon 22:00+1h Nowhere/City'], /time zone "Nowhere\/City" is not a known IANA zone/],
      [['system', 'set', 'app1', '--memory', '-5'], /--memory must be a whole number or "unknown"/],
    ];
    for (const [args, message] of cases) {
      const r = await run(args);
      expect(r.code, args.join(' ')).to.equal(2);
      expect(r.err, args.join(' ')).to.match(message);
    }
    expect((await run(['system', 'show', 'app1'])).out).to.contain('capacity: 3 tasks at once');
  });
});
