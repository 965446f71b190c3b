#!/usr/bin/env node
'use strict';
// Runs the TypeScript build only when a source is newer than the last
// build (dist/.build-stamp): `npm install` (prepare) and `npm test`
// (pretest) build a fresh or changed tree; an unchanged one is left as it
// is. `npm start` never builds.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const stamp = path.join(root, 'dist', '.build-stamp');
const SOURCES = ['src', 'scripts', 'test', 'entities', 'ormconfig.ts', 'tsconfig.json', 'package.json'];

/** The newest modification time under `target` (TypeScript files and the build's own settings). */
function newest(target) {
  let stat;
  try {
    stat = fs.statSync(target);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return /\.(ts|json)$/.test(target) ? stat.mtimeMs : 0;
  let latest = 0;
  for (const entry of fs.readdirSync(target)) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue;
    latest = Math.max(latest, newest(path.join(target, entry)));
  }
  return latest;
}

/**
 * Removes what the compiler wrote for a source that is gone: tsc never
 * deletes, so a deleted or renamed test would otherwise go on running from
 * dist/ (mocha takes every dist/test/**\/*.test.js).
 */
function pruneOrphans(dir) {
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  let removed = 0;
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      removed += pruneOrphans(full);
      continue;
    }
    const output = /^(.*)\.(js|js\.map|d\.ts)$/.exec(entry.name);
    if (output === null) continue;
    const source = path.join(root, path.relative(path.join(root, 'dist'), dir), `${output[1]}.ts`);
    if (fs.existsSync(source)) continue;
    fs.rmSync(full, { force: true });
    removed += 1;
  }
  return removed;
}

const orphans = pruneOrphans(path.join(root, 'dist'));
if (orphans > 0) process.stdout.write(`build: removed ${orphans} compiled file(s) of sources that are gone\n`);

const built = fs.existsSync(stamp) ? fs.statSync(stamp).mtimeMs : 0;
const changed = Math.max(...SOURCES.map((source) => newest(path.join(root, source))));
if (built > 0 && changed <= built && process.argv[2] !== '--force') {
  process.stdout.write('build: dist/ is up to date\n');
  process.exit(0);
}
const started = Date.now();
const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.json')], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
fs.mkdirSync(path.dirname(stamp), { recursive: true });
fs.writeFileSync(stamp, `${new Date(started).toISOString()}\n`);
// The stamp takes the build's start time: a source saved during the build is built next time.
fs.utimesSync(stamp, new Date(started), new Date(started));
process.stdout.write(`build: compiled in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
