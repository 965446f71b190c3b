/**
 * What manifests declare for the change manager (requires, conflicts,
 * provides, quiesce, durations): read strictly, and the local driver's
 * same-system checks and drain reading the same declarations.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Driver, SoftwareOperation, SystemDescriptor, TaskResult } from '../../src/drivers/driver';
import { createLocalDriver } from '../../src/drivers/local';
import { manifestDocument, parsePackageManifest, requirementsOf } from '../../src/drivers/local/package-manifest';
import { buildFixtureRepository, contextFor, eventually, expectDriverError, killGroup, localSystem, makeTempDir, processAlive, removeDir } from './fixtures';

const BASE = { name: 'demo-app', version: '1.0.0', archive: 'demo-app-1.0.0.tar.gz', start: ['$NODE', 'server.js'] };

describe('package declarations', function () {
  this.timeout(60_000);

  describe('when a manifest is read', () => {
    it('reads requires, conflicts, provides, quiesce and durations, and folds dependencies into the requirements', () => {
      const manifest = parsePackageManifest(
        {
          ...BASE,
          dependencies: ['demo-runtime>=1.2'],
          requires: [{ component: 'demo-db', range: '>=1.0  <2', placement: 'role:db-server' }, { component: 'demo-lib' }],
          conflicts: [{ component: 'demo-legacy', range: '<3' }],
          provides: ['app-server', 'app-server'],
          quiesce: { hook: 'hooks/quiesce.sh', timeoutSeconds: 30 },
          durations: { Install: 4, Start: 1.5 },
        },
        'entry',
      );
      expect(requirementsOf(manifest)).to.deep.equal([
        { component: 'demo-runtime', range: '>=1.2', placement: { kind: 'same-system' } },
        { component: 'demo-db', range: '>=1.0 <2', placement: { kind: 'role', role: 'db-server' } },
        { component: 'demo-lib', range: '*', placement: { kind: 'same-system' } },
      ]);
      expect(manifest.conflicts).to.deep.equal([{ component: 'demo-legacy', range: '<3' }]);
      expect(manifest.provides).to.deep.equal(['app-server']);
      expect(manifest.quiesce).to.deep.equal({ hook: 'hooks/quiesce.sh', timeoutSeconds: 30 });
      expect(manifest.durations).to.deep.equal({ Install: 4, Start: 1.5 });
      // What state.json keeps reads back the same.
      const again = parsePackageManifest(JSON.parse(JSON.stringify(manifestDocument(manifest))), 'state');
      expect(again).to.deep.equal(manifest);
    });

    it('reads the example manifest of docs/packages.md', () => {
      const text = readFileSync(path.join(__dirname, '..', '..', '..', 'docs', 'packages.md'), 'utf8');
      const example = /```json\n([\s\S]*?)```/.exec(text)?.[1];
      expect(example, 'a json example').to.be.a('string');
      const manifest = parsePackageManifest(JSON.parse(example as string), 'docs/packages.md');
      expect(requirementsOf(manifest).map((r) => r.component)).to.deep.equal(['demo-runtime', 'demo-db']);
      expect(manifest.quiesce?.timeoutSeconds).to.equal(30);
    });

    it('defaults every declaration to nothing', () => {
      const manifest = parsePackageManifest(BASE, 'entry');
      expect([manifest.requires, manifest.conflicts, manifest.provides, manifest.quiesce, manifest.durations]).to.deep.equal([[], [], [], undefined, {}]);
    });

    const bad: [string, Record<string, unknown>, string][] = [
      ['a bad range', { requires: [{ component: 'demo-db', range: '>=1.0 <<2' }] }, '(demo-app 1.0.0): "requires[0].range" is not a version range'],
      ['a bad placement', { requires: [{ component: 'demo-db', placement: 'elsewhere' }] }, '"requires[0].placement" must be "same-system" or "role:<name>"'],
      ['a requirement without a component', { requires: [{ range: '*' }] }, '"requires[0].component" must match'],
      ['a conflict with a bad range', { conflicts: [{ component: 'x', range: 7 }] }, '"conflicts[0].range" must be a version range string'],
      ['a bad role', { provides: ['App Server'] }, '"provides[0]" must be a role name'],
      ['a quiesce timeout of zero', { quiesce: { hook: 'q.sh', timeoutSeconds: 0 } }, '"quiesce.timeoutSeconds" must be a whole number from 1 to 3600'],
      ['a quiesce hook outside the package', { quiesce: { hook: '../q.sh', timeoutSeconds: 5 } }, '"quiesce.hook" must be a path inside the package'],
      ['an unknown operation in durations', { durations: { Deploy: 3 } }, '"durations" names unknown operation "Deploy"'],
      ['a negative duration', { durations: { Install: -1 } }, '"durations.Install" must be a number of seconds'],
      ['a readiness check that checks nothing', { ready: { timeoutSeconds: 5 } }, '"ready" must say "listen": true or name a "hook"'],
      ['a readiness listen that is not a boolean', { ready: { listen: 'yes' } }, '"ready.listen" must be true or false, got "yes"'],
      ['a readiness timeout over ten minutes', { ready: { listen: true, timeoutSeconds: 601 } }, '"ready.timeoutSeconds" must be a whole number from 1 to 600, got 601'],
      ['a ready hook outside the package', { ready: { hook: '/etc/ready.sh' } }, '"ready.hook" must be a path inside the package'],
      ['too many requirements', { requires: Array.from({ length: 101 }, () => ({ component: 'x' })) }, '"requires" has more than 100 entries'],
    ];
    for (const [what, fields, message] of bad) {
      it(`refuses ${what}, naming the package and the field`, () => {
        expect(() => parsePackageManifest({ ...BASE, ...fields }, 'entry')).to.throw(message);
      });
    }

    it('reads a readiness check, its timeout 30 s when not given', () => {
      expect(parsePackageManifest({ ...BASE, ready: { listen: true } }, 'entry').ready).to.deep.equal({ listen: true, timeoutSeconds: 30 });
      expect(parsePackageManifest({ ...BASE, ready: { hook: 'r.sh', timeoutSeconds: 5 } }, 'entry').ready).to.deep.equal({ listen: false, hook: 'r.sh', timeoutSeconds: 5 });
    });

    it('refuses a readiness check on a package that does not run', () => {
      const { start: _start, ...content } = BASE;
      expect(() => parsePackageManifest({ ...content, ready: { listen: true } }, 'entry')).to.throw('"ready" needs a "start" command');
    });

    it('refuses quiesce on a package that does not run', () => {
      const { start: _start, ...content } = BASE;
      expect(() => parsePackageManifest({ ...content, quiesce: { hook: 'q.sh', timeoutSeconds: 5 } }, 'entry')).to.throw('"quiesce" needs a "start" command');
    });
  });

  describe('when the local driver installs', () => {
    let base: string;
    let repo: string;
    let driver: Driver;
    let system: SystemDescriptor;
    const pids: number[] = [];
    const SLEEPER = ['/bin/sh', '-c', 'exec sleep 120'];

    before(async () => {
      base = await makeTempDir('declarations');
      repo = await buildFixtureRepository(path.join(base, 'repo'), [
        { name: 'runtime', version: '1.0.0', files: { README: 'runtime 1' } },
        { name: 'runtime', version: '2.0.0', files: { README: 'runtime 2' } },
        { name: 'plugin', version: '1.0.0', files: { README: 'plugin' }, declarations: { requires: [{ component: 'runtime', range: '>=2.0', placement: 'same-system' }] } },
        { name: 'remote-user', version: '1.0.0', files: { README: 'uses a db elsewhere' }, declarations: { requires: [{ component: 'demo-db', range: '>=1', placement: 'role:db-server' }] } },
        { name: 'old-tool', version: '1.0.0', files: { README: 'old' }, declarations: { conflicts: [{ component: 'new-tool', range: '*' }] } },
        { name: 'new-tool', version: '1.0.0', files: { README: 'new' } },
        { name: 'picky', version: '1.0.0', files: { README: 'picky' }, declarations: { conflicts: [{ component: 'runtime', range: '<2' }] } },
        { name: 'drains', version: '1.0.0', files: { 'q.sh': 'echo "drained $PROVISOR_COMPONENT"\n' }, start: SLEEPER, declarations: { quiesce: { hook: 'q.sh', timeoutSeconds: 5 } } },
        { name: 'never-drains', version: '1.0.0', files: { 'q.sh': 'exec sleep 60\n' }, start: SLEEPER, declarations: { quiesce: { hook: 'q.sh', timeoutSeconds: 1 } } },
      ]);
      driver = createLocalDriver({ cacheDir: path.join(base, 'cache') });
      system = localSystem('decl', path.join(base, 'systems', 'decl'));
      await driver.prepareSystem(system);
    });

    after(async () => {
      for (const pid of pids) killGroup(pid);
      await driver.close();
      await removeDir(base);
    });

    const run = async (operation: SoftwareOperation, component: string, version?: string, parameters: Record<string, string> = {}): Promise<TaskResult> => {
      const result = await driver.execute(
        { operation, component, ...(version === undefined ? {} : { version }), parameters: Object.entries(parameters).map(([name, value]) => ({ name, value })) },
        contextFor(system, [repo]),
      );
      if (typeof result.pid === 'number') pids.push(result.pid);
      return result;
    };

    it('refuses a same-system requirement that is missing, then one out of range, then installs', async () => {
      let error = await expectDriverError(run('Install', 'plugin'), 'InvalidState');
      expect(error.message).to.include('plugin 1.0.0 requires runtime >=2.0 on the same system, which is not installed on system "decl"');
      await run('Install', 'runtime', '1.0.0');
      error = await expectDriverError(run('Install', 'plugin'), 'InvalidState');
      expect(error.message).to.include('system "decl" has runtime 1.0.0');
      await run('Update', 'runtime', '2.0.0');
      await run('Install', 'plugin');
      error = await expectDriverError(run('Uninstall', 'runtime'), 'InvalidState');
      expect(error.message).to.include('runtime is needed by plugin 1.0.0');
    });

    it('does not check a requirement placed on a role', async () => {
      await run('Install', 'remote-user');
    });

    it('refuses a package that conflicts with an installed one, and one an installed package conflicts with', async () => {
      await run('Install', 'old-tool');
      const error = await expectDriverError(run('Install', 'new-tool'), 'InvalidState');
      expect(error.message).to.include('old-tool 1.0.0 on system "decl" conflicts with new-tool *');
      await run('Uninstall', 'old-tool');
      await run('Install', 'new-tool');
      const reverse = await expectDriverError(run('Install', 'old-tool'), 'InvalidState');
      expect(reverse.message).to.include('old-tool 1.0.0 conflicts with new-tool *, and system "decl" has new-tool 1.0.0');
    });

    it('judges a conflict by the installed version', async () => {
      // runtime is at 2.0.0, outside picky's "<2".
      await run('Install', 'picky');
    });

    it('runs the quiesce hook before a Stop with drain=true', async () => {
      await run('Install', 'drains');
      const started = await run('Start', 'drains');
      const stopped = await run('Stop', 'drains', undefined, { drain: 'true' });
      expect(stopped.output).to.include('quiesce hook of drains 1.0.0:\ndrained drains');
      expect(stopped.pid).to.equal(null);
      expect(await eventually(() => !processAlive(started.pid as number), 5000)).to.equal(true);
    });

    it('fails a drain whose hook outlasts its timeout, leaving the process running', async () => {
      await run('Install', 'never-drains');
      const started = await run('Start', 'never-drains');
      const error = await expectDriverError(run('Stop', 'never-drains', undefined, { drain: 'true' }), 'HookFailed');
      expect(error.message).to.include('quiesce hook of never-drains 1.0.0 timed out after 1000 ms');
      expect(processAlive(started.pid as number)).to.equal(true);
      expect((await run('Stop', 'never-drains')).pid).to.equal(null);
    });
  });
});
