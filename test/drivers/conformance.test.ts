/**
 * One conformance suite, run against every driver: the behaviours the
 * deployment engine relies on, whatever the driver does underneath.
 */
import { expect } from 'chai';
import path from 'node:path';
import {
  DriverError,
  type Driver,
  type SoftwareOperation,
  type SystemDescriptor,
  type Task,
  type TaskContext,
  type TaskResult,
} from '../../src/drivers/driver';
import { buildDemoRepository } from '../../src/drivers/local/demo-repository';
import { createLocalDriver } from '../../src/drivers/local/local-driver';
import { createSimulatedDriver } from '../../src/drivers/simulated';
import { createSshDriver } from '../../src/drivers/ssh';
import { makeKey, startSshd, testSecrets } from '../support/sshd';
import { RecordKeeper, contextFor, expectDriverError, freePort, killGroup, makeTempDir, removeDir } from './fixtures';

/** What the suite needs to know about a driver under test. */
interface Harness {
  readonly driver: Driver;
  readonly system: SystemDescriptor;
  readonly repositories: readonly string[];
  /** A task that takes seconds, for cancellation. */
  readonly slowTask: Task;
  cleanup(): Promise<void>;
}

interface HarnessFactory {
  readonly name: string;
  readonly expectedName: string;
  /** Whether the driver really copies files (the simulated one only pretends). */
  readonly copiesFiles: boolean;
  create(): Promise<Harness>;
}

const factories: readonly HarnessFactory[] = [
  {
    name: 'local',
    expectedName: 'local',
    copiesFiles: true,
    async create() {
      const base = await makeTempDir('conformance-local');
      const repo = await buildDemoRepository(path.join(base, 'repo'));
      const driver = createLocalDriver({ cacheDir: path.join(base, 'cache') });
      return {
        driver,
        system: { name: 'conf', driver: 'local', options: { root: path.join(base, 'root') } },
        repositories: [repo],
        slowTask: { operation: 'Install', component: 'demo-slow', parameters: [{ name: 'seconds', value: '30' }] },
        cleanup: async () => {
          await driver.close();
          await removeDir(base);
        },
      };
    },
  },
  {
    name: 'ssh (a real sshd on 127.0.0.2)',
    expectedName: 'ssh',
    copiesFiles: true,
    async create() {
      const base = await makeTempDir('conformance-ssh');
      const repo = await buildDemoRepository(path.join(base, 'repo'));
      const key = await makeKey(base, 'id_ed25519', 'ed25519');
      const sshd = await startSshd('127.0.0.2', [key.publicKey]);
      const driver = createSshDriver({ secrets: testSecrets(), cacheDir: path.join(base, 'cache') });
      const options = await driver.completeOptions?.('conf', {
        host: sshd.host,
        port: String(sshd.port),
        user: sshd.user,
        keyFile: key.privateFile,
        root: path.join(sshd.home, 'conf'),
      });
      return {
        driver,
        system: { name: 'conf', driver: 'ssh', options: options ?? {} },
        repositories: [repo],
        slowTask: { operation: 'Install', component: 'demo-slow', parameters: [{ name: 'seconds', value: '30' }] },
        cleanup: async () => {
          await driver.close();
          await sshd.stop();
          await removeDir(base);
        },
      };
    },
  },
  {
    name: 'simulated',
    expectedName: 'simulated',
    copiesFiles: false,
    async create() {
      const driver = createSimulatedDriver({ durationMs: { min: 1, max: 5 }, failureRate: 0 });
      return {
        driver,
        // The slow task is slow through the per-system override.
        system: { name: 'conf', driver: 'simulated', options: {} },
        repositories: [],
        slowTask: { operation: 'Install', component: 'demo-slow', parameters: [] },
        cleanup: () => driver.close(),
      };
    },
  },
];

for (const factory of factories) {
  describe(`driver conformance: ${factory.name}`, function () {
    this.timeout(60_000);
    let harness: Harness;
    const records = new RecordKeeper();
    const pids = new Set<number>();

    before(async () => {
      harness = await factory.create();
      await harness.driver.prepareSystem(harness.system);
    });

    after(async () => {
      if (factory.name !== 'simulated') for (const pid of pids) killGroup(pid);
      await harness.cleanup();
    });

    function ctx(task: Task, extra: { signal?: AbortSignal; system?: SystemDescriptor } = {}): TaskContext {
      const component = records.recordFor(task);
      return contextFor(extra.system ?? harness.system, harness.repositories, {
        ...(extra.signal === undefined ? {} : { signal: extra.signal }),
        ...(component === undefined ? {} : { component }),
      });
    }

    async function execute(task: Task): Promise<TaskResult> {
      const result = await harness.driver.execute(task, ctx(task));
      expect(result.output, 'every result carries output').to.be.a('string').and.not.equal('');
      records.apply(task, result);
      if (typeof result.pid === 'number') pids.add(result.pid);
      return result;
    }

    const software = (operation: SoftwareOperation, component: string, version?: string, parameters: Record<string, string> = {}): Task => ({
      operation,
      component,
      ...(version === undefined ? {} : { version }),
      parameters: Object.entries(parameters).map(([name, value]) => ({ name, value })),
    });

    it(`is named "${factory.expectedName}"`, () => {
      expect(harness.driver.name).to.equal(factory.expectedName);
    });

    it('prepares a system repeatedly without error', async () => {
      await harness.driver.prepareSystem(harness.system);
    });

    describe('validate', () => {
      it('refuses ../ escapes with a non-retryable PathOutsideRoot naming the path', async () => {
        const cases: [Task, string][] = [
          [{ operation: 'Delete', path: '../outside' }, '../outside'],
          [{ operation: 'Copy', sourcePath: 'files/welcome.txt', targetPath: 'a/../../b' }, 'a/../../b'],
          [{ operation: 'Copy', sourcePath: '../../etc/shadow', targetPath: 'x' }, '../../etc/shadow'],
        ];
        for (const [task, named] of cases) {
          const error = await expectDriverError(harness.driver.validate(task, ctx(task)), 'PathOutsideRoot');
          expect(error.message).to.include(JSON.stringify(named));
          expect(error.retryable).to.equal(false);
        }
      });

      it('accepts paths inside the root', async () => {
        const copy: Task = { operation: 'Copy', sourcePath: 'files/welcome.txt', targetPath: 'srv/www/welcome.txt' };
        await harness.driver.validate(copy, ctx(copy));
        const remove: Task = { operation: 'Delete', path: 'srv/./www/../www/welcome.txt' };
        await harness.driver.validate(remove, ctx(remove));
      });

      it('accepts a software task it can perform', async () => {
        const task = software('Install', 'demo-httpd', '1.0.0');
        await harness.driver.validate(task, ctx(task));
      });
    });

    describe('a component lifecycle', () => {
      let port: number;
      before(async () => {
        port = await freePort();
      });

      it('Install reports the installed version', async () => {
        const result = await execute(software('Install', 'demo-httpd', '1.0.0'));
        expect(result.version).to.equal('1.0.0');
      });

      it('Install of the installed version succeeds again with the same version', async () => {
        const result = await execute(software('Install', 'demo-httpd', '1.0.0'));
        expect(result.version).to.equal('1.0.0');
      });

      it('Rollback without a previous version fails with InvalidState', async () => {
        const task = software('Rollback', 'demo-httpd');
        await expectDriverError(harness.driver.execute(task, ctx(task)), 'InvalidState');
      });

      it('InitialConfigure and Configure succeed', async () => {
        await execute(software('InitialConfigure', 'demo-httpd', undefined, { port: String(port) }));
        await execute(software('Configure', 'demo-httpd', undefined, { docroot: 'srv/www' }));
      });

      if (factory.copiesFiles) {
        it('validate refuses what the package does not declare: an unknown Install parameter, a Configure value out of range', async () => {
          const install = software('Install', 'demo-httpd', '1.0.0', { colour: 'red' });
          const unknown = await expectDriverError(harness.driver.validate(install, ctx(install)), 'InvalidParameter');
          expect(unknown.message).to.include('"colour"').and.to.include('port');
          // Read from the installed version on the system itself.
          const configure = software('Configure', 'demo-httpd', undefined, { port: '70000' });
          const outOfRange = await expectDriverError(harness.driver.validate(configure, ctx(configure)), 'InvalidParameter');
          expect(outOfRange.message).to.include('"port"').and.to.include('70000');
        });
      }

      it('Start reports a pid, and starting again reports the same one', async () => {
        const first = await execute(software('Start', 'demo-httpd'));
        expect(first.pid).to.be.a('number').and.above(1);
        const second = await execute(software('Start', 'demo-httpd'));
        expect(second.pid).to.equal(first.pid);
      });

      it('Update reports the new version and Rollback the previous one', async () => {
        expect((await execute(software('Update', 'demo-httpd', '1.1.0'))).version).to.equal('1.1.0');
        expect((await execute(software('Rollback', 'demo-httpd'))).version).to.equal('1.0.0');
      });

      it('Stop reports a null pid, twice in a row', async () => {
        const stopped = await execute(software('Stop', 'demo-httpd'));
        expect(stopped.pid).to.equal(null);
        // demo-httpd ends on SIGTERM: its Stop must not wait out the stop timeout and kill it.
        if (factory.copiesFiles) expect(stopped.output).to.contain('stopped demo-httpd').and.not.contain('killed');
        expect((await execute(software('Stop', 'demo-httpd'))).pid).to.equal(null);
      });

      it('Uninstall succeeds', async () => {
        await execute(software('Uninstall', 'demo-httpd'));
      });
    });

    if (factory.copiesFiles) {
      describe('Copy and Delete', () => {
        const copy = (sourcePath: string, targetPath: string): Task => ({ operation: 'Copy', sourcePath, targetPath });
        const remove = (target: string): Task => ({ operation: 'Delete', path: target });

        it('merges a directory copied onto an existing directory, as cp -r does', async () => {
          await execute(copy('files/welcome.txt', 'merged/kept.txt'));
          await execute(copy('files', 'merged'));
          // The directory's content lands in the target (not in merged/files), beside what was there.
          await execute(remove('merged/welcome.txt'));
          await execute(remove('merged/kept.txt'));
          await expectDriverError(harness.driver.execute(remove('merged/files'), ctx(remove('merged/files'))), 'NotFound');
        });

        it('copies a directory to a new path as the directory itself', async () => {
          await execute(copy('files', 'fresh'));
          await execute(remove('fresh/welcome.txt'));
        });

        it('refuses a file onto a directory and a directory onto a file with InvalidParameter naming the target', async () => {
          await execute(copy('files/welcome.txt', 'box/inner.txt'));
          const fileOntoDirectory = copy('files/welcome.txt', 'box');
          const first = await expectDriverError(harness.driver.execute(fileOntoDirectory, ctx(fileOntoDirectory)), 'InvalidParameter');
          expect(first.message).to.include('box');
          const directoryOntoFile = copy('files', 'box/inner.txt');
          const second = await expectDriverError(harness.driver.execute(directoryOntoFile, ctx(directoryOntoFile)), 'InvalidParameter');
          expect(second.message).to.include('box/inner.txt');
          // Neither refusal changed what was there.
          await execute(remove('box/inner.txt'));
        });
      });
    }

    describe('cancellation', () => {
      it('refuses a task whose signal is already aborted with Cancelled', async () => {
        const controller = new AbortController();
        controller.abort();
        const task = software('Install', 'demo-httpd', '1.0.0');
        const error = await expectDriverError(harness.driver.execute(task, ctx(task, { signal: controller.signal })), 'Cancelled');
        expect(error).to.be.instanceOf(DriverError).and.instanceOf(Error);
      });

      it('stops a task under way with Cancelled, promptly', async () => {
        const controller = new AbortController();
        const slowSystem: SystemDescriptor =
          factory.name === 'simulated' ? { ...harness.system, options: { durationMs: '20000' } } : harness.system;
        setTimeout(() => controller.abort(), 200);
        const started = Date.now();
        await expectDriverError(
          harness.driver.execute(harness.slowTask, ctx(harness.slowTask, { signal: controller.signal, system: slowSystem })),
          'Cancelled',
        );
        expect(Date.now() - started).to.be.below(5000);
      });
    });

    describe('close', () => {
      it('releases the driver', async () => {
        await harness.driver.close();
      });
    });
  });
}
