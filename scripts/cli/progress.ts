/**
 * Live progress of a process instance, per activity.
 *
 * Two sources feed one model: the workflow observer's events (instant, when
 * the instance runs in this process) and the instance's rows, read a few
 * times a second (when another Provisor process runs it, and to catch the
 * end). Rows are written before their events fire, so a poll may be ahead of
 * the events or behind them; the model only ever moves an activity forward.
 *
 * Two views show it: on a terminal a compact table redrawn in place; on
 * anything else one line per transition, for logs and CI.
 */
import type { App } from '../../src/app';
import type { WorkflowObserver } from '../../src/workflow/interpreter';
import type { InstanceView } from '../../src/workflow/runtime';
import { clockTime, duration, labelled } from './format';

/** How often the rows are read while watching. */
const POLL_MS = 200;
/** The terminal table is redrawn at most this often. */
const FRAME_MS = 100;

/** A real interval that does not keep the process alive. */
function everyInterval(ms: number, tick: () => void): () => void {
  const timer = setInterval(tick, ms);
  timer.unref();
  return () => clearInterval(timer);
}

/** Activity states (entities/activity-instance.ts), ranked so that a stale read never moves one back. */
const RANK: Readonly<Record<string, number>> = { RUNNING: 0, COMPLETED: 1, FAULTED: 1, SKIPPED: 1, TERMINATED: 1, COMPENSATED: 2 };

export interface ActivityRecord {
  readonly key: string;
  readonly kind: string;
  readonly name: string | undefined;
  state: string;
  startTime: Date | undefined;
  endTime: Date | undefined;
  fault: string | undefined;
  /** When this process last saw it change (orders the table's "recent" rows). */
  seen: number;
}

export interface AlarmRecord {
  readonly at: Date;
  readonly alarmPath: string;
  readonly scopeName: string | undefined;
  readonly kind: string;
}

export type ActivityEvent = Parameters<WorkflowObserver['activity']>[0];
type AlarmEvent = Parameters<WorkflowObserver['alarm']>[0];

/** What a view is told. */
export interface ProgressView {
  transition(record: ActivityRecord, at: Date): void;
  alarm(alarm: AlarmRecord): void;
  /** The instance row, each time it is read. */
  instance(view: InstanceView): void;
  /** Something the person watching should know (e.g. that Ctrl-C is cancelling the instance). */
  notice(text: string): void;
  /** The watch is over (the instance ended, or watching gave up). */
  close(): void;
}

/** The activities of one instance as far as this process knows, in the order they started. */
export class ProgressModel {
  readonly activities = new Map<string, ActivityRecord>();
  private tick = 0;

  constructor(private readonly view: ProgressView) {}

  event(e: ActivityEvent): void {
    const known = this.activities.get(e.key);
    if (known !== undefined && known.state === e.state) return;
    const record = known ?? { key: e.key, kind: e.kind, name: e.name, state: e.state, startTime: undefined, endTime: undefined, fault: undefined, seen: 0 };
    record.state = e.state;
    if (e.state === 'RUNNING') record.startTime = e.at;
    else record.endTime = e.at;
    record.fault = e.fault;
    this.changed(record, e.at);
  }

  snapshot(view: InstanceView): void {
    for (const row of view.activities) {
      const known = this.activities.get(row.key);
      if (known !== undefined && (RANK[row.state] ?? 0) <= (RANK[known.state] ?? 0)) continue;
      const record = known ?? { key: row.key, kind: row.kind, name: row.name ?? undefined, state: row.state, startTime: undefined, endTime: undefined, fault: undefined, seen: 0 };
      record.state = row.state;
      record.startTime = record.startTime ?? row.startTime;
      record.endTime = row.endTime ?? undefined;
      record.fault = row.fault ?? undefined;
      this.changed(record, row.state === 'RUNNING' ? row.startTime : (row.endTime ?? new Date()));
    }
    this.view.instance(view);
  }

  alarm(e: AlarmEvent): void {
    this.view.alarm({ at: e.firedAt, alarmPath: e.alarmPath, scopeName: e.scopeName, kind: e.kind });
  }

  private changed(record: ActivityRecord, at: Date): void {
    record.seen = ++this.tick;
    this.activities.set(record.key, record);
    this.view.transition(record, at);
  }
}

/** One line per transition: `12:00:01.234 COMPLETED /process/flow/sequence[1]/invoke "installServer" 0.8s`. */
export class LineView implements ProgressView {
  /** Fault text → the first activity that showed it: enclosing activities that end with the same fault point to it. */
  private readonly faults = new Map<string, string>();

  constructor(private readonly write: (text: string) => void) {}

  transition(r: ActivityRecord, at: Date): void {
    const took = r.state !== 'RUNNING' && r.startTime !== undefined && r.endTime !== undefined ? ` ${duration(r.endTime.getTime() - r.startTime.getTime())}` : '';
    const origin = r.fault === undefined ? undefined : this.faults.get(r.fault);
    if (r.fault !== undefined && origin === undefined) this.faults.set(r.fault, r.key);
    const fault = r.fault === undefined ? '' : origin === undefined || origin === r.key ? `: ${r.fault}` : `: the fault of ${origin}`;
    this.write(`${clockTime(at)} ${r.state} ${labelled(r.key, r.name)}${took}${fault}\n`);
  }

  alarm(a: AlarmRecord): void {
    this.write(`${clockTime(a.at)} ALARM ${labelled(a.alarmPath, a.scopeName)} ${a.kind === 'DEADLINE' ? 'deadline passed' : 'duration exceeded'}\n`);
  }

  instance(): void {}

  notice(text: string): void {
    this.write(`${clockTime(new Date())} ${text}\n`);
  }

  close(): void {}
}

/** What a terminal stream offers (process.stdout when it is a TTY). */
export interface Terminal {
  write(text: string): unknown;
  readonly columns?: number;
  readonly rows?: number;
  hasColors?(): boolean;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const STYLE: Readonly<Record<string, { symbol: string; colour: number }>> = {
  RUNNING: { symbol: '', colour: 36 },
  COMPLETED: { symbol: '✔', colour: 32 },
  FAULTED: { symbol: '✖', colour: 31 },
  SKIPPED: { symbol: '○', colour: 90 },
  TERMINATED: { symbol: '■', colour: 33 },
  COMPENSATED: { symbol: '↺', colour: 35 },
};

/** A table row: one activity, its loop iterations (`while#3`, `forEach#2`) folded into it. */
interface Row {
  readonly displayKey: string;
  readonly depth: number;
  readonly kind: string;
  readonly name: string | undefined;
  /** The iterations, by activity key. */
  readonly members: Map<string, ActivityRecord>;
}

/** A row's state: running while any iteration runs, else faulted if one faulted, else the latest one's. */
function rowState(row: Row): { state: string; startTime: Date | undefined; endTime: Date | undefined; seen: number } {
  const members = [...row.members.values()];
  const latest = members.reduce((a, b) => (b.seen > a.seen ? b : a));
  const running = members.filter((m) => m.state === 'RUNNING');
  const current = running.length > 0 ? running.reduce((a, b) => ((b.startTime?.getTime() ?? 0) > (a.startTime?.getTime() ?? 0) ? b : a)) : (members.find((m) => m.state === 'FAULTED') ?? latest);
  return { state: current.state, startTime: current.startTime, endTime: current.endTime, seen: latest.seen };
}

type ShownRow = { readonly row: Row } & ReturnType<typeof rowState>;

/**
 * The terminal table: one row per activity, indented by nesting depth (from
 * the activity key), with a state symbol in colour and the time taken,
 * redrawn in place at most ten times a second and cut to the terminal's
 * height (running and faulted activities first).
 */
export class TableView implements ProgressView {
  private readonly rows = new Map<string, Row>();
  private readonly alarms: AlarmRecord[] = [];
  private readonly notices: string[] = [];
  private instanceView: InstanceView | undefined;
  private drawnLines = 0;
  private frame = 0;
  private dirty = true;
  private readonly stopTimer: () => void;
  private readonly colours: boolean;
  private readonly restoreCursor = (): void => void this.out.write('\x1b[?25h');

  constructor(
    private readonly out: Terminal,
    /** `Process vN`. */
    private readonly heading: string,
    private readonly instanceId: string,
    private readonly now: () => number = Date.now,
    /** Calls `tick` every `ms` until the returned function is called (tests pass their own, to frame by hand). */
    every: (ms: number, tick: () => void) => () => void = everyInterval,
  ) {
    this.colours = out.hasColors?.() ?? false;
    this.out.write('\x1b[?25l');
    process.once('exit', this.restoreCursor);
    this.stopTimer = every(FRAME_MS, () => this.draw());
  }

  transition(r: ActivityRecord): void {
    const displayKey = r.key.replace(/#\d+/g, '');
    let row = this.rows.get(displayKey);
    if (row === undefined) {
      const depth = displayKey.replace(/^\/process/, '').split('/').filter((s) => s !== '').length;
      row = { displayKey, depth, kind: r.kind, name: r.name, members: new Map() };
      this.rows.set(displayKey, row);
    }
    row.members.set(r.key, r);
    this.dirty = true;
  }

  alarm(a: AlarmRecord): void {
    this.alarms.push(a);
    this.dirty = true;
  }

  instance(view: InstanceView): void {
    this.instanceView = view;
  }

  notice(text: string): void {
    this.notices.push(text);
    this.dirty = true;
  }

  close(): void {
    this.stopTimer();
    this.dirty = true;
    this.draw();
    this.restoreCursor();
    process.removeListener('exit', this.restoreCursor);
  }

  private paint(text: string, colour: number): string {
    return this.colours ? `\x1b[${colour}m${text}\x1b[0m` : text;
  }

  private draw(): void {
    const rows = [...this.rows.values()].map((row) => ({ row, ...rowState(row) }));
    if (!this.dirty && !rows.some((r) => r.state === 'RUNNING')) return;
    this.dirty = false;
    this.frame++;
    const width = Math.max(40, (this.out.columns ?? 100) - 1);
    const height = Math.max(6, (this.out.rows ?? 30) - 2);
    const footer = [
      ...this.alarms.slice(-3).map((a) => this.paint(`⏰ ${clockTime(a.at)} alarm ${labelled(a.alarmPath, a.scopeName)}: ${a.kind === 'DEADLINE' ? 'deadline passed' : 'duration exceeded'}`.slice(0, width), 33)),
      ...this.notices.slice(-2).map((n) => this.paint(n.slice(0, width), 1)),
    ];
    const lines = [this.headline(rows, width), ...this.tableLines(rows, width, height - 1 - footer.length), ...footer];
    // Up to the first line drawn last time, rewrite every line, clear what is left below.
    const up = this.drawnLines > 0 ? `\x1b[${this.drawnLines}F` : '';
    this.out.write(`${up}${lines.map((l) => `\x1b[2K${l}\n`).join('')}\x1b[J`);
    this.drawnLines = lines.length;
  }

  private headline(all: readonly ShownRow[], width: number): string {
    const done = all.filter((r) => r.state !== 'RUNNING').length;
    const view = this.instanceView;
    const status = view?.status ?? 'RUNNING';
    const elapsed = view === undefined ? '' : ` ${duration((view.endTime?.getTime() ?? this.now()) - view.startTime.getTime())}`;
    const text = `${this.heading} · ${status}${elapsed} · ${done} done, ${all.length - done} running · instance ${this.instanceId}`;
    return this.paint(text.slice(0, width), 1);
  }

  private tableLines(all: readonly ShownRow[], width: number, room: number): string[] {
    let shown = all;
    if (all.length > room) {
      // Keep what is going on (and where it is), then the most recent of the rest.
      const keep = new Set<ShownRow>();
      const important = all.filter((r) => r.state === 'RUNNING' || r.state === 'FAULTED');
      for (const r of important) {
        for (const other of all) if (r.row.displayKey === other.row.displayKey || r.row.displayKey.startsWith(`${other.row.displayKey}/`)) keep.add(other);
      }
      const rest = all.filter((r) => !keep.has(r)).sort((a, b) => b.seen - a.seen);
      for (const r of rest) {
        if (keep.size >= room - 1) break;
        keep.add(r);
      }
      shown = all.filter((r) => keep.has(r)).slice(0, room - 1);
    }
    const labelWidth = Math.min(Math.max(...shown.map((r) => this.label(r.row).length), 10), width - 22);
    const lines = shown.map((r) => {
      const style = STYLE[r.state] ?? { symbol: '?', colour: 0 };
      const symbol = r.state === 'RUNNING' ? (SPINNER[this.frame % SPINNER.length] ?? '*') : style.symbol;
      const label = this.label(r.row);
      const fitted = label.length > labelWidth ? `${label.slice(0, labelWidth - 1)}…` : label.padEnd(labelWidth);
      const took = r.startTime === undefined ? '' : duration((r.state === 'RUNNING' ? this.now() : (r.endTime?.getTime() ?? this.now())) - r.startTime.getTime());
      return `${this.paint(symbol, style.colour)} ${fitted} ${this.paint(r.state.padEnd(11), style.colour)} ${took.padStart(6)}`;
    });
    const hidden = all.length - shown.length;
    if (hidden > 0) lines.push(this.paint(`  … ${hidden} more finished activit${hidden === 1 ? 'y' : 'ies'} (provisor plan status shows them all)`.slice(0, width), 90));
    return lines;
  }

  private label(r: Row): string {
    const indent = '  '.repeat(r.depth);
    // The process runs as the top scope; call it what it is.
    const kind = r.displayKey === '/process' ? 'process' : r.kind;
    return `${indent}${labelled(kind, r.name)}${r.members.size > 1 ? ` ×${r.members.size}` : ''}`;
  }
}

/**
 * Watches an instance until it ends (resolves with its final view) or
 * `giveUp` aborts (resolves with the view at that moment). Listens to the
 * app's workflow observer for the instance's events while it watches.
 */
export async function watchInstance(
  app: Pick<App, 'workflow' | 'notifier'>,
  instanceId: string,
  view: ProgressView,
  giveUp: AbortSignal,
  earlier: readonly ActivityEvent[] = [],
): Promise<InstanceView> {
  const model = new ProgressModel(view);
  // What happened between the start and this call (see captureActivities), in order.
  for (const e of earlier) if (e.instanceId === instanceId) model.event(e);
  let wake: (() => void) | undefined;
  const stopListening = app.notifier.listen({
    activity: (e) => {
      if (e.instanceId === instanceId) model.event(e);
    },
    alarm: (e) => {
      if (e.instanceId === instanceId) model.alarm(e);
    },
    instance: (e) => {
      if (e.instanceId === instanceId) wake?.();
    },
  });
  const onAbort = (): void => wake?.();
  giveUp.addEventListener('abort', onAbort);
  try {
    for (;;) {
      const current = await app.workflow.status(instanceId);
      model.snapshot(current);
      if (current.status !== 'RUNNING' || giveUp.aborted) return current;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, POLL_MS);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  } finally {
    giveUp.removeEventListener('abort', onAbort);
    stopListening();
    view.close();
  }
}

/**
 * Keeps the activity events of every instance from now until `release()`:
 * an instance started in this process runs at once, so the events between
 * its start and the moment its watcher subscribes would otherwise be lost
 * (a transition written behind may not be in the first status read yet).
 */
export function captureActivities(notifier: App['notifier']): { readonly events: readonly ActivityEvent[]; release(): void } {
  const events: ActivityEvent[] = [];
  const release = notifier.listen({
    activity: (e) => {
      if (events.length < 10_000) events.push(e);
    },
  });
  return { events, release };
}
