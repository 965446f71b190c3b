import crypto from 'node:crypto';
import { buildApp } from '../../src/app';
import { createLogger } from '../../src/log';
import type { FreshDatabase } from './databases';

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

export const BENCH_SYSTEM = 'bench-sim-1';

/** A random password per run: nothing in the repository or the output is a usable secret. */
export function benchCredentials(): Credentials {
  return { username: 'bench', password: crypto.randomBytes(12).toString('base64url') };
}

/**
 * Brings a fresh database to the state the servers under test expect: schema
 * migrated, one operator user, `systems` simulated systems. Done through the
 * app's own stores (buildApp), in this process, before any server starts.
 */
export async function seed(db: FreshDatabase, credentials: Credentials, systems: readonly string[] = [BENCH_SYSTEM]): Promise<void> {
  const config = db.config();
  const app = await buildApp({ config, logger: createLogger('error') });
  try {
    await app.users.addUser({ name: credentials.username, role: 'operator', password: credentials.password });
    for (const name of systems) await app.systems.add(name, 'simulated');
  } finally {
    await app.close(0);
  }
}
