import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { eventually } from './harness';

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

/** Starts the real server (`dist/src/main.js`) as a child process with the given environment. */
export function startServerProcess(env: Record<string, string | undefined>): ChildProcess {
  const child = spawn(process.execPath, [path.join(__dirname, '..', '..', 'src', 'main.js')], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.resume();
  return child;
}

/** Waits until a server answers GET /health with 200. */
export async function waitForHealth(baseUrl: string, timeoutMs = 30_000): Promise<void> {
  await eventually(async () => {
    try {
      return (await fetch(`${baseUrl}/health`)).status === 200 ? true : undefined;
    } catch {
      return undefined;
    }
  }, 'the server to answer /health', timeoutMs);
}
