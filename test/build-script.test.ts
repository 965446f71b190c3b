import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { projectRoot } from '../src/project-root';

describe('scripts/build-if-changed.js', () => {
  it('removes the compiled files of a source that is gone, and keeps those of sources that are there', () => {
    const tree = fs.mkdtempSync(path.join(os.tmpdir(), 'provisor-build-'));
    try {
      fs.mkdirSync(path.join(tree, 'scripts'));
      fs.copyFileSync(path.join(projectRoot(), 'scripts', 'build-if-changed.js'), path.join(tree, 'scripts', 'build-if-changed.js'));
      fs.mkdirSync(path.join(tree, 'test'));
      fs.writeFileSync(path.join(tree, 'test', 'kept.test.ts'), '');
      fs.mkdirSync(path.join(tree, 'dist', 'test'), { recursive: true });
      for (const name of ['kept.test.js', 'kept.test.js.map', 'gone.test.js', 'gone.test.js.map', 'gone.d.ts', 'notes.txt']) fs.writeFileSync(path.join(tree, 'dist', 'test', name), '');
      // A build newer than every source: nothing to compile, only the pruning runs.
      const stamp = path.join(tree, 'dist', '.build-stamp');
      fs.writeFileSync(stamp, '');
      const later = new Date(Date.now() + 60_000);
      fs.utimesSync(stamp, later, later);

      const run = spawnSync(process.execPath, [path.join(tree, 'scripts', 'build-if-changed.js')], { encoding: 'utf8' });
      expect(run.status, run.stderr).to.equal(0);
      expect(run.stdout).to.include('removed 3 compiled file(s) of sources that are gone');
      expect(fs.readdirSync(path.join(tree, 'dist', 'test')).sort()).to.deep.equal(['kept.test.js', 'kept.test.js.map', 'notes.txt']);
    } finally {
      fs.rmSync(tree, { recursive: true, force: true });
    }
  });
});
