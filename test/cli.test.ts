import { expect } from 'chai';
import { LoginStateStore } from '../src/auth/login-state-store';
import { loadConfig } from '../src/config';
import { openDatabase } from '../src/db/data-source';
import { type CliResult, runCliInProcess, spawnCli } from './support/cli';
import { freshEnvironment } from './support/harness';

describe('the provisor command line', function () {
  this.timeout(60_000);
  let environment: Awaited<ReturnType<typeof freshEnvironment>>;
  const run = (args: string[], input = ''): Promise<CliResult> => runCliInProcess(args, environment.env, input);

  before(async () => {
    environment = await freshEnvironment();
  });
  after(() => environment.cleanup());

  it('creates an admin with the password from standard input, and lists it (the real command)', async () => {
    const added = spawnCli(['user', 'add', 'admin', '--role', 'admin'], environment.env, 'a-long-password\n');
    expect(added.code, added.err).to.equal(0);
    expect(added.out).to.contain('user admin created');
    const list = await run(['user', 'list']);
    expect(list.out).to.match(/^admin\tadmin\t-\tlevel=0\t-\tenabled$/m);
    expect(list.out).to.not.contain('a-long-password');
  });

  it('refuses bad input with a message and a non-zero exit', async () => {
    const cases: Array<[string[], string, RegExp]> = [
      [['user', 'add', 'x', '--role', 'admin'], '', /no password on standard input/],
      [['user', 'add', 'y', '--role', 'admin'], 'short\n', /at least 8 characters/],
      [['user', 'add', 'z', '--role', 'wizard'], 'long-enough-1\n', /Allowed choices are customer, operator, engine, admin/],
      [['user', 'add', 'c', '--role', 'customer'], 'long-enough-1\n', /a customer needs an account/],
      [['user', 'add', 'admin', '--role', 'admin'], 'long-enough-1\n', /already exists/],
      [['user', 'disable', 'nobody'], '', /user "nobody" does not exist/],
      [['system', 'add', '../evil'], '', /system name/],
      [['repository', 'add'], '', /either a LOCATION or --demo/],
    ];
    for (const [args, input, message] of cases) {
      const r = await run(args, input);
      expect(r.code, args.join(' ')).to.not.equal(0);
      expect(r.err, args.join(' ')).to.match(message);
    }
    const real = spawnCli(['user', 'disable', 'nobody'], environment.env);
    expect(real.code).to.equal(2);
    expect(real.err).to.equal('provisor: user "nobody" does not exist\n');
  });

  it('registers accounts, customers, systems and the demo repository', async () => {
    expect((await run(['account', 'add', 'acme', '--contact', 'ops@acme.example'])).code).to.equal(0);
    expect((await run(['user', 'add', 'alice', '--role', 'customer', '--account', 'acme', '--level', '2'], 'alice-password\n')).code).to.equal(0);
    expect((await run(['user', 'list'])).out).to.match(/^alice\tcustomer\tacme\tlevel=2\t-\tenabled$/m);
    expect((await run(['user', 'disable', 'alice'])).code).to.equal(0);
    expect((await run(['user', 'list'])).out).to.match(/^alice\tcustomer\tacme\tlevel=2\t-\tdisabled$/m);
    const system = await run(['system', 'add', 'web1']);
    expect(system.code, system.err).to.equal(0);
    expect((await run(['system', 'add', 'load1', '--driver', 'simulated', '--option', 'failureRate=0.5'])).code).to.equal(0);
    expect((await run(['system', 'list'])).out).to.match(/^load1\tsimulated\tfailureRate=0.5\troles=-\tcluster=-\tcapacity=1\tcpus=- memory=- disk=- free=-\tos=-\tkernel=-\tfactsRead=-$/m);
    const repo = await run(['repository', 'add', '--demo']);
    expect(repo.code, repo.err).to.equal(0);
    expect((await run(['repository', 'list'])).out).to.contain('demo-repository');
  });

  it('lists a user locked after failed log-ins as locked, and unlocks it', async () => {
    expect((await run(['user', 'add', 'locky', '--role', 'operator'], 'locky-password\n')).code).to.equal(0);
    // Lock it the way failed log-ins do, with a limit of one failure.
    const config = loadConfig(environment.env);
    const dataSource = await openDatabase(config);
    try {
      const claim = await new LoginStateStore(dataSource, { ...config.login, lockAfterFailures: 1 }).claim('locky', Date.now());
      expect(claim).to.include({ admitted: true, locks: true });
    } finally {
      await dataSource.destroy();
    }
    expect((await run(['user', 'list'])).out).to.match(/^locky\toperator\t-\tlevel=0\t-\tenabled\tlocked since \d{4}-\d{2}-\d{2}T[0-9:.]+Z$/m);
    const unlocked = await run(['user', 'unlock', 'locky']);
    expect(unlocked.code, unlocked.err).to.equal(0);
    expect(unlocked.out).to.contain('user locky unlocked');
    expect((await run(['user', 'list'])).out).to.match(/^locky\toperator\t-\tlevel=0\t-\tenabled$/m);
    expect((await run(['user', 'unlock', 'locky'])).out).to.contain('user locky was not locked');
    const nobody = await run(['user', 'unlock', 'nobody']);
    expect(nobody.code).to.not.equal(0);
    expect(nobody.err).to.match(/user "nobody" does not exist/);
    expect((await run(['user', 'unlock', '--help'])).out).to.match(/unlock a user locked after too many failed log-ins/);
  });
});
