import { expect } from 'chai';
import type { DataSource } from 'typeorm';
import { toSqlDate, transaction } from '../src/db/sql';
import { RequestStore } from '../src/provisioning/request-store';
import { freshDataSource } from './support/harness';

describe('the request store', function () {
  this.timeout(30_000);
  let fresh: Awaited<ReturnType<typeof freshDataSource>>;
  let dataSource: DataSource;

  before(async () => {
    fresh = await freshDataSource();
    dataSource = fresh.dataSource;
  });
  after(() => fresh.dispose());

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
});
