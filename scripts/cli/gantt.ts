/**
 * A change's plan as text: one line per task, grouped by system in start
 * order, a bar over the plan's time axis (`#` on the critical path, `=`
 * elsewhere), the deadline as `|`; then the policy checks and any rejection.
 */
import type { ChangeView } from '../../src/changemanager/change-manager';

/** Bar columns of the time axis. */
const WIDTH = 60;

function seconds(n: number): string {
  if (n < 120) return `${n}s`;
  if (n < 7200) return `${Math.floor(n / 60)}m${String(n % 60).padStart(2, '0')}s`;
  return `${Math.floor(n / 3600)}h${String(Math.floor((n % 3600) / 60)).padStart(2, '0')}m`;
}

export function renderChange(view: ChangeView): string[] {
  const out: string[] = [];
  out.push(`change ${view.id}: ${view.state}${view.dryRun ? ' (dry run)' : ''}, by ${view.caller}, priority ${view.priority}`);
  const request = view.request;
  out.push(`  ${request.changes.map((c) => `${c.operation} ${c.component}${c.version === undefined ? '' : `@${c.version}`} on ${c.target.kind} ${c.target.kind === 'system' ? c.target.system : c.target.kind === 'role' ? c.target.role : c.target.cluster}`).join('; ')}`);
  if (view.instanceId !== null) out.push(`  process ${view.processName ?? '?'}, instance ${view.instanceId}`);
  if (view.outcome !== null) out.push(`  outcome: ${view.outcome}`);
  const plan = view.plan;
  if (view.rejectionCode !== null) {
    out.push(`  rejected: ${view.rejectionCode}: ${view.rejectionMessage ?? ''}`);
    if (plan?.state === 'REJECTED' && plan.objects.length > 0) out.push(`  involved: ${plan.objects.join(', ')}`);
  }
  if (plan === undefined) {
    if (view.state === 'PLANNING') out.push('  not planned yet (a running server plans it)');
  } else if (plan.state === 'PLANNED') {
    const s = plan.schedule;
    const bound = s.lowerBound;
    out.push(`  makespan ${seconds(s.makespan)}, lower bound ${seconds(bound.makespan)} (critical path ${seconds(bound.criticalPath)}, resources ${seconds(bound.resource)})${s.provenOptimal ? ', proven optimal' : ''}`);
    const deadline = view.request.deadline;
    const deadlineAt = deadline === undefined ? undefined : Math.round((deadline.getTime() - s.plannedStart.getTime()) / 1000);
    out.push(`  planned start ${s.plannedStart.toISOString()}${deadline === undefined ? '' : `, deadline ${deadline.toISOString()} (${s.lateness !== null && s.lateness > 0 ? `${seconds(s.lateness)} late` : 'met'})`}`);
    out.push('');
    const horizon = Math.max(1, s.makespan, deadlineAt ?? 0);
    const column = (t: number): number => Math.min(WIDTH - 1, Math.floor((t / horizon) * WIDTH));
    const tasks = new Map(plan.tasks.map((t) => [t.id, t]));
    const rows = [...s.tasks].sort((a, b) => {
      const ta = tasks.get(a.id);
      const tb = tasks.get(b.id);
      return (ta?.system ?? '').localeCompare(tb?.system ?? '') || a.start - b.start || a.id.localeCompare(b.id);
    });
    const labels = rows.map((r) => {
      const t = tasks.get(r.id);
      return t === undefined ? r.id : `${t.system}  ${t.operation} ${t.component}${t.version === undefined ? '' : ` ${t.version}`}`;
    });
    const labelWidth = Math.min(48, Math.max(4, ...labels.map((l) => l.length)));
    out.push(`  ${'TASK'.padEnd(labelWidth)}   0${' '.repeat(WIDTH - 1 - seconds(horizon).length)}${seconds(horizon)}`);
    rows.forEach((r, i) => {
      const bar = Array.from({ length: WIDTH }, () => ' ');
      const from = column(r.start);
      const to = Math.max(from + 1, column(r.finish) + (r.finish >= horizon ? 1 : 0));
      for (let c = from; c < Math.min(to, WIDTH); c++) bar[c] = r.critical ? '#' : '=';
      if (deadlineAt !== undefined && deadlineAt <= horizon && bar[column(deadlineAt)] === ' ') bar[column(deadlineAt)] = '|';
      const label = (labels[i] ?? '').slice(0, labelWidth).padEnd(labelWidth);
      out.push(`  ${label} ${r.critical ? '*' : ' '} ${bar.join('').trimEnd()}   ${seconds(r.start)}–${seconds(r.finish)}`);
    });
    out.push(`  (* and # the critical path, = other tasks${deadlineAt === undefined ? '' : ', | the deadline'})`);
  }
  if (plan !== undefined && plan.checks.length > 0) {
    out.push('');
    out.push('  policy checks:');
    const width = Math.max(...plan.checks.map((c) => c.outcome.length));
    for (const c of plan.checks) out.push(`    ${c.outcome.padEnd(width)}  ${c.policy}: ${c.message}`);
  }
  return out;
}
