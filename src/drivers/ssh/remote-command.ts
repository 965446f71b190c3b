/**
 * Runs commands on a remote host without ever building a command line from
 * data. The command line sent is always the same constant text; the
 * working directory, the environment and the argument vector travel on the
 * channel's standard input as NUL-separated items, which `xargs -0` hands to
 * `env -i` as separate arguments. A parameter value holding `$(…)`, quotes
 * or `;` therefore reaches a hook as an inert environment value.
 *
 * Each command runs in its own session (`setsid`), so a timeout or a cancel
 * kills everything it started (`kill -KILL -<pgid>` over a second
 * channel). Its exit status is reported on a marker line the wrapper
 * appends to standard error; a channel that closes without it (the
 * connection dropped) leaves the outcome unknown, which is said so.
 */
import type { Writable } from 'node:stream';
import { DriverError } from '../driver';
import { OutputTail } from '../local/output-tail';
import type { SshConnection } from './connection-pool';
import { hostLabel } from './ssh-target';

/**
 * The wrapper run by `/bin/sh -c`: $1 is the working directory, the rest is
 * `NAME=value …` followed by the program and its arguments.
 */
const WRAPPER = [
  'printf "provisor-pgid %s\\n" "$$" >&2',
  'cd -- "$1" || { printf "\\nprovisor-exit 126\\n" >&2; exit 0; }',
  'shift',
  'env -i "$@"',
  's=$?',
  'printf "\\nprovisor-exit %s\\n" "$s" >&2',
  'exit 0',
].join('\n');

/** The one command line sent for every command (the items come on standard input). */
export const REMOTE_COMMAND = `exec xargs -0 -x setsid /bin/sh -c '${WRAPPER.replace(/'/g, `'\\''`)}' provisor`;

/** The PATH remote commands get when the caller gives none. */
export const REMOTE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface RemoteRun {
  /** The remote working directory (absolute). */
  readonly cwd: string;
  /** The whole environment of the command (nothing else is inherited). */
  readonly env?: Readonly<Record<string, string>>;
  /** The program and its arguments. */
  readonly argv: readonly string[];
  /** Names the command in messages: `install hook of demo-httpd 1.0.0`. */
  readonly what: string;
  readonly timeoutMs: number;
  readonly outputLimit: number;
  readonly signal?: AbortSignal;
  /** Where standard output goes instead of the captured output (a tar stream). */
  readonly stdout?: Writable;
}

export interface RemoteResult {
  /** The exit status of the program. */
  readonly code: number;
  /** Standard output (unless redirected) and standard error, interleaved, the end of it. */
  readonly output: string;
  /** The last non-empty line of standard error. */
  readonly lastError: string;
}

const NUL = '\0';

/**
 * Runs a command and resolves with its exit status and output; a non-zero
 * status is a result, not an error.
 * @throws DriverError `Cancelled` when the signal aborts, `HookFailed` on
 *   timeout, `Internal` (retryable) when no channel can be opened,
 *   `OutcomeUnknown` when the connection drops while the command runs.
 */
export async function runRemote(connection: SshConnection, run: RemoteRun): Promise<RemoteResult> {
  for (const item of [run.cwd, ...run.argv, ...Object.entries(run.env ?? {}).flat()]) {
    if (item.includes(NUL)) throw new DriverError('InvalidParameter', `${run.what}: a value contains a NUL character`);
  }
  for (const name of Object.keys(run.env ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new DriverError('InvalidParameter', `${run.what}: environment name ${JSON.stringify(name)} is not valid`);
  }
  if (run.signal?.aborted === true) throw new DriverError('Cancelled', `${run.what} was cancelled`);
  const release = await connection.slots.acquire(run.signal);
  const done = connection.use();
  try {
    const channel = await connection.exec(REMOTE_COMMAND);
    const items = [run.cwd, ...Object.entries(run.env ?? { PATH: REMOTE_PATH }).map(([k, v]) => `${k}=${v}`), ...run.argv];
    return await new Promise<RemoteResult>((resolve, reject) => {
      const output = new OutputTail(run.outputLimit);
      const errors = new OutputTail(4096);
      let pending = '';
      let pgid: number | undefined;
      let exit: number | undefined;
      let timedOut = false;
      let aborted = false;
      let settled = false;
      const kill = (): void => {
        if (pgid === undefined) {
          channel.close();
          return;
        }
        // A separate channel: the command's own may be blocked on output.
        connection
          .exec(`kill -KILL -${pgid}`)
          .then((killer) => {
            killer.on('close', () => channel.close());
            killer.resume();
            killer.stderr.resume();
            killer.end();
          })
          .catch(() => channel.close());
      };
      // Node's timer: bounds a real remote command, which runs in real time.
      const timer = setTimeout(() => {
        timedOut = true;
        kill();
      }, run.timeoutMs);
      const onAbort = (): void => {
        aborted = true;
        kill();
      };
      run.signal?.addEventListener('abort', onAbort, { once: true });
      // An abort while the channel was being opened has no listener to call.
      if (run.signal?.aborted === true) onAbort();
      const line = (text: string): void => {
        const marker = /^provisor-(pgid|exit) (\d+)$/.exec(text);
        if (marker?.[1] === 'pgid' && pgid === undefined) pgid = Number(marker[2]);
        else if (marker?.[1] === 'exit') exit = Number(marker[2]);
        else {
          output.push(`${text}\n`);
          errors.push(`${text}\n`);
        }
      };
      channel.stderr.on('data', (chunk: Buffer) => {
        pending += chunk.toString('utf8');
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const text of lines) line(text);
      });
      if (run.stdout === undefined) channel.on('data', (chunk: Buffer) => output.push(chunk));
      else channel.pipe(run.stdout, { end: false });
      channel.on('close', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        run.signal?.removeEventListener('abort', onAbort);
        if (pending !== '') line(pending);
        const text = output.toString();
        if (aborted) {
          reject(new DriverError('Cancelled', `${run.what} was cancelled`, { output: text }));
        } else if (timedOut) {
          reject(new DriverError('HookFailed', `${run.what} timed out after ${run.timeoutMs} ms and was killed`, { output: text }));
        } else if (exit === undefined) {
          const why = connection.isOpen ? 'the command ended without reporting its status' : 'the connection dropped';
          reject(
            new DriverError(
              'OutcomeUnknown',
              `system "${connection.target.system}": ${run.what} on ${hostLabel(connection.target)}: ${why}; its outcome is unknown`,
              { retryable: false, output: text },
            ),
          );
        } else {
          resolve({ code: exit, output: text, lastError: errors.lastLine() });
        }
      });
      channel.on('error', () => undefined);
      channel.end(items.join(NUL) + NUL);
    });
  } finally {
    done();
    release();
  }
}

/**
 * Runs a command that must succeed.
 * @throws DriverError `Internal` naming the command, with its last error line.
 */
export async function mustRun(connection: SshConnection, run: Omit<RemoteRun, 'timeoutMs' | 'outputLimit'> & { timeoutMs?: number }): Promise<string> {
  const result = await runRemote(connection, { timeoutMs: 120_000, outputLimit: 64 * 1024, ...run });
  if (result.code !== 0) {
    throw new DriverError(
      'Internal',
      `system "${connection.target.system}": ${run.what} on ${hostLabel(connection.target)} exited with code ${result.code}` +
        (result.lastError === '' ? '' : `: ${result.lastError}`),
      { output: result.output },
    );
  }
  return result.output;
}
