import type { DataSource } from 'typeorm';
import { defaultDrivers } from '../../src/drivers/defaults';
import { systemClock } from '../../src/clock';
import type { Config } from '../../src/config';
import { openDatabase } from '../../src/db/data-source';
import type { Driver } from '../../src/drivers/driver';
import { DestinationPolicy } from '../../src/net/destination-policy';
import { OutboundHttp } from '../../src/net/outbound-http';
import type { ProvisioningApi } from '../../src/provisioning/api';
import { ProvisioningService } from '../../src/provisioning/provisioning-service';
import { RequestStore } from '../../src/provisioning/request-store';
import { SystemRegistry } from '../../src/provisioning/systems';

/**
 * The provisioning path the reference servers share with Provisor: the same
 * DataSource (openDatabase), system registry (cached lookups), driver
 * validation and RequestStore insert, with no engine behind it (as the SOAP
 * server runs with PROVISOR_ENGINE=false).
 */
export interface ProvisioningCore {
  readonly dataSource: DataSource;
  readonly api: ProvisioningApi;
  close(): Promise<void>;
}

/** The policed sender as the app builds it (the core only checks callbacks with it; nothing listens here). */
function outboundOf(config: Config): OutboundHttp {
  const { allowNetworks, denyNetworks, allowOwnPorts, maxResponseBytes, timeoutMs } = config.outbound;
  return new OutboundHttp(new DestinationPolicy({ allowNetworks, denyNetworks, allowOwnPorts }, () => [config.port]), { maxResponseBytes, timeoutMs });
}

export async function openProvisioningCore(config: Config): Promise<ProvisioningCore> {
  const dataSource = await openDatabase(config);
  const drivers: Map<string, Driver> = defaultDrivers(config);
  const store = new RequestStore(dataSource);
  const systems = new SystemRegistry(dataSource, drivers, config.drivers.systemsDir, systemClock);
  const api = new ProvisioningService(dataSource, store, systems, drivers, systemClock, { wake: () => undefined, abortLocal: () => false, waitForEnd: (_id, ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)), origin: () => null }, outboundOf(config));
  return {
    dataSource,
    api,
    async close() {
      await Promise.all([...drivers.values()].map((d) => d.close()));
      await dataSource.destroy();
    },
  };
}

/** Closes `server` and `core` on SIGTERM/SIGINT, then exits (so `--cpu-prof` can write its file). */
export function exitOnSignal(close: () => Promise<void>): void {
  let closing = false;
  const stop = (): void => {
    if (closing) return;
    closing = true;
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`close failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
