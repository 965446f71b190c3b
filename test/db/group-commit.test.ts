import { expect } from 'chai';
import type { DataSource } from 'typeorm';
import { compact, groupCommitter, GroupCommitter, rowShape, WriteConflict, type RowWrite, type SqlWrite, type Write } from '../../src/db/group-commit';
import { isMysqlSource, toSqlDate } from '../../src/db/sql';
import { INSTANCE_FENCE, WORKFLOW_SQL } from '../../src/workflow/sql';
import { withFreshDataSource } from '../support/harness';

describe('group commit', () => {
  let dataSource: DataSource;
  withFreshDataSource((opened) => (dataSource = opened));

  const link = rowShape('link_state', ['instanceId', 'key', 'value']);
  const insert = (key: string): RowWrite => ({ row: link, values: ['gc-test', key, 1] });
  const keys = async (): Promise<string[]> => ((await dataSource.query("SELECT `key` FROM link_state WHERE instanceId = 'gc-test' ORDER BY `key`")) as Array<{ key: string }>).map((r) => r.key);

  it('commits the writes of concurrent callers together, each resolving after its commit', async () => {
    const committer = new GroupCommitter(dataSource);
    await Promise.all(Array.from({ length: 50 }, (_, i) => committer.write([insert(`a${String(i).padStart(2, '0')}`), insert(`b${String(i).padStart(2, '0')}`)])));
    expect(await keys()).to.have.length(100);
    expect(committer.writes).to.equal(50);
    expect(committer.commits).to.be.lessThan(5);
  });

  it('fails only the caller whose statements fail; the others commit, and the failed one leaves nothing', async () => {
    const committer = new GroupCommitter(dataSource);
    const results = await Promise.allSettled([
      committer.write([insert('c1')]),
      committer.write([insert('c2'), insert('a00')]), // a00 exists: a unique violation, c2 must not stay
      committer.write([insert('c3')]),
    ]);
    expect(results.map((r) => r.status)).to.deep.equal(['fulfilled', 'rejected', 'fulfilled']);
    const present = await keys();
    expect(present).to.include.members(['c1', 'c3']);
    expect(present).to.not.include('c2');
  });

  it('writes the single-row statement of each dialect from a row shape, quoting every column', () => {
    const plain = rowShape('t', ['a', 'key']);
    expect(plain.text).to.deep.equal({ mysql: 'INSERT INTO t (`a`, `key`) VALUES (?, ?)', sqlite: 'INSERT INTO t (`a`, `key`) VALUES (?, ?)' });
    const upsert = rowShape('t', ['a', 'key', 'v'], { key: ['a', 'key'], update: ['v'] });
    expect(upsert.text.mysql).to.equal('INSERT INTO t (`a`, `key`, `v`) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE `v` = VALUES(`v`)');
    expect(upsert.text.sqlite).to.equal('INSERT INTO t (`a`, `key`, `v`) VALUES (?, ?, ?) ON CONFLICT (`a`, `key`) DO UPDATE SET `v` = excluded.`v`');
  });

  it('upserts through a row shape on this database: a second write of the same key replaces the update columns', async () => {
    const committer = new GroupCommitter(dataSource);
    const variable = rowShape('process_variable', ['instanceId', 'scopeKey', 'name', 'value'], { key: ['instanceId', 'scopeKey', 'name'], update: ['value'] });
    await committer.write([{ row: variable, values: ['gc-upsert', '/', 'x', 'first'] }]);
    await Promise.all([committer.write([{ row: variable, values: ['gc-upsert', '/', 'x', 'second'], commutes: true }]), committer.write([{ row: variable, values: ['gc-upsert', '/', 'y', 'other'], commutes: true }])]);
    const rows = (await dataSource.query("SELECT name, value FROM process_variable WHERE instanceId = 'gc-upsert' ORDER BY name")) as Array<{ name: string; value: string }>;
    expect(rows).to.deep.equal([
      { name: 'x', value: 'second' },
      { name: 'y', value: 'other' },
    ]);
  });

  const t = rowShape('t', ['a', 'b']);
  const tUpsert = rowShape('t', ['a', 'b'], { key: ['a'], update: ['b'] });
  const sqlOn = (table: string, sql: string, params: unknown[]): SqlWrite => ({ sql, params, table });

  it('merges adjacent rows of one shape into one statement, and moves nothing unmarked', () => {
    const row = (shape: typeof t, a: number, b: number): RowWrite => ({ row: shape, values: [a, b] });
    expect(
      compact([[row(t, 1, 2), row(t, 3, 4), sqlOn('t', 'UPDATE t SET a = ?', [5]), row(t, 6, 7), row(tUpsert, 8, 9), row(tUpsert, 10, 11), sqlOn('u', 'UPDATE u SET a = ?', [12]), row(tUpsert, 13, 14)]]).statements,
    ).to.deep.equal([
      ['INSERT INTO t (`a`, `b`) VALUES (?, ?), (?, ?)', [1, 2, 3, 4]],
      ['UPDATE t SET a = ?', [5]],
      [t.text.mysql, [6, 7]],
      ['INSERT INTO t (`a`, `b`) VALUES (?, ?), (?, ?) ON DUPLICATE KEY UPDATE `b` = VALUES(`b`)', [8, 9, 10, 11]],
      ['UPDATE u SET a = ?', [12]],
      [tUpsert.text.mysql, [13, 14]],
    ]);
  });

  it('never merges a row whose caller needs its own insert id', () => {
    const { statements, origin } = compact([[{ row: t, values: [1, 2], alone: true }, { row: t, values: [3, 4] }], [{ row: t, values: [5, 6] }]]);
    expect(statements).to.deep.equal([
      [t.text.mysql, [1, 2]],
      ['INSERT INTO t (`a`, `b`) VALUES (?, ?), (?, ?)', [3, 4, 5, 6]],
    ]);
    expect(origin).to.deep.equal([[[0, 0]], [[0, 1], [1, 0]]]);
  });

  it('lets a commuting row join an earlier one of its shape past other tables, never past its own table', () => {
    const act = rowShape('act', ['k', 's'], { key: ['k'], update: ['s'] });
    const vars = rowShape('vars', ['k', 'v'], { key: ['k'], update: ['v'] });
    const c = (shape: typeof act, a: string, b: string): Write => ({ row: shape, values: [a, b], commutes: true });
    const { statements, origin } = compact([
      [c(act, 'a1', 'RUNNING'), c(vars, 'x', '1')],
      [sqlOn('other', 'UPDATE other SET n = ?', [1])],
      [c(act, 'b1', 'DONE'), c(vars, 'y', '2')],
      [sqlOn('act', 'UPDATE act SET s = ?', ['X'])],
      [c(act, 'c1', 'DONE')],
      [c(vars, 'z', '3')],
    ]);
    expect(statements).to.deep.equal([
      ['INSERT INTO act (`k`, `s`) VALUES (?, ?), (?, ?) ON DUPLICATE KEY UPDATE `s` = VALUES(`s`)', ['a1', 'RUNNING', 'b1', 'DONE']],
      ['INSERT INTO vars (`k`, `v`) VALUES (?, ?), (?, ?), (?, ?) ON DUPLICATE KEY UPDATE `v` = VALUES(`v`)', ['x', '1', 'y', '2', 'z', '3']],
      ['UPDATE other SET n = ?', [1]],
      ['UPDATE act SET s = ?', ['X']],
      [act.text.mysql, ['c1', 'DONE']],
    ]);
    expect(origin).to.deep.equal([
      [
        [0, 0],
        [2, 0],
      ],
      [
        [0, 1],
        [2, 1],
        [5, 0],
      ],
      [[1, 0]],
      [[3, 0]],
      [[4, 0]],
    ]);
  });

  describe('guards of one shape (the instance fence)', () => {
    const fence = (id: string, owner = 'o1', at = '2026-01-01 00:00:00.000'): SqlWrite => ({
      sql: WORKFLOW_SQL.fenceInstance,
      params: ['2026-01-01 00:01:00.000', id, owner, owner, at],
      table: 'process_instance',
      expectChanged: 1,
      guard: { shape: INSTANCE_FENCE, key: id, shared: ['2026-01-01 00:01:00.000', owner, at] },
    });
    const act = rowShape('activity_instance', ['instanceId', 'key'], { key: ['instanceId', 'key'], update: [] });
    const instanceRow = rowShape('process_instance', ['id', 'status']);
    const step = (id: string): Write => ({ row: act, values: [id, 'k'], commutes: true });

    it('runs the fences of many callers as one statement over their distinct ids, with the later now, expecting one row each', () => {
      const { statements, origin, expected } = compact(
        [[fence('a'), step('a')], [fence('b', 'o1', '2026-01-01 00:00:00.500'), step('b')], [fence('a'), step('a')]],
        'mysql',
        { mergeGuards: true },
      );
      expect(statements[0]).to.deep.equal([WORKFLOW_SQL.fenceInstances(2), ['2026-01-01 00:01:00.000', 'a', 'b', 'o1', 'o1', '2026-01-01 00:00:00.500']]);
      expect(origin[0]).to.deep.equal([
        [0, 0],
        [1, 0],
        [2, 0],
      ]);
      expect(expected[0]).to.equal(2);
      expect(statements).to.have.length(2);
    });

    it('leaves each fence in its place without mergeGuards, and a lone fence as its own statement', () => {
      expect(compact([[fence('a')], [fence('b')]]).statements.map(([sql]) => sql)).to.deep.equal([WORKFLOW_SQL.fenceInstance, WORKFLOW_SQL.fenceInstance]);
      const alone = compact([[fence('a'), step('a')]], 'mysql', { mergeGuards: true });
      expect(alone.statements[0]).to.deep.equal([WORKFLOW_SQL.fenceInstance, fence('a').params]);
      expect(alone.expected[0]).to.equal(undefined);
    });

    it('never moves a fence before a write that could change what it finds', () => {
      const sqls = (callers: Write[][]): string[] => compact(callers, 'mysql', { mergeGuards: true }).statements.map(([sql]) => sql);
      // A row of the instance table with the fence's own id (created in this batch): the fence stays after it.
      expect(sqls([[fence('a')], [{ row: instanceRow, values: ['b', 'RUNNING'] }], [fence('b')]])).to.deep.equal([WORKFLOW_SQL.fenceInstance, instanceRow.text.mysql, WORKFLOW_SQL.fenceInstance]);
      // A row with another id does not stop it.
      expect(sqls([[fence('a')], [{ row: instanceRow, values: ['c', 'RUNNING'] }], [fence('b')]])).to.deep.equal([WORKFLOW_SQL.fenceInstances(2), instanceRow.text.mysql]);
      // Any other statement on the instance table (an instance's end), or a write to the lease table, does.
      const finish: SqlWrite = { sql: 'UPDATE process_instance SET status = ? WHERE id = ?', params: ['COMPLETED', 'b'], table: 'process_instance' };
      expect(sqls([[fence('a')], [finish], [fence('b')]])).to.deep.equal([WORKFLOW_SQL.fenceInstance, finish.sql, WORKFLOW_SQL.fenceInstance]);
      // One that says which row it changes stops only a fence of that row.
      expect(sqls([[fence('a')], [{ ...finish, onlyRow: 'b' }], [fence('b')]])).to.deep.equal([WORKFLOW_SQL.fenceInstance, finish.sql, WORKFLOW_SQL.fenceInstance]);
      expect(sqls([[fence('a'), { ...finish, onlyRow: 'a' }], [fence('b')]])).to.deep.equal([WORKFLOW_SQL.fenceInstances(2), finish.sql]);
      const renew: SqlWrite = { sql: 'UPDATE node_lease SET expiresAt = ?', params: ['x'], table: 'node_lease' };
      expect(sqls([[fence('a')], [renew], [fence('b')]])).to.deep.equal([WORKFLOW_SQL.fenceInstance, renew.sql, WORKFLOW_SQL.fenceInstance]);
      // Another owner's fence is a statement of its own.
      expect(sqls([[fence('a')], [fence('b', 'o2')]])).to.deep.equal([WORKFLOW_SQL.fenceInstance, WORKFLOW_SQL.fenceInstance]);
    });

    it('on this database: fails only the caller whose fence does not hold, and commits the others, when their fences ran as one', async () => {
      const now = new Date();
      const at = toSqlDate(now);
      await dataSource.query('INSERT INTO node_lease (owner, expiresAt, startedAt) VALUES (?, ?, ?)', ['o1', toSqlDate(new Date(now.getTime() + 60_000)), at]);
      for (const [id, owner] of [['f1', 'o1'], ['f2', 'o2'], ['f3', 'o1']]) {
        await dataSource.query("INSERT INTO process_instance (id, definitionId, processName, status, startedBy, createdAt, cancelRequested, leaseOwner) VALUES (?, 0, 'P', 'RUNNING', 'test', ?, 0, ?)", [id, at, owner]);
      }
      const committer = new GroupCommitter(dataSource);
      const fenced = (id: string): Write[] => [fence(id, 'o1', at), { row: link, values: ['gc-fence', id, 1] }];
      const results = await Promise.allSettled([committer.write(fenced('f1')), committer.write(fenced('f2')), committer.write(fenced('f3'))]);
      expect(results.map((r) => r.status)).to.deep.equal(['fulfilled', 'rejected', 'fulfilled']);
      expect((results[1] as PromiseRejectedResult).reason).to.be.instanceOf(WriteConflict);
      expect((results[0] as PromiseFulfilledResult<Array<{ changed: number }>>).value[0]?.changed, 'the fence changed its row').to.equal(1);
      const rows = (await dataSource.query("SELECT `key` FROM link_state WHERE instanceId = 'gc-fence' ORDER BY `key`")) as Array<{ key: string }>;
      expect(rows.map((r) => r.key)).to.deep.equal(['f1', 'f3']);
      // On MySQL/MariaDB the three fences ran as one, which did not hold, and the batch went again with each in its place.
      if (isMysqlSource(dataSource)) expect(committer.guardRetries).to.equal(1);
    });
  });

  it('tells each caller how many rows its statements changed', async () => {
    const committer = new GroupCommitter(dataSource);
    await committer.write([insert('d1'), insert('d2')]);
    const update = (key: string): SqlWrite => ({ sql: "UPDATE link_state SET value = 0 WHERE instanceId = 'gc-test' AND `key` = ?", params: [key], table: 'link_state' });
    const [first, second] = await Promise.all([committer.write([update('d1')]), committer.write([update('nothing-here')])]);
    expect(first?.map((r) => r.changed)).to.deep.equal([1]);
    expect(second?.map((r) => r.changed)).to.deep.equal([0]);
  });

  it('commits nothing of a write whose expected change did not happen, and fails it alone with a WriteConflict', async () => {
    const committer = new GroupCommitter(dataSource);
    await committer.write([insert('e1')]);
    const claim = (key: string): SqlWrite => ({ sql: "UPDATE link_state SET value = 0 WHERE instanceId = 'gc-test' AND `key` = ? AND value = 1", params: [key], table: 'link_state', expectChanged: 1 });
    const results = await Promise.allSettled([
      committer.write([insert('e2'), claim('e1')]),
      committer.write([insert('e3'), claim('e1')]), // e1 was taken by the first: e3 must not stay
      committer.write([insert('e4')]),
    ]);
    expect(results.map((r) => r.status)).to.deep.equal(['fulfilled', 'rejected', 'fulfilled']);
    const reason = (results[1] as PromiseRejectedResult).reason as unknown;
    expect(reason).to.be.instanceOf(WriteConflict);
    expect((reason as WriteConflict).changed).to.equal(0);
    const present = await keys();
    expect(present).to.include.members(['e1', 'e2', 'e4']);
    expect(present).to.not.include('e3');
  });

  it('stores long values exactly, whatever they hold (quotes, backslashes, NUL, control characters, JSON, non-ASCII)', async () => {
    const committer = new GroupCommitter(dataSource);
    const values = [
      `${'x'.repeat(70)}'; DROP TABLE link_state; --`,
      `${'\\'.repeat(40)}\\'\\"\\`,
      `nul\u0000ctrl-z\u001a tab\t cr\r lf\n backspace\b ${'.'.repeat(64)}`,
      JSON.stringify({ parameters: Array.from({ length: 20 }, (_, i) => ({ name: `p${i}`, value: `v "${i}" \\ '${i}'` })) }),
      `Grüße, 你好, 🚀 ${'ü'.repeat(80)}`,
    ];
    const variable = rowShape('process_variable', ['instanceId', 'scopeKey', 'name', 'value']);
    await Promise.all(values.map((value, i) => committer.write([{ row: variable, values: ['gc-literal', '/', `v${i}`, value] }])));
    const rows = (await dataSource.query("SELECT name, value FROM process_variable WHERE instanceId = 'gc-literal' ORDER BY name")) as Array<{ name: string; value: string }>;
    expect(rows.map((r) => r.value)).to.deep.equal(values);
  });
  it('commits a write of the provisioning lane without waiting for the backlog of the main lane', async () => {
    const main = groupCommitter(dataSource);
    const provisioning = groupCommitter(dataSource, 'provisioning');
    expect(provisioning, 'a lane of its own').to.not.equal(main);
    expect(groupCommitter(dataSource, 'provisioning'), 'one committer per lane').to.equal(provisioning);
    // A backlog of ten full batches on the main lane, then one write on the provisioning lane.
    const backlog = 10 * 2000;
    let mainDone = 0;
    const mainWrites = Array.from({ length: backlog }, (_, i) => main.write([{ row: link, values: ['gc-lanes', `m${String(i).padStart(5, '0')}`, 1] }]).then(() => void (mainDone += 1)));
    await provisioning.write([{ row: link, values: ['gc-lanes', 'p', 1] }]);
    const doneWhenProvisioned = mainDone;
    await Promise.all(mainWrites);
    expect(doneWhenProvisioned, 'main-lane writes committed before the provisioning one').to.be.lessThan(backlog / 2);
    const rows = (await dataSource.query("SELECT COUNT(*) AS n FROM link_state WHERE instanceId = 'gc-lanes'")) as Array<{ n: unknown }>;
    expect(Number(rows[0]?.n), 'every write of both lanes committed').to.equal(backlog + 1);
  });
});
