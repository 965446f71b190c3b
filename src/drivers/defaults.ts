import path from 'node:path';
import { SecretBox } from '../auth/secret-box';
import { systemClock, type Clock } from '../clock';
import type { Config } from '../config';
import type { Driver } from './driver';
import { createLocalDriver } from './local/local-driver';
import { createSimulatedDriver } from './simulated';
import { createSshDriver } from './ssh';

/**
 * The drivers a server (and the CLI) runs with: `local`, `ssh` and
 * `simulated`, configured from `config`. Kept apart from the app so that the
 * CLI loads the drivers without the HTTP server, portal and mail intake.
 */
export function defaultDrivers(config: Config, clock: Clock = systemClock): Map<string, Driver> {
  const ssh = createSshDriver({
    secrets: SecretBox.load(config.secretKey, config.secretKeyFile),
    cacheDir: path.join(config.dataDir, 'cache'),
    hookTimeoutMs: config.drivers.hookTimeoutMs,
    ...config.drivers.ssh,
  });
  return new Map<string, Driver>([
    // Local systems copy from ssh systems through the ssh driver's pooled connections.
    ['local', createLocalDriver({ cacheDir: path.join(config.dataDir, 'cache'), hookTimeoutMs: config.drivers.hookTimeoutMs, remoteSources: { driver: ssh.name, read: ssh.readTree }, now: () => clock.now() })],
    ['ssh', ssh],
    [
      'simulated',
      createSimulatedDriver({
        durationMs: { min: config.drivers.simulated.minMs, max: config.drivers.simulated.maxMs },
        failureRate: config.drivers.simulated.failureRate,
      }),
    ],
  ]);
}
