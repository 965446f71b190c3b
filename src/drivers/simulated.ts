/**
 * The `simulated` driver, for load tests and demos of thousands of systems:
 * each task waits a random duration, then succeeds or fails at a configured
 * rate. Nothing is touched; it is never the default driver.
 *
 * Per-system overrides come from `system.options`:
 * - `durationMs`: `"250"` or a range `"100-500"` (milliseconds);
 * - `failureRate`: `"0.05"` (0 to 1).
 *
 * It keeps no state: what a task needs about the component (the history
 * for Rollback, the pid for Start) comes from `ctx.component`, as the engine
 * recorded it.
 */
import { cancelled, sleep, throwIfCancelled } from './cancellation';
import {
  type Driver,
  DriverError,
  type SystemDescriptor,
  type Task,
  type TaskContext,
  type TaskResult,
} from './driver';
import { toJailedRelativePath } from './path-jail';

/** A duration in milliseconds, fixed or drawn uniformly from a range. */
export type SimulatedDuration = number | { readonly min: number; readonly max: number };

/** Options of {@link createSimulatedDriver}. */
export interface SimulatedDriverOptions {
  /** How long each task takes. Default `{ min: 50, max: 500 }`. */
  readonly durationMs?: SimulatedDuration;
  /** Probability (0 to 1) that a task fails with a `Simulated` error. Default 0. */
  readonly failureRate?: number;
  /** Uniform random numbers in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
  /** How the driver waits (tests pass a fake). Must reject when the signal aborts. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** The name systems give to use this driver. */
export const SIMULATED_DRIVER_NAME = 'simulated';

interface Range {
  readonly min: number;
  readonly max: number;
}

/**
 * Creates the simulated driver.
 * @throws RangeError when an option is out of range.
 */
export function createSimulatedDriver(options: SimulatedDriverOptions = {}): Driver {
  const defaults = {
    duration: toRange(options.durationMs ?? { min: 50, max: 500 }, 'durationMs'),
    failureRate: checkRate(options.failureRate ?? 0, 'failureRate'),
  };
  const random = options.random ?? Math.random;
  const wait = options.sleep ?? ((ms: number, signal: AbortSignal) => sleep(ms, signal));

  function settingsFor(system: SystemDescriptor): { duration: Range; failureRate: number } {
    const { durationMs, failureRate } = system.options;
    try {
      return {
        duration: durationMs === undefined ? defaults.duration : parseDuration(durationMs),
        failureRate: failureRate === undefined ? defaults.failureRate : checkRate(Number(failureRate), 'failureRate'),
      };
    } catch (error) {
      throw new DriverError(
        'InvalidParameter',
        `options of system "${system.name}": ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  return {
    name: SIMULATED_DRIVER_NAME,

    async validate(task, ctx) {
      settingsFor(ctx.system);
      const where = `the root of system "${ctx.system.name}"`;
      switch (task.operation) {
        case 'Copy':
          toJailedRelativePath(task.targetPath, where);
          toJailedRelativePath(
            task.sourcePath,
            task.sourceSystem === undefined ? 'the package repository' : `the root of system "${task.sourceSystem.name}"`,
          );
          return;
        case 'Delete':
          toJailedRelativePath(task.path, where);
          return;
        default:
          if (task.component === '') throw new DriverError('InvalidParameter', `${task.operation} names no component`);
      }
    },

    async execute(task, ctx) {
      const what = describe(task, ctx.system);
      throwIfCancelled(ctx.signal, what);
      const { duration, failureRate } = settingsFor(ctx.system);
      const ms = Math.round(duration.min + random() * (duration.max - duration.min));
      const result = outcome(task, ctx, what, ms);
      try {
        await wait(ms, ctx.signal);
      } catch (error) {
        if (ctx.signal.aborted) throw cancelled(what);
        throw error;
      }
      if (random() < failureRate) {
        throw new DriverError('Simulated', `simulated failure of ${what}`, { retryable: false });
      }
      return result;
    },

    async prepareSystem(system) {
      settingsFor(system);
    },

    async close() {},
  };
}

/**
 * What the task reports. State problems a real driver would see from the
 * record (Rollback without history) fail before the wait, as they would.
 */
function outcome(task: Task, ctx: TaskContext, what: string, ms: number): TaskResult {
  const output = `simulated ${what} (${ms} ms)`;
  switch (task.operation) {
    case 'Install':
    case 'Update':
      return { output, version: task.version ?? ctx.component?.version ?? '1.0.0' };
    case 'Rollback': {
      const previous = task.version ?? ctx.component?.history[0];
      if (previous === undefined || (task.version !== undefined && !ctx.component?.history.includes(task.version))) {
        throw new DriverError(
          'InvalidState',
          `${task.component} on system "${ctx.system.name}" has no previous version to roll back to`,
        );
      }
      return { output, version: previous };
    }
    case 'Start':
      return { output, pid: ctx.component?.pid ?? simulatedPid(ctx.requestId) };
    case 'Stop':
      return { output, pid: null };
    default:
      return { output };
  }
}

function describe(task: Task, system: SystemDescriptor): string {
  switch (task.operation) {
    case 'Copy': {
      const from = task.sourceSystem === undefined ? 'repository' : task.sourceSystem.name;
      return `Copy of ${from}:${task.sourcePath} to ${system.name}:${task.targetPath}`;
    }
    case 'Delete':
      return `Delete of ${task.path} on ${system.name}`;
    default:
      return `${task.operation} of ${task.component} on ${system.name}`;
  }
}

/** A stable, plausible pid derived from the request id. */
function simulatedPid(requestId: string): number {
  let hash = 0;
  for (const char of requestId) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return 1000 + (hash % 4_000_000);
}

function toRange(duration: SimulatedDuration, name: string): Range {
  const range = typeof duration === 'number' ? { min: duration, max: duration } : duration;
  if (!Number.isFinite(range.min) || !Number.isFinite(range.max) || range.min < 0 || range.max < range.min) {
    throw new RangeError(
      `${name} must be a non-negative number or a range with 0 <= min <= max, got ${JSON.stringify(duration)}`,
    );
  }
  return { min: range.min, max: range.max };
}

/** `"250"` or `"100-500"`. */
function parseDuration(text: string): Range {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?:-\s*(\d+(?:\.\d+)?)\s*)?$/.exec(text);
  if (match === null) throw new RangeError(`durationMs must read "250" or "100-500", got ${JSON.stringify(text)}`);
  const min = Number(match[1]);
  return toRange({ min, max: match[2] === undefined ? min : Number(match[2]) }, 'durationMs');
}

function checkRate(rate: number, name: string): number {
  if (!Number.isFinite(rate) || rate < 0 || rate > 1) {
    throw new RangeError(`${name} must be between 0 and 1, got ${rate}`);
  }
  return rate;
}
