import { expect } from 'chai';
import { ProcessDefinition } from '../entities/process-definition';
import { ProcessDocument } from '../entities/process-document';
import { freshDataSource } from './support/harness';

describe('long documents', () => {
  it('stores a process and a document of several MiB whole, on either database', async () => {
    const { dataSource, dispose } = await freshDataSource();
    try {
      const bpel = `<process>${'<empty name="a"/>'.repeat(200_000)}</process>`; // 3.4 MB, far over MySQL TEXT's 64 KiB
      const saved = await dataSource.getRepository(ProcessDefinition).save({ name: 'Long', version: 1, bpel, descriptor: '{}', deployedBy: 'test', deployedAt: new Date(), digest: null });
      await dataSource.getRepository(ProcessDocument).save({ definitionId: saved.id, name: 'big.wsdl', content: bpel });
      const read = await dataSource.getRepository(ProcessDefinition).findOneByOrFail({ id: saved.id });
      expect(read.bpel.length).to.equal(bpel.length);
      expect(read.bpel).to.equal(bpel);
      const doc = await dataSource.getRepository(ProcessDocument).findOneByOrFail({ definitionId: saved.id });
      expect(doc.content).to.equal(bpel);
    } finally {
      await dispose();
    }
  });
});
