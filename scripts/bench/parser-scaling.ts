import { parseXml, type ParseLimits } from '../../src/xml/parser';
import { fmt, formatTable } from './table';

export interface ParserScalingResult {
  readonly elements: number;
  readonly kib: number;
  /** Milliseconds to parse the document written on one line, and with a newline after each element. */
  readonly oneLineMs: number;
  readonly manyLinesMs: number;
}

function time(doc: string, limits?: ParseLimits): number {
  const started = performance.now();
  parseXml(doc, limits);
  return performance.now() - started;
}

/**
 * Parses documents of `n` empty elements, once on a single line (as most
 * SOAP stacks send them) and once with a newline after each element. A
 * parser linear in its input takes about the same time for both.
 */
export function runParserScaling(sizes: readonly number[] = [25_000, 50_000, 100_000, 199_000]): ParserScalingResult[] {
  const out: ParserScalingResult[] = [];
  for (const n of sizes) {
    const oneLine = `<r>${'<a/>'.repeat(n)}</r>`;
    const manyLines = `<r>\n${'<a/>\n'.repeat(n)}</r>`;
    time('<r><a/></r>');
    out.push({ elements: n, kib: Buffer.byteLength(oneLine) / 1024, oneLineMs: time(oneLine), manyLinesMs: time(manyLines) });
  }
  return out;
}

export function printParserScalingTable(results: readonly ParserScalingResult[]): string {
  return formatTable(
    ['elements', 'KiB (one line)', 'one line ms', 'one per line ms', 'ratio'],
    results.map((r) => [String(r.elements), fmt(r.kib), fmt(r.oneLineMs), fmt(r.manyLinesMs), `${fmt(r.oneLineMs / r.manyLinesMs, 1)}×`]),
  );
}

/**
 * A document an attacker might send, of about `bytes` bytes: each shape
 * stresses one part of the parser (binding namespaces, the element stack,
 * attribute lists, names, text, references).
 */
export interface AdversarialShape {
  readonly id: string;
  readonly label: string;
  build(bytes: number): string;
}

/** How many times `unit` fits in what is left of `bytes` after `fixed` characters. */
function fit(bytes: number, fixed: number, unit: number): number {
  return Math.max(1, Math.floor((bytes - fixed) / unit));
}

export const ADVERSARIAL_SHAPES: readonly AdversarialShape[] = [
  {
    id: 'namespaces',
    label: 'root declaring N prefixes, N children declaring one each',
    build(bytes) {
      // A declaration ` xmlns:pNNNNN="urn:a"` and a child `<c xmlns:q="urn:b"/>` are about 20 bytes each.
      const n = fit(bytes, 8, 42);
      let root = '<r';
      for (let i = 0; i < n; i++) root += ` xmlns:p${i}="urn:a"`;
      return `${root}>${'<c xmlns:q="urn:b"/>'.repeat(n)}</r>`;
    },
  },
  {
    id: 'namespace-uses',
    label: 'root declaring N prefixes, N children using the first one declared',
    build(bytes) {
      const n = fit(bytes, 8, 36);
      let root = '<r';
      for (let i = 0; i < n; i++) root += ` xmlns:p${i}="urn:a"`;
      return `${root}>${'<p0:c p0:a="1"/>'.repeat(n)}</r>`;
    },
  },
  {
    id: 'deep',
    label: 'elements nested N deep',
    build(bytes) {
      const n = fit(bytes, 0, 7);
      return `${'<a>'.repeat(n)}${'</a>'.repeat(n)}`;
    },
  },
  {
    id: 'attributes',
    label: 'one element with N attributes',
    build(bytes) {
      const n = fit(bytes, 6, 12);
      let root = '<r';
      for (let i = 0; i < n; i++) root += ` a${i}="x"`;
      return `${root}/>`;
    },
  },
  {
    id: 'long-name',
    label: 'one element with a name of N characters',
    build(bytes) {
      const name = `n${'x'.repeat(fit(bytes, 7, 2))}`;
      return `<${name}></${name}>`;
    },
  },
  {
    id: 'long-text',
    label: 'one element holding N characters of text',
    build(bytes) {
      return `<r>${'lorem ipsum '.repeat(fit(bytes, 7, 12))}</r>`;
    },
  },
  {
    id: 'entities',
    label: 'text of N entity and character references',
    build(bytes) {
      return `<r>${'&amp;&lt;&#x41;&#66;'.repeat(fit(bytes, 7, 20))}</r>`;
    },
  },
];

/**
 * Limits high enough that every shape is parsed to its end: the benchmark
 * measures the work, not the refusal (the default limits refuse most of
 * these documents long before their end).
 */
const UNBOUNDED = { maxDepth: Number.MAX_SAFE_INTEGER, maxElements: Number.MAX_SAFE_INTEGER, maxAttributes: Number.MAX_SAFE_INTEGER, maxNamespaceDeclarations: Number.MAX_SAFE_INTEGER };

export interface AdversarialResult {
  readonly shape: string;
  readonly kib: number;
  /** CPU time of the best of the runs, in milliseconds. */
  readonly ms: number;
  readonly nsPerByte: number;
}

/**
 * CPU milliseconds this process spends parsing `doc`: on a machine shared
 * with other work, wall time also counts the time the parser waited for a
 * core, which is noise at these sizes.
 */
function cpuTime(doc: string, limits: ParseLimits): number {
  const started = process.cpuUsage();
  parseXml(doc, limits);
  const used = process.cpuUsage(started);
  return (used.user + used.system) / 1000;
}

/** Parses each shape at each size (KiB), best of `runs`; time per byte stays flat when the parser is linear. */
export function runAdversarialShapes(sizesKib: readonly number[] = [16, 64, 256, 1024], shapes: readonly AdversarialShape[] = ADVERSARIAL_SHAPES, runs = 5): AdversarialResult[] {
  const out: AdversarialResult[] = [];
  const limits = UNBOUNDED as ParseLimits;
  for (const shape of shapes) {
    // Warm up: the first documents of a shape also pay for compiling the parser's paths for it.
    const small = shape.build(16 * 1024);
    for (let i = 0; i < 20; i++) parseXml(small, limits);
    for (const kib of sizesKib) {
      const doc = shape.build(kib * 1024);
      let best = Infinity;
      for (let i = 0; i < runs; i++) best = Math.min(best, cpuTime(doc, limits));
      const bytes = Buffer.byteLength(doc);
      out.push({ shape: shape.id, kib: bytes / 1024, ms: best, nsPerByte: (best * 1e6) / bytes });
    }
  }
  return out;
}

export function printAdversarialTable(results: readonly AdversarialResult[]): string {
  return formatTable(
    ['shape', 'KiB', 'ms', 'ns/byte'],
    results.map((r) => [r.shape, fmt(r.kib), fmt(r.ms, 1), fmt(r.nsPerByte, 1)]),
  );
}
