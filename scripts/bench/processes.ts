import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import type { Env } from '../../src/config';
import { projectRoot } from '../../src/project-root';

/** A free TCP port on the loopback interface. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface ServerProcess {
  readonly name: string;
  readonly port: number;
  readonly baseUrl: string;
  readonly pid: number;
  /** Set once the process has exited: how, and whether we asked it to. */
  exitStatus(): { code: number | null; signal: NodeJS.Signals | null; requested: boolean } | undefined;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  // Never leave a server behind, whatever ends the benchmark.
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      for (const child of live) child.kill('SIGKILL');
      process.exit(130);
    });
  }
}

/**
 * Starts `node [nodeArgs] script` from the project root with the given
 * environment (merged over this process's, undefined values removed) and
 * waits until `ready(baseUrl)` resolves true.
 */
export async function startServer(options: {
  name: string;
  script: string;
  env: Env;
  nodeArgs?: readonly string[];
  readyPath: string;
  timeoutMs?: number;
}): Promise<ServerProcess> {
  hookExit();
  const port = await freePort();
  const root = projectRoot();
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env, PORT: String(port), HOST: '127.0.0.1' };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), path.join(root, options.script)], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', (chunk: Buffer) => {
    keep(chunk);
    // Warnings and errors from the server under test belong in the benchmark's output.
    process.stderr.write(`  [${options.name}] ${chunk.toString('utf8')}`);
  });
  let status: { code: number | null; signal: NodeJS.Signals | null; requested: boolean } | undefined;
  let requested = false;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      status = { code, signal, requested };
      resolve();
    }),
  );
  void exited.then(() => live.delete(child));

  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  for (;;) {
    if (gone) throw new Error(`${options.name} exited before it was ready (code ${String(status?.code)}, signal ${String(status?.signal)}):\n${output}`);
    try {
      const response = await fetch(`${baseUrl}${options.readyPath}`);
      await response.arrayBuffer();
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${options.name} was not ready within ${options.timeoutMs ?? 30_000} ms:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    name: options.name,
    port,
    baseUrl,
    pid: child.pid ?? -1,
    exitStatus: () => status,
    async stop(graceMs = 10_000) {
      if (gone) return;
      requested = true;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
