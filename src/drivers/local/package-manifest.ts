/**
 * The package manifest: what a repository's `index.json` says about each
 * package, parsed and checked once when the index is loaded.
 *
 * ```json
 * {
 *   "packages": [
 *     {
 *       "name": "demo-site",
 *       "version": "1.0.0",
 *       "archive": "demo-site-1.0.0.tar.gz",
 *       "sha256": "9f2c…",
 *       "description": "Content for demo-httpd",
 *       "dependencies": ["demo-httpd>=1.0.0"],
 *       "hooks": { "install": "hooks/install.sh", "configure": "hooks/configure.sh" },
 *       "start": ["$NODE", "server.js"],
 *       "requires": [{ "component": "demo-db", "range": ">=1.0 <2", "placement": "role:db-server" }],
 *       "conflicts": [{ "component": "demo-legacy", "range": "*" }],
 *       "provides": ["web"],
 *       "quiesce": { "hook": "hooks/quiesce.sh", "timeoutSeconds": 30 },
 *       "ready": { "listen": true, "timeoutSeconds": 30 },
 *       "durations": { "Install": 4, "Start": 2 },
 *       "parameters": [
 *         { "name": "title", "type": "string", "default": "Provisor demo site", "description": "The page title" }
 *       ]
 *     }
 *   ]
 * }
 * ```
 *
 * - `archive` is a `.tar.gz` relative to the repository; `sha256` (hex) is
 *   optional and checked when present.
 * - `dependencies` are package names, optionally with a minimum version
 *   (`name>=version`).
 * - `hooks` name shell scripts inside the unpacked package, one per
 *   lifecycle step ({@link HOOK_NAMES}); each is optional. `install` runs
 *   after unpacking, and again whenever the version becomes the active one
 *   (Update, Rollback), so it must be idempotent; `configure` after
 *   `config.json` is written (and after a switch of versions when there is
 *   one); `start` before the process is launched; `stop` after it ended;
 *   `uninstall` before the files are removed.
 * - `start` is the argv of the component's long-running process, run from
 *   the unpacked package; the element `$NODE` stands for the Node.js binary
 *   running Provisor. Packages without `start` (content) cannot be started.
 * - `requires` lists components that must be present for this one to work:
 *   `component`, `range` (a version range as `src/packaging/versions.ts`
 *   reads it; `*` when absent) and `placement`: `same-system` (the default)
 *   or `role:<name>` (on some system with that role). The older
 *   `dependencies` entries are same-system requirements too
 *   (`name>=v` reads as range `>=v`); see {@link requirementsOf}.
 * - `conflicts` lists components (`component`, `range`) that must not be
 *   installed on the same system.
 * - `provides` lists the roles a system has while the package is installed
 *   (e.g. `db-server`).
 * - `quiesce` says how the running component is drained before a stop:
 *   `hook` (a script inside the package, run like the other hooks) and
 *   `timeoutSeconds` (1–3600). Only packages with `start` can have one.
 * - `ready` says when a started component counts as started, for Start,
 *   Update and Rollback to wait for: `listen: true` (its process accepts
 *   connections on a TCP port it listens on) and/or `hook` (a script inside
 *   the package, run until it exits 0), within `timeoutSeconds` (1–600,
 *   default 30), after which the task fails and the process is ended.
 *   Without it a component counts as started once its process has stayed
 *   up for the driver's start-up grace period. Only packages with `start`
 *   can have one.
 * - `durations` estimates each software operation in seconds (keys are
 *   SoftwareService operation names, values 0–86400).
 * - `parameters` declares what `Install`, `InitialConfigure` and
 *   `Configure` accept: each entry has `name`, `type` (`string`, `integer`
 *   or `boolean`), and optionally `default` (informative: the package's
 *   own default), `allowed` (the only values accepted), `min` and `max`
 *   (integers), `blank` (`true`: an empty value stands for the default and
 *   is accepted whatever the type) and `description`. A call naming an
 *   undeclared parameter or giving an ill-typed value is refused before it
 *   is queued, naming the parameter and the declared ones. A manifest
 *   without `parameters` accepts any name (third-party repositories that
 *   predate declarations keep working); `"parameters": []` accepts none.
 * - The local driver checks same-system requirements and conflicts; role
 *   placements are the change manager's to order.
 * - Unknown fields are ignored, so repositories can carry more.
 */
import path from 'node:path';
import { DriverError } from '../driver';
import type { Conflict, Placement, QuiesceSpec, Requirement, SoftwareOperation } from '../../changemanager/planning-model';
import { SOFTWARE_OPERATIONS } from '../../changemanager/planning-model';
import { VersionRangeError, compareVersions, parseVersionRange } from '../../packaging/versions';

/** The lifecycle steps a package may hook into. */
export const HOOK_NAMES = ['install', 'configure', 'start', 'stop', 'uninstall'] as const;
export type HookName = (typeof HOOK_NAMES)[number];

/** Names and versions become directory names, so they are kept plain. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;

/** A dependency on another component, optionally with a minimum version. */
export interface PackageDependency {
  readonly name: string;
  readonly minVersion?: string;
}

/** One package version as a repository describes it. */
export interface PackageManifest {
  readonly name: string;
  readonly version: string;
  /** The archive, relative to the repository location. */
  readonly archive: string;
  /** Hex SHA-256 of the archive, checked when present. */
  readonly sha256?: string;
  readonly description?: string;
  readonly dependencies: readonly PackageDependency[];
  /** Hook scripts relative to the unpacked package. */
  readonly hooks: Readonly<Partial<Record<HookName, string>>>;
  /** The argv of the component's process, if it has one. */
  readonly start?: readonly string[];
  /** Requirements declared under `requires` (the `dependencies` are in {@link requirementsOf}). */
  readonly requires: readonly Requirement[];
  readonly conflicts: readonly Conflict[];
  /** Roles a system has while this package is installed on it. */
  readonly provides: readonly string[];
  /** How to drain the running component; absent when it cannot be. */
  readonly quiesce?: QuiesceSpec;
  /** When a started process counts as started; absent: once it stayed up for the start-up grace. */
  readonly ready?: ReadySpec;
  /** Estimated seconds per software operation. */
  readonly durations: Readonly<Partial<Record<SoftwareOperation, number>>>;
  /** The declared parameters; absent when the manifest declares none (any name is accepted). */
  readonly parameters?: readonly ParameterDeclaration[];
}

/** A package's readiness check (see `ready` above). */
export interface ReadySpec {
  /** Ready once the process accepts connections on a port it listens on. */
  readonly listen: boolean;
  /** Ready once this script (inside the package) exits 0. */
  readonly hook?: string;
  readonly timeoutSeconds: number;
}

/** The types a declared parameter may have. */
export const PARAMETER_TYPES = ['string', 'integer', 'boolean'] as const;
export type ParameterType = (typeof PARAMETER_TYPES)[number];

/** One parameter a package accepts, as its manifest declares it. */
export interface ParameterDeclaration {
  readonly name: string;
  readonly type: ParameterType;
  /** The package's own default, shown to operators (not filled in by Provisor). */
  readonly default?: string;
  /** When present, the only values accepted. */
  readonly allowed?: readonly string[];
  /** Bounds of an integer parameter. */
  readonly min?: number;
  readonly max?: number;
  /** An empty value stands for the default and is accepted. */
  readonly blank: boolean;
  readonly description?: string;
}

/** The operations whose parameters are checked against the declarations. */
export const DECLARED_PARAMETER_OPERATIONS: readonly SoftwareOperation[] = ['Install', 'InitialConfigure', 'Configure'];

const PARAMETER_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const MAX_ALLOWED_VALUES = 100;
const MAX_PARAMETER_TEXT = 1000;

/** Role names: what `provides`, `role:` placements and systems' roles use. */
export const ROLE_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

const MAX_DECLARATIONS = 100;
const MAX_QUIESCE_SECONDS = 3600;
const MAX_DURATION_SECONDS = 86_400;

/** A parsed `index.json` with its packages grouped by name, highest version first. */
export interface RepositoryIndex {
  readonly packages: readonly PackageManifest[];
  readonly byName: ReadonlyMap<string, readonly PackageManifest[]>;
}

/**
 * Parses a repository's `index.json`.
 * @param location names the repository in messages.
 * @throws DriverError `Internal` (not retryable) naming the bad field.
 */
export function parseRepositoryIndex(document: unknown, location: string): RepositoryIndex {
  const where = `index.json of package repository ${location}`;
  if (!isRecord(document) || !Array.isArray(document.packages)) {
    throw invalid(where, 'must be an object with a "packages" array');
  }
  const packages = document.packages.map((entry: unknown, i: number) =>
    parsePackageManifest(entry, `${where}, packages[${i}]`),
  );
  const byName = new Map<string, PackageManifest[]>();
  for (const manifest of packages) {
    const versions = byName.get(manifest.name) ?? [];
    if (versions.some((known) => known.version === manifest.version)) {
      throw invalid(where, `lists ${manifest.name} ${manifest.version} twice`);
    }
    versions.push(manifest);
    byName.set(manifest.name, versions);
  }
  for (const versions of byName.values()) versions.sort((a, b) => compareVersions(b.version, a.version));
  return { packages, byName };
}

/**
 * Parses one manifest entry (from an index, or as recorded on a system).
 * @param where names the entry in messages.
 */
export function parsePackageManifest(entry: unknown, where: string): PackageManifest {
  if (!isRecord(entry)) throw invalid(where, 'must be an object');
  const name = requireName(entry.name, where, 'name');
  const version = requireName(entry.version, where, 'version');
  const archive = requireRelativePath(entry.archive, where, 'archive');
  const named = `${where} (${name} ${version})`;
  const sha256 = optionalString(entry.sha256, where, 'sha256');
  if (sha256 !== undefined && !/^[0-9a-f]{64}$/i.test(sha256)) throw invalid(where, '"sha256" must be 64 hex digits');
  const description = optionalString(entry.description, where, 'description');
  return {
    name,
    version,
    archive,
    ...(sha256 === undefined ? {} : { sha256: sha256.toLowerCase() }),
    ...(description === undefined ? {} : { description }),
    dependencies: parseDependencies(entry.dependencies, where),
    hooks: parseHooks(entry.hooks, where),
    ...parseStart(entry.start, where),
    requires: parseRequires(entry.requires, named),
    conflicts: parseConflicts(entry.conflicts, named),
    provides: parseProvides(entry.provides, named),
    ...parseQuiesce(entry.quiesce, entry.start !== undefined, named),
    ...parseReady(entry.ready, entry.start !== undefined, named),
    durations: parseDurations(entry.durations, named),
    ...parseParameters(entry.parameters, named),
  };
}

/**
 * Checks a call's parameters against the manifest's declarations.
 * @returns a message naming the first refused parameter and what is
 *   accepted, or undefined when every parameter is acceptable (always, for a
 *   manifest that declares none, or an operation whose parameters are not declared).
 */
export function parameterProblem(
  manifest: PackageManifest,
  operation: SoftwareOperation,
  parameters: ReadonlyArray<{ readonly name: string; readonly value: string }>,
): string | undefined {
  const declared = manifest.parameters;
  if (declared === undefined || !DECLARED_PARAMETER_OPERATIONS.includes(operation)) return undefined;
  const label = `${manifest.name} ${manifest.version}`;
  for (const { name, value } of parameters) {
    const declaration = declared.find((d) => d.name === name);
    if (declaration === undefined) {
      const near = declared.find((d) => d.name.toLowerCase() === name.toLowerCase());
      const names = declared.length === 0 ? 'it takes no parameters' : `its parameters: ${declared.map((d) => d.name).join(', ')}`;
      return `${label} has no parameter ${JSON.stringify(name)}${near === undefined ? '' : ` (did you mean ${JSON.stringify(near.name)}?)`}; ${names}`;
    }
    const problem = valueProblem(declaration, value);
    if (problem !== undefined) return `parameter ${JSON.stringify(name)} of ${label} ${problem}, got ${JSON.stringify(value)}`;
  }
  return undefined;
}

/** What is wrong with one value, or undefined. */
function valueProblem(declaration: ParameterDeclaration, value: string): string | undefined {
  if (value === '' && declaration.blank) return undefined;
  if (declaration.allowed !== undefined && !declaration.allowed.includes(value)) {
    return `must be one of ${declaration.allowed.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  switch (declaration.type) {
    case 'string':
      return undefined;
    case 'boolean':
      return value === 'true' || value === 'false' ? undefined : 'must be "true" or "false"';
    case 'integer': {
      const bounds = describeBounds(declaration);
      if (!/^-?\d{1,15}$/.test(value)) return `must be a whole number${bounds}`;
      const number = Number(value);
      if ((declaration.min !== undefined && number < declaration.min) || (declaration.max !== undefined && number > declaration.max)) {
        return `must be a whole number${bounds}`;
      }
      return undefined;
    }
  }
}

function describeBounds(declaration: ParameterDeclaration): string {
  const { min, max } = declaration;
  if (min !== undefined && max !== undefined) return ` from ${min} to ${max}`;
  if (min !== undefined) return ` of at least ${min}`;
  if (max !== undefined) return ` of at most ${max}`;
  return '';
}

/** One line per declared parameter, as the command line and the SOAP listing show it. */
export function describeParameter(declaration: ParameterDeclaration): string {
  const parts: string[] = [declaration.type + describeBounds(declaration)];
  if (declaration.allowed !== undefined) parts.push(`one of ${declaration.allowed.join(', ')}`);
  if (declaration.default !== undefined) parts.push(`default ${declaration.default}`);
  return parts.join('; ');
}

function parseParameters(value: unknown, where: string): { parameters?: ParameterDeclaration[] } {
  if (value === undefined) return {};
  const seen = new Set<string>();
  const parameters = declarationList(value, where, 'parameters').map((item, i): ParameterDeclaration => {
    const field = `parameters[${i}]`;
    if (!isRecord(item)) throw invalid(where, `"${field}" must be an object with "name" and "type"`);
    const name = item.name;
    if (typeof name !== 'string' || !PARAMETER_NAME_PATTERN.test(name)) {
      throw invalid(where, `"${field}.name" must match ${PARAMETER_NAME_PATTERN.source}, got ${JSON.stringify(name)}`);
    }
    if (seen.has(name)) throw invalid(where, `"${field}" declares parameter ${JSON.stringify(name)} twice`);
    seen.add(name);
    const type = item.type;
    if (typeof type !== 'string' || !(PARAMETER_TYPES as readonly string[]).includes(type)) {
      throw invalid(where, `"${field}.type" must be one of ${PARAMETER_TYPES.join(', ')}, got ${JSON.stringify(type)}`);
    }
    const min = optionalInteger(item.min, where, `${field}.min`);
    const max = optionalInteger(item.max, where, `${field}.max`);
    if ((min !== undefined || max !== undefined) && type !== 'integer') throw invalid(where, `"${field}": only integer parameters have "min" and "max"`);
    if (min !== undefined && max !== undefined && min > max) throw invalid(where, `"${field}.min" is greater than its "max"`);
    let allowed: string[] | undefined;
    if (item.allowed !== undefined) {
      if (!Array.isArray(item.allowed) || item.allowed.length === 0 || item.allowed.length > MAX_ALLOWED_VALUES || !item.allowed.every((v) => typeof v === 'string' && v.length <= MAX_PARAMETER_TEXT)) {
        throw invalid(where, `"${field}.allowed" must be a list of 1 to ${MAX_ALLOWED_VALUES} strings`);
      }
      allowed = item.allowed as string[];
    }
    if (item.blank !== undefined && typeof item.blank !== 'boolean') throw invalid(where, `"${field}.blank" must be true or false`);
    const declaration: ParameterDeclaration = {
      name,
      type: type as ParameterType,
      ...(item.default === undefined ? {} : { default: boundedString(item.default, where, `${field}.default`) }),
      ...(allowed === undefined ? {} : { allowed }),
      ...(min === undefined ? {} : { min }),
      ...(max === undefined ? {} : { max }),
      blank: item.blank === true,
      ...(item.description === undefined ? {} : { description: boundedString(item.description, where, `${field}.description`) }),
    };
    if (declaration.default !== undefined) {
      const problem = valueProblem({ ...declaration, blank: false }, declaration.default);
      if (problem !== undefined) throw invalid(where, `"${field}.default" ${problem}, got ${JSON.stringify(declaration.default)}`);
    }
    return declaration;
  });
  return { parameters };
}

function optionalInteger(value: unknown, where: string, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw invalid(where, `"${field}" must be a whole number`);
  return value;
}

function boundedString(value: unknown, where: string, field: string): string {
  if (typeof value !== 'string' || value.length > MAX_PARAMETER_TEXT) throw invalid(where, `"${field}" must be a string of at most ${MAX_PARAMETER_TEXT} characters`);
  return value;
}

/**
 * Every requirement of the package: the `dependencies` (same-system, at
 * least their minimum version) followed by the `requires`.
 */
export function requirementsOf(manifest: PackageManifest): Requirement[] {
  const fromDependencies = manifest.dependencies.map(
    (dependency): Requirement => ({
      component: dependency.name,
      range: dependency.minVersion === undefined ? '*' : `>=${dependency.minVersion}`,
      placement: { kind: 'same-system' },
    }),
  );
  return [...fromDependencies, ...manifest.requires];
}

/** `same-system` or `role:<name>`, as manifests write a placement. */
export function formatPlacement(placement: Placement): string {
  return placement.kind === 'same-system' ? 'same-system' : `role:${placement.role}`;
}

/** A manifest as `index.json` writes it (what {@link parsePackageManifest} reads back). */
export function manifestDocument(manifest: PackageManifest): Record<string, unknown> {
  return {
    ...manifest,
    dependencies: manifest.dependencies.map(formatDependency),
    requires: manifest.requires.map((r) => ({ component: r.component, range: r.range, placement: formatPlacement(r.placement) })),
  };
}

/** Renders a dependency the way manifests write it. */
export function formatDependency(dependency: PackageDependency): string {
  return dependency.minVersion === undefined ? dependency.name : `${dependency.name}>=${dependency.minVersion}`;
}

function parseDependencies(value: unknown, where: string): PackageDependency[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid(where, '"dependencies" must be an array of strings');
  return value.map((item: unknown) => {
    if (typeof item !== 'string') throw invalid(where, '"dependencies" must be an array of strings');
    const match = /^([^<>=\s]+)(?:\s*>=\s*(\S+))?$/.exec(item.trim());
    const name = match?.[1];
    const minVersion = match?.[2];
    if (name === undefined || !NAME_PATTERN.test(name) || (minVersion !== undefined && !NAME_PATTERN.test(minVersion))) {
      throw invalid(where, `dependency ${JSON.stringify(item)} must read "name" or "name>=version"`);
    }
    return minVersion === undefined ? { name } : { name, minVersion };
  });
}

function declarationList(value: unknown, where: string, field: string): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid(where, `"${field}" must be an array`);
  if (value.length > MAX_DECLARATIONS) throw invalid(where, `"${field}" has more than ${MAX_DECLARATIONS} entries`);
  return value as unknown[];
}

function parseRange(value: unknown, where: string, field: string): string {
  if (value === undefined) return '*';
  if (typeof value !== 'string') throw invalid(where, `"${field}" must be a version range string`);
  try {
    return parseVersionRange(value).text;
  } catch (error) {
    if (error instanceof VersionRangeError) throw invalid(where, `"${field}" is not a version range: ${error.message}`);
    throw error;
  }
}

function parsePlacement(value: unknown, where: string, field: string): Placement {
  if (value === undefined || value === 'same-system') return { kind: 'same-system' };
  if (typeof value === 'string' && value.startsWith('role:') && ROLE_PATTERN.test(value.slice(5))) {
    return { kind: 'role', role: value.slice(5) };
  }
  throw invalid(where, `"${field}" must be "same-system" or "role:<name>" (${ROLE_PATTERN.source}), got ${JSON.stringify(value)}`);
}

function parseRequires(value: unknown, where: string): Requirement[] {
  return declarationList(value, where, 'requires').map((item, i) => {
    const field = `requires[${i}]`;
    if (!isRecord(item)) throw invalid(where, `"${field}" must be an object with "component", "range" and "placement"`);
    return {
      component: requireName(item.component, where, `${field}.component`),
      range: parseRange(item.range, where, `${field}.range`),
      placement: parsePlacement(item.placement, where, `${field}.placement`),
    };
  });
}

function parseConflicts(value: unknown, where: string): Conflict[] {
  return declarationList(value, where, 'conflicts').map((item, i) => {
    const field = `conflicts[${i}]`;
    if (!isRecord(item)) throw invalid(where, `"${field}" must be an object with "component" and "range"`);
    return { component: requireName(item.component, where, `${field}.component`), range: parseRange(item.range, where, `${field}.range`) };
  });
}

function parseProvides(value: unknown, where: string): string[] {
  const roles = declarationList(value, where, 'provides').map((role, i) => {
    if (typeof role !== 'string' || !ROLE_PATTERN.test(role)) {
      throw invalid(where, `"provides[${i}]" must be a role name matching ${ROLE_PATTERN.source}, got ${JSON.stringify(role)}`);
    }
    return role;
  });
  return [...new Set(roles)];
}

function parseQuiesce(value: unknown, startable: boolean, where: string): { quiesce?: QuiesceSpec } {
  if (value === undefined) return {};
  if (!isRecord(value)) throw invalid(where, '"quiesce" must be an object with "hook" and "timeoutSeconds"');
  if (!startable) throw invalid(where, '"quiesce" needs a "start" command: only a running component can be drained');
  const hook = requireRelativePath(value.hook, where, 'quiesce.hook');
  const timeoutSeconds = value.timeoutSeconds;
  if (typeof timeoutSeconds !== 'number' || !Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > MAX_QUIESCE_SECONDS) {
    throw invalid(where, `"quiesce.timeoutSeconds" must be a whole number from 1 to ${MAX_QUIESCE_SECONDS}, got ${JSON.stringify(timeoutSeconds)}`);
  }
  return { quiesce: { hook, timeoutSeconds } };
}

const MAX_READY_SECONDS = 600;
const DEFAULT_READY_SECONDS = 30;

function parseReady(value: unknown, startable: boolean, where: string): { ready?: ReadySpec } {
  if (value === undefined) return {};
  if (!isRecord(value)) throw invalid(where, '"ready" must be an object with "listen" and/or "hook", and "timeoutSeconds"');
  if (!startable) throw invalid(where, '"ready" needs a "start" command: only a running component becomes ready');
  if (value.listen !== undefined && typeof value.listen !== 'boolean') throw invalid(where, `"ready.listen" must be true or false, got ${JSON.stringify(value.listen)}`);
  const listen = value.listen === true;
  const hook = value.hook === undefined ? undefined : requireRelativePath(value.hook, where, 'ready.hook');
  if (!listen && hook === undefined) throw invalid(where, '"ready" must say "listen": true or name a "hook"');
  const timeoutSeconds = value.timeoutSeconds ?? DEFAULT_READY_SECONDS;
  if (typeof timeoutSeconds !== 'number' || !Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > MAX_READY_SECONDS) {
    throw invalid(where, `"ready.timeoutSeconds" must be a whole number from 1 to ${MAX_READY_SECONDS}, got ${JSON.stringify(timeoutSeconds)}`);
  }
  return { ready: { listen, ...(hook === undefined ? {} : { hook }), timeoutSeconds } };
}

function parseDurations(value: unknown, where: string): Partial<Record<SoftwareOperation, number>> {
  if (value === undefined) return {};
  if (!isRecord(value)) throw invalid(where, '"durations" must be an object of seconds per operation');
  const durations: Partial<Record<SoftwareOperation, number>> = {};
  for (const [operation, seconds] of Object.entries(value)) {
    if (!(SOFTWARE_OPERATIONS as readonly string[]).includes(operation)) {
      throw invalid(where, `"durations" names unknown operation ${JSON.stringify(operation)} (known: ${SOFTWARE_OPERATIONS.join(', ')})`);
    }
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0 || seconds > MAX_DURATION_SECONDS) {
      throw invalid(where, `"durations.${operation}" must be a number of seconds from 0 to ${MAX_DURATION_SECONDS}, got ${JSON.stringify(seconds)}`);
    }
    durations[operation as SoftwareOperation] = seconds;
  }
  return durations;
}

function parseHooks(value: unknown, where: string): Partial<Record<HookName, string>> {
  if (value === undefined) return {};
  if (!isRecord(value)) throw invalid(where, '"hooks" must be an object');
  const hooks: Partial<Record<HookName, string>> = {};
  for (const [key, script] of Object.entries(value)) {
    if (!(HOOK_NAMES as readonly string[]).includes(key)) {
      throw invalid(where, `unknown hook ${JSON.stringify(key)} (known: ${HOOK_NAMES.join(', ')})`);
    }
    hooks[key as HookName] = requireRelativePath(script, where, `hooks.${key}`);
  }
  return hooks;
}

function parseStart(value: unknown, where: string): { start?: readonly string[] } {
  if (value === undefined) return {};
  if (!Array.isArray(value) || value.length === 0 || !value.every((arg) => typeof arg === 'string' && arg.length > 0)) {
    throw invalid(where, '"start" must be a non-empty array of non-empty strings');
  }
  return { start: value as string[] };
}

function requireName(value: unknown, where: string, field: string): string {
  if (typeof value !== 'string' || !NAME_PATTERN.test(value)) {
    throw invalid(where, `"${field}" must match ${NAME_PATTERN.source}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function requireRelativePath(value: unknown, where: string, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.includes('\0')) {
    throw invalid(where, `"${field}" must be a non-empty string`);
  }
  const normalized = path.posix.normalize(value);
  if (path.posix.isAbsolute(value) || normalized === '..' || normalized.startsWith('../')) {
    throw invalid(where, `"${field}" must be a path inside the package, got ${JSON.stringify(value)}`);
  }
  return normalized;
}

function optionalString(value: unknown, where: string, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalid(where, `"${field}" must be a string`);
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(where: string, problem: string): DriverError {
  return new DriverError('Internal', `${where}: ${problem}`, { retryable: false });
}
