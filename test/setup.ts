/**
 * Mocha root setup. The whole suite runs against SQLite by default and against
 * MySQL/MariaDB when DATABASE_URL is set (each test server then gets a fresh
 * database of its own on that server).
 */
process.env.TZ = 'UTC';
