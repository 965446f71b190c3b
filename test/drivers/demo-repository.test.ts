import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { buildDemoRepository } from '../../src/drivers/local/demo-repository';
import { parseRepositoryIndex } from '../../src/drivers/local/package-manifest';
import { makeTempDir, removeDir } from './fixtures';

describe('demo repository', () => {
  let base: string;
  before(async () => {
    base = await makeTempDir('demo-repo');
  });
  after(() => removeDir(base));

  it('builds an index and an archive per package version from the committed sources', async () => {
    const repo = await buildDemoRepository(path.join(base, 'repo'));
    expect(path.isAbsolute(repo)).to.equal(true);
    const index = parseRepositoryIndex(JSON.parse(await readFile(path.join(repo, 'index.json'), 'utf8')), repo);
    expect(index.packages.map((p) => `${p.name}@${p.version}`)).to.have.members([
      'demo-app@1.0.0',
      'demo-app@2.0.0',
      'demo-broken@1.0.0',
      'demo-db@1.0.0',
      'demo-db@2.0.0',
      'demo-httpd@1.0.0',
      'demo-httpd@1.1.0',
      'demo-site@1.0.0',
      'demo-slow@1.0.0',
      'storage-pool@1.0.0',
      'demo-web@1.0.0',
      'demo-web@2.0.0',
    ]);
    const httpd = index.byName.get('demo-httpd')?.[0];
    expect(httpd?.start).to.deep.equal(['$NODE', 'server.js']);
    expect(httpd?.sha256).to.match(/^[0-9a-f]{64}$/);
    const listing = execFileSync('tar', ['-tzf', path.join(repo, 'demo-httpd-1.1.0.tar.gz')], { encoding: 'utf8' });
    expect(listing).to.include('./server.js').and.to.include('./hooks/install.sh');
    expect(await readFile(path.join(repo, 'files/welcome.txt'), 'utf8')).to.include('Welcome');
  });

  it('is idempotent: a second build keeps unchanged archives and the same index', async () => {
    const repo = path.join(base, 'again');
    await buildDemoRepository(repo);
    const indexBefore = await readFile(path.join(repo, 'index.json'), 'utf8');
    const archiveBefore = await stat(path.join(repo, 'demo-site-1.0.0.tar.gz'));
    await buildDemoRepository(repo);
    expect(await readFile(path.join(repo, 'index.json'), 'utf8')).to.equal(indexBefore);
    expect((await stat(path.join(repo, 'demo-site-1.0.0.tar.gz'))).mtimeMs).to.equal(archiveBefore.mtimeMs);
  });
});
