/**
 * The local driver's Copy and Delete use a checked path without trusting
 * the check: the directory holding it is opened walking from the root
 * without following links, and the last name is used inside that open
 * directory. Links planted inside a system root are refused or removed,
 * never followed out of it.
 */
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { mkdir, readFile, realpath, rename, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Driver, SystemDescriptor, Task, TaskResult } from '../../src/drivers/driver';
import { buildDemoRepository } from '../../src/drivers/local/demo-repository';
import { createLocalDriver } from '../../src/drivers/local/local-driver';
import { RootFiles } from '../../src/drivers/local/root-files';
import { contextFor, expectDriverError, localSystem, makeTempDir, removeDir } from './fixtures';

describe('local Copy and Delete with links planted in the root', function () {
  this.timeout(60_000);
  let base: string;
  let repo: string;
  let driver: Driver;
  let system: SystemDescriptor;
  let root: string;
  let outside: string;

  before(async () => {
    base = await makeTempDir('checked-paths');
    repo = await buildDemoRepository(path.join(base, 'repo'));
    driver = createLocalDriver({ cacheDir: path.join(base, 'cache') });
    system = localSystem('planted', path.join(base, 'root'));
    await driver.prepareSystem(system);
    root = await realpath(path.join(base, 'root'));
    outside = path.join(base, 'outside');
    await mkdir(outside, { recursive: true });
    await writeFile(path.join(outside, 'keep.txt'), 'outside');
  });

  after(async () => {
    await driver.close();
    await removeDir(base);
  });

  const run = (task: Task): Promise<TaskResult> => driver.execute(task, contextFor(system, [repo]));

  it('a Copy onto a link at the target name is refused, even one that stays inside the root, and nothing is written through it', async () => {
    await mkdir(path.join(root, 'srv'), { recursive: true });
    await writeFile(path.join(root, 'srv/real.txt'), 'before');
    await symlink('real.txt', path.join(root, 'srv/alias.txt'));
    const error = await expectDriverError(run({ operation: 'Copy', sourcePath: 'files/welcome.txt', targetPath: 'srv/alias.txt' }), 'PathOutsideRoot');
    expect(error.message).to.include('srv/alias.txt').and.to.include('symbolic link');
    expect(await readFile(path.join(root, 'srv/real.txt'), 'utf8')).to.equal('before');
  });

  it('a Copy through a directory link that stays inside the root lands in the real directory', async () => {
    await mkdir(path.join(root, 'data/v1'), { recursive: true });
    await symlink('v1', path.join(root, 'data/current'));
    await run({ operation: 'Copy', sourcePath: 'files/welcome.txt', targetPath: 'data/current/welcome.txt' });
    expect(existsSync(path.join(root, 'data/v1/welcome.txt'))).to.equal(true);
  });

  it('a Delete of a tree removes a link to outside found in it, never what it points to', async () => {
    await mkdir(path.join(root, 'tree/sub'), { recursive: true });
    await writeFile(path.join(root, 'tree/sub/file.txt'), 'x');
    await symlink(outside, path.join(root, 'tree/sub/out'));
    await run({ operation: 'Delete', path: 'tree' });
    expect(existsSync(path.join(root, 'tree'))).to.equal(false);
    expect(await readFile(path.join(outside, 'keep.txt'), 'utf8')).to.equal('outside');
  });

  it('a directory swapped for a link to outside after it was opened is not followed: the work stays in the directory opened', async () => {
    await mkdir(path.join(root, 'swap'), { recursive: true });
    const files = new RootFiles(root, '"planted"');
    await files.inDirectory(path.join(root, 'swap'), false, async (dir) => {
      // The swap a process racing the driver would make between the check and the use.
      await rename(path.join(root, 'swap'), path.join(root, 'swapped-away'));
      await symlink(outside, path.join(root, 'swap'));
      await writeFile(`${dir}/written.txt`, 'inside');
    });
    expect(existsSync(path.join(outside, 'written.txt'))).to.equal(false);
    expect(await readFile(path.join(root, 'swapped-away/written.txt'), 'utf8')).to.equal('inside');
    // The next use walks from the root again and refuses the link.
    const error = await expectDriverError(files.inDirectory(path.join(root, 'swap'), false, async () => undefined), 'PathOutsideRoot');
    expect(error.message).to.include('swap').and.to.include('symbolic link');
  });

  it('a Delete of a path whose directory is now a link to outside is refused, and outside is untouched', async () => {
    // The link is there at the check already: the check refuses it, the use would too.
    await expectDriverError(run({ operation: 'Delete', path: 'swap/keep.txt' }), 'PathOutsideRoot');
    expect(existsSync(path.join(outside, 'keep.txt'))).to.equal(true);
  });
});
