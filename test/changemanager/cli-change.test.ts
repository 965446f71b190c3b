import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { type CliResult, runCliInProcess, spawnCli } from '../support/cli';
import { freshEnvironment } from '../support/harness';
import { quickDemoRepository } from './support';

describe('provisor change and provisor policy', function () {
  this.timeout(120_000);
  let environment: Awaited<ReturnType<typeof freshEnvironment>>;
  const run = (args: string[]): Promise<CliResult> => runCliInProcess(args, environment.env);
  const file = (name: string, text: string): string => {
    const where = path.join(environment.dataDir, name);
    fs.writeFileSync(where, text);
    return where;
  };

  before(async () => {
    environment = await freshEnvironment({ PROVISOR_CATALOG_LOAD: 'false', PROVISOR_CHANGES_STATUS_POLL: 'PT0.1S', PROVISOR_SIMULATED_MIN_MS: '10', PROVISOR_SIMULATED_MAX_MS: '20' });
    const repository = await quickDemoRepository(path.join(environment.dataDir, 'quick-repository'));
    expect((await run(['repository', 'add', repository])).code).to.equal(0);
    expect((await run(['system', 'add', 'sim1', '--driver', 'simulated'])).code).to.equal(0);
  });
  after(() => environment.cleanup());

  it('submits a dry run by option, plans it in this process and prints the Gantt chart with the critical path', async () => {
    const r = await run(['change', 'submit', '--install', 'demo-httpd@1.x', '--on', 'system:sim1', '--dry-run', '--wait']);
    expect(r.code, r.err).to.equal(0);
    const [id] = r.out.split('\n');
    expect(id).to.match(/^[0-9a-f-]{36}$/);
    expect(r.out).to.contain('PLANNED (dry run)');
    expect(r.out).to.match(/sim1 {2}Install demo-httpd 1\.1\.0 +\* #+/);
    expect(r.out).to.match(/satisfied +separate-app-and-db/);
    const watched = await run(['change', 'watch', id as string]);
    expect(watched.code, watched.err).to.equal(0);
    expect(watched.out).to.match(/Z {2}PLANNED\n/);
    const plan = await run(['change', 'plan', id as string]);
    expect(plan.code).to.equal(0);
    expect(plan.out).to.contain('makespan 3s');
    const list = await run(['change', 'list', '--state', 'PLANNED']);
    expect(list.out).to.contain(id as string);
    const cancelled = await run(['change', 'cancel', id as string, '--reason', 'changed my mind']);
    expect(cancelled.out).to.contain('CANCELLED');
    const again = await run(['change', 'cancel', id as string]);
    expect(again.code).to.equal(2);
    expect(again.err).to.match(/is CANCELLED: cancel applies only/);
  });

  it('runs a JSON request file to its end with --wait', async () => {
    const request = file('upgrade.json', JSON.stringify({ changes: [{ operation: 'Install', component: 'demo-httpd', version: '1.0.0', target: 'system:sim1' }], idempotencyKey: 'json-1' }));
    const r = await run(['change', 'submit', request, '--wait']);
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.contain(': COMPLETED');
    // The same key answers the same change.
    const again = await run(['change', 'submit', request]);
    expect(again.out.split('\n')[0]).to.equal(r.out.split('\n')[0]);
  });

  it('takes an XML request file in the SOAP operation\'s format', async () => {
    const xml = file(
      'request.xml',
      `<SubmitChangeRequest xmlns="urn:provisor:changemanager:1"><change><operation>Install</operation><component>demo-site</component><target><system>sim1</system></target></change><dryRun>true</dryRun></SubmitChangeRequest>`,
    );
    const r = await run(['change', 'submit', xml]);
    expect(r.code, r.err).to.equal(0);
    expect(r.out.trim()).to.match(/^[0-9a-f-]{36}$/);
    const plan = await run(['change', 'plan', r.out.trim()]);
    expect(plan.out).to.contain('PLANNING');
    expect(plan.out).to.contain('not planned yet');
  });

  it('refuses bad input with a message naming it and exit code 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['change', 'submit'], /give a request FILE, or at least one of --install/],
      [['change', 'submit', '--install', 'demo-httpd'], /--on system:NAME\|role:NAME\|cluster:NAME is required/],
      [['change', 'submit', '--install', 'demo-httpd', '--on', 'rack:7'], /--on takes system:NAME/],
      [['change', 'submit', '--install', 'demo-httpd', '--on', 'system:sim1', '--deadline', 'tomorrow'], /--deadline must be a date and time with a time zone/],
      [['change', 'submit', '--install', 'demo-httpd', '--on', 'system:sim1', '--max-unavailable', '2'], /maxUnavailableShare must be more than 0 and at most 1/],
      [['change', 'submit', file('bad.json', '{"changes": [{"operation": "Explode"}]}')], /changes\[0\]\.operation must be one of/],
      [['change', 'submit', file('broken.json', '{"changes": [')], /not valid JSON/],
      [['change', 'submit', file('odd.json', '{"changez": []}')], /unknown field "changez"/],
      [['change', 'submit', file('wrong.xml', '<Install xmlns="urn:provisor:software:1"/>')], /root element must be SubmitChangeRequest/],
      [['change', 'submit', path.join(environment.dataDir, 'missing.json')], /cannot read the request file/],
      [['change', 'plan', '00000000-0000-4000-8000-000000000000'], /there is no change/],
      [['change', 'decide', '00000000-0000-4000-8000-000000000000', 'abort'], /must be one of continue, cancel, replan/],
      [['policy', 'add', 'p1', '--kind', 'no-such'], /--kind must be one of/],
      [['policy', 'add', 'p1', '--kind', 'forbid-colocation', '--param', 'roleA=x'], /parameters\.roleB: required by kind forbid-colocation/],
      [['policy', 'remove', 'nobody'], /there is no policy named "nobody"/],
    ];
    for (const [args, message] of cases) {
      const r = await run(args);
      expect(r.code, args.join(' ')).to.equal(2);
      expect(r.err, args.join(' ')).to.match(message);
    }
    const real = spawnCli(['change', 'plan', '00000000-0000-4000-8000-000000000000'], environment.env);
    expect(real.code).to.equal(2);
    expect(real.err).to.match(/there is no change/);
  });

  it('adds, lists and removes policies', async () => {
    expect((await run(['policy', 'add', 'web-limit', '--kind', 'max-concurrent', '--param', 'limit=1', '--role', 'web'])).out).to.contain('policy web-limit added');
    const list = await run(['policy', 'list']);
    expect(list.out).to.match(/web-limit +max-concurrent +by cli:\S+ +role:web +limit=1/);
    expect(list.out).to.match(/separate-app-and-db +forbid-colocation +built-in/);
    expect((await run(['policy', 'add', 'web-limit', '--kind', 'max-concurrent', '--param', 'limit=1'])).err).to.contain('exists already');
    expect((await run(['policy', 'remove', 'web-limit'])).out).to.contain('policy web-limit removed');
    expect((await run(['policy', 'list'])).out).to.not.contain('web-limit');
  });

  it('saves and lists fragments, and refuses one whose precedences name no task', async () => {
    const good = file('rollout.json', JSON.stringify({ name: 'rollout', parameters: ['system'], tasks: [{ key: 'i', operation: 'Install', system: '${system}', component: 'demo-httpd' }], precedences: [] }));
    expect((await run(['fragment', 'save', good])).out).to.contain('fragment rollout saved');
    expect((await run(['fragment', 'list'])).out).to.match(/rollout +system +1 +cli:/);
    const bad = file('dangling.json', JSON.stringify({ name: 'dangling', parameters: [], tasks: [{ key: 'i', operation: 'Install', system: 'sim1', component: 'demo-httpd' }], precedences: [{ from: 'i', to: 'nothing' }] }));
    const refused = await run(['fragment', 'save', bad]);
    expect(refused.code).to.equal(2);
    expect(refused.err).to.match(/precedences\[0\]\.to: must name a task of the fragment/);
  });

  it('has help for each command', async () => {
    for (const args of [['change', '--help'], ['change', 'submit', '--help'], ['change', 'plan', '--help'], ['change', 'watch', '--help'], ['policy', 'add', '--help'], ['fragment', 'save', '--help']]) {
      const r = await run(args);
      expect(r.code, args.join(' ')).to.equal(0);
      expect(r.out).to.contain('Usage: provisor');
    }
  });
});
