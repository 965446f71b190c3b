/**
 * Package versions and version ranges, shared by the drivers (which install
 * them) and the change manager (which plans with them).
 *
 * Semver-ish ordering of package versions: dot-separated segments compared
 * numerically when both are numbers (so `1.10.0` > `1.9.0`), as text
 * otherwise; missing segments count as `0`; a pre-release (`1.0.0-rc.1`)
 * sorts before its release. Build metadata (`+…`) is ignored.
 */

/** Negative when `a` < `b`, zero when equal, positive when `a` > `b`. */
export function compareVersions(a: string, b: string): number {
  const [mainA, preA] = splitVersion(a);
  const [mainB, preB] = splitVersion(b);
  const main = compareSegments(mainA, mainB, '0');
  if (main !== 0) return main;
  if (preA === undefined || preB === undefined) {
    if (preA === preB) return 0;
    return preA === undefined ? 1 : -1;
  }
  return compareSegments(preA, preB, '');
}

/** Sorts versions highest first (a new array). */
export function sortVersionsDescending(versions: readonly string[]): string[] {
  return [...versions].sort((a, b) => compareVersions(b, a));
}

function splitVersion(version: string): [string[], string[] | undefined] {
  const withoutBuild = version.split('+', 1)[0] ?? '';
  const dash = withoutBuild.indexOf('-');
  const main = dash === -1 ? withoutBuild : withoutBuild.slice(0, dash);
  const pre = dash === -1 ? undefined : withoutBuild.slice(dash + 1).split('.');
  return [main.split('.'), pre];
}

function compareSegments(a: readonly string[], b: readonly string[], missing: string): number {
  const length = Math.max(a.length, b.length);
  for (let i = 0; i < length; i += 1) {
    const result = compareSegment(a[i] ?? missing, b[i] ?? missing);
    if (result !== 0) return result;
  }
  return 0;
}

function compareSegment(a: string, b: string): number {
  const numeric = /^\d+$/;
  if (numeric.test(a) && numeric.test(b)) {
    const diff = Number(a) - Number(b);
    if (diff !== 0) return Math.sign(diff);
    return 0;
  }
  // Numbers sort before words, as in semver pre-release identifiers.
  if (numeric.test(a) !== numeric.test(b)) return numeric.test(a) ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A version range, as manifests and change requests write it: comparators
 * separated by spaces must all hold, alternatives are separated by `||`.
 *
 * | form | means |
 * |---|---|
 * | `*` (or empty) | any version |
 * | `1.2.3` | exactly 1.2.3 |
 * | `1.2`, `1.2.x`, `1` | a prefix: any 1.2.* (any 1.*) release |
 * | `>=1.2`, `>1.2`, `<=1.2`, `<2`, `=1.2.3` | compared in {@link compareVersions} order |
 * | `^1.2.3` | ≥ 1.2.3 and < 2 (for 0.x, < 0.(x+1)) |
 * | `~1.2.3` | ≥ 1.2.3 and < 1.3 |
 *
 * A pre-release (`2.0.0-rc.1`) satisfies a range only when a comparator of
 * the range names a pre-release of the same release, as npm does.
 */
export interface VersionRange {
  /** The range as written, normalised (single spaces). */
  readonly text: string;
  /** Alternatives; each a list of comparators that must all hold. */
  readonly alternatives: readonly (readonly Comparator[])[];
}

export type ComparatorOperator = '=' | '>' | '>=' | '<' | '<=';

export interface Comparator {
  readonly operator: ComparatorOperator;
  readonly version: string;
}

/** A range that cannot be read; `message` names the offending part. */
export class VersionRangeError extends Error {
  override readonly name = 'VersionRangeError';
}

const VERSION_TEXT = /^[0-9A-Za-z][0-9A-Za-z.+-]{0,99}$/;
const RANGE_TEXT_LIMIT = 256;

/** Reads a range; throws a VersionRangeError naming what is wrong. */
export function parseVersionRange(text: string): VersionRange {
  if (text.length > RANGE_TEXT_LIMIT) throw new VersionRangeError(`version range is longer than ${RANGE_TEXT_LIMIT} characters`);
  const parts = text.split('||');
  const alternatives = parts.map((part) => {
    const words = part.trim().split(/\s+/).filter((w) => w !== '');
    if (words.length === 0 && parts.length > 1) throw new VersionRangeError(`version range "${text}" has an empty alternative`);
    return words.flatMap((word) => comparatorsOf(word, text));
  });
  return { text: alternatives.length === 1 && alternatives[0]?.length === 0 ? '*' : normalise(text), alternatives };
}

/** True when `version` lies in `range` (text ranges are parsed first). */
export function satisfies(version: string, range: VersionRange | string): boolean {
  const parsed = typeof range === 'string' ? parseVersionRange(range) : range;
  const pre = isPreRelease(version);
  return parsed.alternatives.some(
    (comparators) =>
      comparators.every((c) => holds(version, c)) &&
      (!pre || comparators.some((c) => isPreRelease(c.version) && sameRelease(c.version, version))),
  );
}

/** The highest of `versions` in `range`, or undefined when none is. */
export function highestSatisfying(versions: readonly string[], range: VersionRange | string): string | undefined {
  const parsed = typeof range === 'string' ? parseVersionRange(range) : range;
  let best: string | undefined;
  for (const v of versions) if (satisfies(v, parsed) && (best === undefined || compareVersions(v, best) > 0)) best = v;
  return best;
}

/** True when some version could satisfy both ranges, judged on the given candidate versions. */
export function intersects(a: VersionRange | string, b: VersionRange | string, candidates: readonly string[]): boolean {
  return candidates.some((v) => satisfies(v, a) && satisfies(v, b));
}

function normalise(text: string): string {
  return text
    .split('||')
    .map((p) => p.trim().split(/\s+/).join(' '))
    .join(' || ');
}

function comparatorsOf(word: string, whole: string): Comparator[] {
  if (word === '*' || word === 'x' || word === 'X') return [];
  const match = /^(\^|~|>=|<=|>|<|=)?(.*)$/.exec(word);
  const op = match?.[1] ?? '';
  const rest = match?.[2] ?? '';
  if (!VERSION_TEXT.test(rest)) throw new VersionRangeError(`version range "${whole}": "${word}" is not a comparator (write e.g. ">=1.2.0", "^1.2", "1.2.x")`);
  const segments = rest.split('+', 1)[0]!.split('-', 1)[0]!.split('.');
  const wildcard = segments.findIndex((s) => s === 'x' || s === 'X' || s === '*');
  if (wildcard !== -1 && segments.slice(wildcard).some((s) => s !== 'x' && s !== 'X' && s !== '*')) {
    throw new VersionRangeError(`version range "${whole}": "${word}" has a wildcard before a number`);
  }
  const fixed = wildcard === -1 ? segments : segments.slice(0, wildcard);
  const partial = wildcard !== -1 || (segments.length < 3 && !rest.includes('-'));
  switch (op) {
    case '':
    case '=':
      if (!partial) return [{ operator: '=', version: rest }];
      if (fixed.length === 0) return [];
      return [{ operator: '>=', version: fixed.join('.') }, { operator: '<', version: bump(fixed, fixed.length - 1) }];
    case '^': {
      const first = fixed.findIndex((s) => s !== '0');
      const at = first === -1 ? Math.max(0, fixed.length - 1) : first;
      if (fixed.length === 0) return [];
      return [{ operator: '>=', version: rest.replace(/\.[xX*].*$/, '') }, { operator: '<', version: bump(fixed, Math.min(at, fixed.length - 1)) }];
    }
    case '~':
      if (fixed.length === 0) return [];
      return [{ operator: '>=', version: rest.replace(/\.[xX*].*$/, '') }, { operator: '<', version: bump(fixed, Math.min(1, fixed.length - 1)) }];
    default:
      if (fixed.length === 0) throw new VersionRangeError(`version range "${whole}": "${word}" compares with a wildcard`);
      return [{ operator: op as ComparatorOperator, version: wildcard === -1 ? rest : fixed.join('.') }];
  }
}

/** `segments` with the one at `index` increased by one and the rest dropped, ending in `-0` so that no pre-release of the bumped version slips in. */
function bump(segments: readonly string[], index: number): string {
  const head = segments.slice(0, index);
  const n = Number(segments[index]);
  if (!Number.isSafeInteger(n)) throw new VersionRangeError(`version segment "${segments[index] ?? ''}" is not a number`);
  return [...head, String(n + 1)].join('.') + '-0';
}

function holds(version: string, c: Comparator): boolean {
  const d = compareVersions(version, c.version);
  switch (c.operator) {
    case '=':
      return d === 0;
    case '>':
      return d > 0;
    case '>=':
      return d >= 0;
    case '<':
      return d < 0;
    case '<=':
      return d <= 0;
  }
}

function isPreRelease(version: string): boolean {
  return (version.split('+', 1)[0] ?? '').includes('-');
}

function sameRelease(a: string, b: string): boolean {
  const main = (v: string): string => (v.split('+', 1)[0] ?? '').split('-', 1)[0] ?? '';
  return compareVersions(main(a), main(b)) === 0;
}
