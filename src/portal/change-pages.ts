/**
 * The admin's change pages: the list of requests for change, and one change
 * with its plan drawn as an SVG Gantt chart (a row per task, grouped by
 * system; critical tasks marked; the deadline as a line), its policy checks
 * and its rejection. Every text from a request or a plan is escaped by the
 * `html` template, inside the SVG too.
 */
import type { ChangeView } from '../changemanager/change-manager';
import { CHANGE_STATES, type ChangeState, type PlannedTask, type ScheduledTask } from '../changemanager/change-plan';
import type { ChangeSummary } from '../changemanager/change-store';
import { html, type Html } from './html';
import { csrfField, page, when, type Viewer } from './layout';

/** Changes still moving: their page reloads itself. */
const REFRESH_SECONDS = 5;
const MOVING: readonly ChangeState[] = ['PLANNING', 'PLANNED', 'RUNNING'];
export const CHANGE_PAGE_SIZE = 20;

export function changeHref(id: string): string {
  return `/portal/admin/changes/${encodeURIComponent(id)}`;
}

export function changesPage(viewer: Viewer, list: { changes: readonly ChangeSummary[]; total: number; offset: number }, state: ChangeState | undefined): Html {
  const pageNumber = Math.floor(list.offset / CHANGE_PAGE_SIZE) + 1;
  const query = (n: number): string => `?${state === undefined ? '' : `state=${state}&`}page=${n}`;
  return page(
    { title: 'Changes', viewer },
    html`<form method="get" action="/portal/admin/changes" class="filter">
  <label for="state">State</label>
  <select id="state" name="state"><option value="">any</option>${CHANGE_STATES.map((s) => html`<option value="${s}"${s === state ? html` selected` : ''}>${s}</option>`)}</select>
  <button type="submit">Show</button>
</form>
<p>${list.total} change${list.total === 1 ? '' : 's'}${state === undefined ? '' : html` in state ${state}`}.</p>
<table id="changes">
<thead><tr><th>Change</th><th>State</th><th>Changes</th><th>By</th><th>Submitted</th><th>Note</th></tr></thead>
<tbody>
${list.changes.map(
  (c) => html`<tr data-change="${c.id}"><td><a href="${changeHref(c.id)}">${c.id.slice(0, 8)}</a></td><td class="state">${c.state}${c.dryRun ? ' (dry run)' : ''}</td><td>${c.changes}</td><td>${c.caller}</td><td>${when(c.createdAt)}</td><td>${c.rejectionCode ?? c.outcome ?? ''}</td></tr>`,
)}
</tbody>
</table>
<p>${pageNumber > 1 && html`<a href="/portal/admin/changes${query(pageNumber - 1)}">Newer</a> `}${list.offset + list.changes.length < list.total && html`<a href="/portal/admin/changes${query(pageNumber + 1)}">Older</a>`}</p>`,
  );
}

/** Geometry of the chart, in SVG user units. */
const LABEL_WIDTH = 300;
const CHART_WIDTH = 600;
const ROW = 22;
const AXIS = 24;

function seconds(n: number): string {
  if (n < 120) return `${n}s`;
  if (n < 7200) return `${Math.floor(n / 60)}m${String(n % 60).padStart(2, '0')}s`;
  return `${Math.floor(n / 3600)}h${String(Math.floor((n % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * The schedule as an SVG Gantt chart: tasks grouped by system, in start
 * order; critical ones dark red and marked, the others blue; a tick axis in
 * seconds; the deadline a dashed line (off the right edge: the chart is
 * widened to show it).
 */
export function ganttSvg(tasks: readonly PlannedTask[], schedule: readonly ScheduledTask[], makespan: number, deadlineAt: number | undefined): Html {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const rows = [...schedule].sort((a, b) => (byId.get(a.id)?.system ?? '').localeCompare(byId.get(b.id)?.system ?? '') || a.start - b.start || a.id.localeCompare(b.id));
  const horizon = Math.max(1, makespan, deadlineAt ?? 0);
  const x = (t: number): number => LABEL_WIDTH + Math.round((t / horizon) * CHART_WIDTH * 10) / 10;
  const height = AXIS + rows.length * ROW + 8;
  const ticks = Array.from({ length: 5 }, (_, i) => Math.round((horizon * i) / 4));
  let previousSystem: string | undefined;
  return html`<svg xmlns="http://www.w3.org/2000/svg" class="gantt" id="gantt" role="img" aria-label="Schedule of the change: ${rows.length} tasks over ${seconds(makespan)}" width="${LABEL_WIDTH + CHART_WIDTH + 40}" height="${height}" viewBox="0 0 ${LABEL_WIDTH + CHART_WIDTH + 40} ${height}">
${ticks.map((t) => html`<line x1="${x(t)}" y1="${AXIS - 6}" x2="${x(t)}" y2="${height}" stroke="#d9dde3"/><text x="${x(t)}" y="${AXIS - 10}" font-size="11" text-anchor="middle" fill="#5a6472">${seconds(t)}</text>`)}
${rows.map((r, i) => {
  const task = byId.get(r.id);
  const y = AXIS + i * ROW;
  const system = task?.system ?? '';
  const first = system !== previousSystem;
  previousSystem = system;
  const label = task === undefined ? r.id : `${task.operation} ${task.component}${task.version === undefined ? '' : ` ${task.version}`}`;
  const width = Math.max(2, x(r.finish) - x(r.start));
  return html`<g class="task${r.critical ? ' critical' : ''}" data-task="${r.id}" data-system="${system}" data-start="${r.start}" data-finish="${r.finish}" data-critical="${r.critical ? 'true' : 'false'}">
<title>${r.id}: ${seconds(r.start)}–${seconds(r.finish)}${r.critical ? ' (critical path)' : ''}</title>
${first && html`<text x="4" y="${y + 15}" font-size="12" font-weight="bold" fill="#1d2430">${system}</text>`}
<text x="110" y="${y + 15}" font-size="12" fill="#1d2430">${r.critical ? '★ ' : ''}${label}</text>
<rect x="${x(r.start)}" y="${y + 4}" width="${width}" height="${ROW - 8}" rx="2" fill="${r.critical ? '#a4161a' : '#457b9d'}"/>
</g>`;
})}
${deadlineAt !== undefined && html`<g class="deadline" data-deadline="${deadlineAt}"><line x1="${x(deadlineAt)}" y1="${AXIS - 6}" x2="${x(deadlineAt)}" y2="${height}" stroke="#e76f51" stroke-width="2" stroke-dasharray="5 3"/><text x="${x(deadlineAt) + 3}" y="${height - 4}" font-size="11" fill="#e76f51">deadline</text></g>`}
</svg>`;
}

export function changePage(viewer: Viewer, change: ChangeView): Html {
  const plan = change.plan;
  const planned = plan?.state === 'PLANNED' ? plan : undefined;
  const deadline = change.request.deadline;
  const deadlineAt = planned === undefined || deadline === undefined ? undefined : Math.round((deadline.getTime() - planned.schedule.plannedStart.getTime()) / 1000);
  const cancellable = change.state === 'PLANNING' || change.state === 'PLANNED' || change.state === 'RUNNING';
  const target = (t: ChangeView['request']['changes'][number]['target']): string => (t.kind === 'system' ? `system ${t.system}` : t.kind === 'role' ? `role ${t.role}` : `cluster ${t.cluster}`);
  return page(
    { title: `Change ${change.id.slice(0, 8)}`, viewer, refreshSeconds: MOVING.includes(change.state) ? REFRESH_SECONDS : undefined },
    html`<p>State: <span class="state" id="change-state">${change.state}</span>${change.dryRun ? ' (dry run)' : ''}, submitted by ${change.caller} at ${when(change.createdAt)}; priority ${change.priority}.</p>
<ul id="desired">${change.request.changes.map((c) => html`<li>${c.operation} ${c.component}${c.version === undefined ? '' : html` ${c.version}`} on ${target(c.target)}</li>`)}</ul>
${change.instanceId !== null && html`<p>Process ${change.processName ?? ''}, instance <code>${change.instanceId}</code>.</p>`}
${change.outcome !== null && html`<p id="outcome">${change.outcome}</p>`}
${change.rejectionCode !== null && html`<p class="error" id="rejection">Rejected: <strong>${change.rejectionCode}</strong>: ${change.rejectionMessage ?? ''}${plan?.state === 'REJECTED' && plan.objects.length > 0 && html` (${plan.objects.join(', ')})`}</p>`}
${change.state === 'PLANNING' && html`<p>Being planned.</p>`}
${planned !== undefined &&
html`<h2>Schedule</h2>
<p id="schedule-summary">Makespan ${seconds(planned.schedule.makespan)}; lower bound ${seconds(planned.schedule.lowerBound.makespan)} (critical path ${seconds(planned.schedule.lowerBound.criticalPath)}, resources ${seconds(planned.schedule.lowerBound.resource)})${planned.schedule.provenOptimal ? ', proven optimal' : ''}; planned start ${when(planned.schedule.plannedStart)}${deadline !== undefined && html`; deadline ${when(deadline)}, ${planned.schedule.lateness !== null && planned.schedule.lateness > 0 ? `${seconds(planned.schedule.lateness)} late` : 'met'}`}. ★ and dark red: the critical path.</p>
${ganttSvg(planned.tasks, planned.schedule.tasks, planned.schedule.makespan, deadlineAt)}`}
${plan !== undefined &&
plan.checks.length > 0 &&
html`<h2>Policy checks</h2>
<table id="checks"><thead><tr><th>Policy</th><th>Outcome</th><th>What it found</th></tr></thead><tbody>
${plan.checks.map((c) => html`<tr data-policy="${c.policy}"><td>${c.policy}</td><td class="state">${c.outcome}</td><td>${c.message}</td></tr>`)}
</tbody></table>`}
${cancellable &&
html`<form method="post" action="${changeHref(change.id)}/cancel" class="actions">
  ${csrfField(viewer.csrfToken)}
  <input name="reason" maxlength="1000" placeholder="Reason (recorded)" aria-label="Reason">
  <button type="submit">Cancel the change</button>
</form>`}
<p><a href="/portal/admin/changes">All changes</a></p>`,
  );
}
