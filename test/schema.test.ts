import { expect } from 'chai';
import { loadConfig } from '../src/config';
import { openDatabase } from '../src/db/data-source';
import { freshEnvironment } from './support/harness';

describe('the migrations', function () {
  this.timeout(60_000);

  it('build exactly the schema the entities describe', async () => {
    const environment = await freshEnvironment();
    const dataSource = await openDatabase(loadConfig(environment.env));
    try {
      const pending = await dataSource.driver.createSchemaBuilder().log();
      expect(pending.upQueries.map((q) => q.query)).to.deep.equal([]);
      const applied = (await dataSource.query('SELECT COUNT(*) AS n FROM migrations')) as Array<{ n: unknown }>;
      expect(Number(applied[0]?.n)).to.equal(dataSource.migrations.length);
    } finally {
      await dataSource.destroy();
      await environment.cleanup();
    }
  });
});
