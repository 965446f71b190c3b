import { expect } from 'chai';
import type { DataSource } from 'typeorm';
import { toSqlDate, transaction } from '../src/db/sql';
import { RequestStore } from '../src/provisioning/request-store';
import { withFreshDataSource } from './support/harness';

describe('the request store', function () {
  this.timeout(30_000);
  let dataSource: DataSource;
  withFreshDataSource((opened) => (dataSource = opened));

  it('keeps an acknowledged insert when another transaction open at the same time rolls back (the insert that joined it was lost)', async () => {
    const store = new RequestStore(dataSource);
    let release!: () => void;
    let opened!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const open = new Promise<void>((resolve) => (opened = resolve));
    const failing = transaction(dataSource, async (manager) => {
      await manager.query('INSERT INTO account (name, createdAt) VALUES (?, ?)', ['doomed', toSqlDate(new Date())]);
      opened();
      await held;
      throw new Error('rolled back on purpose');
    });
    await open;
    const inserted = store.insert({
      id: 'kept-1',
      operation: 'Install',
      systemName: 's',
      component: 'c',
      version: null,
      task: '{}',
      conflictKey: 's/c',
      submittedBy: 'op',
      idempotencyKey: null,
      requestHash: 'h',
      callbackUrl: null,
      submittedAt: new Date(),
    });
    setTimeout(release, 50);
    await Promise.allSettled([failing]);
    await inserted;
    expect((await store.findById('kept-1'))?.status).to.equal('QUEUED');
    const doomed = (await dataSource.query("SELECT COUNT(*) AS n FROM account WHERE name = 'doomed'")) as Array<{ n: unknown }>;
    expect(Number(doomed[0]?.n)).to.equal(0);
  });

  describe('claiming', () => {
    const queue = async (store: RequestStore, id: string, conflictKey: string): Promise<void> =>
      store.insert({ id, operation: 'Configure', systemName: 's', component: conflictKey, version: null, task: '{}', conflictKey, submittedBy: 'op', idempotencyKey: null, requestHash: 'h', callbackUrl: null, submittedAt: new Date() });
    const finish = async (store: RequestStore, id: string, owner: string): Promise<void> => {
      // The end is fenced by the owner's node lease.
      await dataSource.query('DELETE FROM node_lease WHERE owner = ?', [owner]);
      await dataSource.query('INSERT INTO node_lease (owner, expiresAt, startedAt) VALUES (?, ?, ?)', [owner, toSqlDate(new Date(Date.now() + 60_000)), toSqlDate(new Date())]);
      const { sql, params } = store.finishStatement(id, owner, { status: 'COMPLETED_SUCCESS', message: null, output: '', endedAt: new Date() });
      await dataSource.query(sql, params as unknown[]);
    };

    it('takes the oldest request of each conflict key, none of a key with one running, in submission order', async () => {
      await dataSource.query('DELETE FROM provisioning_request');
      const store = new RequestStore(dataSource);
      for (const [id, key] of [['a1', 'k/a'], ['b1', 'k/b'], ['a2', 'k/a'], ['c1', 'k/c'], ['a3', 'k/a'], ['c2', 'k/c']] as const) await queue(store, id, key);
      const first = await store.claim('w1', 2, new Date(), 60_000);
      expect(first.map((r) => r.id)).to.deep.equal(['a1', 'b1']);
      // k/a and k/b are running: only c1 is free; a2 waits for a1.
      const second = await store.claim('w2', 10, new Date(), 60_000);
      expect(second.map((r) => r.id)).to.deep.equal(['c1']);
      expect(await store.claim('w2', 10, new Date(), 60_000)).to.deep.equal([]);
      await finish(store, 'a1', 'w1');
      const third = await store.claim('w2', 10, new Date(), 60_000);
      expect(third.map((r) => r.id)).to.deep.equal(['a2']);
      expect(third[0]?.leaseOwner).to.equal('w2');
    });

    it('starts a request queued while the claim ran at its submission, never before it', async () => {
      await dataSource.query('DELETE FROM provisioning_request');
      const store = new RequestStore(dataSource);
      const claimAt = new Date(Date.UTC(2026, 0, 1, 12, 0, 0));
      const later = new Date(claimAt.getTime() + 5_000);
      const earlier = new Date(claimAt.getTime() - 5_000);
      for (const [id, at] of [['queued-before', earlier], ['queued-during', later]] as const) {
        await store.insert({ id, operation: 'Configure', systemName: 's', component: id, version: null, task: '{}', conflictKey: `k/${id}`, submittedBy: 'op', idempotencyKey: null, requestHash: 'h', callbackUrl: null, submittedAt: at });
      }
      const claimed = await store.claim('w1', 10, claimAt, 60_000);
      expect(claimed.map((r) => [r.id, r.startedAt?.getTime()])).to.deep.equal([
        ['queued-before', claimAt.getTime()],
        ['queued-during', later.getTime()],
      ]);
      expect((await store.findById('queued-during'))?.startedAt?.getTime()).to.equal(later.getTime());
    });

    it('never gives one request, or two of one key, to two claimers at once', async () => {
      await dataSource.query('DELETE FROM provisioning_request');
      const store = new RequestStore(dataSource);
      for (let i = 0; i < 60; i++) await queue(store, `r${i}`, `k/${i % 20}`);
      const claims = await Promise.all(Array.from({ length: 6 }, (_, w) => store.claim(`w${w}`, 10, new Date(), 60_000)));
      const ids = claims.flat().map((r) => r.id);
      expect(new Set(ids).size).to.equal(ids.length);
      const keys = claims.flat().map((r) => r.conflictKey);
      expect(new Set(keys).size).to.equal(keys.length);
      // Only the heads: r0..r19, one per key.
      expect(ids.every((id) => Number(id.slice(1)) < 20)).to.equal(true);
    });
    it('leaves a request queued for another engine to that engine for the affinity period', async () => {
      await dataSource.query('DELETE FROM provisioning_request');
      const store = new RequestStore(dataSource);
      const queueFor = (id: string, key: string, origin: string, submittedAt: Date): Promise<void> =>
        store.insert({ id, operation: 'Configure', systemName: 's', component: key, version: null, task: '{}', conflictKey: key, submittedBy: 'op', idempotencyKey: null, requestHash: 'h', callbackUrl: null, submittedAt, origin });
      await queueFor('young', 'k/young', 'engine-b', new Date());
      await queueFor('old', 'k/old', 'engine-b', new Date(Date.now() - 120_000));
      await queue(store, 'anyones', 'k/any');
      const byA = await store.claim('engine-a', 10, new Date(), 60_000, 60_000);
      expect(byA.map((r) => r.id)).to.deep.equal(['old', 'anyones']);
      const byB = await store.claim('engine-b', 10, new Date(), 60_000, 60_000);
      expect(byB.map((r) => r.id)).to.deep.equal(['young']);
    });
  });
});
