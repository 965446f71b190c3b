/**
 * The lease keeper: one per process, the one place that takes, renews and
 * gives up this process's lease on its own liveness (`node_lease`), so that
 * every part that claims work (work orders, callback deliveries, and the
 * parts that lease rows of their own) asks the same question the same way:
 * is this work still mine?
 *
 * - `owner` is this process's owner id, written into the rows it claims.
 * - `held()` answers "still mine?" without a round trip: true while the last
 *   renewal the database confirmed has not run out. A part checks it before
 *   acting on its claimed work, and its fenced writes check the same in the
 *   database (see {@link OWNER_LEASE_HOLDS}), so a process that was paused
 *   past its lease writes nothing even if it has not yet noticed.
 * - `onLost(listener)` is told when a renewal finds the lease gone or
 *   expired (the process was paused, or cut off from the database, for
 *   longer than the lease): its work may by now be another's. The keeper
 *   then takes the lease again under the same owner id; work another
 *   process adopted meanwhile carries that process's id, so the old owner's
 *   fenced writes on it keep failing.
 *
 * - `onRenewed(listener)` is told after each renewal the database confirmed
 *   (a fresh lease taken after a lost one included): the moment a part
 *   looks at the rows it runs, to drop those it no longer owns or whose
 *   cancellation was asked for elsewhere.
 * - `whenRenewed(fn)` calls `fn` once, at the next such renewal: a part whose
 *   poll found the lease not held polls again then, not at its next interval.
 *
 * Provisioning requests, workflow instances and work orders are all claimed
 * this way: a row carries its claimer's owner id and is that process's while
 * its node lease holds; there is no lease per row to renew. Abandoned work
 * is work whose owner has no unexpired lease (`ownerAbandoned` in `sql.ts`).
 *
 * Renewals go through the clock (tests move it); a renewal runs every third
 * of the lease, so two may fail before the lease runs out.
 */
import type { DataSource } from 'typeorm';
import { arm, type Clock } from '../clock';
import { dialectOf, execute, forDialect, toSqlDate, type Resolved } from '../db/sql';
import { leaseOwnerId } from '../lease';
import type { Logger } from '../log';
import { LEASE_SQL } from './sql';

export interface LeaseKeeperSettings {
  /** How long a lease lasts after each renewal. */
  readonly leaseMs: number;
  /** The owner id; a fresh `host/pid/random` when absent. */
  readonly owner?: string;
}

export type LeaseLostListener = (owner: string) => void;
export type LeaseRenewedListener = () => void;

/** Leases expired this long are deleted by the renewals (their rows only: no work depends on them). */
const PRUNE_AFTER_MS = 24 * 3600_000;

export class LeaseKeeper {
  readonly owner: string;
  readonly leaseMs: number;
  private readonly sql: Resolved<typeof LEASE_SQL>;
  private readonly listeners = new Set<LeaseLostListener>();
  private readonly renewedListeners = new Set<LeaseRenewedListener>();
  /** Called once at the next confirmed renewal (see whenRenewed). */
  private readonly awaitingRenewal = new Set<() => void>();
  /** Until when the database last confirmed the lease (epoch ms of the clock); 0: not held. */
  private confirmedUntil = 0;
  private cancelTimer: (() => void) | undefined;
  private renewing: Promise<void> | undefined;
  private running = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    settings: LeaseKeeperSettings,
    private readonly log: Logger,
  ) {
    this.owner = settings.owner ?? leaseOwnerId();
    this.leaseMs = settings.leaseMs;
    this.sql = forDialect(LEASE_SQL, dialectOf(dataSource));
  }

  /** Takes the lease and keeps renewing it until {@link stop}. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.take();
    this.schedule();
  }

  /** Stops renewing and gives the lease up, so other processes adopt this one's work at once. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    await this.renewing;
    this.confirmedUntil = 0;
    await execute(this.dataSource, this.sql.dropLease, [this.owner]).catch((err: unknown) => this.log.warn('the node lease could not be given up; it runs out by itself', { owner: this.owner, err: String(err) }));
  }

  /** Still mine? True while the last renewal confirmed by the database has not run out. */
  held(): boolean {
    return this.clock.now() < this.confirmedUntil;
  }

  /** Calls `listener` whenever a renewal finds the lease lost; returns the function that stops it. */
  onLost(listener: LeaseLostListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Calls `listener` after each renewal the database confirmed; returns the function that stops it. */
  onRenewed(listener: LeaseRenewedListener): () => void {
    this.renewedListeners.add(listener);
    return () => this.renewedListeners.delete(listener);
  }

  /** Calls `fn` once, after the next renewal the database confirms; asked again with the same `fn` meanwhile, still once. */
  whenRenewed(fn: () => void): void {
    this.awaitingRenewal.add(fn);
  }

  /** The owners whose lease holds now (this one included while held). */
  async liveOwners(): Promise<Set<string>> {
    const rows = (await this.dataSource.query(this.sql.liveOwners, [toSqlDate(this.clock.date())])) as Array<{ owner: string }>;
    return new Set(rows.map((r) => r.owner));
  }

  /** Renews now (the timer does this every third of the lease); resolves once the database answered. */
  renewNow(): Promise<void> {
    this.renewing ??= this.renew().finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  private async take(): Promise<void> {
    const now = this.clock.now();
    await execute(this.dataSource, this.sql.takeLease, [this.owner, toSqlDate(new Date(now + this.leaseMs)), toSqlDate(new Date(now))]);
    this.confirmedUntil = now + this.leaseMs;
  }

  private async renew(): Promise<void> {
    const now = this.clock.now();
    try {
      const changed = await execute(this.dataSource, this.sql.renewLease, [toSqlDate(new Date(now + this.leaseMs)), this.owner, toSqlDate(new Date(now))]);
      if (changed === 1) {
        this.confirmedUntil = now + this.leaseMs;
      } else {
        this.confirmedUntil = 0;
        this.log.warn('this process lost its node lease (paused or cut off from the database for longer than the lease); its claimed work may have been adopted', { owner: this.owner, leaseMs: this.leaseMs });
        for (const listener of this.listeners) listener(this.owner);
        if (this.running) await this.take();
      }
      if (this.held()) {
        for (const listener of this.renewedListeners) listener();
        const awaiting = [...this.awaitingRenewal];
        this.awaitingRenewal.clear();
        for (const fn of awaiting) fn();
      }
      if (Math.random() < 0.01) await execute(this.dataSource, this.sql.pruneLeases, [toSqlDate(new Date(now - PRUNE_AFTER_MS))]);
    } catch (err) {
      // Not confirmed: held() runs out by itself when the database stays away.
      this.log.warn('the node lease could not be renewed', { owner: this.owner, err: String(err) });
    }
  }

  private schedule(): void {
    if (!this.running) return;
    this.cancelTimer = arm(this.clock, Math.max(1, Math.floor(this.leaseMs / 3)), () => {
      this.cancelTimer = undefined;
      void this.renewUntilCurrent().finally(() => this.schedule());
    });
  }

  /**
   * Renews, and again at once (a few times at most) while the renewal has
   * run out on the clock by the time it is answered: the clock moved past
   * the lease during the round trip (a pause; a test moving time). The next
   * renewal finds the lease lost and takes it again.
   */
  private async renewUntilCurrent(): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      await this.renewNow();
      if (!this.running || this.held()) return;
    }
  }
}
