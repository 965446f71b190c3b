/**
 * The BPEL generator: a scheduled task graph becomes a WS-BPEL 2.0 process in
 * the engine's subset (docs/bpel.md). See docs/changemanager.md, "The change
 * plan in BPEL", for what each construct stands for.
 *
 * - One `flow`; each task a slot: a `sequence` that waits until the task's
 *   planned start, then the task's `scope`.
 * - Links carry the precedences: to-start ones (FS, SS) end at the slot,
 *   to-finish ones (FF, SF) at an `empty` closing the task's scope, so the
 *   task is not recorded finished before its predecessor; from-start ones
 *   (SS, SF) leave from the task's invoke, from-finish ones (FS, FF) from its
 *   scope, which ends with its monitoring loop. Lags are kept by the planned
 *   start times.
 * - More links carry the order the schedule gave tasks sharing a system or a
 *   cluster's availability, so running late never puts more tasks on a
 *   system, or more members of a cluster down, than the plan did.
 * - A scope: invoke → requestId → `while` GetStatus is not terminal (waiting
 *   between polls) → a fault when it did not succeed; an `onAlarm` after the
 *   planned duration with a tolerance (the engine reports it as a violation);
 *   a compensation handler that undoes the task the same way.
 * - The process: an `onAlarm` at the change's deadline, and a fault handler
 *   that compensates every completed task (newest first) and rethrows, so a
 *   failed change goes back to the state before it.
 */
import type { PlannedPrecedence, PlannedTask, ScheduledTask } from '../change-plan';
import type { SoftwareOperation } from '../planning-model';

export const PARTNERS_DOCUMENT = 'change-partners.wsdl';
export const PARTNERS_NS = 'urn:provisor:changes:partners';
export const CHANGE_NS = 'urn:provisor:changes:1';

/** Partner link types over Provisor's Software and Request port types, sent with the process. */
export const PARTNERS_WSDL = `<?xml version="1.0" encoding="utf-8"?>
<wsdl:definitions name="ChangePlanPartners" targetNamespace="${PARTNERS_NS}"
    xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:plnk="http://docs.oasis-open.org/wsbpel/2.0/plnktype"
    xmlns:sw="urn:provisor:software:1"
    xmlns:rq="urn:provisor:request:1">
  <wsdl:import namespace="urn:provisor:software:1" location="software.wsdl"/>
  <wsdl:import namespace="urn:provisor:request:1" location="request.wsdl"/>
  <plnk:partnerLinkType name="Software">
    <plnk:role name="provider" portType="sw:SoftwarePortType"/>
  </plnk:partnerLinkType>
  <plnk:partnerLinkType name="Request">
    <plnk:role name="provider" portType="rq:RequestPortType"/>
  </plnk:partnerLinkType>
</wsdl:definitions>
`;

export interface BpelOptions {
  readonly processName: string;
  /** The plan's time 0 (absolute), for the planned-start waits and the documentation. */
  readonly plannedStart: Date;
  readonly deadline?: Date;
  /** Tolerance of the duration alarms: planned duration × (1 + share) + seconds. Default 0.5 and 60 s. */
  readonly toleranceShare?: number;
  readonly toleranceSeconds?: number;
  /** Wait between two GetStatus calls, an xsd:duration. Default: a tenth of the task's planned duration, 2 to 60 seconds (so a task on time polls about ten times). */
  readonly pollInterval?: string;
  /** Order between tasks the schedule gave (sharing a system or a cluster's availability): `from`'s finish before `to`'s start. */
  readonly resourceOrder?: readonly { readonly from: string; readonly to: string }[];
}

export interface GeneratedBpel {
  readonly processName: string;
  readonly document: string;
  readonly imports: Readonly<Record<string, string>>;
}

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

/** An NCName made of `text`: letters, digits, `.`, `-`, `_`; anything else becomes `_`, and a name not starting with a letter or `_` gets one. */
export function toNcName(text: string): string {
  const cleaned = text.replace(/[^A-Za-z0-9._-]/g, '_');
  return /^[A-Za-z_]/.test(cleaned) ? cleaned : `_${cleaned}`;
}

function isoDuration(seconds: number): string {
  return `PT${Math.max(0, Math.round(seconds))}S`;
}

/** Lines of XML with indentation, built by nesting. */
class Writer {
  readonly lines: string[] = [];
  private depth = 0;
  private readonly indents: string[] = [''];
  line(text: string): this {
    const indent = (this.indents[this.depth] ??= '  '.repeat(this.depth));
    this.lines.push(indent + text);
    return this;
  }
  open(text: string): this {
    this.line(text);
    this.depth++;
    return this;
  }
  close(text: string): this {
    this.depth--;
    return this.line(text);
  }
}

function parametersXml(parameters: Readonly<Record<string, string>> | undefined): string {
  const entries = Object.entries(parameters ?? {});
  if (entries.length === 0) return '';
  return `<sw:parameters>${entries.map(([k, v]) => `<sw:parameter><sw:name>${escape(k)}</sw:name><sw:value>${escape(v)}</sw:value></sw:parameter>`).join('')}</sw:parameters>`;
}

interface Call {
  readonly operation: SoftwareOperation;
  readonly system: string;
  readonly component: string;
  readonly version?: string;
  readonly parameters?: Readonly<Record<string, string>>;
}

/** invoke → keep the requestId → poll GetStatus until terminal → fault unless it succeeded. */
function writeCall(w: Writer, name: string, call: Call, vars: { request: string; response: string; statusRequest: string; status: string }, poll: string, ssLinks: readonly string[]): void {
  const body = `<sw:system>${escape(call.system)}</sw:system><sw:component>${escape(call.component)}</sw:component>${call.version !== undefined ? `<sw:version>${escape(call.version)}</sw:version>` : ''}${parametersXml(call.parameters)}`;
  const notDone = `not(starts-with($${vars.status}.parameters/rq:status, 'COMPLETED') or $${vars.status}.parameters/rq:status = 'UNKNOWN')`;
  w.open(`<bpel:sequence name="${name}">`);
  w.open(`<bpel:assign name="${name}.prepare">`);
  w.line(`<bpel:copy><bpel:from><bpel:literal><sw:${call.operation}>${body}</sw:${call.operation}></bpel:literal></bpel:from><bpel:to variable="${vars.request}" part="parameters"/></bpel:copy>`);
  w.close('</bpel:assign>');
  if (ssLinks.length === 0) {
    w.line(`<bpel:invoke name="${name}.invoke" partnerLink="software" operation="${call.operation}" inputVariable="${vars.request}" outputVariable="${vars.response}"/>`);
  } else {
    w.open(`<bpel:invoke name="${name}.invoke" partnerLink="software" operation="${call.operation}" inputVariable="${vars.request}" outputVariable="${vars.response}">`);
    w.open('<bpel:sources>');
    for (const l of ssLinks) w.line(`<bpel:source linkName="${l}"/>`);
    w.close('</bpel:sources>');
    w.close('</bpel:invoke>');
  }
  w.open(`<bpel:assign name="${name}.keepRequestId">`);
  w.line(`<bpel:copy><bpel:from><bpel:literal><rq:GetStatus><rq:requestId/></rq:GetStatus></bpel:literal></bpel:from><bpel:to variable="${vars.statusRequest}" part="parameters"/></bpel:copy>`);
  w.line(`<bpel:copy><bpel:from>$${vars.response}.parameters/sw:requestId</bpel:from><bpel:to>$${vars.statusRequest}.parameters/rq:requestId</bpel:to></bpel:copy>`);
  w.line(`<bpel:copy><bpel:from><bpel:literal><rq:GetStatusResponse><rq:status>QUEUED</rq:status></rq:GetStatusResponse></bpel:literal></bpel:from><bpel:to variable="${vars.status}" part="parameters"/></bpel:copy>`);
  w.close('</bpel:assign>');
  w.open(`<bpel:while name="${name}.monitor">`);
  w.line(`<bpel:condition>${notDone}</bpel:condition>`);
  w.open('<bpel:sequence>');
  w.line(`<bpel:invoke name="${name}.getStatus" partnerLink="requests" operation="GetStatus" inputVariable="${vars.statusRequest}" outputVariable="${vars.status}"/>`);
  w.open('<bpel:if>');
  w.line(`<bpel:condition>${notDone}</bpel:condition>`);
  w.line(`<bpel:wait><bpel:for>'${poll}'</bpel:for></bpel:wait>`);
  w.close('</bpel:if>');
  w.close('</bpel:sequence>');
  w.close('</bpel:while>');
  w.open(`<bpel:if name="${name}.check">`);
  w.line(`<bpel:condition>$${vars.status}.parameters/rq:status != 'COMPLETED_SUCCESS'</bpel:condition>`);
  w.line(`<bpel:throw name="${name}.failed" faultName="chg:taskFailed"/>`);
  w.close('</bpel:if>');
  w.close('</bpel:sequence>');
}

function callOf(t: PlannedTask): Call {
  const parameters = t.quiesce === true ? { ...(t.parameters ?? {}), drain: 'true' } : t.parameters;
  return { operation: t.operation, system: t.system, component: t.component, ...(t.version !== undefined ? { version: t.version } : {}), ...(parameters !== undefined ? { parameters } : {}) };
}

function describe(t: PlannedTask, s: ScheduledTask | undefined): string {
  const what = `${t.operation} ${t.component}${t.version !== undefined ? ` ${t.version}` : ''} on ${t.system}${t.quiesce === true ? ' (quiesced first)' : ''}`;
  const why = t.reason === 'policy' ? `policy ${t.policy ?? ''}` : t.reason;
  const when = s === undefined ? '' : `; planned at +${s.start}s for ${t.duration}s${s.critical ? ', on the critical path' : ''}`;
  const undo = t.undo === null ? '; nothing to undo' : `; undone by ${t.undo.operation}${t.undo.version !== undefined ? ` ${t.undo.version}` : ''}`;
  return `${what} (${why})${when}${undo}`;
}

/** Generates the process. Task names become scope names (NCNames, unique). */
export function generateBpel(tasks: readonly PlannedTask[], precedences: readonly PlannedPrecedence[], schedule: readonly ScheduledTask[], options: BpelOptions): GeneratedBpel {
  const share = options.toleranceShare ?? 0.5;
  const extra = options.toleranceSeconds ?? 60;
  const scheduled = new Map(schedule.map((s) => [s.id, s]));
  const names = new Map<string, string>();
  const used = new Set<string>();
  for (const t of tasks) {
    let n = toNcName(t.id);
    for (let k = 2; used.has(n); k++) n = `${toNcName(t.id)}.${k}`;
    used.add(n);
    names.set(t.id, n);
  }
  const nameOf = (id: string): string => names.get(id) ?? toNcName(id);

  // Links: where each leaves and where it ends.
  const fromScope = new Map<string, string[]>();
  const fromInvoke = new Map<string, string[]>();
  const toSlot = new Map<string, string[]>();
  const toFinish = new Map<string, string[]>();
  const links: string[] = [];
  const add = (m: Map<string, string[]>, id: string, link: string): void => void m.set(id, [...(m.get(id) ?? []), link]);
  const linkNames = new Set<string>();
  const newLink = (base: string): string => {
    let n = toNcName(base);
    for (let k = 2; linkNames.has(n); k++) n = `${toNcName(base)}.${k}`;
    linkNames.add(n);
    links.push(n);
    return n;
  };
  const pairs = new Set<string>();
  for (const p of precedences) {
    const link = newLink(`${nameOf(p.from)}-${p.type}-${nameOf(p.to)}`);
    pairs.add(`${p.from}\u0000${p.to}`);
    add(p.type === 'SS' || p.type === 'SF' ? fromInvoke : fromScope, p.from, link);
    add(p.type === 'FS' || p.type === 'SS' ? toSlot : toFinish, p.to, link);
  }
  for (const o of options.resourceOrder ?? []) {
    if (pairs.has(`${o.from}\u0000${o.to}`)) continue;
    pairs.add(`${o.from}\u0000${o.to}`);
    const link = newLink(`${nameOf(o.from)}-then-${nameOf(o.to)}`);
    add(fromScope, o.from, link);
    add(toSlot, o.to, link);
  }

  const w = new Writer();
  w.line('<?xml version="1.0" encoding="utf-8"?>');
  w.open(`<bpel:process name="${toNcName(options.processName)}" targetNamespace="${CHANGE_NS}"`);
  w.line('xmlns:bpel="http://docs.oasis-open.org/wsbpel/2.0/process/executable"');
  w.line('xmlns:xsd="http://www.w3.org/2001/XMLSchema"');
  w.line('xmlns:sw="urn:provisor:software:1" xmlns:rq="urn:provisor:request:1"');
  w.line(`xmlns:pl="${PARTNERS_NS}" xmlns:chg="${CHANGE_NS}"`);
  w.line('suppressJoinFailure="no">');
  const makespan = schedule.reduce((m, s) => Math.max(m, s.finish), 0);
  w.line(`<bpel:documentation>Change plan ${escape(options.processName)}: ${tasks.length} tasks from ${options.plannedStart.toISOString()}, planned to take ${makespan}s${options.deadline !== undefined ? `, deadline ${options.deadline.toISOString()}` : ''}. Generated by the change manager.</bpel:documentation>`);
  w.line(`<bpel:import importType="http://schemas.xmlsoap.org/wsdl/" namespace="${PARTNERS_NS}" location="${PARTNERS_DOCUMENT}"/>`);
  w.open('<bpel:partnerLinks>');
  w.line('<bpel:partnerLink name="software" partnerLinkType="pl:Software" partnerRole="provider"/>');
  w.line('<bpel:partnerLink name="requests" partnerLinkType="pl:Request" partnerRole="provider"/>');
  w.close('</bpel:partnerLinks>');
  w.open('<bpel:faultHandlers>');
  w.open('<bpel:catchAll>');
  w.open('<bpel:sequence name="rollBack">');
  w.line('<bpel:documentation>A task failed: undo every completed task, newest first, then fail the change.</bpel:documentation>');
  w.line('<bpel:compensate name="undoCompletedTasks"/>');
  w.line('<bpel:rethrow name="failChange"/>');
  w.close('</bpel:sequence>');
  w.close('</bpel:catchAll>');
  w.close('</bpel:faultHandlers>');
  if (options.deadline !== undefined) {
    w.open('<bpel:eventHandlers>');
    w.open('<bpel:onAlarm>');
    w.line(`<bpel:until>'${options.deadline.toISOString()}'</bpel:until>`);
    w.line('<bpel:scope name="deadline"><bpel:empty name="deadlinePassed"/></bpel:scope>');
    w.close('</bpel:onAlarm>');
    w.close('</bpel:eventHandlers>');
  }
  w.open('<bpel:flow name="change">');
  if (links.length > 0) {
    w.open('<bpel:links>');
    for (const l of links) w.line(`<bpel:link name="${l}"/>`);
    w.close('</bpel:links>');
  }
  const ordered = [...tasks].sort((a, b) => (scheduled.get(a.id)?.start ?? 0) - (scheduled.get(b.id)?.start ?? 0) || a.id.localeCompare(b.id));
  for (const t of ordered) {
    const poll = options.pollInterval ?? isoDuration(Math.min(60, Math.max(2, Math.round(t.duration / 10))));
    writeTask(w, t, nameOf(t.id), scheduled.get(t.id), options, { poll, share, extra }, { fromScope: fromScope.get(t.id) ?? [], fromInvoke: fromInvoke.get(t.id) ?? [], toSlot: toSlot.get(t.id) ?? [], toFinish: toFinish.get(t.id) ?? [] });
  }
  w.close('</bpel:flow>');
  w.close('</bpel:process>');
  return { processName: toNcName(options.processName), document: `${w.lines.join('\n')}\n`, imports: { [PARTNERS_DOCUMENT]: PARTNERS_WSDL } };
}

function writeTask(
  w: Writer,
  t: PlannedTask,
  name: string,
  s: ScheduledTask | undefined,
  options: BpelOptions,
  tol: { poll: string; share: number; extra: number },
  l: { fromScope: readonly string[]; fromInvoke: readonly string[]; toSlot: readonly string[]; toFinish: readonly string[] },
): void {
  w.open(`<bpel:sequence name="${name}.slot">`);
  if (l.toSlot.length > 0) {
    w.open('<bpel:targets>');
    for (const link of l.toSlot) w.line(`<bpel:target linkName="${link}"/>`);
    w.close('</bpel:targets>');
  }
  const at = new Date(options.plannedStart.getTime() + (s?.start ?? 0) * 1000);
  w.line(`<bpel:wait name="${name}.notBefore"><bpel:until>'${at.toISOString()}'</bpel:until></bpel:wait>`);
  w.open(`<bpel:scope name="${name}">`);
  w.line(`<bpel:documentation>${escape(describe(t, s))}</bpel:documentation>`);
  if (l.fromScope.length > 0) {
    w.open('<bpel:sources>');
    for (const link of l.fromScope) w.line(`<bpel:source linkName="${link}"/>`);
    w.close('</bpel:sources>');
  }
  w.open('<bpel:variables>');
  w.line(`<bpel:variable name="request" messageType="sw:${t.operation}Request"/>`);
  w.line(`<bpel:variable name="response" messageType="sw:${t.operation}Response"/>`);
  w.line('<bpel:variable name="statusRequest" messageType="rq:GetStatusRequest"/>');
  w.line('<bpel:variable name="status" messageType="rq:GetStatusResponse"/>');
  if (t.undo !== null) {
    w.line(`<bpel:variable name="undoRequest" messageType="sw:${t.undo.operation}Request"/>`);
    w.line(`<bpel:variable name="undoResponse" messageType="sw:${t.undo.operation}Response"/>`);
    w.line('<bpel:variable name="undoStatusRequest" messageType="rq:GetStatusRequest"/>');
    w.line('<bpel:variable name="undoStatus" messageType="rq:GetStatusResponse"/>');
  }
  w.close('</bpel:variables>');
  if (t.undo !== null) {
    w.open('<bpel:compensationHandler>');
    const undo: Call = { operation: t.undo.operation, system: t.system, component: t.component, ...(t.undo.version !== undefined ? { version: t.undo.version } : {}), ...(t.undo.parameters !== undefined ? { parameters: t.undo.parameters } : {}) };
    writeCall(w, `${name}.undo`, undo, { request: 'undoRequest', response: 'undoResponse', statusRequest: 'undoStatusRequest', status: 'undoStatus' }, tol.poll, []);
    w.close('</bpel:compensationHandler>');
  }
  w.open('<bpel:eventHandlers>');
  w.open('<bpel:onAlarm>');
  w.line(`<bpel:for>'${isoDuration(t.duration * (1 + tol.share) + tol.extra)}'</bpel:for>`);
  w.line(`<bpel:scope name="${name}.overdue"><bpel:empty name="${name}.tookLongerThanPlanned"/></bpel:scope>`);
  w.close('</bpel:onAlarm>');
  w.close('</bpel:eventHandlers>');
  w.open(`<bpel:sequence name="${name}.steps">`);
  writeCall(w, `${name}.run`, callOf(t), { request: 'request', response: 'response', statusRequest: 'statusRequest', status: 'status' }, tol.poll, l.fromInvoke);
  if (l.toFinish.length > 0) {
    w.open(`<bpel:empty name="${name}.finish">`);
    w.open('<bpel:targets>');
    for (const link of l.toFinish) w.line(`<bpel:target linkName="${link}"/>`);
    w.close('</bpel:targets>');
    w.close('</bpel:empty>');
  }
  w.close('</bpel:sequence>');
  w.close('</bpel:scope>');
  w.close('</bpel:sequence>');
}

/**
 * The order the schedule gave tasks that share a limited resource: each
 * resource's capacity is a set of units, handed from task to task in start
 * order; a task taking a unit from another is ordered after it. Tasks are
 * given as items with the task that starts them and the one that ends them
 * (a cluster member's down block starts with its stop and ends with its
 * start). At most `capacity` links per item and resource.
 */
export function resourceOrder(
  groups: readonly { readonly capacity: number; readonly items: readonly { readonly first: string; readonly last: string; readonly start: number; readonly finish: number }[] }[],
): Array<{ from: string; to: string }> {
  const out: Array<{ from: string; to: string }> = [];
  const seen = new Set<string>();
  for (const g of groups) {
    if (g.capacity < 1) continue;
    const units: Array<{ holder: string | undefined; freeAt: number }> = Array.from({ length: g.capacity }, () => ({ holder: undefined, freeAt: -Infinity }));
    const items = [...g.items].sort((a, b) => a.start - b.start || a.first.localeCompare(b.first));
    for (const item of items) {
      // The unit freed latest before the item starts (the tightest hand-over); else the one freed first.
      let best: (typeof units)[number] | undefined;
      for (const u of units) if (u.freeAt <= item.start && (best === undefined || u.freeAt > best.freeAt)) best = u;
      if (best === undefined) best = units.reduce((a, b) => (b.freeAt < a.freeAt ? b : a));
      if (best.holder !== undefined && best.holder !== item.first) {
        const k = `${best.holder}\u0000${item.first}`;
        if (!seen.has(k)) out.push({ from: best.holder, to: item.first }), seen.add(k);
      }
      best.holder = item.last;
      best.freeAt = item.finish;
    }
  }
  return out;
}
