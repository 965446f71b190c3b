/**
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
