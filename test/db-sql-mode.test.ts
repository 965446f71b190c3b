import { expect } from 'chai';
import { DataSource } from 'typeorm';
import { loadConfig } from '../src/config';
import { assertUsableSqlMode, DatabaseSettingsError, dataSourceOptions, detectMysqlFlavour } from '../src/db/data-source';
import { freshDataSource } from './support/harness';

describe('database server settings', () => {
  it('accepts the server the suite runs on', async () => {
    const { dataSource, dispose } = await freshDataSource();
    try {
      await assertUsableSqlMode(dataSource);
    } finally {
      await dispose();
    }
  });

  it('refuses a MySQL/MariaDB session whose sql_mode has NO_BACKSLASH_ESCAPES, saying how to fix it', async function () {
    const url = process.env.DATABASE_URL;
    if (url === undefined) return this.skip(); // SQLite has no SQL mode: the MariaDB run of the suite covers this
    // One connection, so that the mode set here is the one the check reads.
    const config = loadConfig({ DATABASE_URL: url });
    const options = dataSourceOptions(config, { mysqlFlavour: await detectMysqlFlavour(url) });
    const dataSource = new DataSource({ ...options, poolSize: 1 } as typeof options);
    await dataSource.initialize();
    try {
      await dataSource.query("SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',NO_BACKSLASH_ESCAPES')");
      let refused: unknown;
      await assertUsableSqlMode(dataSource).catch((err: unknown) => {
        refused = err;
      });
      expect(refused).to.be.instanceOf(DatabaseSettingsError);
      expect((refused as Error).message).to.match(/NO_BACKSLASH_ESCAPES/).and.to.match(/SET GLOBAL sql_mode/);
    } finally {
      await dataSource.destroy();
    }
  });
});
