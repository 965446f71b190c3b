import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import type { App } from '../../src/app';
import { type Env, loadConfig } from '../../src/config';
import { openDatabase } from '../../src/db/data-source';
import { eventually, freshEnvironment, prepareDatabase } from './harness';

/** A TCP port free on the loopback interface at the time of asking. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** The end of each started server's standard error, for the message of a start that failed. */
const stderrTails = new WeakMap<ChildProcess, string>();

/** Starts the real server (`dist/src/main.js`) as a child process with the given environment. */
export function startServerProcess(env: Record<string, string | undefined>): ChildProcess {
  const child = spawn(process.execPath, [path.join(__dirname, '..', '..', 'src', 'main.js')], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  stderrTails.set(child, '');
  child.stderr?.on('data', (chunk: Buffer) => stderrTails.set(child, ((stderrTails.get(child) ?? '') + chunk.toString()).slice(-4000)));
  return child;
}

/** Whether a child process has ended. */
export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Stops a server started by {@link startServerProcess} with SIGTERM and waits for it to be gone (at once when it is). */
export async function stopServerProcess(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/**
 * Waits until a server answers GET /health with 200. Given the server's
 * process, fails at once when it ends first, with its exit code and the end
 * of its standard error.
 */
export async function waitForHealth(baseUrl: string, timeoutMs = 30_000, child?: ChildProcess): Promise<void> {
  await eventually(async () => {
    if (child !== undefined && hasExited(child)) {
      throw new Error(`the server ended (exit ${String(child.exitCode ?? child.signalCode)}) before it answered /health:\n${stderrTails.get(child) ?? ''}`);
    }
    try {
      return (await fetch(`${baseUrl}/health`)).status === 200 ? true : undefined;
    } catch {
      return undefined;
    }
  }, 'the server to answer /health', timeoutMs);
}

/**
 * A real server process on a fresh database, for the crash tests: prepared
 * in this process (users, deployments), started as a child, killed with
 * SIGKILL and started again on the same port and database, and read
 * through a DataSource of the test's own.
 */
export class ServerProcess {
  private child: ChildProcess | undefined;
  private source: DataSource | undefined;

  private constructor(
    readonly env: Env,
    readonly baseUrl: string,
    private readonly cleanup: () => Promise<void>,
  ) {}

  /** A fresh database with `extra` settings over the test defaults, prepared by `prepare` (told the address the server will have); not started yet. */
  static async prepare(extra: Env, prepare: (app: App, baseUrl: string) => Promise<void>): Promise<ServerProcess> {
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const environment = await freshEnvironment();
    const env: Env = { ...environment.env, PORT: String(port), LOG_LEVEL: 'warn', ...extra };
    await prepareDatabase(env, (app) => prepare(app, baseUrl));
    return new ServerProcess(env, baseUrl, environment.cleanup);
  }

  /** Starts the server and waits until it answers /health. */
  async start(): Promise<void> {
    this.child = startServerProcess(this.env);
    await waitForHealth(this.baseUrl);
  }

  /** Kills the server with SIGKILL and waits for it to be gone. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async killAndRestart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  /** The server's database, opened for the test on first use. */
  async db(): Promise<DataSource> {
    this.source ??= await openDatabase(loadConfig(this.env));
    return this.source;
  }

  async close(): Promise<void> {
    await this.kill();
    await this.source?.destroy();
    await this.cleanup();
  }
}
