import { expect } from 'chai';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { resolveInsideRoot, toJailedRelativePath } from '../../src/drivers/path-jail';
import { expectDriverError, makeTempDir, removeDir } from './fixtures';

describe('path jail', () => {
  const where = 'the root of system "s"';

  describe('the string check', () => {
    it('normalises paths that stay inside', () => {
      expect(toJailedRelativePath('a/b/../c/', where)).to.equal('a/c');
      expect(toJailedRelativePath('./a//b', where)).to.equal('a/b');
      expect(toJailedRelativePath('..hidden/x', where)).to.equal('..hidden/x');
    });

    it('resolves an absolute path under the root, as a chroot would', () => {
      expect(toJailedRelativePath('/etc/passwd', where)).to.equal('etc/passwd');
      expect(toJailedRelativePath('//srv/www/', where)).to.equal('srv/www');
      expect(toJailedRelativePath('/../../etc/shadow', where)).to.equal('etc/shadow');
      expect(toJailedRelativePath('/a/../b', where)).to.equal('b');
    });

    for (const escaping of ['..', '../x', 'a/../../x']) {
      it(`refuses ${JSON.stringify(escaping)} with PathOutsideRoot`, async () => {
        const error = await expectDriverError(Promise.resolve().then(() => toJailedRelativePath(escaping, where)), 'PathOutsideRoot');
        expect(error.message).to.include(JSON.stringify(escaping)).and.to.include(where);
      });
    }

    for (const invalid of ['', '.', 'a/..', 'x\0y', '/', '/..', '/a/..']) {
      it(`refuses ${JSON.stringify(invalid)} with InvalidParameter`, async () => {
        await expectDriverError(Promise.resolve().then(() => toJailedRelativePath(invalid, where)), 'InvalidParameter');
      });
    }
  });

  describe('the check on disk', () => {
    let base: string;
    let root: string;
    before(async () => {
      base = await makeTempDir('jail');
      root = path.join(base, 'root');
      await mkdir(path.join(root, 'dir'), { recursive: true });
      await writeFile(path.join(base, 'outside.txt'), 'x');
      await symlink(path.join(base, 'outside.txt'), path.join(root, 'link-out'));
      await symlink('dir', path.join(root, 'link-in'));
      await symlink('loop-b', path.join(root, 'loop-a'));
      await symlink('loop-a', path.join(root, 'loop-b'));
      await symlink('../../outside-dir/x', path.join(root, 'dir/dangling-out'));
    });
    after(() => removeDir(base));

    const resolve = (p: string, followFinal = true): Promise<string> => resolveInsideRoot(root, p, { where, followFinal });

    it('resolves new paths below existing directories and links that stay inside', async () => {
      expect(await resolve('dir/new/file.txt')).to.equal(path.join(root, 'dir/new/file.txt'));
      expect(await resolve('link-in/file.txt')).to.equal(path.join(root, 'link-in/file.txt'));
    });

    it('refuses links leading outside, dangling ones and loops included', async () => {
      await expectDriverError(resolve('link-out'), 'PathOutsideRoot');
      await expectDriverError(resolve('dir/dangling-out'), 'PathOutsideRoot');
      await expectDriverError(resolve('loop-a/x'), 'PathOutsideRoot');
    });

    it('does not follow the last link when asked not to (Delete removes the link itself)', async () => {
      expect(await resolve('link-out', false)).to.equal(path.join(root, 'link-out'));
      await expectDriverError(resolve('link-out/below', false), 'PathOutsideRoot');
    });

    it('reports a missing root as InvalidState', async () => {
      await expectDriverError(resolveInsideRoot(path.join(base, 'missing'), 'x', { where, followFinal: true }), 'InvalidState');
    });
  });
});
