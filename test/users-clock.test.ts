import crypto from 'node:crypto';
import { expect } from 'chai';
import { Account, User } from '../entities';
import { SecretBox } from '../src/auth/secret-box';
import { UserStore } from '../src/auth/users';
import { ManualClock } from '../src/clock';
import { loadConfig } from '../src/config';
import { openDatabase } from '../src/db/data-source';
import { freshEnvironment } from './support/harness';

describe('accounts and users are stamped by the injected clock', function () {
  this.timeout(30_000);

  it('records the clock’s time as createdAt, not the machine’s', async () => {
    const environment = await freshEnvironment();
    const dataSource = await openDatabase(loadConfig(environment.env));
    try {
      const clock = new ManualClock(new Date('2031-02-03T04:05:06Z'));
      const users = new UserStore(dataSource, SecretBox.load(crypto.randomBytes(32).toString('hex'), '/nonexistent/key'), clock);
      await users.addAccount('acme');
      clock.advance(60_000);
      await users.addUser({ name: 'alice', role: 'customer', password: 'alice-password', account: 'acme', level: 1 });
      const account = await dataSource.getRepository(Account).findOneByOrFail({ name: 'acme' });
      const user = await dataSource.getRepository(User).findOneByOrFail({ name: 'alice' });
      expect(account.createdAt.toISOString()).to.equal('2031-02-03T04:05:06.000Z');
      expect(user.createdAt.toISOString()).to.equal('2031-02-03T04:06:06.000Z');
    } finally {
      await dataSource.destroy();
      await environment.cleanup();
    }
  });
});
