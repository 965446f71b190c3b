import { expect } from 'chai';
import { hashPassword, passwordHashing, verifyPassword } from '../src/auth/passwords';

describe('password hashing', () => {
  it('checks passwords one at a time, in order of arrival, each with its own answer', async () => {
    const stored = await hashPassword('right one');
    expect(passwordHashing()).to.deep.equal({ running: 0, waiting: 0 });

    const finished: number[] = [];
    const checks = ['right one', 'wrong', 'right one', 'also wrong'].map((password, i) =>
      verifyPassword(password, stored).then((ok) => {
        finished.push(i);
        return ok;
      }),
    );
    // Four asked at once: one is hashing, three wait for it.
    expect(passwordHashing()).to.deep.equal({ running: 1, waiting: 3 });

    expect(await Promise.all(checks)).to.deep.equal([true, false, true, false]);
    expect(finished).to.deep.equal([0, 1, 2, 3]);
    expect(passwordHashing()).to.deep.equal({ running: 0, waiting: 0 });
  });

  it('frees the slot when a stored hash cannot be computed', async () => {
    // N must be a power of two: scrypt refuses this one.
    const broken = 'scrypt$1000$8$1$' + Buffer.alloc(16).toString('base64') + '$' + Buffer.alloc(32).toString('base64');
    const stored = await hashPassword('pw');
    const results = await Promise.allSettled([verifyPassword('pw', broken), verifyPassword('pw', stored)]);
    expect(results[0].status).to.equal('rejected');
    expect(results[1]).to.deep.equal({ status: 'fulfilled', value: true });
    expect(passwordHashing()).to.deep.equal({ running: 0, waiting: 0 });
  });
});
