/**
 * Submission: a checked order becomes a NEW row and its first history
 * entry, whichever channel it came by; a retried submission with the same
 * idempotency key returns the first order.
 */
import type { DataSource } from 'typeorm';
import { INTAKE_CHANNELS } from '../../entities';
import type { Principal } from '../auth/principal';
import type { Clock } from '../clock';
import { groupCommitter } from '../db/group-commit';
import { dialectOf, forDialect, isUniqueViolation, toSqlDate, type Resolved } from '../db/sql';
import { WORK_ORDER_ROWS, WORK_ORDER_SQL } from './sql';
import { ProvisorError } from '../errors';
import type { Logger } from '../log';
import { InvalidParametersError, type SubmitRequest } from './api';
import { checkParameters } from './parameters';
import type { OrderTypes } from './types';

export class Submissions {
  private readonly sql: Resolved<typeof WORK_ORDER_SQL>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly types: OrderTypes,
    private readonly clock: Clock,
    private readonly log: Logger,
    /** Called after a new order commits, so an in-process automation picks it up at once. */
    private readonly onSubmitted: () => void,
  ) {
    this.sql = forDialect(WORK_ORDER_SQL, dialectOf(dataSource));
  }

  async submit(caller: Principal, request: SubmitRequest): Promise<{ workOrderId: number }> {
    if (caller.accountId === null) throw new ProvisorError('Forbidden', `user "${caller.name}" belongs to no account, so it cannot order work`);
    if (!INTAKE_CHANNELS.includes(request.channel)) throw new ProvisorError('InvalidField', `unknown channel "${String(request.channel)}"`);
    const type = await this.types.orderable(caller, request.type);
    const checked = checkParameters(type.parameters, request.parameters);
    if (!checked.ok) throw new InvalidParametersError(checked.problems);
    const parameters = JSON.stringify(Object.fromEntries(checked.values.map((v) => [v.name, v.value])));
    const now = toSqlDate(this.clock.date());
    const key = request.idempotencyKey === undefined || request.idempotencyKey === '' ? null : request.idempotencyKey.slice(0, 200);
    const accountId = caller.accountId;
    let id: number;
    try {
      // The row and its first history entry, group-committed: the entry takes
      // the id the insert just generated, on the same connection.
      const [inserted] = await groupCommitter(this.dataSource).write([
        { row: WORK_ORDER_ROWS.order, values: [type.name, caller.userId, accountId, parameters, 'NEW', request.channel, type.manual ? 1 : 0, 0, key, now, now], alone: true },
        { sql: this.sql.firstEvent, params: [now, caller.name, `submitted by ${request.channel}${type.manual ? ' (manual processing)' : ''}`], table: 'work_order_event' },
      ]);
      id = Number(inserted?.insertId);
      if (!Number.isInteger(id) || id <= 0) throw new ProvisorError('Internal', 'the new work order was given no id');
    } catch (err) {
      if (key === null || !isUniqueViolation(err)) throw err;
      return { workOrderId: await this.replay(caller, key, type.name, parameters) };
    }
    this.log.info('work order submitted', { workOrderId: id, type: type.name, customer: caller.name, channel: request.channel });
    this.onSubmitted();
    return { workOrderId: id };
  }

  /** A retried submission: the first order, when it asked for the same thing. */
  private async replay(caller: Principal, key: string, typeName: string, parameters: string): Promise<number> {
    const rows = (await this.dataSource.query(this.sql.orderByKey, [caller.userId, key])) as Array<{ id: number; typeName: string; parameters: string }>;
    const first = rows[0];
    if (first === undefined) throw new ProvisorError('Internal', 'an idempotent submission collided with an order that cannot be found');
    if (first.typeName !== typeName || first.parameters !== parameters) {
      throw new ProvisorError('IdempotencyConflict', `idempotency key "${key}" was used for work order ${first.id}, which asked for something else`, 'idempotencyKey');
    }
    return Number(first.id);
  }
}
