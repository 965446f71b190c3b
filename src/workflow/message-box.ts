/**
 * The message box: messages received at process endpoints for running
 * instances (or for instances not there yet), durable before they are
 * acknowledged, and taken by the receive, onMessage or onEvent of the
 * instance whose correlation values they carry.
 *
 * A message is a row of `process_message` committed before `deliver`
 * returns, so the sender is answered only once a crash can no longer lose
 * it. An activity takes it with one guarded update naming the instance and
 * the activity execution's key; after a crash the same execution finds it
 * again by that key, so replay takes the same message (received messages are
 * inputs recorded durably, like timers' due times).
 */
import { EventEmitter } from 'node:events';
import type { DataSource } from 'typeorm';
import type { VariableValue } from '../bpel/values';
import { deserializeValue, serializeValue } from '../bpel/xpath';
import { armRound, type Clock } from '../clock';
import { groupCommitter } from '../db/group-commit';
import crypto from 'node:crypto';
import { dialectOf, execute, forDialect, toSqlDate } from '../db/sql';
import type { Logger } from '../log';
import { WorkflowError } from './errors';
import { InstanceSignals, type SignalListener } from './instance-signals';
import { WORKFLOW_SQL } from './sql';

/** A message an activity execution took. */
export interface TakenMessage {
  readonly id: number;
  /** `partnerLink/operation`. */
  readonly operation: string;
  readonly message: VariableValue;
}

/** What an activity waits for: messages of these operations carrying these correlation keys. */
export interface MessageWanted {
  readonly operation: string;
  readonly correlationKey: string;
}

/** The instance's answer to a message it took, as stored: its message (serialized), or the fault it replied with. */
export interface StoredReply {
  readonly message?: string;
  readonly fault?: string;
}

export interface MessageBoxSettings {
  /** How long a message no instance holds the correlation values of is kept for one to come; 0 refuses it. */
  readonly keepMs: number;
  /** How often this server looks for messages another server received, for all its waiting activities together. */
  readonly pollMs: number;
}

/** The event a received message is announced under: its process and correlation key. */
function arrivalEvent(processName: string, correlationKey: string): string {
  return `${processName}\u0000${correlationKey}`;
}

/** Correlation keys asked about in one statement of the shared poll. */
const POLL_KEYS_PER_QUERY = 500;

/** What a caller waiting for a message's reply gets (see MessageBox.awaitReply). */
type MessageAnswer = { status: 'REPLIED'; reply: StoredReply } | { status: 'ENDED'; message: string };

export class MessageBox {
  private readonly arrivals = new EventEmitter();
  private readonly sql: ReturnType<typeof forDialect<typeof WORKFLOW_SQL>>;
  /** What this server's activities wait for, by process and correlation key: how many wait on each. */
  private readonly waiting = new Map<string, Map<string, number>>();
  /** Cancels the next shared poll, armed while any activity waits. */
  private cancelPoll: (() => void) | undefined;

  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly settings: MessageBoxSettings,
    private readonly log: Logger,
    /** Takes, replies and ends in this process, which wake the callers waiting for a reply. */
    readonly signals: InstanceSignals = new InstanceSignals(),
  ) {
    // One listener per waiting activity.
    this.arrivals.setMaxListeners(0);
    this.sql = forDialect(WORKFLOW_SQL, dialectOf(dataSource));
  }

  /**
   * Stores a message for the instance holding its correlation values, or,
   * when none does, for one to come within the keep time.
   *
   * @throws WorkflowError `NoMatchingInstance` when no instance holds the values and messages are not kept
   */
  async deliver(input: {
    readonly processName: string;
    readonly operation: string;
    readonly correlationKey: string;
    readonly message: VariableValue;
    readonly describe: string;
    /** Who sent it and its WS-Addressing MessageID: a retry of a stored message is not stored again. */
    readonly source?: { readonly sender: string; readonly messageId: string };
  }): Promise<{ readonly id: number; readonly held: boolean }> {
    const holders = (await this.dataSource.query(WORKFLOW_SQL.correlatedInstance, [input.processName, input.correlationKey])) as Array<{ instanceId: string }>;
    const held = holders.length > 0;
    if (!held && this.settings.keepMs === 0) {
      throw new WorkflowError('NoMatchingInstance', `no running instance of process ${input.processName} holds ${input.describe}, and messages for instances not there yet are not kept (PROVISOR_WORKFLOW_MESSAGE_KEEP_MS is 0)`);
    }
    const now = this.clock.date();
    const expiresAt = held ? null : toSqlDate(new Date(now.getTime() + this.settings.keepMs));
    const sourceKey = input.source === undefined ? null : crypto.createHash('sha256').update(`${input.source.sender}\n${input.source.messageId}`).digest('hex');
    const [result] = await groupCommitter(this.dataSource).write([
      { sql: this.sql.insertMessage, params: [input.processName, input.operation, input.correlationKey, sourceKey, serializeValue(input.message), toSqlDate(now), expiresAt], table: 'process_message' },
    ]);
    let id = Number(result?.insertId);
    if (sourceKey !== null) {
      // Read back by its source: a retry inserted nothing (and MySQL counts the row it found as changed).
      const stored = (await this.dataSource.query(WORKFLOW_SQL.messageBySource, [input.processName, sourceKey])) as Array<{ id: unknown }>;
      const first = Number(stored[0]?.id ?? id);
      if (first !== id) {
        this.log.info('process message sent again: stored once', { process: input.processName, operation: input.operation, messageId: first });
        return { id: first, held };
      }
      id = first;
    }
    this.log.info('process message received', { process: input.processName, operation: input.operation, messageId: id, held, instanceId: holders[0]?.instanceId });
    this.arrivals.emit(arrivalEvent(input.processName, input.correlationKey));
    return { id, held };
  }

  /** Whether a running (or suspended) instance of the process holds these correlation values. */
  async holds(processName: string, correlationKey: string): Promise<boolean> {
    const rows = (await this.dataSource.query(WORKFLOW_SQL.correlatedInstance, [processName, correlationKey])) as unknown[];
    return rows.length > 0;
  }

  /** The message an activity execution took before (after a crash, the same one again). */
  async taken(instanceId: string, consumerKey: string): Promise<TakenMessage | undefined> {
    const rows = (await this.dataSource.query(WORKFLOW_SQL.takenMessage, [instanceId, consumerKey])) as Array<{ id: unknown; operation: string; message: string }>;
    const row = rows[0];
    return row === undefined ? undefined : { id: Number(row.id), operation: String(row.operation), message: deserializeValue(String(row.message)) };
  }

  /** Takes the oldest waiting message of those wanted, if there is one. */
  private async takeOne(instanceId: string, consumerKey: string, processName: string, wanted: readonly MessageWanted[]): Promise<TakenMessage | undefined> {
    const byKey = new Map<string, string[]>();
    for (const w of wanted) byKey.set(w.correlationKey, [...(byKey.get(w.correlationKey) ?? []), w.operation]);
    const candidates: Array<{ id: number }> = [];
    for (const [key, operations] of byKey) {
      const rows = (await this.dataSource.query(WORKFLOW_SQL.waitingMessages(operations.length), [processName, key, toSqlDate(this.clock.date()), ...operations])) as Array<{ id: unknown }>;
      for (const r of rows) candidates.push({ id: Number(r.id) });
    }
    // The oldest first: messages are taken in the order they were received.
    for (const candidate of candidates.sort((a, b) => a.id - b.id)) {
      const changed = await execute(this.dataSource, WORKFLOW_SQL.takeMessage, [instanceId, consumerKey, candidate.id]);
      if (changed === 1) {
        this.signals.taken(candidate.id);
        return this.taken(instanceId, consumerKey);
      }
    }
    return undefined;
  }

  /**
   * Waits until the activity execution `consumerKey` has taken a message of
   * those wanted (at once when it took one before a crash). Resolves
   * undefined once `stop` is aborted and no message was taken; a take under
   * way when it is aborted still completes, and its message is returned.
   */
  async waitFor(request: { readonly instanceId: string; readonly consumerKey: string; readonly processName: string; readonly wanted: readonly MessageWanted[]; readonly stop: AbortSignal }): Promise<TakenMessage | undefined> {
    const before = await this.taken(request.instanceId, request.consumerKey);
    if (before !== undefined) return before;
    let wake: (() => void) | undefined;
    const onArrival = (): void => wake?.();
    const onStop = (): void => wake?.();
    // Woken only by messages carrying its values: a message for one of a thousand waiting instances wakes one.
    const keys = [...new Set(request.wanted.map((w) => w.correlationKey))];
    const events = keys.map((key) => arrivalEvent(request.processName, key));
    for (const event of events) this.arrivals.on(event, onArrival);
    this.watch(request.processName, keys, +1);
    request.stop.addEventListener('abort', onStop, { once: true });
    try {
      let arrived = true;
      for (;;) {
        if (request.stop.aborted) return undefined;
        if (arrived) {
          arrived = false;
          const message = await this.takeOne(request.instanceId, request.consumerKey, request.processName, request.wanted);
          if (message !== undefined) return message;
          if (request.stop.aborted) return undefined;
        }
        // Woken by a message this server received, by the shared poll (one another server received), or by the stop.
        await new Promise<void>((resolve) => {
          wake = () => {
            arrived = true;
            resolve();
          };
        });
        wake = undefined;
      }
    } finally {
      for (const event of events) this.arrivals.off(event, onArrival);
      this.watch(request.processName, keys, -1);
      request.stop.removeEventListener('abort', onStop);
    }
  }

  /** Counts the activities waiting on `keys` of a process; the shared poll runs while any wait. */
  private watch(processName: string, keys: readonly string[], delta: 1 | -1): void {
    let byKey = this.waiting.get(processName);
    if (byKey === undefined) {
      byKey = new Map();
      this.waiting.set(processName, byKey);
    }
    for (const key of keys) {
      const n = (byKey.get(key) ?? 0) + delta;
      if (n > 0) byKey.set(key, n);
      else byKey.delete(key);
    }
    if (byKey.size === 0) this.waiting.delete(processName);
    if (this.waiting.size > 0 && this.cancelPoll === undefined) this.schedulePoll();
  }

  /** The next shared poll, after the poll interval of the clock's time (messages this server receives wake their activities at once). */
  private schedulePoll(): void {
    this.cancelPoll = armRound(this.clock, this.settings.pollMs, () => {
      void this.poll().finally(() => {
        this.cancelPoll = undefined;
        if (this.waiting.size > 0) this.schedulePoll();
      });
    });
  }

  /**
   * The shared poll for messages another server sharing the database
   * received: one statement per process and 500 waited-for keys, every poll
   * interval, however many activities wait (each waiting activity asking on
   * its own would read the table once per interval each). A key with a
   * message no instance took wakes the activities waiting on it, which try
   * to take it.
   */
  private async poll(): Promise<void> {
    const now = toSqlDate(this.clock.date());
    for (const [processName, byKey] of [...this.waiting]) {
      const keys = [...byKey.keys()];
      for (let i = 0; i < keys.length; i += POLL_KEYS_PER_QUERY) {
        const chunk = keys.slice(i, i + POLL_KEYS_PER_QUERY);
        try {
          const rows = (await this.dataSource.query(WORKFLOW_SQL.keysWithMessages(chunk.length), [processName, now, ...chunk])) as Array<{ correlationKey: string }>;
          for (const row of rows) this.arrivals.emit(arrivalEvent(processName, String(row.correlationKey)));
        } catch (err) {
          this.log.warn('polling for process messages failed', { process: processName, err: String(err) });
        }
      }
    }
  }

  /**
   * Waits for the instance's reply to a message (a request-response
   * operation), for the instance's end, or for the timeout.
   */
  async awaitReply(id: number, timeoutMs: number): Promise<MessageAnswer | { status: 'TIMEOUT' }> {
    const answer = await this.signals.readUntil(this.clock, this.clock.now() + timeoutMs, (listener) => {
      // Woken by the take of the message or its instance's reply or end here; what another server wrote is read after a delay.
      listener.message(id);
      return this.readReply(id, listener);
    });
    return answer ?? { status: 'TIMEOUT' };
  }

  /** The message's reply, or the end of the instance that took it, if there is one yet. */
  private async readReply(id: number, listener: SignalListener): Promise<MessageAnswer | undefined> {
    const rows = (await this.dataSource.query(WORKFLOW_SQL.messageReply, [id])) as Array<{ reply: string | null; instanceId: string | null }>;
    const row = rows[0];
    if (row?.reply !== null && row?.reply !== undefined) return { status: 'REPLIED', reply: JSON.parse(row.reply) as StoredReply };
    if (row?.instanceId === null || row?.instanceId === undefined) return undefined;
    listener.instance(row.instanceId);
    const outcome = (await this.dataSource.query(WORKFLOW_SQL.instanceOutcome, [row.instanceId])) as Array<{ status: string }>;
    const status = outcome[0]?.status;
    if (status === undefined || status === 'RUNNING') return undefined;
    const again = (await this.dataSource.query(WORKFLOW_SQL.messageReply, [id])) as Array<{ reply: string | null }>;
    const reply = again[0]?.reply;
    if (reply !== null && reply !== undefined) return { status: 'REPLIED', reply: JSON.parse(reply) as StoredReply };
    return { status: 'ENDED', message: `instance ${row.instanceId} took the message and ended ${status} without replying` };
  }
}
