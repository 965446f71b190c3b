/**
 * Runs the `provisor` command line for tests: in this process through
 * `runCli` (the same code as the real command after its launcher), or as a
 * real process. Most tests run it in process: a real process costs half a
 * second of CPU to start, and the suite runs a few hundred. Each test file
 * that runs it in process keeps at least one call as a real process, so the
 * launcher, the exit status and standard input stay covered.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { Readable } from 'node:stream';
import { runCli } from '../../scripts/cli/provisor';
import type { Env } from '../../src/config';

/** The launcher a user runs (`scripts/provisor.js`). */
export const PROVISOR_BIN = path.join(__dirname, '..', '..', '..', 'scripts', 'provisor.js');

export interface CliResult {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

/** The command as a real process, with `env` over this process's environment. */
export function spawnCli(args: readonly string[], env: Env, input = ''): CliResult {
  const r = spawnSync(process.execPath, [PROVISOR_BIN, ...args], { input, env: { ...process.env, ...env }, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

let running = false;

type Write = typeof process.stdout.write;

/** Swaps `property` of `target` for `value` until the returned function restores it. */
function swap<T extends object, K extends keyof T>(target: T, property: K, value: T[K]): () => void {
  const own = Object.getOwnPropertyDescriptor(target, property);
  Object.defineProperty(target, property, { value, configurable: true, writable: true, enumerable: own?.enumerable ?? true });
  return () => {
    if (own === undefined) delete target[property];
    else Object.defineProperty(target, property, own);
  };
}

/**
 * The command in this process: `env` over the process environment, standard
 * output and error captured, `input` as standard input (not a terminal), and
 * the exit code `runCli` returns. One at a time: a test that needs commands
 * running side by side spawns them.
 */
export async function runCliInProcess(args: readonly string[], env: Env, input = ''): Promise<CliResult> {
  if (running) throw new Error('runCliInProcess: a command is already running in this process; spawn concurrent commands with spawnCli');
  running = true;
  const out: string[] = [];
  const err: string[] = [];
  const capture =
    (into: string[]): Write =>
    (chunk: string | Uint8Array, encodingOrCallback?: BufferEncoding | ((error?: Error | null) => void), callback?: (error?: Error | null) => void): boolean => {
      into.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      const done = typeof encodingOrCallback === 'function' ? encodingOrCallback : callback;
      if (done !== undefined) process.nextTick(done);
      return true;
    };
  const saved = new Map<string, string | undefined>();
  for (const [key, value] of Object.entries(env)) {
    saved.set(key, process.env[key]);
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  const stdin = Object.assign(Readable.from([Buffer.from(input, 'utf8')]), { isTTY: false, fd: 0 });
  const restore = [
    swap(process.stdout, 'write', capture(out)),
    swap(process.stderr, 'write', capture(err)),
    swap(process.stdout, 'isTTY', false),
    swap(process, 'stdin', stdin as unknown as typeof process.stdin),
  ];
  try {
    const code = await runCli(args);
    return { code, out: out.join(''), err: err.join('') };
  } finally {
    for (const undo of restore.reverse()) undo();
    for (const [key, value] of saved) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    running = false;
  }
}
