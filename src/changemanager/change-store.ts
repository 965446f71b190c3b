/**
 * The change manager's queries: the `change_request` rows (the planning
 * queue and each change's state) and their plans (`change_plan_part`). Every
 * state change is one guarded write: `UPDATE … WHERE id = ? AND state = ?`;
 * zero rows changed means another caller moved it first.
 */
import type { DataSource, EntityManager } from 'typeorm';
import { execute, fromSqlDate, isUniqueViolation, toSqlDate, transaction } from '../db/sql';
import { CHANGE_STATES, type ChangeRequest, type ChangeState, type PlanOutcome } from './change-plan';
import { decodeChangeRequest } from './request-rules';
import { CHANGE_SQL } from './sql';

/** A plan part's length in characters: 16,000 characters are at most 48,000 bytes of UTF-8, inside a MySQL TEXT. */
const PART_CHARS = 16_000;
/** The largest plan stored (JSON characters); a bigger one is rejected as too large. */
export const MAX_PLAN_CHARS = 16_000_000;

/** A change as stored. */
export interface ChangeRecord {
  readonly id: string;
  readonly caller: string;
  readonly state: ChangeState;
  readonly request: ChangeRequest;
  readonly priority: number;
  readonly dryRun: boolean;
  readonly deadline: Date | null;
  readonly planAttempts: number;
  readonly rejectionCode: string | null;
  readonly rejectionMessage: string | null;
  readonly processName: string | null;
  readonly instanceId: string | null;
  readonly outcome: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly plannedAt: Date | null;
  readonly endedAt: Date | null;
}

/** A change in a list: no request, no plan. */
export type ChangeSummary = Omit<ChangeRecord, 'request'> & { readonly changes: number };

export interface NewChange {
  readonly id: string;
  readonly caller: string;
  readonly idempotencyKey: string | undefined;
  readonly encodedRequest: string;
  readonly digest: string;
  readonly priority: number;
  readonly dryRun: boolean;
  readonly deadline: Date | undefined;
}

type Row = Record<string, unknown>;

function toState(value: unknown): ChangeState {
  const state = String(value);
  if (!(CHANGE_STATES as readonly string[]).includes(state)) throw new Error(`change_request holds an unknown state "${state}"`);
  return state as ChangeState;
}

function str(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

function summaryOf(row: Row): Omit<ChangeRecord, 'request'> {
  return {
    id: String(row.id),
    caller: String(row.caller),
    state: toState(row.state),
    priority: Number(row.priority),
    dryRun: Number(row.dryRun) === 1 || row.dryRun === true,
    deadline: fromSqlDate(row.deadline),
    planAttempts: Number(row.planAttempts),
    rejectionCode: str(row.rejectionCode),
    rejectionMessage: str(row.rejectionMessage),
    processName: str(row.processName),
    instanceId: str(row.instanceId),
    outcome: str(row.outcome),
    createdAt: fromSqlDate(row.createdAt) ?? new Date(0),
    updatedAt: fromSqlDate(row.updatedAt) ?? new Date(0),
    plannedAt: fromSqlDate(row.plannedAt),
    endedAt: fromSqlDate(row.endedAt),
  };
}

export class ChangeStore {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Inserts a change in PLANNING. When the caller already used the key, the
   * first change's id and digest come back instead (nothing is written).
   */
  async insert(change: NewChange, now: Date): Promise<{ id: string; created: true } | { id: string; created: false; digest: string }> {
    try {
      await execute(
        this.dataSource,
        CHANGE_SQL.insertChange,
        [change.id, change.caller, change.idempotencyKey ?? null, change.digest, change.encodedRequest, change.priority, change.dryRun ? 1 : 0, change.deadline === undefined ? null : toSqlDate(change.deadline), toSqlDate(now), toSqlDate(now)],
      );
      return { id: change.id, created: true };
    } catch (err) {
      if (change.idempotencyKey === undefined || !isUniqueViolation(err)) throw err;
      const rows = (await this.dataSource.query(CHANGE_SQL.changeByKey, [change.caller, change.idempotencyKey])) as Row[];
      const first = rows[0];
      if (first === undefined) throw err;
      return { id: String(first.id), created: false, digest: String(first.requestDigest) };
    }
  }

  async get(id: string): Promise<ChangeRecord | undefined> {
    const rows = (await this.dataSource.query(CHANGE_SQL.changeById, [id])) as Row[];
    const row = rows[0];
    if (row === undefined) return undefined;
    return { ...summaryOf(row), request: decodeChangeRequest(String(row.request)) };
  }

  /** Newest first; `total` counts every match. */
  async list(filter: { readonly state?: ChangeState; readonly offset: number; readonly limit: number }): Promise<{ changes: ChangeSummary[]; total: number }> {
    const params = filter.state === undefined ? [] : [filter.state];
    const [count] = (await this.dataSource.query(CHANGE_SQL.countChanges(filter.state !== undefined), params)) as Row[];
    // The request is read only to count its changes (a list shows no more of it).
    const rows = (await this.dataSource.query(CHANGE_SQL.listChanges(filter.state !== undefined), [...params, filter.limit, filter.offset])) as Row[];
    return {
      changes: rows.map((row) => ({ ...summaryOf(row), changes: decodeChangeRequest(String(row.request)).changes.length })),
      total: Number(count?.n ?? 0),
    };
  }

  /** The plan stored for a change (PLANNED and later, or REJECTED), or undefined. */
  async plan(id: string): Promise<PlanOutcome | undefined> {
    const rows = (await this.dataSource.query(CHANGE_SQL.planParts, [id])) as Row[];
    if (rows.length === 0) return undefined;
    return reviveDates(JSON.parse(rows.map((r) => String(r.content)).join('')) as PlanOutcome);
  }

  /**
   * Leases the next change to plan: the highest priority, oldest PLANNING row
   * nobody holds (or whose holder's lease ran out). Undefined when none.
   */
  async claimForPlanning(owner: string, now: Date, leaseMs: number): Promise<ChangeRecord | undefined> {
    const candidates = (await this.dataSource.query(
      CHANGE_SQL.planningCandidates,
      [toSqlDate(now)],
    )) as Row[];
    for (const candidate of candidates) {
      const id = String(candidate.id);
      const claimed = await execute(
        this.dataSource,
        CHANGE_SQL.claimPlanning,
        [owner, toSqlDate(new Date(now.getTime() + leaseMs)), toSqlDate(now), id, toSqlDate(now)],
      );
      if (claimed === 1) return this.get(id);
    }
    return undefined;
  }

  /** Gives a planning lease back (planning failed and will be tried again). */
  async release(id: string, owner: string): Promise<void> {
    await execute(this.dataSource, CHANGE_SQL.releasePlanning, [id, owner]);
  }

  /**
   * Stores the plan and moves PLANNING → PLANNED or REJECTED in one
   * transaction, if the change is still PLANNING under this lease (a cancel
   * may have come first: then nothing is written and false comes back).
   */
  async finishPlanning(id: string, owner: string, outcome: PlanOutcome, now: Date): Promise<boolean> {
    const json = JSON.stringify(outcome);
    return transaction(this.dataSource, async (manager) => {
      const moved =
        outcome.state === 'PLANNED'
          ? await execute(manager, CHANGE_SQL.markPlanned, [
              outcome.bpel.processName,
              toSqlDate(now),
              toSqlDate(now),
              id,
              owner,
            ])
          : await execute(
              manager,
              CHANGE_SQL.markRejected,
              [outcome.code.slice(0, 64), outcome.message, toSqlDate(now), toSqlDate(now), id, owner],
            );
      if (moved !== 1) return false;
      await writeParts(manager, id, json);
      return true;
    });
  }

  /** PLANNING → REJECTED without a plan (planning kept failing, or the plan was too large). */
  async rejectUnplanned(id: string, code: string, message: string, now: Date): Promise<boolean> {
    return (
      (await execute(this.dataSource, CHANGE_SQL.rejectUnplanned, [
        code,
        message,
        toSqlDate(now),
        id,
      ])) === 1
    );
  }

  /** PLANNED changes that are not dry runs: to deploy and start. */
  async toLaunch(limit: number): Promise<ChangeRecord[]> {
    const rows = (await this.dataSource.query(CHANGE_SQL.toLaunch, [limit])) as Row[];
    return rows.map((row) => ({ ...summaryOf(row), request: decodeChangeRequest(String(row.request)) }));
  }

  /** PLANNED → RUNNING with its instance. */
  async markRunning(id: string, processName: string, instanceId: string, now: Date): Promise<boolean> {
    return (await execute(this.dataSource, CHANGE_SQL.markRunning, [processName, instanceId, toSqlDate(now), id])) === 1;
  }

  /** RUNNING changes and their instances. */
  async running(limit: number): Promise<Array<{ id: string; instanceId: string }>> {
    const rows = (await this.dataSource.query(CHANGE_SQL.running, [limit])) as Row[];
    return rows.map((r) => ({ id: String(r.id), instanceId: String(r.instanceId) }));
  }

  /** RUNNING → COMPLETED or FAILED. */
  async finishRun(id: string, state: 'COMPLETED' | 'FAILED', outcome: string | null, now: Date): Promise<boolean> {
    return (await execute(this.dataSource, CHANGE_SQL.finishRun, [state, outcome, toSqlDate(now), toSqlDate(now), id])) === 1;
  }

  /** PLANNED → FAILED: its plan could not be deployed or started. */
  async failLaunch(id: string, outcome: string, now: Date): Promise<boolean> {
    return (await execute(this.dataSource, CHANGE_SQL.failLaunch, [outcome, toSqlDate(now), toSqlDate(now), id])) === 1;
  }

  /** `from` → CANCELLED, with who and why. */
  async cancel(id: string, from: ChangeState, outcome: string, now: Date): Promise<boolean> {
    return (await execute(this.dataSource, CHANGE_SQL.cancel, [outcome, toSqlDate(now), toSqlDate(now), id, from])) === 1;
  }

  /** A dry run PLANNED → launched as it is (the caller decided to continue). */
  async clearDryRun(id: string, now: Date): Promise<boolean> {
    return (await execute(this.dataSource, CHANGE_SQL.clearDryRun, [toSqlDate(now), id])) === 1;
  }

  /** PLANNED or REJECTED → PLANNING again, its old plan dropped. */
  async replan(id: string, from: 'PLANNED' | 'REJECTED', now: Date): Promise<boolean> {
    return transaction(this.dataSource, async (manager) => {
      const moved = await execute(
        manager,
        CHANGE_SQL.replan,
        [toSqlDate(now), id, from],
      );
      if (moved !== 1) return false;
      await execute(manager, CHANGE_SQL.deletePlanParts, [id]);
      return true;
    });
  }
}

async function writeParts(manager: EntityManager, id: string, json: string): Promise<void> {
  await execute(manager, CHANGE_SQL.deletePlanParts, [id]);
  for (let seq = 0, at = 0; at < json.length; seq++) {
    let end = Math.min(at + PART_CHARS, json.length);
    // Never cut a surrogate pair in two.
    if (end < json.length && (json.charCodeAt(end - 1) & 0xfc00) === 0xd800) end--;
    await execute(manager, CHANGE_SQL.insertPlanPart, [id, seq, json.slice(at, end)]);
    at = end;
  }
}

/** JSON turned the schedule's plannedStart into text; this turns it back. */
function reviveDates(outcome: PlanOutcome): PlanOutcome {
  if (outcome.state !== 'PLANNED') return outcome;
  return { ...outcome, schedule: { ...outcome.schedule, plannedStart: new Date(outcome.schedule.plannedStart as unknown as string) } };
}
