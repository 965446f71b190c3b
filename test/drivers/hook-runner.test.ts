/**
 * A package hook run by the local driver, and its cancellation: an abort
 * that comes before the hook's process exists still ends it at once.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { DriverError } from '../../src/drivers/driver';
import { runHook } from '../../src/drivers/local/hook-runner';
import type { HookRun } from '../../src/drivers/system-port';

describe('a package hook on the local driver', function () {
  let dir: string;
  const hook = (script: string, signal: AbortSignal): HookRun => ({
    hook: 'install',
    label: 'waiter 1.0.0',
    packageDir: dir,
    script,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    timeoutMs: 120_000,
    outputLimit: 4096,
    signal,
  });

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'provisor-hook-'));
    await writeFile(path.join(dir, 'greet.sh'), 'echo hello from $PWD\n');
    // Outlives any test timeout: only a kill ends it in time.
    await writeFile(path.join(dir, 'wait.sh'), 'sleep 120\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('runs the script in the package directory and gives its output', async () => {
    expect(await runHook(hook('greet.sh', new AbortController().signal))).to.equal(`hello from ${dir}\n`);
  });

  it('is cancelled and killed by an abort that comes while the script is being looked up', async () => {
    const controller = new AbortController();
    const running = runHook(hook('wait.sh', controller.signal));
    controller.abort();
    const outcome = await running.catch((error: unknown) => error);
    expect(outcome).to.be.instanceOf(DriverError);
    expect((outcome as DriverError).type).to.equal('Cancelled');
    expect((outcome as DriverError).message).to.contain('install hook of waiter 1.0.0');
  });

  it('is refused at once when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const outcome = await runHook(hook('wait.sh', controller.signal)).catch((error: unknown) => error);
    expect((outcome as DriverError).type).to.equal('Cancelled');
  });
});
