import os from 'node:os';
import { expect } from 'chai';
import { SystemFactsStore } from '../../src/changemanager/system-facts';
import { startTestServer, type TestServer } from '../support/harness';

describe('hardware facts gathered by the driver', function () {
  this.timeout(60_000);
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('records a local system with the host’s CPUs and memory and the size of the disk holding its root', async () => {
    await server.app.systems.add('gathered1', 'local');
    const facts = await new SystemFactsStore(server.dataSource).get('gathered1');
    expect(facts.hardware.cpus).to.equal(os.availableParallelism());
    expect(facts.hardware.memoryMb).to.equal(Math.round(os.totalmem() / 1024 ** 2));
    expect(facts.hardware.diskGb).to.be.a('number').and.to.be.greaterThan(0);
  });

  it('leaves a simulated system’s hardware unknown, for the operator to declare', async () => {
    await server.app.systems.add('declared1', 'simulated');
    const store = new SystemFactsStore(server.dataSource);
    expect((await store.get('declared1')).hardware).to.deep.equal({ cpus: null, memoryMb: null, diskGb: null });
    expect((await store.set('declared1', { cpus: 16 })).hardware.cpus).to.equal(16);
  });
});
