import { expect } from 'chai';
import { freshDataSource } from './support/harness';

describe('the migrations', function () {
  this.timeout(60_000);

  it('build exactly the schema the entities describe', async () => {
    const { dataSource, dispose } = await freshDataSource();
    try {
      const pending = await dataSource.driver.createSchemaBuilder().log();
      expect(pending.upQueries.map((q) => q.query)).to.deep.equal([]);
      const applied = (await dataSource.query('SELECT COUNT(*) AS n FROM migrations')) as Array<{ n: unknown }>;
      expect(Number(applied[0]?.n)).to.equal(dataSource.migrations.length);
    } finally {
      await dispose();
    }
  });
});
