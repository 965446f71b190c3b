import autocannon from 'autocannon';
import type { CpuUse, CpuWindow } from './cpu';

export interface LoadOptions {
  readonly url: string;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly connections: number;
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
  /** A response counts as good only if this holds (e.g. it carries a requestId). */
  readonly verify: (body: string) => boolean;
  /** Rewrites the body before each request is sent (a fresh token); the body's `[<id>]` is then its job too. */
  readonly prepare?: (body: string) => string;
  /** Started with the measured run (not the warm-up), stopped when it ends. */
  readonly cpu?: () => CpuWindow;
}

export interface LoadResult {
  /** Good (2xx, verified) responses per second over the measured window. */
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly ok: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
  readonly mismatches: number;
  readonly durationSeconds: number;
  /** 2xx responses of warm-up and measurement together (each inserted one row). */
  readonly total2xx: number;
  readonly cpu: CpuUse | undefined;
  /** Server CPU milliseconds per good response. */
  readonly serverCpuMsPerRequest: number | undefined;
}

async function once(options: LoadOptions, seconds: number): Promise<autocannon.Result> {
  const prepare = options.prepare;
  return autocannon({
    ...(prepare === undefined ? {} : { requests: [{ method: 'POST' as const, body: options.body, setupRequest: (request) => ({ ...request, body: prepare(options.body) }) }] }),
    url: options.url,
    method: 'POST',
    headers: { ...options.headers },
    body: options.body,
    connections: options.connections,
    duration: seconds,
    pipelining: 1,
    timeout: 10,
    idReplacement: true,
    verifyBody: options.verify,
  });
}

/** A warm-up run (discarded), then the measured run, one after the other on the same server. */
export async function measure(options: LoadOptions): Promise<LoadResult> {
  let warm2xx = 0;
  if (options.warmupSeconds > 0) {
    const warm = await once(options, options.warmupSeconds);
    warm2xx = warm['2xx'];
  }
  const window = options.cpu?.();
  const r = await once(options, options.durationSeconds);
  const cpu = window?.stop();
  const ok = r['2xx'] - r.mismatches;
  return {
    rps: ok / r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    max: r.latency.max,
    ok,
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    mismatches: r.mismatches,
    durationSeconds: r.duration,
    total2xx: warm2xx + r['2xx'],
    cpu,
    serverCpuMsPerRequest: cpu === undefined || ok === 0 ? undefined : cpu.serverMs / ok,
  };
}
