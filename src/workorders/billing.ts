/**
 * Billing: the billable event written when an order is CLOSED (one per
 * order, unique in the database) and the admins' CSV export of them.
 */
import type { DataSource } from 'typeorm';
import type { Principal } from '../auth/principal';
import { fromSqlDate, toSqlDate } from '../db/sql';
import { ProvisorError } from '../errors';
import { WORK_ORDER_SQL } from './sql';

/** Minor units as a decimal string in major units: 1250 → "12.50". */
export function formatAmount(minor: number): string {
  const sign = minor < 0 ? '-' : '';
  const abs = Math.abs(minor);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
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
    const rows = (await this.dataSource.query(WORK_ORDER_SQL.billingExport, [toSqlDate(from), toSqlDate(to)])) as Array<Record<string, unknown>>;
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
