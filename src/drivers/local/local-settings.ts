/**
 * The local driver's options, with their defaults filled and checked once,
 * then frozen.
 */
import os from 'node:os';
import path from 'node:path';
import type { PassThrough } from 'node:stream';
import type { SystemDescriptor } from '../driver';
import { defaultBaseEnvironment } from './hook-environment';

/** Options of `createLocalDriver`; every one has a default. */
export interface LocalDriverOptions {
  /**
   * Where archives fetched from http(s) repositories are cached. Default:
   * `provisor-cache-<uid>` in the OS temporary directory; the composition
   * root should pass a directory under Provisor's data folder.
   */
  readonly cacheDir?: string;
  /** Longest run of one hook before it is killed and the task fails. Default 5 minutes. */
  readonly hookTimeoutMs?: number;
  /** How long a repository index is trusted before it is read again. Default 10 s. */
  readonly indexTtlMs?: number;
  /** Limit for one HTTP request to a repository. Default 60 s. */
  readonly fetchTimeoutMs?: number;
  /** How long a started process must stay up for Start to succeed. Default 300 ms. */
  readonly startupGraceMs?: number;
  /** How long Stop waits after SIGTERM before SIGKILL. Default 5 s. */
  readonly stopTimeoutMs?: number;
  /** Bytes of output kept per task (the end of it). Default 64 KiB. */
  readonly outputLimitBytes?: number;
  /**
   * The base environment of hooks and started processes; `PROVISOR_*`
   * variables are added to it. Default: a PATH with the running Node.js
   * first, and `LANG=C.UTF-8`. Provisor's own environment is never passed on.
   */
  readonly env?: Readonly<Record<string, string>>;
  /** The clock (milliseconds) for the index TTL. Default `Date.now`. */
  readonly now?: () => number;
  /**
   * Reads a path of a system of another driver as a tar stream (the `ssh`
   * driver's `readTree`), so Copy can take its source there. Default: none,
   * and Copy takes sources from local systems only.
   */
  readonly remoteSources?: {
    readonly driver: string;
    read(system: SystemDescriptor, sourcePath: string, sink: PassThrough, signal: AbortSignal): Promise<string>;
  };
}

/** {@link LocalDriverOptions} with every default filled. */
export type LocalSettings = Readonly<Required<Omit<LocalDriverOptions, 'remoteSources'>>> & Pick<LocalDriverOptions, 'remoteSources'>;

/**
 * Fills defaults and checks the options.
 * @throws RangeError naming a bad option (a configuration mistake, found at start-up).
 */
export function compileLocalSettings(options: LocalDriverOptions): LocalSettings {
  const settings: Required<Omit<LocalDriverOptions, 'remoteSources'>> & Pick<LocalDriverOptions, 'remoteSources'> = {
    cacheDir: path.resolve(options.cacheDir ?? defaultCacheDir()),
    hookTimeoutMs: options.hookTimeoutMs ?? 5 * 60_000,
    indexTtlMs: options.indexTtlMs ?? 10_000,
    fetchTimeoutMs: options.fetchTimeoutMs ?? 60_000,
    startupGraceMs: options.startupGraceMs ?? 300,
    stopTimeoutMs: options.stopTimeoutMs ?? 5_000,
    outputLimitBytes: options.outputLimitBytes ?? 64 * 1024,
    env: Object.freeze({ ...(options.env ?? defaultBaseEnvironment()) }),
    now: options.now ?? Date.now,
    remoteSources: options.remoteSources,
  };
  const durations = ['hookTimeoutMs', 'indexTtlMs', 'fetchTimeoutMs', 'startupGraceMs', 'stopTimeoutMs'] as const;
  for (const name of durations) {
    const value = settings[name];
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(`local driver option ${name} must be a non-negative number, got ${value}`);
    }
  }
  if (!Number.isInteger(settings.outputLimitBytes) || settings.outputLimitBytes < 1024) {
    throw new RangeError(
      `local driver option outputLimitBytes must be an integer of at least 1024, got ${settings.outputLimitBytes}`,
    );
  }
  return Object.freeze(settings);
}

/** Per user, so users of one machine do not trust each other's downloads. */
function defaultCacheDir(): string {
  return path.join(os.tmpdir(), `provisor-cache-${process.getuid?.() ?? 'user'}`);
}
