/**
 * Runs one package hook: `/bin/sh <script>` (no shell parsing of our own),
 * in its own process group so a timeout or a cancel ends everything it
 * started, with its output captured up to a limit.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { DriverError } from '../driver';
import { cancelled } from '../cancellation';
import { errorCode } from '../path-jail';
import { OutputTail } from './output-tail';
import type { HookRun } from '../system-port';

/** How long a hook's pipes may stay open after it exited (a background child holding them). */
const DRAIN_MS = 250;
const STDERR_TAIL_BYTES = 4096;

/**
 * Runs the hook and resolves with its output (stdout and stderr, interleaved).
 * @throws DriverError `HookFailed` (non-zero exit, signal, timeout, missing
 *   script) with the output so far, `Cancelled` when `signal` aborts (the hook
 *   is killed), `Internal` when it cannot be spawned.
 */
export async function runHook(run: HookRun): Promise<string> {
  const what = `${run.hook} hook of ${run.label}`;
  if (run.signal.aborted) throw cancelled(what);
  const script = path.join(run.packageDir, run.script);
  try {
    await stat(script);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
    throw new DriverError('HookFailed', `${what}: ${run.script} is missing from the package`);
  }
  return new Promise<string>((resolve, reject) => {
    const output = new OutputTail(run.outputLimit);
    const stderr = new OutputTail(STDERR_TAIL_BYTES);
    let timedOut = false;
    let settled = false;
    let drain: NodeJS.Timeout | undefined;
    const child: ChildProcess = spawn('/bin/sh', [script], {
      cwd: run.packageDir,
      env: run.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const killGroup = (): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    // Node's timer: bounds a real child process, which runs in real time.
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, run.timeoutMs);
    const onAbort = (): void => killGroup();
    run.signal.addEventListener('abort', onAbort, { once: true });
    // An abort while the script was looked up came before there was a listener.
    if (run.signal.aborted) onAbort();
    const settle = (outcome: () => string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(drain);
      run.signal.removeEventListener('abort', onAbort);
      try {
        resolve(outcome());
      } catch (error) {
        reject(error);
      }
    };
    child.stdout?.on('data', (chunk: Buffer) => output.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => {
      output.push(chunk);
      stderr.push(chunk);
    });
    child.once('error', (error) =>
      settle(() => {
        throw new DriverError('Internal', `${what} could not be run: ${error.message}`, {
          cause: error,
          output: output.toString(),
        });
      }),
    );
    child.once('exit', () => {
      // Node's timer: the real pipes of an exited process get a moment to drain.
      drain = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }, DRAIN_MS);
    });
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) =>
      settle(() => {
        const text = output.toString();
        if (run.signal.aborted) throw cancelled(what, text);
        if (timedOut) throw new DriverError('HookFailed', `${what} timed out after ${run.timeoutMs} ms`, { output: text });
        if (code === 0) return text;
        const detail = stderr.lastLine() || output.lastLine();
        const how = code === null ? `was killed by ${signal ?? 'a signal'}` : `exited with code ${code}`;
        throw new DriverError('HookFailed', `${what} ${how}${detail === '' ? '' : `: ${detail}`}`, { output: text });
      }),
    );
  });
}
