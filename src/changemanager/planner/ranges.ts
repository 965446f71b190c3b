/** Version range checks with each range text read once: a plan checks the same few ranges thousands of times. */
import { parseVersionRange, satisfies as satisfiesRange, type VersionRange } from '../../packaging/versions';

const parsed = new Map<string, VersionRange>();
const MAX_CACHED = 10_000;

/** True when `version` lies in `range`; throws a VersionRangeError for a range that cannot be read. */
export function satisfies(version: string, range: string): boolean {
  let r = parsed.get(range);
  if (r === undefined) {
    r = parseVersionRange(range);
    if (parsed.size >= MAX_CACHED) parsed.clear();
    parsed.set(range, r);
  }
  return satisfiesRange(version, r);
}
