/**
 * Billing: the billable event written when an order is CLOSED (one per
 * order, unique in the database) and the admins' CSV export of them.
 */
import type { DataSource } from 'typeorm';
import type { Principal } from '../auth/principal';
import { fromSqlDate, toSqlDate } from '../db/sql';
import { ProvisorError } from '../errors';

/** Minor units as a decimal string in major units: 1250 → "12.50". */
export function formatAmount(minor: number): string {
  const sign = minor < 0 ? '-' : '';
  const abs = Math.abs(minor);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/**
 * An order's billable event, from the order, its customer, account and type
 * (one row, or none when the type is gone); parameters: the time, the order
 * id twice. It writes nothing for an order already billed: on MySQL a group
 * commit runs all of a caller's statements before it checks the guarded
 * update, so an end refused because another one won must not reach the
 * unique key as a duplicate (the unique key still holds billing to once).
 */
export const BILL =
  'INSERT INTO billable_event (workOrderId, customerId, customerName, accountId, accountName, typeName, amountMinor, currency, createdAt) ' +
  'SELECT wo.id, wo.customerId, u.name, wo.accountId, a.name, wo.typeName, t.priceMinor, t.currency, ? FROM work_order wo JOIN app_user u ON u.id = wo.customerId JOIN account a ON a.id = wo.accountId JOIN work_order_type t ON t.name = wo.typeName ' +
  'WHERE wo.id = ? AND NOT EXISTS (SELECT 1 FROM billable_event b WHERE b.workOrderId = ?)';

/** The parameters of {@link BILL}. */
export function billParams(at: string, workOrderId: number): unknown[] {
  return [at, workOrderId, workOrderId];
}

/** A close that found nothing to bill: it is rolled back. */
export function unbillable(workOrderId: number): ProvisorError {
  return new ProvisorError('Internal', `work order ${workOrderId} could not be billed: its type is missing`);
}

export class BillingExport {
  constructor(private readonly dataSource: DataSource) {}

  /** Admins only: billable events created in [from, to) as CSV with a header line. */
  async exportBilling(caller: Principal, from: Date, to: Date): Promise<string> {
    if (caller.role !== 'admin') throw new ProvisorError('Forbidden', 'only an admin may export billable events');
    return this.billingCsv(from, to);
  }

  /** Billable events created in [from, to), oldest first, as CSV (RFC 4180) with a header line. */
  async billingCsv(from: Date, to: Date): Promise<string> {
    if (!(from.getTime() < to.getTime())) throw new ProvisorError('InvalidField', `the period is empty: from ${from.toISOString()} is not before to ${to.toISOString()}`, 'to');
    const rows = (await this.dataSource.query(
      'SELECT id, workOrderId, createdAt, customerId, customerName, accountId, accountName, typeName, amountMinor, currency FROM billable_event WHERE createdAt >= ? AND createdAt < ? ORDER BY createdAt, id',
      [toSqlDate(from), toSqlDate(to)],
    )) as Array<Record<string, unknown>>;
    const lines = [['eventId', 'workOrderId', 'time', 'customerId', 'customer', 'accountId', 'account', 'type', 'amount', 'currency']];
    for (const r of rows) {
      lines.push([
        String(r.id),
        String(r.workOrderId),
        (fromSqlDate(r.createdAt) ?? new Date(0)).toISOString(),
        String(r.customerId),
        String(r.customerName),
        String(r.accountId),
        String(r.accountName),
        String(r.typeName),
        formatAmount(Number(r.amountMinor)),
        String(r.currency),
      ]);
    }
    return lines.map((l) => l.map(csvField).join(',')).join('\r\n') + '\r\n';
  }
}

function csvField(value: string): string {
  // A leading =, +, - or @ would be a formula in a spreadsheet.
  const safe = /^[=+\-@\t\r]/.test(value) && !/^-?\d+(\.\d+)?$/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
