import type { DataSource } from 'typeorm';
import type { ActivityState } from '../../entities';
import type { VariableValue } from '../bpel/values';
import { groupCommitter, type GroupCommitter, type RowWrite, type SqlWrite, type StatementResult, type Write } from '../db/group-commit';
import { fromSqlDate, toSqlDate } from '../db/sql';
import { WORKFLOW_ROWS, WORKFLOW_SQL } from './sql';

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

/** The scope key under which an instance's input message is stored (variable `message`), written with the instance row. */
export const INPUT_SCOPE = '#input';

/** Rows an instance hands to the committer at the latest, when it runs without yielding. */
const BEHIND_BATCH = 500;

/**
 * Reads and writes the durable state of one process instance: activity
 * executions, variables, link statuses and timers.
 *
 * Transitions are written behind: the store applies them in memory at once
 * and hands the changed rows (the latest version of each) to the group
 * committer at the end of the event-loop turn, without waiting for the
 * commit. What the interpreter cannot re-derive after a crash, or must not
 * repeat, waits for {@link durable}: a timer's due time before the instance
 * sleeps on it, the state before an effect leaves (an invoke that changes
 * something, a reply), the instance's end. Flushes commit in the order they
 * are handed over and each is atomic, so what a crash leaves is the
 * instance's state at some moment of its run, from which replay goes on
 * (docs/workflow.md, "Durability").
 */
export class InstanceStore {
  readonly activities = new Map<string, ActivityRecord>();
  readonly variables = new Map<string, string>();
  readonly links = new Map<string, boolean>();
  readonly timers = new Map<string, Date>();
  /** Initiated correlation sets: name → their key, and the activity execution that initiated them. */
  readonly correlations = new Map<string, { readonly key: string; readonly by: string }>();
  /** Each timer's kind, and the timers whose firing is recorded (it is recorded once). */
  private readonly timerKinds = new Map<string, 'wait' | 'alarm'>();
  private readonly fired = new Set<string>();
  /** Bytes of each stored variable value, by variable key, and their sum (the instance's variable budget). */
  private readonly variableSizes = new Map<string, number>();
  private variableTotal = 0;
  /** Goes up each time a variable's stored value changes (writing the value it already has does not count). */
  variableVersion = 0;
  private readonly variableListeners = new Set<(key: string) => void>();
  /** Activity rows no longer held in memory (finished loop iterations, see {@link forget}). */
  private forgotten = 0;
  private seq = 0;
  private readonly committer: GroupCommitter;
  /**
   * Rows changed and not yet handed to the committer, by key: their
   * statements are built when they are handed over, from what the store
   * holds then (whole-row upserts of the latest version).
   */
  private readonly pendingActivities = new Map<string, ActivityRecord>();
  private readonly pendingVariables = new Map<string, VariableWrite>();
  private readonly pendingLinks = new Map<string, boolean>();
  /** Timer rows recording their firing. */
  private pendingTimers: RowWrite[] = [];
  /** Other statements on this instance's rows, in order (a reply recorded with its message). */
  private pendingStatements: SqlWrite[] = [];
  private flushScheduled = false;
  /** A `<reply>` ended since the last commit handed over: the next one carries it. */
  private replyPending = false;
  /** The last commit handed over (settled either way). */
  private inFlight: Promise<void> = Promise.resolve();
  /** The first commit that failed; the instance stops at its next transition. */
  private failure: unknown;
  /** Transactions this store handed to the committer (for the benchmark's commits per activity). */
  commits = 0;

  constructor(
    private readonly dataSource: DataSource,
    readonly instanceId: string,
    /**
     * A statement each commit of this instance's rows carries first, which
     * must change one row for the commit to land: "the instance is still
     * leased to me". It may throw instead, refusing the commit at once.
     * Undefined: no fence.
     */
    private readonly fence?: () => SqlWrite | undefined,
    /**
     * Told of the first commit that failed, when it fails: an instance idle
     * in a long wait would otherwise notice only at its next transition.
     */
    private readonly onFailure?: (err: unknown) => void,
    /** Told when a commit carrying a `<reply>` landed (a caller may be waiting for it). */
    private readonly onReplyCommitted?: () => void,
  ) {
    this.committer = groupCommitter(dataSource);
  }

  static variableKey(scopeKey: string, name: string): string {
    return `${scopeKey}\u0000${name}`;
  }

  async load(): Promise<void> {
    const id = this.instanceId;
    const [activities, variables, links, timers, correlations] = (await Promise.all([
      this.dataSource.query(WORKFLOW_SQL.loadActivities, [id]),
      this.dataSource.query(WORKFLOW_SQL.loadVariables, [id]),
      this.dataSource.query(WORKFLOW_SQL.loadLinks, [id]),
      this.dataSource.query(WORKFLOW_SQL.loadTimers, [id]),
      this.dataSource.query(WORKFLOW_SQL.loadCorrelations, [id]),
    ])) as [Array<Record<string, unknown>>, Array<Record<string, unknown>>, Array<Record<string, unknown>>, Array<Record<string, unknown>>, Array<Record<string, unknown>>];
    for (const r of correlations) {
      let by = '';
      try {
        by = String((JSON.parse(String(r.value)) as { by?: unknown }).by ?? '');
      } catch {
        // A value of another form: the set stays initiated, by no known activity.
      }
      this.correlations.set(String(r.setName), { key: String(r.correlationKey), by });
    }
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
      if (due === null) continue;
      const key = String(r.key);
      this.timers.set(key, due);
      this.timerKinds.set(key, r.kind === 'alarm' ? 'alarm' : 'wait');
      if (r.firedAt !== null && r.firedAt !== undefined) this.fired.add(key);
    }
  }

  /** Records that an activity started (no-op when it already has a row). Written behind. */
  begin(key: string, kind: string, name: string | undefined, at: Date, data?: string): ActivityRecord {
    const existing = this.activities.get(key);
    if (existing !== undefined) return existing;
    const record: ActivityRecord = { key, kind, name: name ?? null, state: 'RUNNING', startedAt: at, endedAt: null, completionSeq: null, fault: null, data: data ?? null };
    this.activities.set(key, record);
    this.markActivity(record);
    return record;
  }

  /** Replaces an activity's durable data (a loop's iteration, a chosen branch, an invoke's state). Written behind. */
  setData(key: string, data: string, writes: readonly VariableWrite[] = []): void {
    const record = this.activities.get(key);
    if (record === undefined) throw new Error(`no activity record ${key}`);
    record.data = data;
    this.markActivity(record);
    this.applyVariables(writes);
  }

  /** Ends an activity: its state, variable writes and outgoing link statuses, atomically (one flush carries them all). Written behind. */
  end(
    key: string,
    state: Exclude<ActivityState, 'RUNNING'>,
    at: Date,
    extra: { fault?: string; data?: string; writes?: readonly VariableWrite[]; links?: ReadonlyArray<[string, boolean]>; kind?: string; name?: string } = {},
  ): void {
    const record = this.activities.get(key);
    const completionSeq = state === 'COMPLETED' ? ++this.seq : null;
    const ended: ActivityRecord =
      record === undefined
        ? { key, kind: extra.kind ?? 'unknown', name: extra.name ?? null, state, startedAt: at, endedAt: at, completionSeq, fault: extra.fault ?? null, data: extra.data ?? null }
        : Object.assign(record, { state, endedAt: at, completionSeq, fault: extra.fault ?? null, data: extra.data ?? record.data });
    if (record === undefined) this.activities.set(key, ended);
    if (ended.kind === 'reply') this.replyPending = true;
    this.markActivity(ended);
    this.applyVariables(extra.writes ?? []);
    this.applyLinks(extra.links ?? []);
  }

  /** Marks a completed scope compensated. Written behind. */
  markCompensated(key: string, at: Date): void {
    const record = this.activities.get(key);
    if (record === undefined) return;
    record.state = 'COMPENSATED';
    record.endedAt = at;
    this.markActivity(record);
  }

  /** Sets variables outside an activity's end (initial values, the start message's parts). Written behind. */
  writeVariables(writes: readonly VariableWrite[]): void {
    this.applyVariables(writes);
  }

  /** Sets a variable's stored value as held in memory, keeping the byte total. */
  setVariable(key: string, value: string): void {
    const previous = this.variables.get(key);
    if (previous === value) return;
    const bytes = Buffer.byteLength(value);
    this.variableTotal += bytes - (this.variableSizes.get(key) ?? 0);
    this.variableSizes.set(key, bytes);
    this.variables.set(key, value);
    this.variableVersion++;
    for (const listener of [...this.variableListeners]) listener(key);
  }

  /** The name of a variable from its key. */
  static variableName(key: string): string {
    return key.slice(key.indexOf('\u0000') + 1);
  }

  /** Calls `listener` with the variable's key at each change of a variable's value until the returned function is called. */
  onVariableChange(listener: (key: string) => void): () => void {
    this.variableListeners.add(listener);
    return () => void this.variableListeners.delete(listener);
  }

  /** Activity rows of the instance, including those no longer held in memory. */
  get activityCount(): number {
    return this.activities.size + this.forgotten;
  }

  /**
   * Lets go of finished activity rows the run will not look at again (the
   * activities of a loop iteration that ended, by key), with their timers:
   * they stay in the database, written behind like any other, and a resumed
   * instance reads them back. Keys not held are ignored.
   */
  forget(keys: Iterable<string>): void {
    for (const key of keys) {
      if (this.activities.delete(key)) this.forgotten++;
      if (this.timers.delete(key)) {
        this.timerKinds.delete(key);
        this.fired.delete(key);
      }
    }
  }

  /** The bytes all variables would hold once `writes` are applied. */
  variableBytesAfter(writes: readonly VariableWrite[]): number {
    let total = this.variableTotal;
    if (writes.length === 0) return total;
    const seen = writes.length === 1 ? undefined : new Map<string, number>();
    for (const w of writes) {
      const key = InstanceStore.variableKey(w.scopeKey, w.name);
      const bytes = Buffer.byteLength(w.value);
      total += bytes - (seen?.get(key) ?? this.variableSizes.get(key) ?? 0);
      seen?.set(key, bytes);
    }
    return total;
  }

  setLinks(links: ReadonlyArray<[string, boolean]>): void {
    this.applyLinks(links);
  }

  /**
   * Persists a timer's due time once, durably, with everything written
   * behind before it: the instance sleeps on it only once a crash can no
   * longer lose it. Later calls return the first due time (so a resumed
   * timer keeps it).
   */
  async timer(key: string, kind: 'wait' | 'alarm', dueAt: Date): Promise<Date> {
    const existing = this.timers.get(key);
    if (existing !== undefined) return existing;
    this.timers.set(key, dueAt);
    this.timerKinds.set(key, kind);
    await this.durable([{ row: WORKFLOW_ROWS.timer, values: [this.instanceId, key, kind, toSqlDate(dueAt), null], commutes: true }]);
    return dueAt;
  }

  /** Records when a timer fired. Written behind: its due time is what a resumed instance needs. */
  timerFired(key: string, at: Date): void {
    const due = this.timers.get(key);
    if (due === undefined || this.fired.has(key)) return;
    this.check();
    this.fired.add(key);
    this.pendingTimers.push({ row: WORKFLOW_ROWS.timer, values: [this.instanceId, key, this.timerKinds.get(key) ?? 'wait', toSqlDate(due), toSqlDate(at)], commutes: true });
    this.scheduleFlush();
  }

  /**
   * Initiates correlation sets, durably with everything written behind
   * before: a message carrying their values is routed to this instance from
   * the moment this returns.
   */
  async initiateCorrelations(processName: string, sets: ReadonlyArray<{ readonly set: string; readonly key: string; readonly values: readonly string[]; readonly by: string }>): Promise<void> {
    if (sets.length === 0) return;
    for (const s of sets) this.correlations.set(s.set, { key: s.key, by: s.by });
    await this.durable(sets.map((s) => ({ row: WORKFLOW_ROWS.correlation, values: [this.instanceId, processName, s.set, s.key, JSON.stringify({ values: s.values, by: s.by })], commutes: true })));
  }

  /** A statement on this instance's rows, committed with the next flush (after what was written before it). Written behind. */
  statement(write: SqlWrite): void {
    this.check();
    this.pendingStatements.push(write);
    this.scheduleFlush();
  }

  // ---- write-behind ---------------------------------------------------------

  /**
   * Makes everything written so far durable, together with `extra`, and
   * waits for the commit: the instance goes on only once a crash can no
   * longer lose any of it. The writes behind it commit first (the group
   * committer keeps the order in which writes are handed in), so what is
   * durable is always the instance's state at some moment of its run.
   */
  async durable(extra: readonly Write[] = []): Promise<StatementResult[]> {
    this.check();
    const writes = [...this.takePending(), ...extra];
    if (writes.length === 0) {
      await this.inFlight;
      this.check();
      return [];
    }
    const committed = this.send(writes);
    this.inFlight = committed.then(
      () => undefined,
      () => undefined,
    );
    const results = await committed;
    return results.slice(results.length - extra.length);
  }

  /** Drops what was not yet written (the instance was taken over elsewhere: none of it may land). */
  discard(): void {
    this.clearPending();
    this.replyPending = false;
  }

  private get pendingCount(): number {
    return this.pendingActivities.size + this.pendingVariables.size + this.pendingLinks.size + this.pendingTimers.length + this.pendingStatements.length;
  }

  private clearPending(): void {
    this.pendingActivities.clear();
    this.pendingVariables.clear();
    this.pendingLinks.clear();
    this.pendingTimers = [];
    this.pendingStatements = [];
  }

  /** Writes not yet handed to the committer, in a form a caller can add to its own transaction. */
  private takePending(): Write[] {
    const writes: Write[] = [];
    for (const record of this.pendingActivities.values()) writes.push(this.activityStatement(record));
    for (const w of this.pendingVariables.values()) writes.push({ row: WORKFLOW_ROWS.variable, values: [this.instanceId, w.scopeKey, w.name, w.value], commutes: true });
    for (const [key, value] of this.pendingLinks) writes.push(this.linkStatement(key, value));
    writes.push(...this.pendingTimers);
    writes.push(...this.pendingStatements);
    this.clearPending();
    return writes;
  }

  /** Hands writes to the committer with the instance's lease fence, if any; a failed or fenced commit stops the instance. */
  private send(writes: readonly Write[]): Promise<StatementResult[]> {
    let fence: SqlWrite | undefined;
    try {
      fence = this.fence?.();
    } catch (err) {
      // Refused before it reached the database (the writer knows its lease is not held).
      this.fail(err);
      return Promise.reject(err);
    }
    const all = fence === undefined ? writes : [fence, ...writes];
    const carriesReply = this.replyPending;
    this.replyPending = false;
    this.commits++;
    return this.committer.write(all).then(
      (results) => {
        if (carriesReply) this.onReplyCommitted?.();
        return fence === undefined ? results : results.slice(1);
      },
      (err: unknown) => {
        this.fail(err);
        throw err;
      },
    );
  }

  private fail(err: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    this.onFailure?.(err);
  }

  /** Throws the failure of an earlier commit: the instance does not go on from a state that could not be written. */
  private check(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private markActivity(record: ActivityRecord): void {
    this.check();
    this.pendingActivities.set(record.key, record);
    this.scheduleFlush();
  }

  private applyVariables(writes: readonly VariableWrite[]): void {
    if (writes.length === 0) return;
    this.check();
    for (const w of writes) {
      const key = InstanceStore.variableKey(w.scopeKey, w.name);
      // The value it already holds is written already, or waits to be: nothing to write again.
      if (this.variables.get(key) === w.value) continue;
      this.setVariable(key, w.value);
      this.pendingVariables.set(key, w);
    }
    this.scheduleFlush();
  }

  private applyLinks(links: ReadonlyArray<[string, boolean]>): void {
    if (links.length === 0) return;
    this.check();
    for (const [key, value] of links) {
      this.links.set(key, value);
      this.pendingLinks.set(key, value);
    }
    this.scheduleFlush();
  }

  /**
   * Writes behind: the rows changed in this turn of the event loop go to the
   * committer together, without waiting for the commit. An instance that
   * runs for long without yielding hands them over every
   * {@link BEHIND_BATCH} rows.
   */
  private scheduleFlush(): void {
    if (this.pendingCount >= BEHIND_BATCH) {
      this.flushBehind();
      return;
    }
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    if (InstanceStore.flushQueue.push(this) === 1) setImmediate(InstanceStore.flushQueued);
  }

  /** Stores whose rows are handed over at the end of this turn, in the order they asked: one immediate for them all. */
  private static readonly flushQueue: InstanceStore[] = [];

  private static flushQueued(this: void): void {
    for (const store of InstanceStore.flushQueue.splice(0)) {
      store.flushScheduled = false;
      store.flushBehind();
    }
  }

  private flushBehind(): void {
    if (this.failure !== undefined) return;
    const writes = this.takePending();
    if (writes.length === 0) return;
    this.inFlight = this.send(writes).then(
      () => undefined,
      () => undefined,
    );
  }

  /*
   * Every write is an upsert of the whole row from what this store holds, so
   * the writes of one table share one statement text: the group committer
   * merges those of many instances into one multi-row statement. They touch
   * only this instance's rows, so they commute with everything else.
   */

  private activityStatement(r: ActivityRecord): RowWrite {
    return {
      row: WORKFLOW_ROWS.activity,
      values: [this.instanceId, r.key, r.kind, r.name, r.state, toSqlDate(r.startedAt), r.endedAt === null ? null : toSqlDate(r.endedAt), r.completionSeq, r.fault, r.data],
      commutes: true,
    };
  }

  private variableStatements(writes: readonly VariableWrite[]): RowWrite[] {
    return writes.map((w) => ({ row: WORKFLOW_ROWS.variable, values: [this.instanceId, w.scopeKey, w.name, w.value], commutes: true }));
  }

  private linkStatement(key: string, value: boolean): RowWrite {
    return { row: WORKFLOW_ROWS.link, values: [this.instanceId, key, value ? 1 : 0], commutes: true };
  }
}
