/**
 * `provisor package list|show`: the packages the registered repositories
 * offer, their versions and the parameters each version declares, so an
 * operator knows what Install and Configure accept without reading manifests.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { defaultDrivers } from '../../src/drivers/defaults';
import { systemClock } from '../../src/clock';
import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/db/data-source';
import { PackageRepositories } from '../../src/drivers/local';
import { describeParameter } from '../../src/drivers/local/package-manifest';
import { PackageCatalog, type PackageView } from '../../src/provisioning/packages';
import { SystemRegistry } from '../../src/provisioning/systems';
import { action, usage } from './exit';
import { table } from './format';

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Every package the registered repositories offer, by name, highest version first (the first repository's copy of a version wins). */
async function offeredPackages(): Promise<Map<string, PackageView['versions']>> {
  const config = loadConfig();
  const dataSource = await openDatabase(config);
  let locations: string[];
  try {
    locations = await new SystemRegistry(dataSource, defaultDrivers(config), config.drivers.systemsDir, systemClock).repositoryLocations();
  } finally {
    await dataSource.destroy();
  }
  if (locations.length === 0) throw usage('no package repository is registered (provisor repository add --demo, or provisor repository add LOCATION)');
  const repositories = new PackageRepositories({ cacheDir: path.join(config.dataDir, 'cache'), indexTtlMs: 0, fetchTimeoutMs: config.outbound.timeoutMs, now: () => Date.now() });
  const packages = await new PackageCatalog(() => Promise.resolve(locations), repositories).list();
  return new Map(packages.map((p) => [p.name, p.versions]));
}

export function addPackageCommands(program: Command): void {
  const pkg = program.command('package').description('packages offered by the registered repositories: versions and declared parameters');
  pkg
    .command('list')
    .description('list the packages: name, versions (highest first), description')
    .action(
      action(async () => {
        const rows = [...(await offeredPackages()).entries()].map(([name, versions]) => [name, versions.map((v) => v.version).join(', '), versions[0]?.description ?? '']);
        for (const line of table([['PACKAGE', 'VERSIONS', 'DESCRIPTION'], ...rows])) out(line);
      }),
    );
  pkg
    .command('show <name>')
    .description('one package: each version with what it requires and provides and the parameters Install and Configure accept')
    .option('--version <version>', 'only this version (or the highest one it is a prefix of)')
    .action(
      action(async (name: string, opts: { version?: string }) => {
        const packages = await offeredPackages();
        const versions = packages.get(name);
        if (versions === undefined) throw usage(`no registered repository offers a package "${name}" (provisor package list shows them)`);
        const wanted = opts.version;
        const shown = wanted === undefined ? versions : versions.filter((v) => v.version === wanted || v.version.startsWith(`${wanted}.`)).slice(0, 1);
        if (shown.length === 0) throw usage(`${name} has no version ${wanted ?? ''} (versions: ${versions.map((v) => v.version).join(', ')})`);
        for (const v of shown) {
          out(`${name} ${v.version}${v.description === undefined ? '' : `: ${v.description}`}`);
          if (v.runs) out('  runs a process (Start, Stop)');
          if (v.provides.length > 0) out(`  provides ${v.provides.join(', ')}`);
          for (const r of v.requires) out(`  requires ${r.component}${r.range === '*' ? '' : ` ${r.range}`}${r.sameSystem ? ' on the same system' : ''}`);
          if (v.parameters === undefined) out('  parameters: not declared (any name is accepted)');
          else if (v.parameters.length === 0) out('  parameters: none');
          else {
            out('  parameters (Install, InitialConfigure, Configure):');
            for (const line of table(v.parameters.map((p) => [`    ${p.name}`, describeParameter(p), p.description ?? '']))) out(line);
          }
        }
      }),
    );
}
