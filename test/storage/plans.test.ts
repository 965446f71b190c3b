import { closeSync, existsSync, openSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { buildDemoRepository } from '../../src/drivers/local';
import type { InstanceView } from '../../src/workflow/runtime';
import { eventually, startTestServer, type TestServer } from '../support/harness';
import { type Catalog, catalogType, deployCatalog, finished, inputParts, readCatalog } from './catalog';

const GIB = 1024 ** 3;
const FAULT = '{urn:provisor:catalog:storage}operationFailed';
const THROW_PATH = '/process/sequence/if/sequence/throw';

describe('the storage catalog\'s plans change a real storage pool', function () {
  this.timeout(120_000);
  let server: TestServer;
  let catalog: Catalog;
  let processes: Map<string, string>;
  let pool: string;
  let orders = 0;

  before(async () => {
    server = await startTestServer({ PROVISOR_WORKFLOW_POLL_MS: '50' });
    await server.app.systems.addRepository(await buildDemoRepository(path.join(server.dataDir, 'demo-repo')));
    const system = await server.app.systems.add('pool1', 'local');
    pool = path.join(system.options.root ?? '', 'srv', 'pool');
    const requestId = await server.app.api.submitSoftware(
      'Install',
      { system: 'pool1', component: 'storage-pool', parameters: [{ name: 'capacityGiB', value: '9000' }] },
      { name: 'tester' },
    );
    const installed = await eventually(async () => {
      const request = await server.app.api.getRequest(requestId);
      return request.status.startsWith('COMPLETED') ? request : undefined;
    }, 'storage-pool to be installed', 30_000);
    expect(installed.status, installed.message ?? '').to.equal('COMPLETED_SUCCESS');
    catalog = readCatalog();
    processes = await deployCatalog(server, catalog);
  });

  after(() => server.close());

  /** Runs one work order of `type` to its end, as the automation would start it. */
  async function order(type: string, values: Record<string, string>, account = 'acme', poolSystem = catalog.defaultPool): Promise<InstanceView> {
    const workOrderId = `wo-${++orders}`;
    const processName = processes.get(type);
    if (processName === undefined) throw new Error(`no plan deployed for ${type}`);
    const parts = inputParts(catalogType(catalog, type), { workOrderId, account, pool: poolSystem, values });
    const instanceId = await server.app.workflow.start(processName, { kind: 'message', parts }, 'storage-automation');
    return finished(server, instanceId);
  }

  async function succeeds(type: string, values: Record<string, string>, account?: string): Promise<void> {
    const view = await order(type, values, account);
    expect(view.status, `${type}: ${JSON.stringify(view.fault)}`).to.equal('COMPLETED');
  }

  /** Runs the order, expects it to fault with the plan's fault, and returns the fault's message. */
  async function fails(type: string, values: Record<string, string>, account?: string): Promise<string> {
    const view = await order(type, values, account);
    expect(view.status, `${type} should fault`).to.equal('FAULTED');
    expect(view.fault?.name).to.equal(FAULT);
    expect(view.fault?.activityPath).to.equal(THROW_PATH);
    return view.fault?.message ?? '';
  }

  const file = (...parts: string[]): string => path.join(pool, 'accounts', ...parts);
  const json = (...parts: string[]): Record<string, unknown> => JSON.parse(readFileSync(file(...parts), 'utf8')) as Record<string, unknown>;

  function writeAt(target: string, offset: number, text: string): void {
    const fd = openSync(target, 'r+');
    try {
      writeSync(fd, Buffer.from(text), 0, text.length, offset);
    } finally {
      closeSync(fd);
    }
  }

  function readAt(target: string, offset: number, length: number): string {
    const buffer = Buffer.alloc(length);
    const fd = openSync(target, 'r');
    try {
      readSync(fd, buffer, 0, length, offset);
    } finally {
      closeSync(fd);
    }
    return buffer.toString();
  }

  describe('when a volume is created', () => {
    it('is a sparse file of the ordered size with a record naming the order', async () => {
      await succeeds('CreateVolume', { volume: 'vol1', sizeGiB: '10' });
      const image = statSync(file('acme', 'volumes', 'vol1.img'));
      expect(image.size).to.equal(10 * GIB);
      expect(image.blocks * 512).to.be.below(1024 * 1024);
      const record = json('acme', 'volumes', 'vol1.json');
      expect(record).to.include({ account: 'acme', name: 'vol1', sizeGiB: 10, tier: 'standard', workOrderId: `wo-${orders}` });
      expect(record.requestId).to.be.a('string');
      expect(Date.parse(String(record.createdAt))).to.be.above(0);
    });

    it('costs no disk even at 1 TiB, in the tier ordered', async () => {
      await succeeds('CreateVolume', { volume: 'big.data_1', sizeGiB: '1024', tier: 'performance' });
      const image = statSync(file('acme', 'volumes', 'big.data_1.img'));
      expect(image.size).to.equal(1024 * GIB);
      expect(image.blocks * 512).to.be.below(1024 * 1024);
      expect(json('acme', 'volumes', 'big.data_1.json')).to.include({ sizeGiB: 1024, tier: 'performance' });
    });

    it('refuses a name already in use', async () => {
      const message = await fails('CreateVolume', { volume: 'vol1', sizeGiB: '5' });
      expect(message).to.contain('volume "vol1" already exists in account "acme"');
      expect(statSync(file('acme', 'volumes', 'vol1.img')).size).to.equal(10 * GIB);
    });

    it('keeps accounts apart: the same name in another account is another volume', async () => {
      await succeeds('CreateVolume', { volume: 'vol1', sizeGiB: '1' }, 'globex');
      expect(statSync(file('globex', 'volumes', 'vol1.img')).size).to.equal(GIB);
      expect(statSync(file('acme', 'volumes', 'vol1.img')).size).to.equal(10 * GIB);
    });

    it('refuses a name that could leave the pool, naming it, and writes nothing', async () => {
      const message = await fails('CreateVolume', { volume: '../../escape', sizeGiB: '1' });
      expect(message).to.contain('volume "../../escape" is not a valid name');
      expect(existsSync(path.join(pool, 'accounts', 'escape.img'))).to.equal(false);
      expect(existsSync(path.join(pool, 'escape.img'))).to.equal(false);
    });

    it('refuses what exceeds the pool\'s capacity', async () => {
      const message = await fails('CreateVolume', { volume: 'huge', sizeGiB: '8192' }, 'globex');
      expect(message).to.match(/the pool has \d+ GiB left of 9000 GiB .*8192 GiB more do not fit/);
      expect(existsSync(file('globex', 'volumes', 'huge.img'))).to.equal(false);
    });
  });

  describe('when a volume is expanded', () => {
    it('grows the file and the record and keeps the data', async () => {
      writeAt(file('acme', 'volumes', 'vol1.img'), 4096, 'keep me');
      await succeeds('ExpandVolume', { volume: 'vol1', sizeGiB: '20' });
      expect(statSync(file('acme', 'volumes', 'vol1.img')).size).to.equal(20 * GIB);
      expect(json('acme', 'volumes', 'vol1.json')).to.include({ sizeGiB: 20 });
      expect(readAt(file('acme', 'volumes', 'vol1.img'), 4096, 7)).to.equal('keep me');
    });

    it('refuses a smaller size, saying what the size is', async () => {
      const message = await fails('ExpandVolume', { volume: 'vol1', sizeGiB: '5' });
      expect(message).to.match(
        /^activity \/process\/sequence\/if\/sequence\/throw "failed" threw \{urn:provisor:catalog:storage\}operationFailed: expandVolume on pool1 ended COMPLETED_FAILURE \(request [0-9a-f-]+\): configure hook of storage-pool 1\.0\.0 exited with code 2: /,
      );
      expect(message).to.contain('volume "vol1" in account "acme" is 20 GiB; expanding needs a larger size, got 5 GiB');
      expect(statSync(file('acme', 'volumes', 'vol1.img')).size).to.equal(20 * GIB);
    });

    it('refuses a volume that does not exist', async () => {
      const message = await fails('ExpandVolume', { volume: 'ghost', sizeGiB: '50' });
      expect(message).to.contain('volume "ghost" does not exist in account "acme"');
    });

    it('does not reach into another account', async () => {
      const message = await fails('ExpandVolume', { volume: 'big.data_1', sizeGiB: '2048' }, 'globex');
      expect(message).to.contain('volume "big.data_1" does not exist in account "globex"');
    });
  });

  describe('when a snapshot is taken and restored', () => {
    it('brings back the content the volume had when the snapshot was taken', async () => {
      const image = file('acme', 'volumes', 'vol1.img');
      writeAt(image, 5 * GIB, 'original content');
      await succeeds('TakeSnapshot', { volume: 'vol1', snapshot: 'before-upgrade' });
      const snapshot = statSync(file('acme', 'snapshots', 'vol1@before-upgrade.img'));
      expect(snapshot.size).to.equal(20 * GIB);
      expect(snapshot.blocks * 512).to.be.below(1024 * 1024);
      expect(json('acme', 'snapshots', 'vol1@before-upgrade.json')).to.include({ volume: 'vol1', name: 'before-upgrade', sizeGiB: 20 });

      writeAt(image, 5 * GIB, 'CHANGED CHANGED!');
      writeAt(image, 4096, 'gone me');
      expect(readAt(image, 5 * GIB, 16)).to.equal('CHANGED CHANGED!');
      await succeeds('RestoreSnapshot', { volume: 'vol1', snapshot: 'before-upgrade' });
      expect(readAt(image, 5 * GIB, 16)).to.equal('original content');
      expect(readAt(image, 4096, 7)).to.equal('keep me');
      const restored = statSync(image);
      expect(restored.size).to.equal(20 * GIB);
      expect(restored.blocks * 512).to.be.below(1024 * 1024);
      expect(json('acme', 'volumes', 'vol1.json').restoredFrom).to.include({ snapshot: 'before-upgrade' });
    });

    it('refuses a snapshot name already used for the volume', async () => {
      const message = await fails('TakeSnapshot', { volume: 'vol1', snapshot: 'before-upgrade' });
      expect(message).to.contain('snapshot "before-upgrade" of volume "vol1" already exists in account "acme"');
    });

    it('refuses to restore a snapshot that does not exist', async () => {
      const message = await fails('RestoreSnapshot', { volume: 'vol1', snapshot: 'nope' });
      expect(message).to.contain('snapshot "nope" of volume "vol1" does not exist in account "acme"');
    });
  });

  describe('when volumes are mapped to hosts', () => {
    it('gives each host the lowest LUN id it does not use yet, with the access ordered', async () => {
      await succeeds('MapVolume', { volume: 'vol1', host: 'host1' });
      await succeeds('MapVolume', { volume: 'big.data_1', host: 'host1', access: 'ro' });
      await succeeds('MapVolume', { volume: 'big.data_1', host: 'host2' });
      const vol1 = json('acme', 'mappings', 'vol1.json').hosts as Array<Record<string, unknown>>;
      expect(vol1.map(({ host, lun, access }) => ({ host, lun, access }))).to.deep.equal([{ host: 'host1', lun: 0, access: 'rw' }]);
      const big = json('acme', 'mappings', 'big.data_1.json').hosts as Array<Record<string, unknown>>;
      expect(big.map(({ host, lun, access }) => ({ host, lun, access }))).to.deep.equal([
        { host: 'host1', lun: 1, access: 'ro' },
        { host: 'host2', lun: 0, access: 'rw' },
      ]);
    });

    it('refuses to delete a mapped volume, naming the hosts, and keeps it', async () => {
      const message = await fails('DeleteVolume', { volume: 'vol1' });
      expect(message).to.contain('volume "vol1" in account "acme" is mapped to host(s) "host1"; unmap it first or delete with force=true');
      expect(existsSync(file('acme', 'volumes', 'vol1.img'))).to.equal(true);
    });

    it('refuses to restore a mapped volume unless forced', async () => {
      const message = await fails('RestoreSnapshot', { volume: 'vol1', snapshot: 'before-upgrade' });
      expect(message).to.contain('is mapped to host(s) "host1"; unmap it before restoring, or restore with force=true');
      await succeeds('RestoreSnapshot', { volume: 'vol1', snapshot: 'before-upgrade', force: 'true' });
    });

    it('unmaps, and frees the LUN for the next mapping', async () => {
      await succeeds('UnmapVolume', { volume: 'vol1', host: 'host1' });
      expect(existsSync(file('acme', 'mappings', 'vol1.json'))).to.equal(false);
      const message = await fails('UnmapVolume', { volume: 'vol1', host: 'host1' });
      expect(message).to.contain('volume "vol1" in account "acme" is not mapped to host "host1"');
      await succeeds('CreateVolume', { volume: 'vol3', sizeGiB: '1' });
      await succeeds('MapVolume', { volume: 'vol3', host: 'host1' });
      expect((json('acme', 'mappings', 'vol3.json').hosts as Array<Record<string, unknown>>)[0]).to.include({ host: 'host1', lun: 0 });
    });
  });

  describe('when a snapshot schedule is set', () => {
    it('records the interval and how many to keep', async () => {
      await succeeds('SetSnapshotSchedule', { volume: 'vol1', interval: 'PT6H', retain: '14' });
      expect(json('acme', 'schedules', 'vol1.json')).to.include({ volume: 'vol1', interval: 'PT6H', intervalSeconds: 21600, retain: 14 });
    });

    it('takes the catalog\'s defaults for what the order leaves out', async () => {
      await succeeds('SetSnapshotSchedule', { volume: 'vol3' });
      expect(json('acme', 'schedules', 'vol3.json')).to.include({ interval: 'PT24H', intervalSeconds: 86400, retain: 7 });
    });

    it('refuses an interval of varying length', async () => {
      const message = await fails('SetSnapshotSchedule', { volume: 'vol1', interval: 'P1M', retain: '3' });
      expect(message).to.contain('interval must be an xsd:duration in days, hours, minutes or seconds from PT15M to P366D');
      expect(json('acme', 'schedules', 'vol1.json')).to.include({ interval: 'PT6H' });
    });
  });

  describe('when snapshots and volumes are deleted', () => {
    it('refuses to delete a volume with snapshots, then deletes the snapshot and the volume', async () => {
      await succeeds('UnmapVolume', { volume: 'vol3', host: 'host1' });
      await succeeds('TakeSnapshot', { volume: 'vol3', snapshot: 's1' });
      const message = await fails('DeleteVolume', { volume: 'vol3' });
      expect(message).to.contain('volume "vol3" in account "acme" has snapshot(s) "s1"; delete them first or delete with force=true');
      await succeeds('DeleteSnapshot', { volume: 'vol3', snapshot: 's1' });
      expect(existsSync(file('acme', 'snapshots', 'vol3@s1.img'))).to.equal(false);
      expect(existsSync(file('acme', 'snapshots', 'vol3@s1.json'))).to.equal(false);
      await succeeds('DeleteVolume', { volume: 'vol3' });
      for (const gone of [['volumes', 'vol3.img'], ['volumes', 'vol3.json'], ['schedules', 'vol3.json']]) {
        expect(existsSync(file('acme', ...gone)), gone.join('/')).to.equal(false);
      }
    });

    it('deletes a mapped volume with snapshots when forced, and everything of it', async () => {
      await succeeds('MapVolume', { volume: 'vol1', host: 'host9' });
      await succeeds('DeleteVolume', { volume: 'vol1', force: 'true' });
      for (const gone of [['volumes', 'vol1.img'], ['volumes', 'vol1.json'], ['snapshots', 'vol1@before-upgrade.img'], ['mappings', 'vol1.json'], ['schedules', 'vol1.json']]) {
        expect(existsSync(file('acme', ...gone)), gone.join('/')).to.equal(false);
      }
      expect(existsSync(file('globex', 'volumes', 'vol1.img'))).to.equal(true);
    });

    it('refuses to delete a snapshot that does not exist', async () => {
      const message = await fails('DeleteSnapshot', { volume: 'big.data_1', snapshot: 'never' });
      expect(message).to.contain('snapshot "never" of volume "big.data_1" does not exist in account "acme"');
    });
  });

  describe('when the automation leaves out an input part', () => {
    it('faults at the first assign with uninitializedVariable, before anything is sent', async () => {
      const parts = inputParts(catalogType(catalog, 'CreateVolume'), { workOrderId: 'wo-partial', account: 'acme', pool: 'pool1', values: { volume: 'partial', sizeGiB: '1' } });
      parts.delete('tier');
      const instanceId = await server.app.workflow.start(processes.get('CreateVolume') ?? '', { kind: 'message', parts }, 'storage-automation');
      const view = await finished(server, instanceId);
      expect(view.status).to.equal('FAULTED');
      expect(view.fault?.name).to.equal('{http://docs.oasis-open.org/wsbpel/2.0/process/executable}uninitializedVariable');
      expect(view.fault?.activityPath).to.equal('/process/sequence/assign[1]');
      expect(view.fault?.message).to.contain('tier');
      expect(existsSync(file('acme', 'volumes', 'partial.img'))).to.equal(false);
    });
  });

  describe('when the pool system does not exist', () => {
    it('faults at the Configure invoke with Provisor\'s fault, naming the system', async () => {
      const view = await order('CreateVolume', { volume: 'vol9', sizeGiB: '1' }, 'acme', 'no-such-pool');
      expect(view.status).to.equal('FAULTED');
      expect(view.fault?.name).to.equal('{urn:provisor:software:1}ProvisorFault');
      expect(view.fault?.message).to.match(/^activity \/process\/sequence\/invoke: Configure failed: \w+: .*no-such-pool/);
      expect(view.fault?.activityPath).to.equal('/process/sequence/invoke');
    });
  });
});
