/**
 * Counts the statements a DataSource's query runners run (the group
 * committer's own MySQL pool is not one of them), from now until `stop()`.
 * It wraps the query runner class's `query`, so every runner of that
 * DataSource's driver is counted; one counter at a time.
 */
import type { DataSource } from 'typeorm';

export interface StatementCount {
  readonly count: number;
  /** The counted statements by their first 110 characters, white space collapsed. */
  readonly byText: ReadonlyMap<string, number>;
}

export function countStatements(dataSource: DataSource, counted: (sql: string) => boolean): { stop(): StatementCount } {
  const runner = dataSource.createQueryRunner();
  const proto = Object.getPrototypeOf(runner) as { query: (this: unknown, sql: string, ...rest: unknown[]) => Promise<unknown> };
  void runner.release();
  const original = proto.query;
  let count = 0;
  const byText = new Map<string, number>();
  proto.query = function (this: unknown, sql: string, ...rest: unknown[]) {
    if (counted(sql)) {
      count += 1;
      const text = sql.replace(/\s+/g, ' ').slice(0, 110);
      byText.set(text, (byText.get(text) ?? 0) + 1);
    }
    return original.call(this, sql, ...rest);
  };
  return {
    stop() {
      proto.query = original;
      return { count, byText };
    },
  };
}
