/**
 * Which database the command line works on: named in `--help` and after
 * every change, with a warning when the Provisor server answering on the
 * configured port uses another one (its change would go unseen).
 */
import { loadConfig, type Config } from '../../src/config';
import { databaseFingerprint, describeDatabase } from '../../src/db/data-source';

/** Prints what a command changed, saying in which database, so a change made in the wrong one is noticed at once. */
export async function changed(config: Config, message: string): Promise<void> {
  console.log(`${message} (in the ${describeDatabase(config)})`);
  const server = await serverDatabase(config);
  if (server !== undefined && server.fingerprint !== databaseFingerprint(config)) {
    process.stderr.write(
      `provisor: warning: the Provisor server answering on ${server.url} uses another database, so it does not see this change; ` +
        'run the command with the server\'s settings (DATABASE_URL, PROVISOR_DATA_DIR, PROVISOR_CONFIG)\n',
    );
  }
}

/** The database fingerprint of a Provisor server answering on the configured port, if one answers within a second. */
async function serverDatabase(config: Config): Promise<{ url: string; fingerprint: string } | undefined> {
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`;
  try {
    const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
    const body = (await response.json()) as { database?: unknown };
    return typeof body.database === 'string' ? { url, fingerprint: body.database } : undefined;
  } catch {
    // Nothing answers there, or not a Provisor: nothing to compare.
    return undefined;
  }
}

/** The configured database for `--help`; a configuration error is shown rather than thrown. */
export function databaseHelp(): string {
  try {
    return `\nDatabase: ${describeDatabase(loadConfig())} (DATABASE_URL=mysql://… for MySQL/MariaDB, PROVISOR_DATA_DIR for another data folder)\n`;
  } catch (err) {
    return `\nDatabase: unknown, the configuration is refused: ${err instanceof Error ? err.message : String(err)}\n`;
  }
}

