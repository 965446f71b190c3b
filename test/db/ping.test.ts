import { expect } from 'chai';
import type { DataSource, QueryRunner } from 'typeorm';
import { pingDatabase } from '../../src/db/data-source';
import { testDatabaseUrl, withFreshDataSource } from '../support/harness';

describe('the health check\'s database ping', () => {
  let dataSource: DataSource;
  withFreshDataSource((opened) => (dataSource = opened));

  it('answers while the database answers', async () => {
    await pingDatabase(dataSource);
    await Promise.all([pingDatabase(dataSource), pingDatabase(dataSource), pingDatabase(dataSource)]);
  });

  it('does not wait behind queries queued for the main pool (MySQL/MariaDB)', async function () {
    if (testDatabaseUrl() === undefined) this.skip();
    const poolSize = Number((dataSource.options as { poolSize?: number }).poolSize);
    expect(poolSize, 'the main pool has a size').to.be.greaterThan(0);
    // Every connection of the main pool is taken, and one more query waits for one of them.
    const held: QueryRunner[] = [];
    try {
      for (let i = 0; i < poolSize; i++) {
        const runner = dataSource.createQueryRunner();
        await runner.connect();
        held.push(runner);
      }
      let queuedDone = false;
      const queued = dataSource.query('SELECT 1').then(() => {
        queuedDone = true;
      });
      await pingDatabase(dataSource);
      expect(queuedDone, 'the queued query is still waiting for a connection').to.equal(false);
      await held.pop()?.release();
      await queued;
    } finally {
      await Promise.all(held.map((runner) => runner.release()));
    }
  });
});
