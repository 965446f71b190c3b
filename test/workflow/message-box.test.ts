import { setMaxListeners } from 'node:events';
import { expect } from 'chai';
import type { DataSource } from 'typeorm';
import { parseElement, messageValue } from '../../src/bpel/xpath';
import { systemClock } from '../../src/clock';
import { createLogger } from '../../src/log';
import { MessageBox } from '../../src/workflow/message-box';
import { withFreshDataSource } from '../support/harness';
import { countStatements } from '../support/statement-counter';

describe('the message box across servers sharing a database', function () {
  this.timeout(30_000);
  let dataSource: DataSource;
  withFreshDataSource((opened) => (dataSource = opened));
  const logger = createLogger('error');
  const message = messageValue({ p: parseElement('<o:Go xmlns:o="urn:test:orders"><orderId>k</orderId></o:Go>') });

  it('finds a message another server received for an activity waiting here, with one shared poll for all waiting activities', async () => {
    // Two boxes stand for two servers: a message one receives announces itself only there.
    const here = new MessageBox(dataSource, systemClock, { keepMs: 60_000, pollMs: 50 }, logger);
    const there = new MessageBox(dataSource, systemClock, { keepMs: 60_000, pollMs: 50 }, logger);
    const stop = new AbortController();
    setMaxListeners(100, stop.signal);
    // A waiting activity's own look for its messages (WORKFLOW_SQL.waitingMessages): once when it starts waiting, and again only when woken.
    const looks = countStatements(dataSource, (sql) => sql.includes('AND operation IN ('));
    const waiters = Array.from({ length: 40 }, (_, i) =>
      here.waitFor({ instanceId: `i${i}`, consumerKey: `/process/receive#${i}`, processName: 'Orders', wanted: [{ operation: 'client/go', correlationKey: `key-${i}` }], stop: stop.signal }),
    );
    let looked: number;
    try {
      await there.deliver({ processName: 'Orders', operation: 'client/go', correlationKey: 'key-7', message, describe: 'order k' });
      const taken = await waiters[7];
      expect(taken?.operation).to.equal('client/go');
    } finally {
      looked = looks.stop().count;
      stop.abort();
    }
    const rest = await Promise.all(waiters.filter((_, i) => i !== 7));
    expect(rest.every((r) => r === undefined), 'the others took nothing').to.equal(true);
    // Forty activities waited at least one poll interval: each looked once, and the one woken by the shared poll again
    // (were each to poll on its own, that would be forty more looks per interval).
    expect(looked, `looks for messages: ${looked}`).to.be.within(41, 50);
  });
});
