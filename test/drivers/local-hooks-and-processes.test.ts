/**
 * The local driver's hooks and processes in the corners: the hook
 * environment, output limits, start-up crashes, stubborn processes, stale
 * pid files, and an Update whose new version fails.
 */
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { readFile, realpath, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Driver, SoftwareOperation, SystemDescriptor, Task, TaskResult } from '../../src/drivers/driver';
import { createLocalDriver } from '../../src/drivers/local/local-driver';
import { freePort } from '../support/processes';
import {
  buildFixtureRepository,
  contextFor,
  eventually,
  expectDriverError,
  killGroup,
  localSystem,
  makeTempDir,
  processAlive,
  removeDir,
} from './fixtures';

describe('local driver hooks and processes', function () {
  this.timeout(60_000);
  let base: string;
  let repo: string;
  let driver: Driver;
  const pids = new Set<number>();
  const SLEEPER = ['/bin/sh', '-c', 'exec sleep 120'];

  before(async () => {
    base = await makeTempDir('local-hooks');
    repo = await buildFixtureRepository(path.join(base, 'repo'), [
      {
        name: 'env-probe',
        version: '1.0.0',
        files: { 'probe.sh': 'env | grep -e ^PROVISOR_ -e ^SECRET_ | sort > "$PROVISOR_SYSTEM_ROOT/probe.env"\npwd > "$PROVISOR_SYSTEM_ROOT/probe.cwd"\n' },
        hooks: { install: 'probe.sh' },
      },
      {
        name: 'chatty',
        version: '1.0.0',
        files: { 'chatty.sh': 'i=0\nwhile [ $i -lt 5000 ]; do echo "line $i of chatter"; i=$((i+1)); done\necho "the last line"\n' },
        hooks: { install: 'chatty.sh' },
      },
      { name: 'crashy', version: '1.0.0', files: { 'README': 'crashes' }, start: ['/bin/sh', '-c', 'echo "crashing on purpose" >&2; exit 4'] },
      {
        name: 'stubborn',
        version: '1.0.0',
        files: { 'stubborn.js': "process.on('SIGTERM', () => console.log('ignoring SIGTERM'));\nsetInterval(() => {}, 1000);\n" },
        start: ['$NODE', 'stubborn.js'],
      },
      { name: 'sleeper', version: '1.0.0', files: { 'README': 'sleeps' }, start: SLEEPER },
      { name: 'flaky', version: '1.0.0', files: { 'ok.sh': 'echo fine\n' }, hooks: { install: 'ok.sh' }, start: SLEEPER },
      { name: 'flaky', version: '2.0.0', files: { 'bad.sh': 'echo "2.0.0 cannot install here" >&2\nexit 1\n' }, hooks: { install: 'bad.sh' }, start: SLEEPER },
      {
        // Listens on its port parameter, only well after the start-up grace.
        name: 'slow-listener',
        version: '1.0.0',
        files: { 'server.js': "setTimeout(() => require('node:http').createServer((q, r) => r.end('up')).listen(Number(process.env.PROVISOR_PARAM_PORT), '127.0.0.1'), 1500);\n" },
        start: ['$NODE', 'server.js'],
        declarations: { ready: { listen: true, timeoutSeconds: 20 } },
      },
      { name: 'never-listens', version: '1.0.0', files: { 'README': 'sleeps, never listens' }, start: SLEEPER, declarations: { ready: { listen: true, timeoutSeconds: 1 } } },
      {
        name: 'ready-hook',
        version: '1.0.0',
        files: { 'ready.sh': 'n=$(cat "$PROVISOR_SYSTEM_ROOT/probes" 2>/dev/null || echo 0)\necho $((n+1)) > "$PROVISOR_SYSTEM_ROOT/probes"\n[ $n -ge 2 ]\n' },
        start: SLEEPER,
        declarations: { ready: { hook: 'ready.sh', timeoutSeconds: 20 } },
      },
    ]);
    driver = createLocalDriver({ cacheDir: path.join(base, 'cache'), stopTimeoutMs: 300 });
  });

  after(async () => {
    for (const pid of pids) killGroup(pid);
    await driver.close();
    await removeDir(base);
  });

  async function newSystem(name: string): Promise<{ system: SystemDescriptor; root: string }> {
    const system = localSystem(name, path.join(base, 'systems', name));
    await driver.prepareSystem(system);
    return { system, root: await realpath(system.options.root as string) };
  }

  async function run(system: SystemDescriptor, operation: SoftwareOperation, component: string, version?: string, params: Record<string, string> = {}, on = driver): Promise<TaskResult> {
    const task: Task = {
      operation,
      component,
      ...(version === undefined ? {} : { version }),
      parameters: Object.entries(params).map(([name, value]) => ({ name, value })),
    };
    const result = await on.execute(task, contextFor(system, [repo], { requestId: 'req-42' }));
    if (typeof result.pid === 'number') pids.add(result.pid);
    return result;
  }

  it('gives hooks the PROVISOR_ variables and parameters, the package as cwd, and none of Provisor’s environment', async () => {
    process.env.SECRET_PROVISOR_TEST = 'must not leak';
    try {
      const { system, root } = await newSystem('env');
      await run(system, 'Install', 'env-probe', undefined, { 'my-param.x': 'value with spaces', port: '8080' });
      const lines = (await readFile(path.join(root, 'probe.env'), 'utf8')).trim().split('\n');
      const packageDir = path.join(root, 'opt/env-probe/1.0.0');
      expect(lines).to.include.members([
        `PROVISOR_SYSTEM_ROOT=${root}`,
        'PROVISOR_COMPONENT=env-probe',
        'PROVISOR_VERSION=1.0.0',
        `PROVISOR_PACKAGE_DIR=${packageDir}`,
        `PROVISOR_CONFIG=${path.join(root, 'etc/env-probe/config.json')}`,
        'PROVISOR_PARAM_MY_PARAM_X=value with spaces',
        'PROVISOR_PARAM_PORT=8080',
        'PROVISOR_REQUEST_ID=req-42',
      ]);
      expect(lines.join('\n')).not.to.include('SECRET_PROVISOR_TEST');
      expect((await readFile(path.join(root, 'probe.cwd'), 'utf8')).trim()).to.equal(packageDir);
    } finally {
      delete process.env.SECRET_PROVISOR_TEST;
    }
  });

  it('keeps only the end of a long hook output', async () => {
    const terse = createLocalDriver({ cacheDir: path.join(base, 'cache'), outputLimitBytes: 4096 });
    const { system } = await newSystem('chatty');
    const result = await run(system, 'Install', 'chatty', undefined, {}, terse);
    expect(Buffer.byteLength(result.output)).to.be.at.most(4096 + 16);
    expect(result.output).to.include('the last line').and.not.include('line 0 of chatter');
    await terse.close();
  });

  it('fails Start with HookFailed and the log tail when the process dies during start-up', async () => {
    const { system, root } = await newSystem('crashy');
    await run(system, 'Install', 'crashy');
    const error = await expectDriverError(run(system, 'Start', 'crashy'), 'HookFailed');
    expect(error.message).to.equal('start command of crashy 1.0.0 exited with code 4 during start-up: crashing on purpose');
    expect(error.output).to.include('crashing on purpose');
    expect(existsSync(path.join(root, 'var/run/crashy.pid'))).to.equal(false);
  });

  describe('readiness: a started component counts as started when it is ready', () => {
    it('ends Start only once the component accepts connections, however long after the start-up grace', async () => {
      const { system } = await newSystem('slow-listener');
      await run(system, 'Install', 'slow-listener');
      const port = await freePort();
      const started = await run(system, 'Start', 'slow-listener', undefined, { port: String(port) });
      expect(started.pid).to.be.a('number');
      // No retry, no wait: the server must answer now.
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).to.equal('up');
      await run(system, 'Stop', 'slow-listener');
    });

    it('fails Start naming the check and the timeout, and ends the process, when it never accepts connections', async () => {
      const { system, root } = await newSystem('never-listens');
      await run(system, 'Install', 'never-listens');
      const error = await expectDriverError(run(system, 'Start', 'never-listens'), 'HookFailed');
      expect(error.message).to.equal('never-listens 1.0.0 was not ready (accepting connections) within 1 s; it was stopped');
      expect(existsSync(path.join(root, 'var/run/never-listens.pid')), 'no pid file left').to.equal(false);
    });

    it('runs the package\'s ready hook until it exits 0', async () => {
      const { system, root } = await newSystem('ready-hook');
      await run(system, 'Install', 'ready-hook');
      await run(system, 'Start', 'ready-hook');
      expect((await readFile(path.join(root, 'probes'), 'utf8')).trim()).to.equal('3');
      await run(system, 'Stop', 'ready-hook');
    });
  });

  it('kills a process that ignores SIGTERM after the stop timeout', async () => {
    const { system } = await newSystem('stubborn');
    await run(system, 'Install', 'stubborn');
    const { pid } = await run(system, 'Start', 'stubborn');
    const result = await run(system, 'Stop', 'stubborn');
    expect(result.output).to.include('killed after the stop timeout');
    expect(await eventually(() => !processAlive(pid as number))).to.equal(true);
  });

  it('does not mistake a stale pid file naming an unrelated live process for the component', async () => {
    const { system, root } = await newSystem('stale');
    await run(system, 'Install', 'sleeper');
    // Our own pid is alive, but its start time is not the one recorded.
    await writeFile(path.join(root, 'var/run/sleeper.pid'), `${process.pid}\n1\n`);
    const started = await run(system, 'Start', 'sleeper');
    expect(started.pid).to.be.a('number').and.not.equal(process.pid);
    await run(system, 'Stop', 'sleeper');
    expect(processAlive(process.pid)).to.equal(true);
  });

  it('stops a running component on Uninstall', async () => {
    const { system, root } = await newSystem('uninstall-running');
    await run(system, 'Install', 'sleeper');
    const { pid } = await run(system, 'Start', 'sleeper');
    await run(system, 'Uninstall', 'sleeper');
    expect(await eventually(() => !processAlive(pid as number))).to.equal(true);
    expect(existsSync(path.join(root, 'opt/sleeper'))).to.equal(false);
  });

  it('switches back and restarts the old version when the new version of an Update fails', async () => {
    const { system, root } = await newSystem('flaky');
    await run(system, 'Install', 'flaky', '1.0.0');
    const { pid: before } = await run(system, 'Start', 'flaky');
    const error = await expectDriverError(run(system, 'Update', 'flaky', '2.0.0'), 'HookFailed');
    expect(error.message).to.equal('install hook of flaky 2.0.0 exited with code 1: 2.0.0 cannot install here');
    expect(error.output).to.include('switching flaky back to 1.0.0');
    const state = JSON.parse(await readFile(path.join(root, 'opt/flaky/state.json'), 'utf8')) as { active: string; history: string[] };
    expect(state).to.deep.include({ active: '1.0.0', history: [] });
    expect(existsSync(path.join(root, 'opt/flaky/2.0.0'))).to.equal(false);
    const running = Number((await readFile(path.join(root, 'var/run/flaky.pid'), 'utf8')).split('\n')[0]);
    pids.add(running);
    expect(processAlive(running)).to.equal(true);
    expect(processAlive(before as number)).to.equal(false);
    await run(system, 'Stop', 'flaky');
  });

  it('validates on the request path in microseconds once the index is cached', async () => {
    const { system } = await newSystem('fast');
    const task: Task = { operation: 'Install', component: 'sleeper', version: '1.0.0', parameters: [] };
    const ctx = contextFor(system, [repo]);
    await driver.validate(task, ctx);
    const runs = 2000;
    const started = process.hrtime.bigint();
    for (let i = 0; i < runs; i += 1) await driver.validate(task, ctx);
    const perCallMicros = Number(process.hrtime.bigint() - started) / 1000 / runs;
    expect(perCallMicros).to.be.below(250);
  });
});
