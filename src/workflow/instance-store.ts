import type { DataSource } from 'typeorm';
import type { ActivityState } from '../../entities';
import type { VariableValue } from '../bpel/values';
import { groupCommitter, type GroupCommitter, type Statement } from '../db/group-commit';
import { fromSqlDate, isMysqlSource, toSqlDate, upsertSql } from '../db/sql';

/** Durable state of one activity execution, as persisted. */
export interface ActivityRecord {
  readonly key: string;
  readonly kind: string;
  readonly name: string | null;
  state: ActivityState;
  startedAt: Date;
  endedAt: Date | null;
  completionSeq: number | null;
  fault: string | null;
  data: string | null;
}

/** Activity states, declared and documented with the entity. */
export type { ActivityState } from '../../entities';

/** A variable write to persist with an activity transition. */
export interface VariableWrite {
  readonly scopeKey: string;
  readonly name: string;
  /** The value as persisted. */
  readonly value: string;
  /** The same value in memory, when the writer has it (never changed in place afterwards). */
  readonly parsed?: VariableValue;
}

/**
 * Reads and writes the durable state of one process instance: activity
 * executions, variables, link statuses and timers. Every transition is
 * atomic, so a crash leaves each activity either before or after it; the
 * transitions of concurrent instances share commits (group commit).
 */
/** The scope key under which an instance's input message is stored (variable `message`), written with the instance row. */
export const INPUT_SCOPE = '#input';

const COMMUTES = { commutes: true } as const;

export class InstanceStore {
  readonly activities = new Map<string, ActivityRecord>();
  readonly variables = new Map<string, string>();
  readonly links = new Map<string, boolean>();
  readonly timers = new Map<string, Date>();
  /** Bytes of each stored variable value, by variable key, and their sum (the instance's variable budget). */
  private readonly variableSizes = new Map<string, number>();
  private variableTotal = 0;
  private seq = 0;
  private readonly mysql: boolean;
  private readonly committer: GroupCommitter;

  constructor(
    private readonly dataSource: DataSource,
    readonly instanceId: string,
  ) {
    this.mysql = isMysqlSource(dataSource);
    this.committer = groupCommitter(dataSource);
  }

  static variableKey(scopeKey: string, name: string): string {
    return `${scopeKey}\u0000${name}`;
  }

  async load(): Promise<void> {
    const id = this.instanceId;
    const [activities, variables, links, timers] = (await Promise.all([
      this.dataSource.query('SELECT `key`, kind, name, state, startedAt, endedAt, completionSeq, fault, data FROM activity_instance WHERE instanceId = ?', [id]),
      this.dataSource.query('SELECT scopeKey, name, value FROM process_variable WHERE instanceId = ?', [id]),
      this.dataSource.query('SELECT `key`, value FROM link_state WHERE instanceId = ?', [id]),
      this.dataSource.query('SELECT `key`, dueAt FROM process_timer WHERE instanceId = ?', [id]),
    ])) as [Array<Record<string, unknown>>, Array<Record<string, unknown>>, Array<Record<string, unknown>>, Array<Record<string, unknown>>];
    for (const r of activities) {
      const record: ActivityRecord = {
        key: String(r.key),
        kind: String(r.kind),
        name: (r.name as string | null) ?? null,
        state: r.state as ActivityState,
        startedAt: fromSqlDate(r.startedAt) ?? new Date(0),
        endedAt: fromSqlDate(r.endedAt),
        completionSeq: r.completionSeq === null || r.completionSeq === undefined ? null : Number(r.completionSeq),
        fault: (r.fault as string | null) ?? null,
        data: (r.data as string | null) ?? null,
      };
      this.activities.set(record.key, record);
      if (record.completionSeq !== null) this.seq = Math.max(this.seq, record.completionSeq);
    }
    for (const r of variables) this.setVariable(InstanceStore.variableKey(String(r.scopeKey), String(r.name)), String(r.value));
    for (const r of links) this.links.set(String(r.key), r.value === true || Number(r.value) === 1);
    for (const r of timers) {
      const due = fromSqlDate(r.dueAt);
      if (due !== null) this.timers.set(String(r.key), due);
    }
  }

  /** Records that an activity started (no-op when it already has a row). */
  async begin(key: string, kind: string, name: string | undefined, at: Date, data?: string): Promise<ActivityRecord> {
    const existing = this.activities.get(key);
    if (existing !== undefined) return existing;
    const record: ActivityRecord = { key, kind, name: name ?? null, state: 'RUNNING', startedAt: at, endedAt: null, completionSeq: null, fault: null, data: data ?? null };
    this.activities.set(key, record);
    await this.committer.write([this.activityStatement(record)]);
    return record;
  }

  /** Replaces an activity's durable data (a loop's iteration, a chosen branch, an invoke's state). */
  async setData(key: string, data: string, writes: readonly VariableWrite[] = []): Promise<void> {
    const record = this.activities.get(key);
    if (record === undefined) throw new Error(`no activity record ${key}`);
    await this.committer.write([this.activityStatement({ ...record, data }), ...this.variableStatements(writes)]);
    record.data = data;
  }

  /** Ends an activity: its state, variable writes and outgoing link statuses, in one transaction. */
  async end(
    key: string,
    state: Exclude<ActivityState, 'RUNNING'>,
    at: Date,
    extra: { fault?: string; data?: string; writes?: readonly VariableWrite[]; links?: ReadonlyArray<[string, boolean]>; kind?: string; name?: string } = {},
  ): Promise<void> {
    const record = this.activities.get(key);
    const completionSeq = state === 'COMPLETED' ? ++this.seq : null;
    const ended: ActivityRecord =
      record === undefined
        ? { key, kind: extra.kind ?? 'unknown', name: extra.name ?? null, state, startedAt: at, endedAt: at, completionSeq, fault: extra.fault ?? null, data: extra.data ?? null }
        : { ...record, state, endedAt: at, completionSeq, fault: extra.fault ?? null, data: extra.data ?? record.data };
    await this.committer.write([this.activityStatement(ended), ...this.variableStatements(extra.writes ?? []), ...(extra.links ?? []).map(([linkKey, value]) => this.linkStatement(linkKey, value))]);
    if (record === undefined) this.activities.set(key, ended);
    else Object.assign(record, ended);
    for (const w of extra.writes ?? []) this.setVariable(InstanceStore.variableKey(w.scopeKey, w.name), w.value);
    for (const [linkKey, value] of extra.links ?? []) this.links.set(linkKey, value);
  }

  /** Marks a completed scope compensated. */
  async markCompensated(key: string, at: Date): Promise<void> {
    const record = this.activities.get(key);
    if (record === undefined) return;
    await this.committer.write([this.activityStatement({ ...record, state: 'COMPENSATED', endedAt: at })]);
    record.state = 'COMPENSATED';
    record.endedAt = at;
  }

  async writeVariablesNow(writes: readonly VariableWrite[]): Promise<void> {
    if (writes.length === 0) return;
    await this.committer.write(this.variableStatements(writes));
    for (const w of writes) this.setVariable(InstanceStore.variableKey(w.scopeKey, w.name), w.value);
  }

  /** Sets a variable's stored value as held in memory, keeping the byte total. */
  setVariable(key: string, value: string): void {
    const bytes = Buffer.byteLength(value);
    this.variableTotal += bytes - (this.variableSizes.get(key) ?? 0);
    this.variableSizes.set(key, bytes);
    this.variables.set(key, value);
  }

  /** The bytes all variables would hold once `writes` are applied. */
  variableBytesAfter(writes: readonly VariableWrite[]): number {
    let total = this.variableTotal;
    const seen = new Map<string, number>();
    for (const w of writes) {
      const key = InstanceStore.variableKey(w.scopeKey, w.name);
      total += Buffer.byteLength(w.value) - (seen.get(key) ?? this.variableSizes.get(key) ?? 0);
      seen.set(key, Buffer.byteLength(w.value));
    }
    return total;
  }

  async setLinks(links: ReadonlyArray<[string, boolean]>): Promise<void> {
    if (links.length === 0) return;
    await this.committer.write(links.map(([key, value]) => this.linkStatement(key, value)));
    for (const [key, value] of links) this.links.set(key, value);
  }

  /** Persists a timer's due time once; later calls return the first due time (so a resumed timer keeps it). */
  async timer(key: string, kind: 'wait' | 'alarm', dueAt: Date): Promise<Date> {
    const existing = this.timers.get(key);
    if (existing !== undefined) return existing;
    await this.committer.write([['INSERT INTO process_timer (instanceId, `key`, kind, dueAt) VALUES (?, ?, ?, ?)', [this.instanceId, key, kind, toSqlDate(dueAt)]]]);
    this.timers.set(key, dueAt);
    return dueAt;
  }

  async timerFired(key: string, at: Date): Promise<void> {
    await this.committer.write([['UPDATE process_timer SET firedAt = ? WHERE instanceId = ? AND `key` = ? AND firedAt IS NULL', [toSqlDate(at), this.instanceId, key]]]);
  }

  /*
   * Every write is an upsert of the whole row from what this store holds, so
   * the writes of one table share one statement text: the group committer
   * merges those of many instances into one multi-row statement. They touch
   * only this instance's rows, so they commute with everything else.
   */

  private activityStatement(r: ActivityRecord): Statement {
    return [
      this.mysql ? ACTIVITY_UPSERT.mysql : ACTIVITY_UPSERT.sqlite,
      [this.instanceId, r.key, r.kind, r.name, r.state, toSqlDate(r.startedAt), r.endedAt === null ? null : toSqlDate(r.endedAt), r.completionSeq, r.fault, r.data],
      COMMUTES,
    ];
  }

  private variableStatements(writes: readonly VariableWrite[]): Statement[] {
    const sql = this.mysql ? VARIABLE_UPSERT.mysql : VARIABLE_UPSERT.sqlite;
    return writes.map((w) => [sql, [this.instanceId, w.scopeKey, w.name, w.value], COMMUTES]);
  }

  private linkStatement(key: string, value: boolean): Statement {
    return [this.mysql ? LINK_UPSERT.mysql : LINK_UPSERT.sqlite, [this.instanceId, key, value ? 1 : 0], COMMUTES];
  }
}

const ACTIVITY_UPSERT = upsertSql(
  'activity_instance',
  ['instanceId', '`key`', 'kind', 'name', 'state', 'startedAt', 'endedAt', 'completionSeq', 'fault', 'data'],
  ['instanceId', '`key`'],
  ['state', 'endedAt', 'completionSeq', 'fault', 'data'],
);
const VARIABLE_UPSERT = upsertSql('process_variable', ['instanceId', 'scopeKey', 'name', 'value'], ['instanceId', 'scopeKey', 'name'], ['value']);
const LINK_UPSERT = upsertSql('link_state', ['instanceId', '`key`', 'value'], ['instanceId', '`key`'], ['value']);
