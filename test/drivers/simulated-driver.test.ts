import { expect } from 'chai';
import type { SystemDescriptor, Task } from '../../src/drivers/driver';
import { createSimulatedDriver } from '../../src/drivers/simulated';
import { contextFor, expectDriverError } from './fixtures';

describe('simulated driver', () => {
  const system: SystemDescriptor = { name: 'sim-1', driver: 'simulated', options: {} };
  const install = (component = 'x', version?: string): Task => ({
    operation: 'Install',
    component,
    ...(version === undefined ? {} : { version }),
    parameters: [],
  });

  /** Random numbers from a list, in order. */
  const sequence = (...values: number[]): (() => number) => {
    let i = 0;
    return () => values[i++ % values.length] as number;
  };

  /** A sleep that records what it was asked to wait, and does not wait. */
  const recordingSleep = (): { waits: number[]; sleep: (ms: number) => Promise<void> } => {
    const waits: number[] = [];
    return { waits, sleep: async (ms) => void waits.push(ms) };
  };

  it('waits a duration drawn from the range, then succeeds with a readable output', async () => {
    const { waits, sleep } = recordingSleep();
    const driver = createSimulatedDriver({ durationMs: { min: 100, max: 300 }, failureRate: 0.2, random: sequence(0.5, 0.9), sleep });
    const result = await driver.execute(install('demo-httpd'), contextFor(system, []));
    expect(waits).to.deep.equal([200]);
    expect(result.output).to.equal('simulated Install of demo-httpd on sim-1 (200 ms)');
    expect(result.version).to.equal('1.0.0');
  });

  it('reports the requested version on Install', async () => {
    const driver = createSimulatedDriver({ durationMs: 0, sleep: recordingSleep().sleep });
    expect((await driver.execute(install('x', '2.3.4'), contextFor(system, []))).version).to.equal('2.3.4');
  });

  it('fails with a non-retryable Simulated error when the draw is under the failure rate', async () => {
    const driver = createSimulatedDriver({ durationMs: 10, failureRate: 0.2, random: sequence(0.5, 0.1), sleep: recordingSleep().sleep });
    const error = await expectDriverError(driver.execute(install('demo-httpd'), contextFor(system, [])), 'Simulated');
    expect(error.retryable).to.equal(false);
    expect(error.message).to.equal('simulated failure of Install of demo-httpd on sim-1');
  });

  it('fails about as often as the failure rate says', async () => {
    const driver = createSimulatedDriver({ durationMs: 0, failureRate: 0.3, sleep: recordingSleep().sleep });
    let failures = 0;
    const runs = 2000;
    for (let i = 0; i < runs; i += 1) {
      try {
        await driver.execute(install(), contextFor(system, []));
      } catch {
        failures += 1;
      }
    }
    expect(failures / runs).to.be.within(0.25, 0.35);
  });

  it('takes durationMs and failureRate overrides from the system options', async () => {
    const { waits, sleep } = recordingSleep();
    const driver = createSimulatedDriver({ durationMs: 5, failureRate: 0, random: sequence(0.25), sleep });
    const slow: SystemDescriptor = { name: 'slow', driver: 'simulated', options: { durationMs: '1000-2000', failureRate: '1' } };
    await expectDriverError(driver.execute(install(), contextFor(slow, [])), 'Simulated');
    expect(waits).to.deep.equal([1250]);
  });

  it('refuses unreadable system options with InvalidParameter', async () => {
    const driver = createSimulatedDriver({ sleep: recordingSleep().sleep });
    const bad: SystemDescriptor = { name: 'bad', driver: 'simulated', options: { failureRate: 'often' } };
    const error = await expectDriverError(driver.validate(install(), contextFor(bad, [])), 'InvalidParameter');
    expect(error.message).to.include('bad').and.to.include('failureRate');
    await expectDriverError(driver.execute(install(), contextFor(bad, [])), 'InvalidParameter');
  });

  it('refuses out-of-range factory options at once', () => {
    expect(() => createSimulatedDriver({ failureRate: 1.5 })).to.throw(RangeError, /failureRate/);
    expect(() => createSimulatedDriver({ durationMs: { min: 10, max: 1 } })).to.throw(RangeError, /durationMs/);
  });

  it('validates any package but refuses escaping paths', async () => {
    const driver = createSimulatedDriver();
    await driver.validate(install('anything-at-all', '0.0.1'), contextFor(system, []));
    await expectDriverError(driver.validate({ operation: 'Delete', path: '../../x' }, contextFor(system, [])), 'PathOutsideRoot');
  });

  it('rolls back to the previous version the engine recorded', async () => {
    const driver = createSimulatedDriver({ durationMs: 0, sleep: recordingSleep().sleep });
    const component = { name: 'x', version: '2.0.0', state: 'RUNNING' as const, history: ['1.5.0', '1.0.0'], pid: 42 };
    const result = await driver.execute({ operation: 'Rollback', component: 'x', parameters: [] }, contextFor(system, [], { component }));
    expect(result.version).to.equal('1.5.0');
  });

  it('is cancelled mid-wait by the signal', async () => {
    const driver = createSimulatedDriver({ durationMs: 10_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();
    await expectDriverError(driver.execute(install(), contextFor(system, [], { signal: controller.signal })), 'Cancelled');
    expect(Date.now() - started).to.be.below(2000);
  });
});
