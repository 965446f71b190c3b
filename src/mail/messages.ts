/**
 * The text of every mail Provisor sends: replies to order mails and
 * notifications when an order ends. Pure functions from what happened to a
 * subject and a plain-text body.
 */
import type { OrderOutcome, ParameterInput, ParameterProblem, WorkOrderTypeView } from '../workorders/api';
import { plainReason } from '../workorders/plain-reason';
import type { FormatProblem } from './order-format';

export interface MailContent {
  readonly subject: string;
  readonly text: string;
}

const FORMAT_HELP = [
  'How to order by e-mail:',
  '',
  '  Subject: the work-order type, e.g. "CreateVolume" (or "Work order: CreateVolume")',
  '  Body (plain text): one "name: value" line per parameter, for example',
  '',
  '    size: 100',
  '    name: backups',
  '',
  'Blank lines, quoted lines (starting with ">") and a signature after a "-- " line are ignored.',
].join('\n');

/** The reply to an order that was created. */
export function acceptedReply(type: string, workOrderId: number, parameters: readonly ParameterInput[]): MailContent {
  return {
    subject: `Re: ${type} — work order ${workOrderId} accepted`,
    text: [
      `Your work order ${workOrderId} (${type}) was accepted.`,
      '',
      ...(parameters.length === 0 ? ['It has no parameters.'] : ['Parameters as received:', ...parameters.map((p) => `  ${p.name}: ${p.value}`)]),
      '',
      'You will get another e-mail when it is closed or fails.',
      '',
    ].join('\n'),
  };
}

/** The reply to an order whose parameters are wrong: every problem, grouped by parameter, and what the type takes. */
export function invalidParametersReply(subject: string, type: string, problems: readonly ParameterProblem[], view: WorkOrderTypeView | null): MailContent {
  const byParameter = new Map<string, string[]>();
  for (const problem of problems) byParameter.set(problem.parameter, [...(byParameter.get(problem.parameter) ?? []), problem.message]);
  return {
    subject: `Re: ${subject} — not accepted: invalid parameters`,
    text: [
      `Your ${type} order was not accepted; nothing was created. Please correct these parameters and send it again:`,
      '',
      ...[...byParameter].flatMap(([parameter, messages]) => [`  ${parameter}:`, ...messages.map((m) => `    - ${m}`)]),
      '',
      ...(view === null ? [] : [parametersHelp(view), '']),
    ].join('\n'),
  };
}

/** The reply to an order for a type that does not exist or that the sender's level does not allow. */
export function unknownTypeReply(subject: string, type: string, available: readonly WorkOrderTypeView[] | null): MailContent {
  return {
    subject: `Re: ${subject} — not accepted: unknown work-order type`,
    text: [
      `There is no work-order type "${type}" that you can order; nothing was created.`,
      '',
      ...(available === null
        ? []
        : available.length === 0
          ? ['Your account cannot order any type at the moment.', '']
          : ['The types you can order:', ...available.map((t) => `  ${t.name} — ${t.title}`), '']),
      FORMAT_HELP,
      '',
    ].join('\n'),
  };
}

/** The reply to a mail that does not follow the format. */
export function formatReply(subject: string, problems: readonly FormatProblem[]): MailContent {
  return {
    subject: `Re: ${subject} — not accepted: the mail is not in the order format`,
    text: ['Your mail could not be read as a work order; nothing was created.', '', ...problems.map((p) => `  - ${p.message}`), '', FORMAT_HELP, ''].join('\n'),
  };
}

/** The reply to an order refused for another reason the sender can act on (e.g. a Message-ID reused for a different order). */
export function refusedReply(subject: string, reason: string): MailContent {
  return {
    subject: `Re: ${subject} — not accepted`,
    text: ['Your work order was not accepted; nothing was created.', '', `  ${reason}`, ''].join('\n'),
  };
}

/** The notification that an order ended (CLOSED or FAILED). */
export function outcomeNotification({ order }: OrderOutcome): MailContent {
  const closed = order.state === 'CLOSED';
  const lines = [`Your work order ${order.workOrderId} (${order.type}) ${closed ? 'is closed' : order.state === 'FAILED' ? 'failed' : `is ${order.state}`}.`, '', `  State:   ${order.state}`];
  // The customer reads the reason in plain words; the failing activity is for admins.
  if (order.outcome !== null) lines.push(`  Outcome: ${order.state === 'FAILED' ? plainReason(order.outcome) : order.outcome}`);
  if (closed && order.billing !== null) lines.push(`  Billed:  ${order.billing.amount} ${order.billing.currency}`);
  lines.push(`  Account: ${order.account}`);
  if (order.parameters.length > 0) lines.push('', 'Parameters:', ...order.parameters.map((p) => `  ${p.name}: ${p.value}`));
  lines.push('');
  return { subject: `Work order ${order.workOrderId} (${order.type}) ${closed ? 'closed' : order.state === 'FAILED' ? 'failed' : order.state}`, text: lines.join('\n') };
}

function parametersHelp(view: WorkOrderTypeView): string {
  if (view.parameters.length === 0) return `${view.name} takes no parameters.`;
  const lines = [`${view.name} takes:`];
  for (const p of view.parameters) {
    const facts = [p.type.replace(/^xsd:/, ''), p.required ? 'required' : 'optional'];
    if (p.allowed !== undefined) facts.push(`one of ${p.allowed.join(', ')}`);
    if (p.min !== undefined) facts.push(`at least ${p.min}`);
    if (p.max !== undefined) facts.push(`at most ${p.max}`);
    if (p.default !== undefined) facts.push(`default ${p.default}`);
    lines.push(`  ${p.name} (${facts.join(', ')})${p.help === '' ? '' : ` — ${p.help}`}`);
  }
  return lines.join('\n');
}
