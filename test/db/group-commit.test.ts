import { expect } from 'chai';
import type { DataSource } from 'typeorm';
import { compact, GroupCommitter, WriteConflict, type Statement } from '../../src/db/group-commit';
import { freshDataSource } from '../support/harness';

describe('group commit', () => {
  let fresh: Awaited<ReturnType<typeof freshDataSource>>;
  let dataSource: DataSource;

  before(async () => {
    fresh = await freshDataSource();
    dataSource = fresh.dataSource;
  });
  after(() => fresh.dispose());

  const insert = (key: string): readonly [string, unknown[]] => ['INSERT INTO link_state (instanceId, `key`, value) VALUES (?, ?, ?)', ['gc-test', key, 1]];
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

  it('merges adjacent single-row inserts (and upserts) of the same text into one, and moves nothing unmarked', () => {
    const insert = 'INSERT INTO t (a, `b`) VALUES (?, ?)';
    const upsert = 'INSERT INTO t (a, `b`) VALUES (?, ?) ON DUPLICATE KEY UPDATE a = VALUES(a)';
    expect(
      compact([[
        [insert, [1, 2]],
        [insert, [3, 4]],
        ['UPDATE t SET a = ?', [5]],
        [insert, [6, 7]],
        [upsert, [8, 9]],
        [upsert, [10, 11]],
        ['UPDATE u SET a = ?', [12]],
        [upsert, [13, 14]],
      ]]).statements,
    ).to.deep.equal([
      ['INSERT INTO t (a, `b`) VALUES (?, ?), (?, ?)', [1, 2, 3, 4]],
      ['UPDATE t SET a = ?', [5]],
      [insert, [6, 7]],
      ['INSERT INTO t (a, `b`) VALUES (?, ?), (?, ?) ON DUPLICATE KEY UPDATE a = VALUES(a)', [8, 9, 10, 11]],
      ['UPDATE u SET a = ?', [12]],
      [upsert, [13, 14]],
    ]);
  });

  it('lets a commuting statement join an earlier one of its text past other tables, never past its own table', () => {
    const c = { commutes: true } as const;
    const act = 'INSERT INTO act (k, s) VALUES (?, ?) ON DUPLICATE KEY UPDATE s = VALUES(s)';
    const vars = 'INSERT INTO vars (k, v) VALUES (?, ?) ON DUPLICATE KEY UPDATE v = VALUES(v)';
    const { statements, origin } = compact([
      [[act, ['a1', 'RUNNING'], c], [vars, ['x', '1'], c]],
      [['UPDATE other SET n = ?', [1]]],
      [[act, ['b1', 'DONE'], c], [vars, ['y', '2'], c]],
      [['UPDATE act SET s = ?', ['X']]],
      [[act, ['c1', 'DONE'], c]],
      [[vars, ['z', '3'], c]],
    ]);
    expect(statements).to.deep.equal([
      ['INSERT INTO act (k, s) VALUES (?, ?), (?, ?) ON DUPLICATE KEY UPDATE s = VALUES(s)', ['a1', 'RUNNING', 'b1', 'DONE']],
      ['INSERT INTO vars (k, v) VALUES (?, ?), (?, ?), (?, ?) ON DUPLICATE KEY UPDATE v = VALUES(v)', ['x', '1', 'y', '2', 'z', '3']],
      ['UPDATE other SET n = ?', [1]],
      ['UPDATE act SET s = ?', ['X']],
      [act, ['c1', 'DONE']],
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

  it('tells each caller how many rows its statements changed', async () => {
    const committer = new GroupCommitter(dataSource);
    await committer.write([insert('d1'), insert('d2')]);
    const update = (key: string): readonly [string, unknown[]] => ["UPDATE link_state SET value = 0 WHERE instanceId = 'gc-test' AND `key` = ?", [key]];
    const [first, second] = await Promise.all([committer.write([update('d1')]), committer.write([update('nothing-here')])]);
    expect(first?.map((r) => r.changed)).to.deep.equal([1]);
    expect(second?.map((r) => r.changed)).to.deep.equal([0]);
  });

  it('commits nothing of a write whose expected change did not happen, and fails it alone with a WriteConflict', async () => {
    const committer = new GroupCommitter(dataSource);
    await committer.write([insert('e1')]);
    const claim = (key: string): Statement => ["UPDATE link_state SET value = 0 WHERE instanceId = 'gc-test' AND `key` = ? AND value = 1", [key], { expectChanged: 1 }];
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
    await Promise.all(values.map((value, i) => committer.write([['INSERT INTO process_variable (instanceId, scopeKey, name, value) VALUES (?, ?, ?, ?)', ['gc-literal', '/', `v${i}`, value]]])));
    const rows = (await dataSource.query("SELECT name, value FROM process_variable WHERE instanceId = 'gc-literal' ORDER BY name")) as Array<{ name: string; value: string }>;
    expect(rows.map((r) => r.value)).to.deep.equal(values);
  });
});
