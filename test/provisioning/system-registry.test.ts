/**
 * The registry's cached lookups: concurrent lookups of one system (or of the
 * package repositories) share one query, and a system or repository added
 * while a lookup is under way is not hidden by it.
 */
import { expect } from 'chai';
import type { DataSource } from 'typeorm';
import { ManualClock } from '../../src/clock';
import { createSimulatedDriver } from '../../src/drivers/simulated';
import { SystemRegistry } from '../../src/provisioning/systems';
import { withFreshDataSource } from '../support/harness';
import { countStatements } from '../support/statement-counter';

describe('SystemRegistry.get', () => {
  let dataSource: DataSource;
  withFreshDataSource((opened) => (dataSource = opened));

  function registry(clock: ManualClock): SystemRegistry {
    return new SystemRegistry(dataSource, new Map([['simulated', createSimulatedDriver({ durationMs: { min: 1, max: 1 } })]]), '.', clock);
  }

  it('answers 50 concurrent lookups of one system with one query, and the next from the cache', async () => {
    const clock = new ManualClock();
    const systems = registry(clock);
    await systems.add('sim-a', 'simulated');
    const counted = countStatements(dataSource, (sql) => /FROM\s+"?`?managed_system/i.test(sql));
    const found = await Promise.all(Array.from({ length: 50 }, () => systems.get('sim-a')));
    await systems.get('sim-a');
    const { count } = counted.stop();
    expect(found.every((s) => s?.name === 'sim-a' && s.driver === 'simulated')).to.equal(true);
    expect(count).to.equal(1);
  });

  it('does not keep what a lookup under way read before the system was added', async () => {
    const clock = new ManualClock();
    const systems = registry(clock);
    const during = systems.get('sim-b');
    await systems.add('sim-b', 'simulated');
    await during;
    expect((await systems.get('sim-b'))?.name).to.equal('sim-b');
  });

  it('reads again once the cache time has passed', async () => {
    const clock = new ManualClock();
    const systems = registry(clock);
    await systems.add('sim-c', 'simulated');
    await systems.get('sim-c');
    const counted = countStatements(dataSource, (sql) => /FROM\s+"?`?managed_system/i.test(sql));
    await systems.get('sim-c');
    clock.advance(1001);
    await systems.get('sim-c');
    expect(counted.stop().count).to.equal(1);
  });
});

describe('SystemRegistry.repositoryLocations', () => {
  let dataSource: DataSource;
  withFreshDataSource((opened) => (dataSource = opened));

  it('answers 50 concurrent asks with one query, and does not keep a read begun before a repository was added', async () => {
    const clock = new ManualClock();
    const systems = new SystemRegistry(dataSource, new Map(), '.', clock);
    await systems.addRepository('https://repo-a.example/packages', 10);
    const counted = countStatements(dataSource, (sql) => /FROM\s+"?`?package_repository/i.test(sql));
    const answers = await Promise.all(Array.from({ length: 50 }, () => systems.repositoryLocations()));
    await systems.repositoryLocations();
    expect(counted.stop().count).to.equal(1);
    expect(answers.every((a) => a.length === 1 && a[0] === 'https://repo-a.example/packages')).to.equal(true);
    clock.advance(1001);
    const during = systems.repositoryLocations();
    await systems.addRepository('https://repo-b.example/packages', 20);
    await during;
    expect(await systems.repositoryLocations()).to.deep.equal(['https://repo-a.example/packages', 'https://repo-b.example/packages']);
  });
});
