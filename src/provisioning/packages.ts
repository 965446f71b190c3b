/**
 * The packages the registered repositories offer: each name with its
 * versions (highest first) and what each version declares, for operators
 * (`provisor package list|show`) and SOAP clients (`Software.ListPackages`)
 * who want to know what Install and Configure accept.
 */
import type { PackageRepositories } from '../drivers/local/package-repositories';
import type { PackageManifest, ParameterDeclaration } from '../drivers/local/package-manifest';
import { compareVersions } from '../packaging/versions';

export interface PackageVersionView {
  readonly version: string;
  readonly description?: string;
  /** The component runs a process (Start and Stop apply). */
  readonly runs: boolean;
  /** Roles a system has while this version is installed. */
  readonly provides: readonly string[];
  /** Components this one needs: `range` is a version range (`*` for any), `sameSystem` whether they must be on its system. */
  readonly requires: readonly { readonly component: string; readonly range: string; readonly sameSystem: boolean }[];
  /** The parameters Install, InitialConfigure and Configure accept; undefined when the manifest declares none (any name is accepted). */
  readonly parameters?: readonly ParameterDeclaration[];
}

export interface PackageView {
  readonly name: string;
  /** Highest version first. */
  readonly versions: readonly PackageVersionView[];
}

function versionView(manifest: PackageManifest): PackageVersionView {
  const requires = [
    ...manifest.dependencies.map((d) => ({ component: d.name, range: d.minVersion === undefined ? '*' : `>=${d.minVersion}`, sameSystem: true })),
    ...manifest.requires.map((r) => ({ component: r.component, range: r.range, sameSystem: r.placement.kind === 'same-system' })),
  ];
  return {
    version: manifest.version,
    description: manifest.description,
    runs: manifest.start !== undefined,
    provides: manifest.provides,
    requires,
    parameters: manifest.parameters,
  };
}

/**
 * Reads the package indexes of the repositories, in their priority order:
 * the first repository's copy of a version wins, as when a package is installed.
 */
export class PackageCatalog {
  constructor(
    /** The registered repositories' locations, highest priority first. */
    private readonly locations: () => Promise<readonly string[]>,
    private readonly repositories: PackageRepositories,
  ) {}

  /** Every package, by name, each with its versions highest first. */
  async list(): Promise<PackageView[]> {
    const byName = new Map<string, PackageManifest[]>();
    for (const { packages } of await this.repositories.offered(await this.locations())) {
      for (const manifest of packages) {
        const versions = byName.get(manifest.name) ?? [];
        if (!versions.some((v) => v.version === manifest.version)) versions.push(manifest);
        byName.set(manifest.name, versions);
      }
    }
    return [...byName.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, versions]) => ({ name, versions: versions.sort((a, b) => compareVersions(b.version, a.version)).map(versionView) }));
  }
}
