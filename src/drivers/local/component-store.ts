/**
 * `opt/<component>/state.json`: what is installed, the local driver's truth
 * about a component (the engine's rows mirror it).
 *
 * ```json
 * {
 *   "format": 1,
 *   "component": "demo-httpd",
 *   "active": "1.1.0",
 *   "history": ["1.0.0"],
 *   "versions": {
 *     "1.0.0": { "installedAt": "2025-01-01T10:00:00.000Z", "repository": "…", "package": { …manifest… } },
 *     "1.1.0": { … }
 *   }
 * }
 * ```
 *
 * The manifest of each installed version is kept so its hooks and start
 * command work without the repository.
 */
import { DriverError } from '../driver';
import { type PackageManifest, manifestDocument, parsePackageManifest } from './package-manifest';
import type { ComponentPaths } from './system-layout';

/** One unpacked version of a component. */
export interface InstalledVersion {
  readonly installedAt: string;
  /** The repository location it was installed from. */
  readonly repository: string;
  readonly package: PackageManifest;
}

/** A component installed on a system. */
export interface ComponentInstallation {
  readonly component: string;
  /** The version in use. */
  readonly active: string;
  /** Versions previously active, most recent first (Rollback pops it). */
  readonly history: readonly string[];
  /** Every unpacked version (the active one, its history, and versions rolled back from). */
  readonly versions: Readonly<Record<string, InstalledVersion>>;
}

const FORMAT = 1;

/** Reads the component's state; undefined when it is not installed. */
export async function readInstallation(paths: ComponentPaths): Promise<ComponentInstallation | undefined> {
  const text = await paths.files.readFile(paths.stateFile);
  return text === undefined ? undefined : parseInstallation(text, paths.stateFile);
}

/** Replaces the component's state atomically. */
export async function writeInstallation(paths: ComponentPaths, installation: ComponentInstallation): Promise<void> {
  await paths.files.writeFile(paths.stateFile, installationText(installation));
}

/** The text of `state.json` for an installation (drivers that keep it elsewhere write it themselves). */
export function installationText(installation: ComponentInstallation): string {
  const versions = Object.fromEntries(
    Object.entries(installation.versions).map(([version, record]) => [
      version,
      { ...record, package: manifestDocument(record.package) },
    ]),
  );
  const document = { format: FORMAT, ...installation, versions };
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** The record of the active version. */
export function activeVersion(installation: ComponentInstallation): InstalledVersion {
  const record = installation.versions[installation.active];
  if (record === undefined) {
    throw new DriverError(
      'Internal',
      `state of ${installation.component} names active version ${installation.active}, which it does not list`,
    );
  }
  return record;
}

/** Reads the text of a `state.json`; `file` names it in messages. */
export function parseInstallation(text: string, file: string): ComponentInstallation {
  const corrupt = (problem: string): DriverError => new DriverError('Internal', `${file} is corrupt: ${problem}`);
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw corrupt(String(error));
  }
  if (typeof document !== 'object' || document === null) throw corrupt('not an object');
  const { component, active, history, versions } = document as Record<string, unknown>;
  if (typeof component !== 'string' || typeof active !== 'string') throw corrupt('component and active must be strings');
  if (!Array.isArray(history) || !history.every((v): v is string => typeof v === 'string')) {
    throw corrupt('history must be an array of strings');
  }
  if (typeof versions !== 'object' || versions === null) throw corrupt('versions must be an object');
  const parsed: Record<string, InstalledVersion> = {};
  for (const [version, record] of Object.entries(versions as Record<string, unknown>)) {
    if (typeof record !== 'object' || record === null) throw corrupt(`versions.${version} must be an object`);
    const { installedAt, repository } = record as Record<string, unknown>;
    parsed[version] = {
      installedAt: String(installedAt),
      repository: String(repository),
      package: parsePackageManifest((record as Record<string, unknown>).package, `${file}, versions.${version}`),
    };
  }
  const installation: ComponentInstallation = { component, active, history, versions: parsed };
  activeVersion(installation);
  return installation;
}
