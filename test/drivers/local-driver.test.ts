import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, readlink, realpath, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Driver, SystemDescriptor, Task, TaskResult } from '../../src/drivers/driver';
import { buildDemoRepository } from '../../src/drivers/local/demo-repository';
import { createLocalDriver } from '../../src/drivers/local/local-driver';
import {
  type StaticServer,
  contextFor,
  eventually,
  expectDriverError,
  freePort,
  killGroup,
  localSystem,
  makeTempDir,
  processAlive,
  removeDir,
  serveDirectory,
} from './fixtures';

describe('local driver', function () {
  this.timeout(60_000);

  let base: string;
  let repo: string;
  let driver: Driver;
  const startedPids = new Set<number>();

  before(async () => {
    base = await makeTempDir('local-driver');
    repo = await buildDemoRepository(path.join(base, 'repo'));
    driver = createLocalDriver({ cacheDir: path.join(base, 'cache') });
  });

  after(async () => {
    for (const pid of startedPids) killGroup(pid);
    await driver.close();
    await removeDir(base);
  });

  async function newSystem(name: string): Promise<SystemDescriptor> {
    const system = localSystem(name, path.join(base, 'systems', name));
    await driver.prepareSystem(system);
    return system;
  }

  async function run(system: SystemDescriptor, task: Task, repositories: readonly string[] = [repo]): Promise<TaskResult> {
    const result = await driver.execute(task, contextFor(system, repositories));
    if (typeof result.pid === 'number') startedPids.add(result.pid);
    return result;
  }

  const software = (
    operation: Extract<Task, { component: string }>['operation'],
    component: string,
    extra: { version?: string; parameters?: Record<string, string> } = {},
  ): Task => ({
    operation,
    component,
    ...(extra.version === undefined ? {} : { version: extra.version }),
    parameters: Object.entries(extra.parameters ?? {}).map(([name, value]) => ({ name, value })),
  });

  describe('prepareSystem', () => {
    it('creates the root with its top-level directories, and can be repeated', async () => {
      const system = localSystem('fresh', path.join(base, 'systems', 'fresh'));
      await driver.prepareSystem(system);
      await driver.prepareSystem(system);
      for (const dir of ['opt', 'etc', 'var/log', 'var/run']) {
        expect(existsSync(path.join(system.options.root as string, dir)), dir).to.equal(true);
      }
    });

    it('refuses a system without an absolute root', async () => {
      const error = await expectDriverError(
        driver.prepareSystem({ name: 'rel', driver: 'local', options: { root: 'relative/dir' } }),
        'InvalidParameter',
      );
      expect(error.message).to.include('rel').and.to.include('relative/dir');
    });
  });

  describe('when demo-httpd and demo-site are installed, configured, started, updated and rolled back', () => {
    let system: SystemDescriptor;
    let root: string;
    let port: number;
    let firstPid: number;
    let currentPid: number;

    before(async () => {
      system = await newSystem('web');
      root = system.options.root as string;
      port = await freePort();
    });

    after(async () => {
      await run(system, software('Stop', 'demo-httpd')).catch(() => undefined);
    });

    const url = (pathname: string): string => `http://127.0.0.1:${port}${pathname}`;
    const state = async (): Promise<{ active: string; history: string[] }> =>
      JSON.parse(await readFile(path.join(root, 'opt/demo-httpd/state.json'), 'utf8')) as { active: string; history: string[] };

    it('refuses demo-site before its dependency demo-httpd is installed', async () => {
      const error = await expectDriverError(run(system, software('Install', 'demo-site')), 'InvalidState');
      expect(error.message).to.include('demo-site 1.0.0 requires demo-httpd >=1.0.0 on the same system').and.to.include('"web"');
      expect(existsSync(path.join(root, 'opt/demo-site'))).to.equal(false);
    });

    it('installs demo-httpd 1.0.0: unpacked, install hook run, state recorded', async () => {
      const result = await run(system, software('Install', 'demo-httpd', { version: '1.0.0' }));
      expect(result.version).to.equal('1.0.0');
      expect(result.output).to.match(/demo-httpd 1\.0\.0 installed in .* \(node v\d+/);
      expect(existsSync(path.join(root, 'opt/demo-httpd/1.0.0/server.js'))).to.equal(true);
      expect(await state()).to.deep.include({ active: '1.0.0', history: [] });
    });

    it('treats installing the installed version again as a successful no-op', async () => {
      const result = await run(system, software('Install', 'demo-httpd', { version: '1.0.0' }));
      expect(result.version).to.equal('1.0.0');
      expect(result.output).to.include('already installed');
    });

    it('refuses to install another version over it (that is Update)', async () => {
      const error = await expectDriverError(run(system, software('Install', 'demo-httpd', { version: '1.1.0' })), 'InvalidState');
      expect(error.message).to.include('use Update');
    });

    it('installs demo-site, whose install hook renders the content into srv/www', async () => {
      const result = await run(system, software('Install', 'demo-site'));
      expect(result.version).to.equal('1.0.0');
      expect(await readFile(path.join(root, 'srv/www/index.html'), 'utf8')).to.include('<h1>Provisor demo site</h1>');
      expect(existsSync(path.join(root, 'srv/www/site.css'))).to.equal(true);
    });

    it('writes etc/demo-httpd/config.json on InitialConfigure', async () => {
      await run(system, software('InitialConfigure', 'demo-httpd', { parameters: { port: String(port) } }));
      const config = JSON.parse(await readFile(path.join(root, 'etc/demo-httpd/config.json'), 'utf8')) as unknown;
      expect(config).to.deep.equal({ port: String(port) });
    });

    it('refuses Configure with InvalidParameter when the port is not the declared integer, keeping the old configuration', async () => {
      const error = await expectDriverError(
        run(system, software('Configure', 'demo-httpd', { parameters: { port: 'abc' } })),
        'InvalidParameter',
      );
      expect(error.message).to.equal('parameter "port" of demo-httpd 1.0.0 must be a whole number from 1 to 65535, got "abc"');
      expect(error.retryable).to.equal(false);
      const config = JSON.parse(await readFile(path.join(root, 'etc/demo-httpd/config.json'), 'utf8')) as unknown;
      expect(config).to.deep.equal({ port: String(port) });
    });

    it('merges parameters on Configure and runs the configure hook (demo-site re-renders its title)', async () => {
      await run(system, software('Configure', 'demo-site', { parameters: { title: 'Hello <Provisor>' } }));
      const misspelt = await expectDriverError(run(system, software('Configure', 'demo-site', { parameters: { motto: 'not declared' } })), 'InvalidParameter');
      expect(misspelt.message).to.equal('demo-site 1.0.0 has no parameter "motto"; its parameters: title');
      const config = JSON.parse(await readFile(path.join(root, 'etc/demo-site/config.json'), 'utf8')) as unknown;
      expect(config).to.deep.equal({ title: 'Hello <Provisor>' });
      await run(system, software('Configure', 'demo-httpd', { parameters: { docroot: 'srv/www' } }));
      const merged = JSON.parse(await readFile(path.join(root, 'etc/demo-httpd/config.json'), 'utf8')) as unknown;
      expect(merged).to.deep.equal({ port: String(port), docroot: 'srv/www' });
      expect(await readFile(path.join(root, 'srv/www/index.html'), 'utf8')).to.include('<h1>Hello &lt;Provisor&gt;</h1>');
    });

    it('starts demo-httpd, which serves the site over HTTP', async () => {
      const result = await run(system, software('Start', 'demo-httpd'));
      expect(result.pid).to.be.a('number');
      firstPid = currentPid = result.pid as number;
      expect(processAlive(firstPid)).to.equal(true);
      expect((await readFile(path.join(root, 'var/run/demo-httpd.pid'), 'utf8')).split('\n')[0]).to.equal(String(firstPid));

      const page = await fetch(url('/'));
      expect(page.status).to.equal(200);
      expect(page.headers.get('server')).to.equal('demo-httpd/1.0.0');
      expect(await page.text()).to.include('<h1>Hello &lt;Provisor&gt;</h1>');
      const css = await fetch(url('/site.css'));
      expect(css.headers.get('content-type')).to.include('text/css');
      expect(await css.text()).to.include('font-family');
      expect(await (await fetch(url('/healthz'))).text()).to.equal('ok\n');
      expect((await fetch(url('/../../etc/passwd'))).status).to.be.oneOf([403, 404]);
      expect(await readFile(path.join(root, 'var/log/demo-httpd.log'), 'utf8')).to.include(`listening on http://127.0.0.1:${port}/`);
    });

    it('treats starting a running component as a successful no-op', async () => {
      const result = await run(system, software('Start', 'demo-httpd'));
      expect(result.pid).to.equal(firstPid);
      expect(result.output).to.include('already running');
    });

    it('updates to 1.1.0: keeps 1.0.0, restarts on the new version', async () => {
      const result = await run(system, software('Update', 'demo-httpd', { version: '1.1.0' }));
      expect(result.version).to.equal('1.1.0');
      expect(result.pid).to.be.a('number').and.not.equal(firstPid);
      currentPid = result.pid as number;
      expect(await eventually(() => !processAlive(firstPid))).to.equal(true);
      const page = await fetch(url('/'));
      expect(page.headers.get('server')).to.equal('demo-httpd/1.1.0');
      expect(await page.text()).to.include('Hello &lt;Provisor&gt;');
      expect(await (await fetch(url('/healthz'))).text()).to.equal('ok demo-httpd/1.1.0\n');
      expect(existsSync(path.join(root, 'opt/demo-httpd/1.0.0/server.js'))).to.equal(true);
      expect(await state()).to.deep.include({ active: '1.1.0', history: ['1.0.0'] });
    });

    it('rolls back to 1.0.0, which serves again', async () => {
      const updatedPid = currentPid;
      const result = await run(system, software('Rollback', 'demo-httpd'));
      expect(result.version).to.equal('1.0.0');
      currentPid = result.pid as number;
      expect(await eventually(() => !processAlive(updatedPid))).to.equal(true);
      const page = await fetch(url('/'));
      expect(page.headers.get('server')).to.equal('demo-httpd/1.0.0');
      expect(await state()).to.deep.include({ active: '1.0.0', history: [] });
    });

    it('refuses a second Rollback with InvalidState: there is no previous version left', async () => {
      const error = await expectDriverError(run(system, software('Rollback', 'demo-httpd')), 'InvalidState');
      expect(error.message).to.equal('demo-httpd on system "web" has no previous version to roll back to (previous versions: none)');
    });

    it('stops demo-httpd: the process is gone, the port refuses, the pid file is removed', async () => {
      const result = await run(system, software('Stop', 'demo-httpd'));
      expect(result.pid).to.equal(null);
      expect(await eventually(() => !processAlive(currentPid))).to.equal(true);
      let refused = false;
      try {
        await fetch(url('/healthz'), { signal: AbortSignal.timeout(2000) });
      } catch {
        refused = true;
      }
      expect(refused, 'the port still answers').to.equal(true);
      expect(existsSync(path.join(root, 'var/run/demo-httpd.pid'))).to.equal(false);
    });

    it('treats stopping a stopped component as a successful no-op', async () => {
      const result = await run(system, software('Stop', 'demo-httpd'));
      expect(result.pid).to.equal(null);
      expect(result.output).to.include('nothing to stop');
    });

    it('refuses to uninstall demo-httpd while demo-site depends on it', async () => {
      const error = await expectDriverError(run(system, software('Uninstall', 'demo-httpd')), 'InvalidState');
      expect(error.message).to.include('demo-httpd is needed by demo-site 1.0.0');
      expect(existsSync(path.join(root, 'opt/demo-httpd/state.json'))).to.equal(true);
    });

    it('uninstalls both: the uninstall hook and the component files are gone', async () => {
      await run(system, software('Uninstall', 'demo-site'));
      expect(existsSync(path.join(root, 'srv/www/index.html'))).to.equal(false);
      expect(existsSync(path.join(root, 'opt/demo-site'))).to.equal(false);
      await run(system, software('Uninstall', 'demo-httpd'));
      for (const gone of ['opt/demo-httpd', 'etc/demo-httpd', 'var/log/demo-httpd.log']) {
        expect(existsSync(path.join(root, gone)), gone).to.equal(false);
      }
      await expectDriverError(run(system, software('Uninstall', 'demo-httpd')), 'NotFound');
    });
  });

  describe('when a hook fails', () => {
    it('reports HookFailed with the exit code and the last line of stderr, and leaves nothing behind', async () => {
      const system = await newSystem('broken');
      const error = await expectDriverError(run(system, software('Install', 'demo-broken')), 'HookFailed');
      expect(error.message).to.equal(
        'install hook of demo-broken 1.0.0 exited with code 3: demo-broken: required library libunobtainium is missing',
      );
      expect(error.output).to.include('demo-broken: checking prerequisites');
      expect(existsSync(path.join(system.options.root as string, 'opt/demo-broken'))).to.equal(false);
    });
  });

  describe('unknown packages', () => {
    let system: SystemDescriptor;
    before(async () => {
      system = await newSystem('unknown');
    });

    it('validate refuses a package no repository has, naming it', async () => {
      const error = await expectDriverError(
        driver.validate(software('Install', 'no-such-package'), contextFor(system, [repo])),
        'UnknownPackage',
      );
      expect(error.message).to.include('no-such-package');
      expect(error.retryable).to.equal(false);
    });

    it('validate refuses an unknown version, naming package, version and the known ones', async () => {
      const error = await expectDriverError(
        driver.validate(software('Update', 'demo-httpd', { version: '9.9.9' }), contextFor(system, [repo])),
        'UnknownPackage',
      );
      expect(error.message).to.include('demo-httpd 9.9.9').and.to.include('known versions: 1.1.0, 1.0.0');
    });

    it('execute refuses it too, without touching the system', async () => {
      await expectDriverError(run(system, software('Install', 'no-such-package')), 'UnknownPackage');
      expect(existsSync(path.join(system.options.root as string, 'opt/no-such-package'))).to.equal(false);
    });

    it('validate refuses component names that would make paths', async () => {
      await expectDriverError(driver.validate(software('Start', '../etc'), contextFor(system, [repo])), 'InvalidParameter');
    });

    it('operations on a component that is not installed fail with NotFound', async () => {
      const error = await expectDriverError(run(system, software('Start', 'demo-httpd')), 'NotFound');
      expect(error.message).to.include('demo-httpd is not installed on system "unknown"');
    });

    it('a content package without a start command cannot be started', async () => {
      await run(system, software('Install', 'demo-httpd'));
      await run(system, software('Install', 'demo-site'));
      const error = await expectDriverError(run(system, software('Start', 'demo-site')), 'InvalidState');
      expect(error.message).to.include('demo-site 1.0.0 has no start command');
    });
  });

  describe('path jail', () => {
    let system: SystemDescriptor;
    let root: string;
    let outside: string;

    before(async () => {
      system = await newSystem('jail');
      root = system.options.root as string;
      outside = path.join(base, 'outside');
      await mkdir(outside, { recursive: true });
      await writeFile(path.join(outside, 'secret.txt'), 'secret');
      await symlink(outside, path.join(root, 'escape'));
      await symlink(path.join(outside, 'not-yet'), path.join(root, 'dangling'));
      await mkdir(path.join(root, 'srv'), { recursive: true });
      await writeFile(path.join(root, 'srv/inside.txt'), 'inside');
    });

    const validateTask = (task: Task): Promise<unknown> => driver.validate(task, contextFor(system, [repo]));

    it('refuses ../ escapes, naming the path', async () => {
      const error = await expectDriverError(validateTask({ operation: 'Delete', path: '../x' }), 'PathOutsideRoot');
      expect(error.message).to.include('"../x"').and.to.include('system "jail"');
      await expectDriverError(validateTask({ operation: 'Delete', path: 'srv/../../x' }), 'PathOutsideRoot');
    });

    it('resolves an absolute path under the root instead of refusing it', async () => {
      const task: Task = { operation: 'Copy', sourcePath: 'files/welcome.txt', targetPath: '/etc/passwd' };
      await validateTask(task);
      await expectDriverError(validateTask({ operation: 'Delete', path: '/../..' }), 'InvalidParameter');
    });

    it('refuses reading through a symbolic link that leads outside the root', async () => {
      const task: Task = { operation: 'Copy', sourceSystem: system, sourcePath: 'escape/secret.txt', targetPath: 'srv/stolen.txt' };
      const error = await expectDriverError(validateTask(task), 'PathOutsideRoot');
      expect(error.message).to.include('"escape/secret.txt"').and.to.include('symbolic link');
      await expectDriverError(run(system, task), 'PathOutsideRoot');
      expect(existsSync(path.join(root, 'srv/stolen.txt'))).to.equal(false);
    });

    it('refuses writing through links that lead outside, dangling ones included', async () => {
      await expectDriverError(
        run(system, { operation: 'Copy', sourcePath: 'files/welcome.txt', targetPath: 'escape/planted.txt' }),
        'PathOutsideRoot',
      );
      await expectDriverError(run(system, { operation: 'Copy', sourcePath: 'files/welcome.txt', targetPath: 'dangling' }), 'PathOutsideRoot');
      expect(existsSync(path.join(outside, 'planted.txt'))).to.equal(false);
      expect(existsSync(path.join(outside, 'not-yet'))).to.equal(false);
    });

    it('refuses deleting through a link, but deletes the link itself and never its target', async () => {
      await expectDriverError(run(system, { operation: 'Delete', path: 'escape/secret.txt' }), 'PathOutsideRoot');
      expect(existsSync(path.join(outside, 'secret.txt'))).to.equal(true);
      await symlink(outside, path.join(root, 'escape-2'));
      await run(system, { operation: 'Delete', path: 'escape-2' });
      expect(existsSync(path.join(root, 'escape-2'))).to.equal(false);
      expect(await readFile(path.join(outside, 'secret.txt'), 'utf8')).to.equal('secret');
    });

    it('accepts paths that only pass through .. inside the root', async () => {
      await run(system, { operation: 'Copy', sourceSystem: system, sourcePath: 'srv/../srv/inside.txt', targetPath: 'srv/x/../copy.txt' });
      expect(await readFile(path.join(root, 'srv/copy.txt'), 'utf8')).to.equal('inside');
    });
  });

  describe('Copy and Delete', () => {
    let source: SystemDescriptor;
    let target: SystemDescriptor;
    let sourceRoot: string;
    let targetRoot: string;

    before(async () => {
      source = await newSystem('copy-source');
      target = await newSystem('copy-target');
      sourceRoot = source.options.root as string;
      targetRoot = target.options.root as string;
      await mkdir(path.join(sourceRoot, 'srv/data/sub'), { recursive: true });
      await writeFile(path.join(sourceRoot, 'srv/data/report.txt'), 'quarterly report');
      await writeFile(path.join(sourceRoot, 'srv/data/sub/deep.txt'), 'deep');
    });

    it('copies a file from another system, creating parent directories', async () => {
      const result = await run(target, { operation: 'Copy', sourceSystem: source, sourcePath: 'srv/data/report.txt', targetPath: 'backup/2025/report.txt' });
      expect(await readFile(path.join(targetRoot, 'backup/2025/report.txt'), 'utf8')).to.equal('quarterly report');
      expect(result.output).to.include('copy-source:srv/data/report.txt').and.to.include('copy-target:backup/2025/report.txt');
    });

    it('copies a directory recursively', async () => {
      await run(target, { operation: 'Copy', sourceSystem: source, sourcePath: 'srv/data', targetPath: 'mirror/data' });
      expect(await readFile(path.join(targetRoot, 'mirror/data/sub/deep.txt'), 'utf8')).to.equal('deep');
      expect(await readFile(path.join(targetRoot, 'mirror/data/report.txt'), 'utf8')).to.equal('quarterly report');
    });

    it('copies from the package repository when there is no source system', async () => {
      await run(target, { operation: 'Copy', sourcePath: 'files/welcome.txt', targetPath: 'etc/motd' });
      expect(await readFile(path.join(targetRoot, 'etc/motd'), 'utf8')).to.include('Welcome to a system provisioned by Provisor');
    });

    it('reports a missing source as NotFound, from a system or the repository', async () => {
      const fromSystem = await expectDriverError(
        run(target, { operation: 'Copy', sourceSystem: source, sourcePath: 'srv/nothing.txt', targetPath: 'x.txt' }),
        'NotFound',
      );
      expect(fromSystem.message).to.include('"srv/nothing.txt"').and.to.include('copy-source');
      await expectDriverError(run(target, { operation: 'Copy', sourcePath: 'files/nothing.txt', targetPath: 'x.txt' }), 'NotFound');
      expect(existsSync(path.join(targetRoot, 'x.txt'))).to.equal(false);
    });

    it('refuses a source system of another driver', async () => {
      const remote: SystemDescriptor = { name: 'remote', driver: 'ssh', options: { root: sourceRoot } };
      await expectDriverError(
        run(target, { operation: 'Copy', sourceSystem: remote, sourcePath: 'srv/data/report.txt', targetPath: 'r.txt' }),
        'InvalidParameter',
      );
    });

    it('deletes a file and a directory tree; deleting something missing is NotFound', async () => {
      await run(target, { operation: 'Delete', path: 'backup/2025/report.txt' });
      expect(existsSync(path.join(targetRoot, 'backup/2025/report.txt'))).to.equal(false);
      expect(existsSync(path.join(targetRoot, 'backup/2025'))).to.equal(true);
      await run(target, { operation: 'Delete', path: 'mirror' });
      expect(existsSync(path.join(targetRoot, 'mirror'))).to.equal(false);
      const error = await expectDriverError(run(target, { operation: 'Delete', path: 'mirror' }), 'NotFound');
      expect(error.message).to.include('"mirror"');
    });

    it('refuses to delete the system root itself', async () => {
      await expectDriverError(run(target, { operation: 'Delete', path: '.' }), 'InvalidParameter');
      expect(existsSync(targetRoot)).to.equal(true);
    });
  });

  describe('when the repository is served over HTTP', () => {
    let server: StaticServer;
    before(async () => {
      server = await serveDirectory(repo);
    });
    after(async () => {
      await server.close();
    });

    it('installs from it and downloads each archive once (cached for the next system)', async () => {
      const httpRepo = server.url;
      const first = await newSystem('http-1');
      const second = await newSystem('http-2');
      await run(first, software('Install', 'demo-httpd', { version: '1.0.0' }), [httpRepo]);
      await run(second, software('Install', 'demo-httpd', { version: '1.0.0' }), [httpRepo]);
      expect(existsSync(path.join(second.options.root as string, 'opt/demo-httpd/1.0.0/server.js'))).to.equal(true);
      const archiveRequests = server.requests.filter((p) => p.endsWith('demo-httpd-1.0.0.tar.gz'));
      expect(archiveRequests).to.have.length(1);
    });

    it('copies a file from it', async () => {
      const httpRepo = server.url;
      const system = await newSystem('http-copy');
      await run(system, { operation: 'Copy', sourcePath: 'files/welcome.txt', targetPath: 'welcome.txt' }, [httpRepo]);
      expect(await readFile(path.join(system.options.root as string, 'welcome.txt'), 'utf8')).to.include('Welcome');
      await expectDriverError(run(system, { operation: 'Copy', sourcePath: 'files/none.txt', targetPath: 'none.txt' }, [httpRepo]), 'NotFound');
    });
  });

  describe('cancellation and hook timeouts', () => {
    it('kills a running hook when the task is cancelled and reports Cancelled', async () => {
      const system = await newSystem('cancel');
      const controller = new AbortController();
      const started = Date.now();
      const running = driver.execute(software('Install', 'demo-slow', { parameters: { seconds: '30' } }), contextFor(system, [repo], { signal: controller.signal }));
      // Cancel once the hook is under way (its sleep runs inside the system's root), however long that takes on a busy machine.
      expect(await eventually(() => hookSleeping(system.options.root as string), 30_000), 'the install hook to start').to.equal(true);
      controller.abort();
      const error = await expectDriverError(running, 'Cancelled');
      expect(Date.now() - started).to.be.below(5000);
      expect(error.output).to.include('demo-slow: installing, this takes 30 s');
      expect(existsSync(path.join(system.options.root as string, 'opt/demo-slow'))).to.equal(false);
    });

    it('fails a hook that runs past the timeout with HookFailed', async () => {
      const impatient = createLocalDriver({ cacheDir: path.join(base, 'cache'), hookTimeoutMs: 500 });
      const system = await newSystem('timeout');
      const started = Date.now();
      const error = await expectDriverError(
        impatient.execute(software('Install', 'demo-slow', { parameters: { seconds: '20' } }), contextFor(system, [repo])),
        'HookFailed',
      );
      expect(error.message).to.equal('install hook of demo-slow 1.0.0 timed out after 500 ms');
      expect(Date.now() - started).to.be.below(5000);
      await impatient.close();
    });
  });
});

/** True when a `sleep` process runs with its working directory inside `root` (a package hook sleeping there). */
async function hookSleeping(root: string): Promise<boolean> {
  const real = await realpath(root).catch(() => root);
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const command = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (!command.startsWith('sleep\0')) continue;
    const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => '');
    if (cwd.startsWith(real)) return true;
  }
  return false;
}
