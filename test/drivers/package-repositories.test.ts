import { expect } from 'chai';
import { appendFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PackageRepositories } from '../../src/drivers/local/package-repositories';
import { endlessServer } from '../support/endless-server';
import { type FixturePackage, buildFixtureRepository, expectDriverError, freePort, makeTempDir, removeDir, serveDirectory } from './fixtures';

describe('package repositories', function () {
  this.timeout(30_000);
  let base: string;
  let repoA: string;
  let repoB: string;
  let now = 0;
  const signal = new AbortController().signal;

  const pkg = (name: string, version: string): FixturePackage => ({ name, version, files: { 'README.txt': `${name} ${version}` } });
  const repositories = (ttl = 10_000, caps: { maxIndexBytes?: number; maxArchiveBytes?: number } = {}): PackageRepositories =>
    new PackageRepositories({ cacheDir: path.join(base, 'cache'), indexTtlMs: ttl, fetchTimeoutMs: 5000, now: () => now, ...caps });

  before(async () => {
    base = await makeTempDir('repositories');
    repoA = await buildFixtureRepository(path.join(base, 'a'), [pkg('tool', '1.0.0'), pkg('tool', '1.9.0'), pkg('shared', '1.0.0')]);
    repoB = await buildFixtureRepository(path.join(base, 'b'), [pkg('tool', '1.10.0'), pkg('shared', '1.0.0')]);
  });
  after(() => removeDir(base));

  describe('resolving', () => {
    it('picks the highest version across repositories when none is asked for', async () => {
      const found = await repositories().resolve([repoA, repoB], 'tool');
      expect(found.manifest.version).to.equal('1.10.0');
      expect(found.repository).to.equal(repoB);
    });

    it('picks an asked-for version from the first repository that lists it', async () => {
      expect((await repositories().resolve([repoA, repoB], 'shared', '1.0.0')).repository).to.equal(repoA);
      expect((await repositories().resolve([repoB, repoA], 'shared', '1.0.0')).repository).to.equal(repoB);
      expect((await repositories().resolve([repoA, repoB], 'tool', '1.9.0')).repository).to.equal(repoA);
    });

    it('reports UnknownPackage with the known versions', async () => {
      const error = await expectDriverError(repositories().resolve([repoA, repoB], 'tool', '3.0.0'), 'UnknownPackage');
      expect(error.message).to.equal('package tool 3.0.0 is in no repository (known versions: 1.10.0, 1.9.0, 1.0.0)');
      await expectDriverError(repositories().resolve([], 'tool'), 'UnknownPackage');
    });

    it('skips an unreachable repository when another has the package, and reports it when none has', async () => {
      const closed = `http://127.0.0.1:${await freePort()}/repo`;
      expect((await repositories().resolve([closed, repoA], 'tool', '1.0.0')).repository).to.equal(repoA);
      const error = await expectDriverError(repositories().resolve([closed, repoA], 'nowhere'), 'Internal');
      expect(error.message).to.include(closed);
      expect(error.retryable).to.equal(true);
    });

    it('refuses a location that is neither an absolute directory nor a URL', async () => {
      await expectDriverError(repositories().resolve(['relative/repo'], 'tool'), 'InvalidParameter');
    });
  });

  describe('the index cache', () => {
    it('reads an HTTP index once per TTL', async () => {
      const server = await serveDirectory(repoA);
      try {
        const repos = repositories(1000);
        now = 0;
        await repos.resolve([server.url], 'tool');
        await repos.resolve([server.url], 'tool', '1.0.0');
        const indexReads = (): number => server.requests.filter((p) => p.endsWith('/index.json')).length;
        expect(indexReads()).to.equal(1);
        now = 1001;
        await repos.resolve([server.url], 'tool');
        expect(indexReads()).to.equal(2);
      } finally {
        await server.close();
      }
    });

    it('does not cache a failed load', async () => {
      const late = path.join(base, 'late');
      await mkdir(late, { recursive: true });
      const repos = repositories();
      const error = await expectDriverError(repos.resolve([late], 'tool'), 'Internal');
      expect(error.message).to.include('has no index.json');
      expect(error.retryable).to.equal(false);
      await buildFixtureRepository(late, [pkg('tool', '0.1.0')]);
      expect((await repos.resolve([late], 'tool')).manifest.version).to.equal('0.1.0');
    });

    it('answers from the cache in microseconds', async () => {
      const repos = repositories();
      await repos.resolve([repoA, repoB], 'tool');
      const runs = 5000;
      const started = process.hrtime.bigint();
      for (let i = 0; i < runs; i += 1) await repos.resolve([repoA, repoB], 'tool', '1.0.0');
      const perCallMicros = Number(process.hrtime.bigint() - started) / 1000 / runs;
      expect(perCallMicros).to.be.below(200);
    });

    it('refuses a malformed index, naming the field', async () => {
      const bad = path.join(base, 'bad');
      await mkdir(bad, { recursive: true });
      await writeFile(path.join(bad, 'index.json'), JSON.stringify({ packages: [{ name: 'x', version: '../1', archive: 'x.tar.gz' }] }));
      const error = await expectDriverError(repositories().resolve([bad], 'x'), 'Internal');
      expect(error.message).to.include('packages[0]').and.to.include('"version"');
    });
  });

  describe('archives', () => {
    it('verifies the checksum of an archive', async () => {
      const tampered = await buildFixtureRepository(path.join(base, 'tampered'), [pkg('tool', '1.0.0')]);
      await appendFile(path.join(tampered, 'tool-1.0.0.tar.gz'), 'junk');
      const repos = repositories();
      const resolved = await repos.resolve([tampered], 'tool');
      const error = await expectDriverError(repos.archiveOf(resolved, signal), 'Internal');
      expect(error.message).to.include('checksum');
    });

    it('downloads an HTTP archive into the cache once', async () => {
      const server = await serveDirectory(repoA);
      try {
        const repos = repositories();
        const resolved = await repos.resolve([server.url], 'tool', '1.9.0');
        const first = await repos.archiveOf(resolved, signal);
        const second = await repos.archiveOf(resolved, signal);
        expect(first).to.equal(second);
        expect(path.dirname(first)).to.equal(path.join(base, 'cache'));
        expect(server.requests.filter((p) => p.endsWith('tool-1.9.0.tar.gz'))).to.have.length(1);
        await rm(first);
        await repos.archiveOf(resolved, signal);
        expect(server.requests.filter((p) => p.endsWith('tool-1.9.0.tar.gz'))).to.have.length(2);
      } finally {
        await server.close();
      }
    });

    it('stops reading an index.json past its cap (a repository answered endlessly was read whole)', async () => {
      const endless = await endlessServer('/repo/index.json', 'application/json');
      try {
        const error = await expectDriverError(repositories(10_000, { maxIndexBytes: 256 * 1024 }).resolve([endless.url.replace(/index\.json$/, '')], 'tool'), 'Internal');
        expect(error.message).to.match(/index\.json is larger than 262144 bytes/);
        await endless.cut;
        expect(endless.sent()).to.be.below(64 * 1024 * 1024);
      } finally {
        await endless.close();
      }
    });

    it('stops a download past the archive cap and leaves nothing in the cache', async () => {
      const server = await serveDirectory(repoA);
      try {
        await rm(path.join(base, 'cache'), { recursive: true, force: true });
        const repos = repositories(10_000, { maxArchiveBytes: 16 });
        const resolved = await repos.resolve([server.url], 'tool', '1.9.0');
        const error = await expectDriverError(repos.archiveOf(resolved, signal), 'Internal');
        expect(error.message).to.match(/larger than 16 bytes; the download was stopped/);
        expect(await readdir(path.join(base, 'cache'))).to.deep.equal([]);
      } finally {
        await server.close();
      }
    });
  });
});
