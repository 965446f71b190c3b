import { expect } from 'chai';
import { ManualClock } from '../../src/clock';
import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/db/data-source';
import { LeaseKeeper } from '../../src/leases/keeper';
import { createLogger } from '../../src/log';
import { freshEnvironment } from '../support/harness';

describe('the lease keeper wakes a part that waited for the lease', function () {
  this.timeout(30_000);

  it('calls a function handed to whenRenewed once, at the next confirmed renewal, however often it was handed', async () => {
    const environment = await freshEnvironment();
    const dataSource = await openDatabase(loadConfig(environment.env));
    const keeper = new LeaseKeeper(dataSource, new ManualClock(), { leaseMs: 30_000 }, createLogger('error'));
    try {
      await keeper.start();
      let calls = 0;
      const pollAgain = (): void => void calls++;
      // Three polls that found the lease not held hand over the same function.
      for (let i = 0; i < 3; i++) keeper.whenRenewed(pollAgain);
      expect(calls).to.equal(0);
      await keeper.renewNow();
      expect(calls).to.equal(1);
      await keeper.renewNow();
      expect(calls, 'once only: not at the renewal after').to.equal(1);
      // A lease found gone is taken again: that renewal counts too.
      keeper.whenRenewed(pollAgain);
      await dataSource.query('DELETE FROM node_lease WHERE owner = ?', [keeper.owner]);
      await keeper.renewNow();
      expect(keeper.held()).to.equal(true);
      expect(calls).to.equal(2);
    } finally {
      await keeper.stop();
      await dataSource.destroy();
      await environment.cleanup();
    }
  });
});
