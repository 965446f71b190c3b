/**
 * The app inside a command: built on the configured database, and, for the
 * commands that run plans, with the deployment engine and the workflow runner
 * running in this process (the same parts `npm start` runs).
 */
import os from 'node:os';
import type { App } from '../../src/app';
import { loadConfig } from '../../src/config';

export interface SessionOptions {
  /**
   * Run the deployment engine and the workflow runner here. `listen` starts
   * them; its HTTP server is bound to a free loopback port nobody calls.
   */
  readonly run: boolean;
}

/** Builds the app, runs `fn`, and closes the app (letting running tasks finish) whatever happens. */
export async function withApp<T>(options: SessionOptions, fn: (app: App) => Promise<T>): Promise<T> {
  const config = loadConfig();
  // Loaded here, not at the top: most commands need only the database, and
  // the whole app (HTTP server, portal, mail intake, logger) costs a third of a second to load.
  const { createLogger } = await import('../../src/log');
  // The service's info lines are JSON for log collectors; on a terminal they
  // would bury the progress display. LOG_LEVEL=debug still shows everything.
  const logger = createLogger(config.logLevel === 'debug' ? 'debug' : 'error');
  const { buildApp } = await import('../../src/app');
  const app = await buildApp({ config, logger });
  try {
    if (options.run) await app.listen(0, '127.0.0.1');
    return await fn(app);
  } finally {
    await app.close(10_000);
  }
}

/** Who deploys and starts from the command line (idempotency keys are scoped to it). */
export function cliUser(): string {
  let name = 'unknown';
  try {
    name = os.userInfo().username;
  } catch {
    // No passwd entry (some containers): keep the placeholder.
  }
  return `cli:${name}`;
}
