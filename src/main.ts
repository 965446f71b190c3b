import net from 'node:net';
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
  // Refused before any work (database, catalog): a busy port is said in one line, with the way out.
  const busy = await portInUse(config.port, config.host);
  if (busy) {
    process.stderr.write(`provisor: port ${config.port} on ${config.host} is already in use (another Provisor?); start on another one with PORT=${config.port === 65535 ? 8081 : config.port + 1} npm start\n`);
    process.exit(2);
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

/** Whether binding `port` on `host` fails because something already listens there (port 0 is never busy). */
function portInUse(port: number, host: string): Promise<boolean> {
  if (port === 0) return Promise.resolve(false);
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EADDRINUSE'));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve(false)));
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`provisor: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
