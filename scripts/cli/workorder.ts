/**
 * `provisor catalog …`, `provisor workorder …` and `provisor billing export`:
 * the work-order catalog, manual processing and the billing export from the
 * command line. The command acts as an admin named after the operating
 * system user (`cli:<user>`), which the order's history records.
 */
import fs from 'node:fs';
import type { Command } from 'commander';
import { WORK_ORDER_STATES, type WorkOrderState } from '../../entities';
import type { Principal } from '../../src/auth/principal';
import { parseDeadline } from '../../src/bpel/xsd-time';
import { ADMIN_ACTIONS, type AdminAction, type WorkOrderView } from '../../src/workorders/api';
import { CatalogError } from '../../src/workorders/catalog';
import { action, usage } from './exit';
import { dateTime, table } from './format';
import { cliUser, withApp } from './session';

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

function cliAdmin(): Principal {
  return { userId: 0, name: cliUser(), role: 'admin', accountId: null, level: 0 };
}

function orderId(value: string): number {
  if (!/^\d{1,15}$/.test(value)) throw usage(`a work order id is a whole number, got "${value}"`);
  return Number(value);
}

function when(value: string, option: string): Date {
  const date = /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T00:00:00Z`) : parseDeadline(value);
  if (date === undefined || Number.isNaN(date.getTime())) throw usage(`${option} must be a date (2026-11-01) or a date-time with a time zone (2026-11-01T00:00:00Z), got "${value}"`);
  return date;
}

function printOrder(order: WorkOrderView): void {
  out(`work order ${order.workOrderId}: ${order.type}, ${order.state}${order.manual ? ' (manual)' : ''}`);
  out(`  customer ${order.customer}, account ${order.account}, by ${order.channel}, attempt ${order.attempt}`);
  for (const p of order.parameters) out(`  ${p.name} = ${p.value}`);
  if (order.processInstanceId !== null) out(`  plan instance ${order.processInstanceId}`);
  if (order.outcome !== null) out(`  outcome: ${order.outcome}${order.failedActivity === null ? '' : ` (at ${order.failedActivity})`}`);
  if (order.billing !== null) out(`  billed ${order.billing.amount} ${order.billing.currency} at ${dateTime(order.billing.at)}`);
  for (const h of order.history) out(`  ${dateTime(h.at)}  ${h.fromState ?? '-'} → ${h.toState}  ${h.actor}${h.reason === null ? '' : `: ${h.reason}`}`);
}

export function addWorkOrderCommands(program: Command): void {
  const catalog = program.command('catalog').description('the work-order catalog');
  catalog
    .command('load [file]')
    .description('load (or refresh) the catalog: the configured one (PROVISOR_CATALOG, default scripts/catalog/storage.json) or FILE; deploys the plans that changed')
    .action(
      action(async (file: string | undefined) => {
        await withApp({ run: false }, async (app) => {
          try {
            const summary = await app.loadCatalog(file);
            out(`${summary.types} types loaded; plans deployed for: ${summary.deployed.join(', ') || 'none (unchanged)'}${summary.deactivated.length > 0 ? `; no longer offered: ${summary.deactivated.join(', ')}` : ''}`);
            for (const plan of summary.repaired) out(`plan ${plan.plan} of ${plan.type} had been replaced (version ${plan.version}, deployed by ${plan.deployedBy}): the catalog's plan was deployed again`);
          } catch (err) {
            if (err instanceof CatalogError) throw usage(err.message);
            throw err;
          }
        });
      }),
    );
  catalog
    .command('list')
    .description('list the work-order types: level, price, plan')
    .action(
      action(async () => {
        await withApp({ run: false }, async (app) => {
          const types = [...(await app.workOrders.allTypes()).values()];
          if (types.length === 0) throw usage('the catalog is empty: load it with provisor catalog load');
          for (const line of table([['TYPE', 'LEVEL', 'PRICE', 'PLAN', ''], ...types.map((t) => [t.name, String(t.minLevel), `${t.price} ${t.currency}`, t.planName, `${t.manual ? 'manual' : ''}${t.active ? '' : ' inactive'}`.trim()])])) out(line);
        });
      }),
    );

  const workorder = program.command('workorder').description('work orders: list, show, and process, retry, close, fail or hold by hand');
  workorder
    .command('list')
    .description('list work orders, newest first')
    .option('--state <state>', `one of ${WORK_ORDER_STATES.join(', ')}`)
    .option('--account <name>', "one account's orders")
    .option('--limit <n>', 'at most N (default 50)', (v) => Number(v))
    .option('--offset <n>', 'skip N', (v) => Number(v))
    .action(
      action(async (opts: { state?: string; account?: string; limit?: number; offset?: number }) => {
        if (opts.state !== undefined && !WORK_ORDER_STATES.includes(opts.state as WorkOrderState)) throw usage(`--state must be one of ${WORK_ORDER_STATES.join(', ')}, got "${opts.state}"`);
        await withApp({ run: false }, async (app) => {
          const page = await app.workOrders.list(cliAdmin(), { state: opts.state as WorkOrderState | undefined, account: opts.account, limit: opts.limit, offset: opts.offset });
          const rows = page.orders.map((o) => [String(o.workOrderId), o.type, o.state, o.account, o.customer, o.channel, dateTime(o.updatedAt), o.outcome ?? '']);
          for (const line of table([['ID', 'TYPE', 'STATE', 'ACCOUNT', 'CUSTOMER', 'CHANNEL', 'UPDATED', 'OUTCOME'], ...rows])) out(line);
          out(`${page.orders.length} of ${page.total}`);
        });
      }),
    );
  workorder
    .command('show <id>')
    .description('one work order with its parameters, outcome, billing and history')
    .action(
      action(async (id: string) => {
        await withApp({ run: false }, async (app) => printOrder(await app.workOrders.get(cliAdmin(), orderId(id))));
      }),
    );
  for (const verb of ADMIN_ACTIONS) {
    const help: Record<AdminAction, string> = {
      process: "start a NEW order's plan now (a running server executes it)",
      retry: "start a FAILED order's plan again (a running server executes it)",
      close: 'close an order by hand (bills it)',
      fail: 'fail an order by hand',
      hold: 'keep a NEW order from the automation, for manual processing',
    };
    workorder
      .command(`${verb} <id>`)
      .description(help[verb])
      .requiredOption('--reason <text>', 'why (recorded in the order\'s history with who did it)')
      .action(
        action(async (id: string, opts: { reason: string }) => {
          await withApp({ run: false }, async (app) => printOrder(await app.workOrders.act(cliAdmin(), orderId(id), verb, opts.reason)));
        }),
      );
  }

  program
    .command('billing')
    .description('billable events')
    .command('export')
    .description('write the billable events created in [--from, --to) as CSV')
    .requiredOption('--from <date>', 'start of the period, inclusive (2026-11-01 or an xsd:dateTime)')
    .requiredOption('--to <date>', 'end of the period, exclusive')
    .option('--out <file>', 'write to FILE instead of standard output')
    .action(
      action(async (opts: { from: string; to: string; out?: string }) => {
        const from = when(opts.from, '--from');
        const to = when(opts.to, '--to');
        await withApp({ run: false }, async (app) => {
          const csv = await app.workOrders.exportBilling(cliAdmin(), from, to);
          if (opts.out === undefined) process.stdout.write(csv);
          else {
            fs.writeFileSync(opts.out, csv);
            process.stderr.write(`${csv.split('\r\n').length - 2} billable events written to ${opts.out}\n`);
          }
        });
      }),
    );
}
