/**
 * A component's long-running process: launched detached in its own process
 * group with its output appended to a log file, recorded in a pid file, and
 * ended by signalling the group.
 *
 * The pid file holds the pid on its first line (as pid files do) and, where
 * `/proc` exists, the process start time on the second, so a pid reused by
 * an unrelated process after a reboot is not mistaken for the component.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, readlink } from 'node:fs/promises';
import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { DriverError } from '../driver';
import { OutputTail } from './output-tail';
import type { RootFiles } from './root-files';
import type { ProcessLaunch, ProcessRecord } from '../system-port';

export type { ProcessRecord } from '../system-port';

/** What to launch: the port's launch, and the files of the root it runs in. */
export interface LaunchSpec extends ProcessLaunch {
  /** Opens, writes and removes the log and pid files without following links. */
  readonly files: RootFiles;
}

const POLL_MS = 50;
const KILL_WAIT_MS = 2000;

/**
 * Launches the process detached, writes the pid file, and waits
 * `startupGraceMs` to see that it stays up.
 * @throws DriverError `HookFailed` when it cannot be launched or exits
 *   during the grace period (with the tail of its log as output).
 */
export async function launchDetached(spec: LaunchSpec): Promise<ProcessRecord> {
  const [file, ...args] = spec.command;
  if (file === undefined) throw new DriverError('InvalidState', `${spec.label} has an empty start command`);
  const log = await spec.files.openForAppend(spec.logFile);
  let child: ChildProcess;
  let logOffset: number;
  let exited!: Promise<string>;
  try {
    await log.write(`--- ${new Date().toISOString()} starting ${spec.label}: ${spec.command.join(' ')}\n`);
    logOffset = (await log.stat()).size;
    child = spawn(file, args, { cwd: spec.cwd, env: spec.env, detached: true, stdio: ['ignore', log.fd, log.fd] });
    // Listen for the exit at once: a command that fails fast can exit before the awaits below finish.
    const launched = child;
    exited = new Promise<string>((resolve) =>
      launched.once('exit', (code, signal) => resolve(code === null ? `was killed by ${signal}` : `exited with code ${code}`)),
    );
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
  } catch (error) {
    if (error instanceof DriverError) throw error;
    throw new DriverError('HookFailed', `start command of ${spec.label} could not be launched: ${String(error)}`, {
      cause: error,
    });
  } finally {
    await log.close();
  }
  // Errors after the spawn (a failed kill) must not crash the service.
  child.on('error', () => undefined);
  const pid = child.pid as number;
  const startTime = await processStartTime(pid);
  const record: ProcessRecord = startTime === undefined ? { pid } : { pid, startTime };
  await spec.files.writeFile(spec.pidFile, `${pid}\n${startTime ?? ''}\n`);
  // Node's timer: a real process's start-up, in real time.
  const early = await Promise.race([exited, delay(spec.startupGraceMs, undefined)]);
  if (early !== undefined) {
    await spec.files.remove(spec.pidFile);
    const tail = await readLogTail(spec.files, spec.logFile, logOffset, spec.outputLimit);
    const detail = tail.lastLine();
    throw new DriverError(
      'HookFailed',
      `start command of ${spec.label} ${early} during start-up${detail === '' ? '' : `: ${detail}`}`,
      { output: tail.toString() },
    );
  }
  if (spec.ready !== undefined) {
    const failure = await waitReady(spec.ready, pid, exited);
    if (failure !== undefined) {
      if (failure.timedOut) await terminate(record, KILL_WAIT_MS, spec.label).catch(() => undefined);
      await spec.files.remove(spec.pidFile);
      const tail = await readLogTail(spec.files, spec.logFile, logOffset, spec.outputLimit);
      const detail = tail.lastLine();
      throw new DriverError('HookFailed', `${spec.label} ${failure.message}${detail === '' ? '' : `: ${detail}`}`, { output: tail.toString() });
    }
  }
  child.unref();
  return record;
}

/** Waits for a launched process to be ready; undefined once it is, otherwise why not. */
async function waitReady(ready: NonNullable<LaunchSpec['ready']>, pid: number, exited: Promise<string>): Promise<{ message: string; timedOut: boolean } | undefined> {
  const deadline = Date.now() + ready.timeoutMs;
  let gone: string | undefined;
  void exited.then((how) => (gone = how));
  for (;;) {
    if (gone !== undefined) return { message: `${gone} before it was ready (${ready.what})`, timedOut: false };
    if (await ready.check(pid)) return undefined;
    if (Date.now() >= deadline) return { message: `was not ready (${ready.what}) within ${Math.round(ready.timeoutMs / 1000)} s; it was stopped`, timedOut: true };
    // Node's timer: a real process's state, polled in real time.
    await delay(POLL_MS);
  }
}

/**
 * True when the process accepts a connection on a TCP port it listens on
 * (its listening sockets read from /proc; a wildcard address is tried on
 * the loopback one). False while it listens on none, or where /proc is not.
 */
export async function acceptsConnections(pid: number): Promise<boolean> {
  let links: string[];
  try {
    const fds = await readdir(`/proc/${pid}/fd`);
    links = await Promise.all(fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
  } catch {
    return false;
  }
  const inodes = new Set(links.map((l) => /^socket:\[(\d+)\]$/.exec(l)?.[1]).filter((i): i is string => i !== undefined));
  if (inodes.size === 0) return false;
  for (const [table, family] of [['tcp', 4], ['tcp6', 6]] as const) {
    let text: string;
    try {
      text = await readFile(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [address, portHex] = (fields[1] ?? '').split(':');
      // State 0A is LISTEN; field 9 is the socket's inode.
      if (fields[3] !== '0A' || !inodes.has(fields[9] ?? '') || address === undefined || portHex === undefined) continue;
      const host = loopbackFor(address, family);
      if (await connects(host, Number.parseInt(portHex, 16))) return true;
    }
  }
  return false;
}

/** The address to connect to for a listening socket's (hex, kernel-order) address: its own, or loopback for a wildcard. */
function loopbackFor(hex: string, family: 4 | 6): string {
  if (family === 4) {
    const octets = (hex.match(/../g) ?? []).map((b) => Number.parseInt(b, 16)).reverse();
    return octets.every((o) => o === 0) ? '127.0.0.1' : octets.join('.');
  }
  return /^0+$/.test(hex) ? '::1' : /^0{16}FFFF0000/i.test(hex) ? loopbackFor(hex.slice(24), 4) : '::1';
}

function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 1000 });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

/** The pid file's record; undefined when there is none (or it is unreadable garbage). */
export async function readPidFile(files: RootFiles, pidFile: string): Promise<ProcessRecord | undefined> {
  const text = await files.readFile(pidFile);
  if (text === undefined) return undefined;
  const [pidLine, startLine] = text.split('\n');
  const pid = Number(pidLine);
  if (!Number.isSafeInteger(pid) || pid <= 1) return undefined;
  const startTime = startLine?.trim();
  return startTime ? { pid, startTime } : { pid };
}

/** True when the recorded process is still alive (not a zombie, not a reused pid). */
export async function isRunning(record: ProcessRecord): Promise<boolean> {
  try {
    process.kill(record.pid, 0);
  } catch {
    // ESRCH: gone. EPERM: someone else's process, so not ours any more.
    return false;
  }
  const stat = await readProcStat(record.pid);
  if (stat === undefined) return !hasProcfs();
  if (stat.state === 'Z' || stat.state === 'X') return false;
  return record.startTime === undefined || stat.startTime === record.startTime;
}

/**
 * Ends the process group: SIGTERM, up to `timeoutMs` for it to exit, then
 * SIGKILL. Stragglers left in the group after the leader exits are killed.
 * @returns how it ended.
 * @throws DriverError `Internal` (retryable) if it survives SIGKILL.
 */
export async function terminate(record: ProcessRecord, timeoutMs: number, label: string): Promise<'exited' | 'killed'> {
  signalGroup(record.pid, 'SIGTERM');
  let how: 'exited' | 'killed' = 'exited';
  if (!(await waitUntilGone(record, timeoutMs))) {
    how = 'killed';
    signalGroup(record.pid, 'SIGKILL');
    if (!(await waitUntilGone(record, KILL_WAIT_MS))) {
      throw new DriverError('Internal', `process ${record.pid} of ${label} survived SIGKILL`, { retryable: true });
    }
  }
  try {
    process.kill(-record.pid, 'SIGKILL');
  } catch {
    // The group is empty: the usual case.
  }
  return how;
}

/** The end of a log file from `offset` on, at most `limit` bytes. */
export async function readLogTail(files: RootFiles, logFile: string, offset: number, limit: number): Promise<OutputTail> {
  const tail = new OutputTail(limit);
  const handle = await files.openForReading(logFile);
  if (handle === undefined) return tail;
  try {
    const { size } = await handle.stat();
    const start = Math.max(offset, size - limit);
    if (size > start) {
      const buffer = Buffer.alloc(size - start);
      await handle.read(buffer, 0, buffer.length, start);
      tail.push(buffer);
    }
  } finally {
    await handle.close();
  }
  return tail;
}

async function waitUntilGone(record: ProcessRecord, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!(await isRunning(record))) return true;
    if (Date.now() >= deadline) return false;
    // Node's timer: a real process's state, polled in real time.
    await delay(POLL_MS);
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

async function processStartTime(pid: number): Promise<string | undefined> {
  return (await readProcStat(pid))?.startTime;
}

async function readProcStat(pid: number): Promise<{ state: string; startTime: string } | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = fields[0];
    const startTime = fields[19];
    return state === undefined || startTime === undefined ? undefined : { state, startTime };
  } catch {
    return undefined;
  }
}

let procfs: boolean | undefined;
function hasProcfs(): boolean {
  procfs ??= existsSync('/proc/self/stat');
  return procfs;
}
