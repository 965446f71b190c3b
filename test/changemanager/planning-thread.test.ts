import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { expect } from 'chai';

describe('the planning thread module', () => {
  it('plans only in the thread it starts itself: another worker thread that loads it gets no answers from it', async () => {
    const module = path.join(__dirname, '..', '..', 'src', 'changemanager', 'planning-thread.js');
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
       require(${JSON.stringify(module)});
       parentPort.on('message', (m) => parentPort.postMessage({ echo: m }));`,
      { eval: true },
    );
    try {
      const first = await new Promise<unknown>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
        worker.postMessage('stop');
      });
      expect(first).to.deep.equal({ echo: 'stop' });
    } finally {
      await worker.terminate();
    }
  });
});
