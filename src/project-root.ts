import fs from 'node:fs';
import path from 'node:path';

let cached: string | undefined;

/** The folder holding package.json (sources run from dist/, data files stay at the root). */
export function projectRoot(): string {
  if (cached !== undefined) return cached;
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json')) || !fs.existsSync(path.join(dir, 'wsdl'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the project root (a folder with package.json and wsdl/)');
    dir = parent;
  }
  cached = dir;
  return dir;
}
