/**
 * The planning snapshot: reads, at one moment, what the planner plans over
 * (see planning-model.ts) from the database and the registered package
 * repositories.
 */
import type { DataSource } from 'typeorm';
import { InstalledComponent, ManagedSystem, PackageRepository, type ComponentState } from '../../entities';
import type { Clock } from '../clock';
import { DriverError } from '../drivers/driver';
import { type PackageManifest, requirementsOf } from '../drivers/local/package-manifest';
import type { PackageRepositories } from '../drivers/local/package-repositories';
import { ProvisorError } from '../errors';
import { compareVersions } from '../packaging/versions';
import { parseParameters } from '../provisioning/resources';
import { loadObservedDurations, withObservedDurations } from './learned-durations';
import type { InstalledFacts, PackageVersionFacts, PlanningModel } from './planning-model';
import { SystemFactsStore } from './system-facts';

/** What {@link loadPlanningModel} reads from. */
export interface PlanningModelSources {
  readonly dataSource: DataSource;
  /** Reads the repositories' indexes (shares their cache with whoever else uses it). */
  readonly repositories: PackageRepositories;
  readonly clock: Clock;
}

/**
 * Takes a planning snapshot: every managed system with its facts, every
 * version every registered repository offers (a version offered by several
 * repositories counts once, from the one searched first) with its
 * operations' durations as learned from recent tasks (learned-durations.ts)
 * where there are enough of them, and every
 * installed component with its version, state and configuration parameters.
 * Systems, packages and components are sorted by name (packages' versions
 * highest first), so equal states give equal snapshots.
 * @throws ProvisorError `Unavailable` when a registered repository cannot be read.
 */
export async function loadPlanningModel(sources: PlanningModelSources): Promise<PlanningModel> {
  const { dataSource } = sources;
  const takenAt = sources.clock.date();
  const systems = await new SystemFactsStore(dataSource).list();
  const locations = (await dataSource.getRepository(PackageRepository).find({ order: { priority: 'ASC', id: 'ASC' } })).map((r) => r.location);
  let offered: Awaited<ReturnType<PackageRepositories['offered']>>;
  try {
    offered = await sources.repositories.offered(locations);
  } catch (error) {
    if (error instanceof DriverError) throw new ProvisorError('Unavailable', `the planning model cannot be read: ${error.message}`, undefined, { cause: error });
    throw error;
  }
  const observed = await loadObservedDurations(dataSource, takenAt);
  const seen = new Set<string>();
  const packages: PackageVersionFacts[] = [];
  for (const { packages: manifests } of offered) {
    for (const manifest of manifests) {
      const key = `${manifest.name}\0${manifest.version}`;
      if (seen.has(key)) continue;
      seen.add(key);
      packages.push(withObservedDurations(packageFacts(manifest), observed));
    }
  }
  packages.sort((a, b) => (a.name === b.name ? compareVersions(b.version, a.version) : a.name < b.name ? -1 : 1));

  const names = new Map((await dataSource.getRepository(ManagedSystem).find({ select: { id: true, name: true } })).map((s) => [s.id, s.name]));
  const rows = await dataSource.getRepository(InstalledComponent).find({ order: { systemId: 'ASC', name: 'ASC' } });
  const installed: InstalledFacts[] = rows.flatMap((row) => {
    const system = names.get(row.systemId);
    if (system === undefined) return [];
    return [{ system, component: row.name, version: row.version, state: row.state as ComponentState, parameters: parseParameters(row.parameters) }];
  });
  installed.sort((a, b) => (a.system === b.system ? (a.component < b.component ? -1 : 1) : a.system < b.system ? -1 : 1));
  return { takenAt, systems, packages, installed };
}

/** What a manifest declares, as the planner reads it. */
export function packageFacts(manifest: PackageManifest): PackageVersionFacts {
  return {
    name: manifest.name,
    version: manifest.version,
    requires: requirementsOf(manifest),
    conflicts: manifest.conflicts,
    provides: manifest.provides,
    quiesce: manifest.quiesce ?? null,
    startable: manifest.start !== undefined,
    durations: manifest.durations,
  };
}
