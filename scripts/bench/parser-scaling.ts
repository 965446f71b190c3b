import { parseXml } from '../../src/soap/xml';
import { fmt, formatTable } from './table';

export interface ParserScalingResult {
  readonly elements: number;
  readonly kib: number;
  /** Milliseconds to parse the document written on one line, and with a newline after each element. */
  readonly oneLineMs: number;
  readonly manyLinesMs: number;
}

function time(doc: string): number {
  const started = performance.now();
  parseXml(doc);
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
