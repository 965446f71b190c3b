import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';

const PACKAGE_DIR = path.resolve(__dirname, '..', '..', '..', 'scripts', 'demo-repo', 'packages', 'storage-pool', '1.0.0');
const GIB = 1024 ** 3;

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The package's hook script run directly, as its hooks run it, on a system root of its own. */
describe('storage-pool\'s pool.js', function () {
  this.timeout(30_000);
  let root: string;
  let requests = 0;

  function pool(mode: 'install' | 'configure', parameters: Record<string, string>): Run {
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', PROVISOR_SYSTEM_ROOT: root, PROVISOR_REQUEST_ID: `req-${++requests}` };
    for (const [name, value] of Object.entries(parameters)) env[`PROVISOR_PARAM_${name.toUpperCase()}`] = value;
    const run = spawnSync(process.execPath, ['pool.js', mode], { cwd: PACKAGE_DIR, env, encoding: 'utf8' });
    return { status: run.status, stdout: run.stdout, stderr: run.stderr };
  }

  function refused(parameters: Record<string, string>, message: string): void {
    const run = pool('configure', parameters);
    expect(run.status, run.stdout).to.equal(2);
    expect(run.stderr.trimEnd().split('\n'), 'one line on stderr').to.have.length(1);
    expect(run.stderr).to.contain(message);
  }

  function ok(parameters: Record<string, string>): string {
    const run = pool('configure', parameters);
    expect(run.status, run.stderr).to.equal(0);
    return run.stdout;
  }

  /** Every file under the system root, relative to it. */
  function files(): string[] {
    const found: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else found.push(path.relative(root, full));
      }
    };
    walk(root);
    return found.sort();
  }

  function writeAt(file: string, offset: number, text: string): void {
    const fd = openSync(file, 'r+');
    try {
      writeSync(fd, text, offset);
    } finally {
      closeSync(fd);
    }
  }

  function readAt(file: string, offset: number, length: number): string {
    const buffer = Buffer.alloc(length);
    const fd = openSync(file, 'r');
    try {
      readSync(fd, buffer, 0, length, offset);
    } finally {
      closeSync(fd);
    }
    return buffer.toString();
  }

  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'storage-pool-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  describe('when installed', () => {
    it('creates the pool with the default capacity, and keeps it when the hook runs again', () => {
      expect(pool('install', {}).status).to.equal(0);
      const config = JSON.parse(readFileSync(path.join(root, 'srv', 'pool', 'pool.json'), 'utf8')) as Record<string, unknown>;
      expect(config).to.include({ capacityGiB: 65536, requestId: 'req-1' });
      expect(pool('install', {}).status).to.equal(0);
      expect(JSON.parse(readFileSync(path.join(root, 'srv', 'pool', 'pool.json'), 'utf8'))).to.deep.equal(config);
    });

    it('refuses a capacity below what is already provisioned', () => {
      expect(pool('install', { capacityGiB: '100' }).status).to.equal(0);
      ok({ action: 'createVolume', account: 'acme', volume: 'v', sizeGiB: '60' });
      const run = pool('install', { capacityGiB: '50' });
      expect(run.status).to.equal(2);
      expect(run.stderr).to.contain('capacityGiB 50 is below the 60 GiB already provisioned');
    });
  });

  describe('when configured', () => {
    beforeEach(() => expect(pool('install', { capacityGiB: '100' }).status).to.equal(0));

    it('changes nothing without an action (as after Update or Rollback)', () => {
      const before = files();
      expect(ok({})).to.contain('no action requested; 0 volume(s), 0 GiB provisioned of 100 GiB');
      expect(files()).to.deep.equal(before);
    });

    it('refuses an unknown action, listing the known ones', () => {
      refused({ action: 'formatVolume' }, 'unknown action "formatVolume" (known: createVolume, expandVolume, deleteVolume,');
    });

    it('refuses a missing or empty required parameter', () => {
      refused({ action: 'createVolume', account: 'acme', volume: 'v' }, 'createVolume needs parameter "sizeGiB"');
      refused({ action: 'createVolume', account: '', volume: 'v', sizeGiB: '1' }, 'createVolume needs parameter "account"');
    });

    it('refuses a parameter the action does not take', () => {
      refused({ action: 'takeSnapshot', account: 'acme', volume: 'v', snapshot: 's', sizeGiB: '3' }, 'takeSnapshot does not take parameter "sizeGiB" (it takes account, volume, snapshot)');
    });

    for (const bad of ['..', '../x', 'a/b', '.hidden', 'Upper', '-dash', 'a@b', 'x'.repeat(64), 'white space', 'a\\b']) {
      it(`refuses the name ${JSON.stringify(bad)} and writes nothing`, () => {
        const before = files();
        refused({ action: 'createVolume', account: 'acme', volume: bad, sizeGiB: '1' }, `volume ${JSON.stringify(bad)} is not a valid name`);
        refused({ action: 'createVolume', account: bad, volume: 'v', sizeGiB: '1' }, `account ${JSON.stringify(bad)} is not a valid name`);
        expect(files()).to.deep.equal(before);
      });
    }

    it('accepts names of 63 characters with dots, dashes and underscores', () => {
      const name = `a${'._-9'.repeat(15)}bz`;
      expect(name).to.have.length(63);
      ok({ action: 'createVolume', account: 'acme', volume: name, sizeGiB: '1' });
      expect(statSync(path.join(root, 'srv', 'pool', 'accounts', 'acme', 'volumes', `${name}.img`)).size).to.equal(GIB);
    });

    for (const size of ['0', '8193', '-1', '1.5', '1e3', 'ten', ' ']) {
      it(`refuses sizeGiB ${JSON.stringify(size)}`, () => {
        refused({ action: 'createVolume', account: 'acme', volume: 'v', sizeGiB: size }, `sizeGiB must be a whole number from 1 to 8192, got ${JSON.stringify(size)}`);
      });
    }

    it('refuses a tier, an access mode or a force flag it does not know', () => {
      refused({ action: 'createVolume', account: 'acme', volume: 'v', sizeGiB: '1', tier: 'gold' }, 'tier must be one of standard, performance, got "gold"');
      ok({ action: 'createVolume', account: 'acme', volume: 'v', sizeGiB: '1' });
      refused({ action: 'mapVolume', account: 'acme', volume: 'v', host: 'h', access: 'wo' }, 'access must be one of ro, rw, got "wo"');
      refused({ action: 'deleteVolume', account: 'acme', volume: 'v', force: 'yes' }, 'force must be true or false, got "yes"');
    });

    for (const [interval, accepted] of [['PT24H', true], ['P7D', true], ['PT15M', true], ['P1DT12H', true], ['PT14M', false], ['P1M', false], ['P1Y', false], ['P367D', false], ['-PT1H', false], ['PT', false], ['P', false], ['24h', false]] as const) {
      it(`${accepted ? 'accepts' : 'refuses'} the schedule interval ${interval}`, () => {
        ok({ action: 'createVolume', account: 'acme', volume: 'v', sizeGiB: '1' });
        const parameters = { action: 'setSnapshotSchedule', account: 'acme', volume: 'v', interval, retain: '3' };
        if (accepted) ok(parameters);
        else refused(parameters, `interval must be an xsd:duration in days, hours, minutes or seconds from PT15M to P366D (e.g. PT24H), got ${JSON.stringify(interval)}`);
      });
    }

    it('refuses a work order id that is not plain', () => {
      refused({ action: 'createVolume', account: 'acme', volume: 'v', sizeGiB: '1', workOrderId: 'wo 1; rm' }, 'workOrderId "wo 1; rm" must be 1-128 letters');
    });

    it('refuses to work on a pool that was never installed', () => {
      rmSync(path.join(root, 'srv'), { recursive: true });
      refused({ action: 'createVolume', account: 'acme', volume: 'v', sizeGiB: '1' }, 'the pool is not initialised');
      expect(existsSync(path.join(root, 'srv'))).to.equal(false);
    });

    it('leaves no temporary files behind', () => {
      ok({ action: 'createVolume', account: 'acme', volume: 'v', sizeGiB: '2' });
      ok({ action: 'takeSnapshot', account: 'acme', volume: 'v', snapshot: 's' });
      ok({ action: 'restoreSnapshot', account: 'acme', volume: 'v', snapshot: 's' });
      ok({ action: 'mapVolume', account: 'acme', volume: 'v', host: 'h' });
      ok({ action: 'mapVolume', account: 'acme', volume: 'v', host: 'h', access: 'ro' });
      expect(files().filter((file) => path.basename(file).startsWith('.'))).to.deep.equal([]);
      const mapping = JSON.parse(readFileSync(path.join(root, 'srv', 'pool', 'accounts', 'acme', 'mappings', 'v.json'), 'utf8')) as { hosts: Array<Record<string, unknown>> };
      expect(mapping.hosts).to.have.length(1);
      expect(mapping.hosts[0]).to.include({ host: 'h', lun: 0, access: 'ro' });
    });

    it('restores a snapshot into a volume expanded since, keeping its new size', () => {
      const image = path.join(root, 'srv', 'pool', 'accounts', 'acme', 'volumes', 'v.img');
      ok({ action: 'createVolume', account: 'acme', volume: 'v', sizeGiB: '1' });
      writeAt(image, 1000, 'snapshotted');
      ok({ action: 'takeSnapshot', account: 'acme', volume: 'v', snapshot: 's' });
      ok({ action: 'expandVolume', account: 'acme', volume: 'v', sizeGiB: '2' });
      writeAt(image, 1000, 'overwritten');
      writeAt(image, GIB + 10, 'beyond');
      ok({ action: 'restoreSnapshot', account: 'acme', volume: 'v', snapshot: 's' });
      expect(statSync(image).size).to.equal(2 * GIB);
      expect(readAt(image, 1000, 11)).to.equal('snapshotted');
      expect(readAt(image, GIB + 10, 6)).to.equal('\0'.repeat(6));
    });

    it('keeps snapshots sparse without GNU cp on the PATH', () => {
      const image = path.join(root, 'srv', 'pool', 'accounts', 'acme', 'volumes', 'v.img');
      ok({ action: 'createVolume', account: 'acme', volume: 'v', sizeGiB: '1' });
      writeAt(image, 300 * 1024 * 1024, 'data in the middle');
      const run = spawnSync(process.execPath, ['pool.js', 'configure'], {
        cwd: PACKAGE_DIR,
        env: { PATH: path.join(root, 'no-such-dir'), PROVISOR_SYSTEM_ROOT: root, PROVISOR_PARAM_ACTION: 'takeSnapshot', PROVISOR_PARAM_ACCOUNT: 'acme', PROVISOR_PARAM_VOLUME: 'v', PROVISOR_PARAM_SNAPSHOT: 's' },
        encoding: 'utf8',
      });
      expect(run.status, run.stderr).to.equal(0);
      const snapshot = path.join(root, 'srv', 'pool', 'accounts', 'acme', 'snapshots', 'v@s.img');
      expect(statSync(snapshot).size).to.equal(GIB);
      expect(statSync(snapshot).blocks * 512).to.be.at.most(2 * 1024 * 1024);
      expect(readAt(snapshot, 300 * 1024 * 1024, 18)).to.equal('data in the middle');
    });

    it('removes a snapshot schedule, and says when there is none', () => {
      ok({ action: 'createVolume', account: 'acme', volume: 'v', sizeGiB: '1' });
      ok({ action: 'setSnapshotSchedule', account: 'acme', volume: 'v', interval: 'PT1H', retain: '24' });
      ok({ action: 'removeSnapshotSchedule', account: 'acme', volume: 'v' });
      refused({ action: 'removeSnapshotSchedule', account: 'acme', volume: 'v' }, 'volume "v" in account "acme" has no snapshot schedule');
    });
  });
});
