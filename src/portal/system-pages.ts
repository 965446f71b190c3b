import type { SystemFacts } from '../changemanager/planning-model';
import { formatWindow } from '../changemanager/windows';
import type { ComponentView, RequestView } from '../provisioning/api';
import type { VolumeView } from '../workorders/volumes';
import { html, type Html } from './html';
import { page, when, type Viewer } from './layout';

/** One managed system as the admin's systems page shows it. */
export interface SystemOverview {
  readonly facts: SystemFacts;
  readonly components: readonly ComponentView[];
}

/** What the admin's systems page reads: the managed systems and the latest provisioning requests. */
export interface SystemsOverview {
  /** Every managed system with its facts and installed components, by name. */
  systems(): Promise<SystemOverview[]>;
  /** The latest provisioning requests, newest first. */
  recentRequests(limit: number): Promise<RequestView[]>;
}

/** How many requests the systems page lists. */
export const RECENT_REQUESTS = 50;

function known(value: number | null, unit: string): string {
  return value === null ? 'unknown' : `${value}${unit}`;
}

function factsText(facts: SystemFacts): Html {
  const { cpus, memoryMb, diskGb } = facts.hardware;
  return html`<dl class="facts">
  <dt>Roles</dt><dd>${facts.roles.length === 0 ? '–' : facts.roles.join(', ')}</dd>
  <dt>Cluster</dt><dd>${facts.cluster ?? '–'}</dd>
  <dt>Capacity</dt><dd>${facts.capacity} task${facts.capacity === 1 ? '' : 's'} at once</dd>
  <dt>Hardware</dt><dd>${known(cpus, ' CPUs')}, ${known(memoryMb, ' MB')} memory, ${known(diskGb, ' GB')} disk</dd>
  <dt>Maintenance</dt><dd>${facts.maintenanceWindows.length === 0 ? 'any time' : facts.maintenanceWindows.map(formatWindow).join('; ')}</dd>
</dl>`;
}

function componentsTable(components: readonly ComponentView[]): Html {
  if (components.length === 0) return html`<p class="help">Nothing installed.</p>`;
  return html`<table class="components">
<thead><tr><th>Component</th><th>Version</th><th>State</th><th>Changed</th></tr></thead>
<tbody>
${components.map((c) => html`<tr data-component="${c.name}"><td>${c.name}</td><td data-label="Version">${c.version}</td><td class="state" data-label="State">${c.state}</td><td data-label="Changed">${when(c.updatedAt)}</td></tr>`)}
</tbody>
</table>`;
}

/** Admins: every managed system (driver, facts, installed components and their state) and the latest provisioning requests. */
export function systemsPage(viewer: Viewer, systems: readonly SystemOverview[], requests: readonly RequestView[]): Html {
  return page(
    { title: 'Systems', viewer },
    html`<h2>Managed systems (${systems.length})</h2>
${
  systems.length === 0
    ? html`<p id="no-systems">No system is registered (<code>provisor system add NAME</code>).</p>`
    : html`<div id="systems">${systems.map(
        (s) => html`<section class="system" data-system="${s.facts.name}">
<h3>${s.facts.name} <span class="help">(driver ${s.facts.driver})</span></h3>
${factsText(s.facts)}
${componentsTable(s.components)}
</section>`,
      )}</div>`
}
<h2>Recent provisioning requests</h2>
${
  requests.length === 0
    ? html`<p id="no-requests">No provisioning request yet.</p>`
    : html`<table id="requests">
<thead><tr><th>Submitted</th><th>Operation</th><th>System</th><th>Component</th><th>Status</th><th>By</th><th>Message</th></tr></thead>
<tbody>
${requests.map(
  (r) => html`<tr data-request="${r.requestId}"><td>${when(r.submittedAt)}</td><td data-label="Operation">${r.operation}</td><td data-label="System">${r.system}</td><td data-label="Component">${r.component === null ? '–' : `${r.component}${r.version === null ? '' : ` ${r.version}`}`}</td><td class="state" data-label="Status">${r.status}</td><td data-label="By">${r.submittedBy}</td><td data-label="Message">${r.message ?? ''}</td></tr>
`,
)}</tbody>
</table>`
}`,
  );
}

/** A customer's volumes, as its closed orders left them. */
export function volumesPage(viewer: Viewer, volumes: readonly VolumeView[]): Html {
  return page(
    { title: 'My volumes', viewer },
    html`<p class="help">Your account's volumes as your completed orders left them.</p>
${
  volumes.length === 0
    ? html`<p id="no-volumes">No volume yet.</p>`
    : html`<table id="volumes">
<thead><tr><th>Volume</th><th>Size</th><th>Tier</th><th>Mapped to</th><th>Snapshots</th><th>Schedule</th><th>Changed</th></tr></thead>
<tbody>
${volumes.map(
  (v) => html`<tr data-volume="${v.name}"><td>${v.name}</td><td data-label="Size">${v.sizeGiB} GiB</td><td data-label="Tier">${v.tier}</td><td data-label="Mapped to">${v.hosts.length === 0 ? '–' : v.hosts.map((h) => `${h.host} (${h.access})`).join(', ')}</td><td data-label="Snapshots">${v.snapshots.length === 0 ? '–' : v.snapshots.join(', ')}</td><td data-label="Schedule">${v.schedule === null ? '–' : `every ${v.schedule.interval}, keep ${v.schedule.retain}`}</td><td data-label="Changed">${when(v.changedAt)}</td></tr>
`,
)}</tbody>
</table>`
}`,
  );
}
