import { DataSource } from 'typeorm';
import { loadConfig } from './src/config';
import { dataSourceOptions } from './src/db/data-source';

/**
 * The TypeORM DataSource for the configured database (the `typeorm` CLI and
 * scripts use it): SQLite under data/ by default, MySQL/MariaDB with DATABASE_URL.
 */
export const AppDataSource = new DataSource(dataSourceOptions(loadConfig()));
export default AppDataSource;
