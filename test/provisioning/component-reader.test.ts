/**
 * The engine's component reads: lookups asked for together are read
 * together, one statement per system, and each asker gets its own row (or
 * null); a failing read fails its askers, not the reader.
 */
import { expect } from 'chai';
import type { DataSource } from 'typeorm';
import { ComponentReader } from '../../src/provisioning/resources';
import { withFreshDataSource } from '../support/harness';
import { countStatements } from '../support/statement-counter';

describe('ComponentReader', () => {
  let dataSource: DataSource;
  withFreshDataSource((opened) => (dataSource = opened));

  async function installed(systemId: number, name: string, version: string): Promise<void> {
    await dataSource.query("INSERT INTO installed_component (systemId, name, version, state, history, pid, parameters, updatedAt) VALUES (?, ?, ?, 'RUNNING', '[]', NULL, NULL, '2026-01-01 00:00:00.000')", [systemId, name, version]);
  }

  it('reads the lookups asked together with one statement per system, each asker getting its own row or null', async () => {
    for (let i = 0; i < 20; i++) await installed(1, `c${i}`, `1.${i}`);
    await installed(2, 'c0', '9.0');
    const reader = new ComponentReader(dataSource);
    const counted = countStatements(dataSource, (sql) => /FROM\s+installed_component/i.test(sql));
    const asks = [...Array.from({ length: 25 }, (_, i) => reader.read(1, `c${i}`)), reader.read(2, 'c0'), reader.read(2, 'c1'), reader.read(1, 'c3')];
    const rows = await Promise.all(asks);
    expect(counted.stop().count, 'statements').to.equal(2);
    expect(rows.slice(0, 20).map((r) => r?.version)).to.deep.equal(Array.from({ length: 20 }, (_, i) => `1.${i}`));
    expect(rows.slice(20, 25), 'components system 1 does not have').to.deep.equal([null, null, null, null, null]);
    expect(rows[25]?.version, 'the same name on another system').to.equal('9.0');
    expect(rows[26]).to.equal(null);
    expect(rows[27]?.version, 'a name asked twice').to.equal('1.3');
    expect(rows[0]?.systemId).to.equal(1);
    expect(rows[0]?.history).to.equal('[]');
  });

  it('reads again for later lookups (nothing is kept between reads)', async () => {
    await installed(3, 'app', '1.0');
    const reader = new ComponentReader(dataSource);
    expect((await reader.read(3, 'app'))?.version).to.equal('1.0');
    await dataSource.query("UPDATE installed_component SET version = '2.0' WHERE systemId = 3 AND name = 'app'");
    expect((await reader.read(3, 'app'))?.version).to.equal('2.0');
  });

  it('fails the askers of a read that fails, and reads for the next askers', async () => {
    await installed(4, 'app', '1.0');
    const reader = new ComponentReader(dataSource);
    const query = dataSource.query.bind(dataSource);
    let fail = true;
    (dataSource as { query: typeof dataSource.query }).query = (async (sql: string, params?: unknown[]) => {
      if (fail && /installed_component/.test(sql)) throw new Error('connection lost');
      return query(sql, params);
    }) as typeof dataSource.query;
    try {
      const failed = await Promise.allSettled([reader.read(4, 'app'), reader.read(4, 'other')]);
      expect(failed.map((r) => r.status)).to.deep.equal(['rejected', 'rejected']);
      expect(String((failed[0] as PromiseRejectedResult).reason)).to.contain('connection lost');
      fail = false;
      expect((await reader.read(4, 'app'))?.version).to.equal('1.0');
    } finally {
      (dataSource as { query: typeof dataSource.query }).query = query;
    }
  });
});
