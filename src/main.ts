import { buildApp } from './app';
import { ConfigError, loadConfig } from './config';
import { DatabaseSettingsError } from './db/data-source';
import { createLogger } from './log';

/** Starts Provisor: reads the configuration, builds the app, listens, and shuts down cleanly on SIGINT/SIGTERM. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`provisor: configuration error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  let app;
  try {
    app = await buildApp({ config, logger });
  } catch (err) {
    if (err instanceof DatabaseSettingsError) {
      process.stderr.write(`provisor: database error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const port = await app.listen();
  logger.info('provisor listening', { url: `http://${config.host}:${port}`, db: config.databaseUrl === undefined ? 'sqlite' : 'mysql', pid: process.pid });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('shutdown failed', { err: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`provisor: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
