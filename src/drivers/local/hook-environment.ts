/**
 * The environment of package hooks and started processes. They do not
 * inherit Provisor's environment (it holds database URLs and secrets): they
 * get the driver's base environment (a PATH by default) plus the
 * `PROVISOR_*` variables below.
 */
import path from 'node:path';
import type { Parameter } from '../driver';

/** What a hook or a started process is told about its component. */
export interface HookEnvironmentInput {
  /** The driver's base environment (PATH and whatever the operator adds). */
  readonly base: Readonly<Record<string, string>>;
  readonly systemRoot: string;
  readonly component: string;
  readonly version: string;
  readonly packageDir: string;
  readonly configFile: string;
  readonly parameters: readonly Parameter[];
  readonly requestId: string;
}

/** The default base environment: a PATH on which the running Node.js comes first. */
export function defaultBaseEnvironment(): Record<string, string> {
  const standard = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  return { PATH: [path.dirname(process.execPath), ...standard].join(path.delimiter), LANG: 'C.UTF-8' };
}

/**
 * Builds the environment: `PROVISOR_SYSTEM_ROOT`, `PROVISOR_COMPONENT`,
 * `PROVISOR_VERSION`, `PROVISOR_PACKAGE_DIR`, `PROVISOR_CONFIG` (the config
 * json, which may not exist yet), `PROVISOR_REQUEST_ID`, and each parameter
 * as `PROVISOR_PARAM_<NAME>` (see {@link parameterVariable}); a later
 * parameter of the same name wins.
 */
export function hookEnvironment(input: HookEnvironmentInput): Record<string, string> {
  const env: Record<string, string> = {
    ...input.base,
    PROVISOR_SYSTEM_ROOT: input.systemRoot,
    PROVISOR_COMPONENT: input.component,
    PROVISOR_VERSION: input.version,
    PROVISOR_PACKAGE_DIR: input.packageDir,
    PROVISOR_CONFIG: input.configFile,
    PROVISOR_REQUEST_ID: input.requestId,
  };
  for (const parameter of input.parameters) env[parameterVariable(parameter.name)] = parameter.value;
  return env;
}

/** `PROVISOR_PARAM_` + the name upper-cased, every other character than A–Z and 0–9 made `_`. */
export function parameterVariable(name: string): string {
  return `PROVISOR_PARAM_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}
