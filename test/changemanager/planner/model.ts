/** Planning models built as plain data, for the planner's tests. */
import type { InstalledFacts, MaintenanceWindow, PackageVersionFacts, PlanningModel, Requirement, SystemFacts } from '../../../src/changemanager/planning-model';

export const T0 = new Date('2030-01-07T00:00:00Z'); // a Monday

export function system(name: string, more: Partial<SystemFacts> = {}): SystemFacts {
  return { name, driver: 'simulated', roles: [], cluster: null, capacity: 1, hardware: { cpus: null, memoryMb: null, diskGb: null }, maintenanceWindows: [], ...more };
}

export function pkg(name: string, version: string, more: Partial<PackageVersionFacts> = {}): PackageVersionFacts {
  return { name, version, requires: [], conflicts: [], provides: [], quiesce: null, startable: true, durations: {}, ...more };
}

export const onRole = (component: string, range: string, role: string): Requirement => ({ component, range, placement: { kind: 'role', role } });
export const sameSystem = (component: string, range: string): Requirement => ({ component, range, placement: { kind: 'same-system' } });

export function installed(system: string, component: string, version: string, state: InstalledFacts['state'] = 'RUNNING', parameters: Record<string, string> = {}): InstalledFacts {
  return { system, component, version, state, parameters };
}

export const window = (days: MaintenanceWindow['days'], start: string, durationMinutes: number, timeZone = 'UTC'): MaintenanceWindow => ({ days, start, durationMinutes, timeZone });

/**
 * A three-tier application: a database server, a cluster `apps` of four
 * application servers (quiesce-capable) needing the database through the
 * `db-server` role, and a web front end needing an application server.
 */
export function threeTier(more: { systems?: SystemFacts[]; packages?: PackageVersionFacts[]; installed?: InstalledFacts[] } = {}): PlanningModel {
  const apps = ['app1', 'app2', 'app3', 'app4'];
  return {
    takenAt: T0,
    systems: [system('db1'), ...apps.map((a) => system(a, { cluster: 'apps' })), system('web1'), ...(more.systems ?? [])],
    packages: [
      pkg('demo-db', '1.0.0', { provides: ['db-server'], durations: { Update: 100, Stop: 10, Start: 10 } }),
      pkg('demo-db', '2.0.0', { provides: ['db-server'], durations: { Update: 100, Stop: 10, Start: 10 } }),
      pkg('demo-app', '1.0.0', { provides: ['app-server'], requires: [onRole('demo-db', '>=1', 'db-server')], quiesce: { hook: 'drain', timeoutSeconds: 5 }, durations: { Update: 60, Stop: 5, Start: 5 } }),
      pkg('demo-app', '2.0.0', { provides: ['app-server'], requires: [onRole('demo-db', '>=2', 'db-server')], quiesce: { hook: 'drain', timeoutSeconds: 5 }, durations: { Update: 60, Stop: 5, Start: 5 } }),
      pkg('demo-web', '1.0.0', { requires: [onRole('demo-app', '*', 'app-server')], durations: { Stop: 3, Start: 3 } }),
      ...(more.packages ?? []),
    ],
    installed: [installed('db1', 'demo-db', '1.0.0'), ...apps.map((a) => installed(a, 'demo-app', '1.0.0')), installed('web1', 'demo-web', '1.0.0'), ...(more.installed ?? [])],
  };
}

/** Options that make a plan repeatable: a schedule budget and no time limit in the way. */
export const repeatable = { seed: 1, maxSchedules: 2000, timeLimitMs: 3_600_000 } as const;
