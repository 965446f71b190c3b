/**
 * CPU accounting from /proc (Linux): how much CPU the server under test,
 * the database server, this process (autocannon) and everything else used
 * during a measurement. The machine is shared, so a figure taken while
 * something else was busy must say so. Elsewhere than Linux it reports nothing.
 */
import fs from 'node:fs';
import os from 'node:os';

const TICKS_PER_SECOND = 100;

function readMachine(): { busy: number; total: number } | undefined {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const fields = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** utime + stime of a process (all its threads), in ticks. */
function readProcess(pid: number): number | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // after "(comm) ": state is field 3, utime 14, stime 15 (1-based) → indexes 11 and 12 here.
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

/** Pids of a running MariaDB/MySQL server on this machine (part of the system under test). */
/** The machine's busy and total CPU ticks so far, for a utilisation over a window. */
export function machineTicks(): { busy: number; total: number } | undefined {
  return readMachine();
}

/** CPU milliseconds a process has used so far (user + system), or undefined when it is gone. */
export function processCpuMs(pid: number): number | undefined {
  const ticks = readProcess(pid);
  return ticks === undefined ? undefined : (ticks * 1000) / TICKS_PER_SECOND;
}

export function databaseServerPids(): number[] {
  const out: number[] = [];
  try {
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const comm = fs.readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
        if (comm === 'mariadbd' || comm === 'mysqld') out.push(Number(entry));
      } catch {
        // gone meanwhile
      }
    }
  } catch {
    // no /proc
  }
  return out;
}

export interface CpuUse {
  /** Cores (CPU seconds per second) used by each, over the window. */
  readonly server: number;
  readonly database: number;
  readonly client: number;
  /** Everything else on the machine: other people's work. */
  readonly other: number;
  readonly machine: number;
  /** CPU milliseconds the server process spent, in total, over the window. */
  readonly serverMs: number;
}

export interface CpuWindow {
  stop(): CpuUse | undefined;
}

/** Starts a measurement window over the server process and the database server. */
export function cpuWindow(serverPid: number, dbPids: readonly number[]): CpuWindow {
  const cores = os.cpus().length;
  const m0 = readMachine();
  const s0 = readProcess(serverPid);
  const d0 = dbPids.map(readProcess);
  const c0 = process.cpuUsage();
  return {
    stop() {
      const m1 = readMachine();
      const s1 = readProcess(serverPid);
      const d1 = dbPids.map(readProcess);
      const c1 = process.cpuUsage(c0);
      if (m0 === undefined || m1 === undefined || s0 === undefined || s1 === undefined) return undefined;
      const wallTicks = (m1.total - m0.total) / cores;
      if (wallTicks <= 0) return undefined;
      const perWall = (ticks: number): number => ticks / wallTicks;
      const server = perWall(s1 - s0);
      let dbTicks = 0;
      d1.forEach((t, i) => {
        const before = d0[i];
        if (t !== undefined && before !== undefined) dbTicks += t - before;
      });
      const database = perWall(dbTicks);
      const client = (c1.user + c1.system) / 1e6 / (wallTicks / TICKS_PER_SECOND);
      const machine = perWall(m1.busy - m0.busy);
      return { server, database, client, other: Math.max(0, machine - server - database - client), machine, serverMs: ((s1 - s0) * 1000) / TICKS_PER_SECOND };
    },
  };
}

/** Cores busy on the whole machine over `ms`. */
export async function machineBusy(ms = 1000): Promise<number | undefined> {
  const a = readMachine();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const b = readMachine();
  if (a === undefined || b === undefined || b.total === a.total) return undefined;
  return ((b.busy - a.busy) / (b.total - a.total)) * os.cpus().length;
}

/**
 * Waits (up to `maxMs`) until the machine is nearly idle, so a measurement
 * does not start while someone else's build or test runs. Returns the last
 * reading.
 */
export async function waitForQuiet(maxMs: number, threshold = 0.3): Promise<{ busy: number | undefined; waitedMs: number }> {
  const start = Date.now();
  let busy = await machineBusy(1000);
  while (busy !== undefined && busy > threshold && Date.now() - start < maxMs) {
    busy = await machineBusy(2000);
  }
  return { busy, waitedMs: Date.now() - start };
}
