/**
 * The work-order state table, over the real database: every action from
 * every state an order can be in, allowed (the guarded update, its history
 * row, its billable event into CLOSED) or refused (nothing changes, and the
 * refusal is the table's InvalidState naming the order's state and the
 * allowed ones). The expected matrix is written out by hand: it is the
 * behaviour the orders had before the table existed.
 */
import { expect } from 'chai';
import type { WorkOrderState } from '../../entities';
import { systemClock } from '../../src/clock';
import { ERROR_CATALOGUE, ProvisorError } from '../../src/errors';
import type { AdminAction } from '../../src/workorders/api';
import { adminActionsFor, refusal, WORK_ORDER_ACTIONS, WORK_ORDER_ACTION_NAMES, WorkOrderStates, type WorkOrderAction } from '../../src/workorders/states';
import { startTestServer, type TestServer } from '../support/harness';
import { seedCast, TEST_CATALOG, type Cast } from '../support/workorders';

/** Where an order can be: its state, and for NEW whether it is held for manual processing. */
type Situation = 'NEW' | 'NEW (held)' | 'IN_PROGRESS' | 'FAILED' | 'CLOSED';
const SITUATIONS: readonly Situation[] = ['NEW', 'NEW (held)', 'IN_PROGRESS', 'FAILED', 'CLOSED'];

/** The situations each action moves an order from (every other one is refused). */
const ALLOWED: Readonly<Record<WorkOrderAction, readonly Situation[]>> = {
  claim: ['NEW'],
  hold: ['NEW', 'NEW (held)'],
  process: ['NEW', 'NEW (held)'],
  retry: ['FAILED'],
  close: ['NEW', 'NEW (held)', 'IN_PROGRESS', 'FAILED'],
  fail: ['NEW', 'NEW (held)', 'IN_PROGRESS'],
  finish: ['IN_PROGRESS'],
  fault: ['IN_PROGRESS'],
};

const ADMIN: readonly AdminAction[] = ['process', 'retry', 'close', 'fail', 'hold'];

interface OrderRow {
  state: WorkOrderState;
  manual: unknown;
  attempt: unknown;
  updatedAt: unknown;
  closedAt: unknown;
  outcome: string | null;
  leaseOwner: string | null;
}

describe('the work-order state table', function () {
  this.timeout(60_000);
  let server: TestServer;
  let cast: Cast;
  let states: WorkOrderStates;

  before(async () => {
    // No automation: nothing but the test moves the orders.
    server = await startTestServer({ PROVISOR_WORKORDER_AUTOMATION: 'false' });
    await server.app.loadCatalog(TEST_CATALOG);
    cast = await seedCast(server);
    states = new WorkOrderStates(server.dataSource, systemClock);
  });
  after(() => server.close());

  async function submitted(): Promise<number> {
    return (await server.app.workOrders.submit(cast.alice, { type: 'Echo', parameters: [{ name: 'volume', value: 'v1' }, { name: 'sizeGiB', value: '5' }], channel: 'soap' })).workOrderId;
  }

  /** A fresh order in the situation, brought there by the table's own moves. */
  async function orderIn(situation: Situation): Promise<number> {
    const id = await submitted();
    const moves: Record<Situation, WorkOrderAction[]> = { NEW: [], 'NEW (held)': ['hold'], IN_PROGRESS: ['process'], FAILED: ['fail'], CLOSED: ['close'] };
    for (const move of moves[situation]) expect(await states.transition([id], move, 'tester', `set up: ${move}`)).to.deep.equal([id]);
    return id;
  }

  async function row(id: number): Promise<OrderRow> {
    const rows = (await server.dataSource.query('SELECT state, manual, attempt, updatedAt, closedAt, outcome, leaseOwner FROM work_order WHERE id = ?', [id])) as OrderRow[];
    const found = rows[0];
    if (found === undefined) throw new Error(`work order ${id} is gone`);
    return found;
  }

  async function history(id: number): Promise<Array<{ fromState: string | null; toState: string; actor: string; reason: string }>> {
    return (await server.dataSource.query('SELECT fromState, toState, actor, reason FROM work_order_event WHERE workOrderId = ? ORDER BY id', [id])) as Array<{ fromState: string | null; toState: string; actor: string; reason: string }>;
  }

  async function bills(id: number): Promise<number> {
    const rows = (await server.dataSource.query('SELECT COUNT(*) AS n FROM billable_event WHERE workOrderId = ?', [id])) as Array<{ n: unknown }>;
    return Number(rows[0]?.n);
  }

  it('covers every action of the table', () => {
    expect(WORK_ORDER_ACTION_NAMES).to.have.members(Object.keys(ALLOWED));
  });

  it('offers an admin (the portal\'s buttons) the admin actions the table allows from each situation, leaving out holding a held order', () => {
    const offered: Readonly<Record<Situation, readonly AdminAction[]>> = {
      NEW: ['process', 'close', 'fail', 'hold'],
      'NEW (held)': ['process', 'close', 'fail'],
      IN_PROGRESS: ['close', 'fail'],
      FAILED: ['retry', 'close'],
      CLOSED: [],
    };
    for (const situation of SITUATIONS) {
      const state = situation === 'NEW (held)' ? 'NEW' : situation;
      const held = situation === 'NEW (held)';
      expect(adminActionsFor(state, held), situation).to.deep.equal(offered[situation]);
      const allowed = ADMIN.filter((a) => ALLOWED[a].includes(situation) && !(a === 'hold' && held));
      expect(adminActionsFor(state, held), situation).to.have.members(allowed);
    }
  });

  for (const action of WORK_ORDER_ACTION_NAMES) {
    const rule = WORK_ORDER_ACTIONS[action];
    for (const situation of SITUATIONS) {
      const state = situation === 'NEW (held)' ? 'NEW' : situation;
      const held = situation === 'NEW (held)';
      if (ALLOWED[action].includes(situation)) {
        it(`${action} moves an order that is ${situation} to ${rule.to}, with its history entry${rule.to === 'CLOSED' ? ' and one billable event' : ''}`, async () => {
          const id = await orderIn(situation);
          const before = await row(id);
          const entries = (await history(id)).length;
          expect(await states.transition([id], action, 'tester', `why ${action}`, { leaseOwner: action === 'claim' ? 'owner-1' : undefined })).to.deep.equal([id]);
          const after = await row(id);
          expect(after.state).to.equal(rule.to);
          const log = await history(id);
          expect(log).to.have.length(entries + 1);
          expect(log.at(-1)).to.deep.equal({ fromState: state, toState: rule.to, actor: 'tester', reason: `why ${action}` });
          expect(await bills(id)).to.equal(rule.to === 'CLOSED' ? 1 : 0);
          if (rule.effect === 'run') {
            expect(Number(after.attempt)).to.equal(Number(before.attempt) + 1);
            expect(Number(after.manual)).to.equal(0);
            expect(after.leaseOwner).to.equal(action === 'claim' ? 'owner-1' : null);
          }
          if (rule.effect === 'hold') expect(Number(after.manual)).to.equal(1);
          if (rule.effect === 'end') {
            expect(after.outcome).to.equal(`why ${action}`);
            expect(after.closedAt).to.not.equal(null);
          }
        });
      } else {
        it(`${action} refuses an order that is ${situation}, changing nothing, with the table's message`, async () => {
          const id = await orderIn(situation);
          const before = await row(id);
          const entries = (await history(id)).length;
          const billed = await bills(id);
          expect(await states.transition([id], action, 'tester', `why ${action}`)).to.deep.equal([]);
          expect(await row(id)).to.deep.equal(before);
          expect(await history(id)).to.have.length(entries);
          expect(await bills(id)).to.equal(billed);
          const refused = await states.refusal(id, action);
          expect(refused.code).to.equal('InvalidState');
          expect(ERROR_CATALOGUE.InvalidState.sender, 'a refused move is the caller\'s fault').to.equal(true);
          expect(refused.field).to.equal('workOrderId');
          expect(refused.message).to.equal(refusal(id, action, state, held).message);
          expect(refused.message).to.contain(`work order ${id} is ${state}${held ? ' (held for manual processing)' : ''}: it cannot be ${rule.done}; only `);
          for (const source of rule.from) expect(refused.message).to.contain(source);
        });
      }
    }
  }

  describe('through the admin actions', () => {
    for (const action of ADMIN) {
      for (const situation of SITUATIONS.filter((s) => !ALLOWED[action].includes(s))) {
        it(`${action} by an admin on an order that is ${situation} is the table's InvalidState, and changes nothing`, async () => {
          const id = await orderIn(situation);
          const before = await row(id);
          let error: unknown;
          try {
            await server.app.workOrders.act(cast.admin, id, action, 'by hand');
          } catch (err) {
            error = err;
          }
          expect(error).to.be.instanceOf(ProvisorError);
          expect((error as ProvisorError).code).to.equal('InvalidState');
          expect((error as ProvisorError).message).to.equal((await states.refusal(id, action)).message);
          expect(await row(id)).to.deep.equal(before);
        });
      }
    }
  });

  describe('when several orders move at once', () => {
    it('moves those the table allows, each with the state it left in its history, and bills each closed one once', async () => {
      const fresh = await orderIn('NEW');
      const failed = await orderIn('FAILED');
      const running = await orderIn('IN_PROGRESS');
      const closed = await orderIn('CLOSED');
      const moved = await states.transition([closed, fresh, failed, running], 'close', 'tester', 'closing a batch');
      expect(moved).to.deep.equal([fresh, failed, running]);
      for (const [id, left] of [[fresh, 'NEW'], [failed, 'FAILED'], [running, 'IN_PROGRESS']] as const) {
        expect((await row(id)).state).to.equal('CLOSED');
        expect((await history(id)).at(-1)).to.deep.include({ fromState: left, toState: 'CLOSED', reason: 'closing a batch' });
        expect(await bills(id)).to.equal(1);
      }
      expect(await bills(closed)).to.equal(1);
    });

    it('claims only NEW orders that are not held, oldest first, for the claiming process', async () => {
      const held = await orderIn('NEW (held)');
      const first = await orderIn('NEW');
      const second = await orderIn('NEW');
      const claimed = await states.claim(100, 'owner-2', 'automation', 'plan started by the automation');
      expect(claimed.slice(-2)).to.deep.equal([first, second]);
      expect(claimed).to.not.include(held);
      expect((await row(first)).leaseOwner).to.equal('owner-2');
      expect((await history(second)).at(-1)).to.deep.equal({ fromState: 'NEW', toState: 'IN_PROGRESS', actor: 'automation', reason: 'plan started by the automation' });
      expect((await row(held)).state).to.equal('NEW');
    });
  });

  describe('when two ends race for one order', () => {
    it('lets exactly one of them through and bills the order once', async () => {
      const id = await orderIn('IN_PROGRESS');
      const results = await Promise.all([
        states.transition([id], 'finish', 'automation', 'completed by its plan', { attempt: 1 }),
        states.transition([id], 'finish', 'automation', 'completed by its plan', { attempt: 1 }),
        states.transition([id], 'close', 'admin', 'closed by hand: at once'),
      ]);
      expect(results.filter((r) => r.length === 1)).to.have.length(1);
      expect((await row(id)).state).to.equal('CLOSED');
      expect(await bills(id)).to.equal(1);
    });

    it('refuses an end for another attempt than the order is on', async () => {
      const id = await orderIn('IN_PROGRESS');
      expect(await states.transition([id], 'fault', 'automation', 'an old run', { attempt: 7 })).to.deep.equal([]);
      expect(await states.transition([id, id + 100_000], 'fault', 'automation', 'an old run', { attempt: 7 })).to.deep.equal([]);
      expect((await row(id)).state).to.equal('IN_PROGRESS');
    });
  });
});
