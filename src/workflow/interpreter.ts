import crypto from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { sleepUntil, SleepAborted, type Clock } from '../clock';
import type { Logger } from '../log';
import {
  qnameKey,
  type Activity,
  type ActivityKind,
  type Assign,
  type Catch,
  type Compensate,
  type CompensateScope,
  type Correlation,
  type CorrelationSet,
  type Empty,
  type Exit,
  type Expression,
  type Flow,
  type ForEach,
  type If,
  type InboundMessage,
  type Invoke,
  type OnAlarm,
  type OnEvent,
  type PartnerLink,
  type Pick,
  type Process,
  type QName,
  type Receive,
  type RepeatUntil,
  type Reply,
  type Rethrow,
  type Scope,
  type Sequence,
  type Throw,
  type VariableDeclaration,
  type Wait,
  type While,
} from '../bpel/model';
import { DEFAULT_PLAN_LIMITS, limitFault, type PlanLimits } from '../bpel/limits';
import { BpelFault, standardFault, type VariableValue } from '../bpel/values';
import { analyzeExpression, copyFromParts, deserializeValue, evaluateBoolean, evaluateDeadline, evaluateDuration, evaluateJoinCondition, evaluateUnsignedInt, executeAssign, initialValue, messageFromParts, serializeValue, type EvaluationOptions, type MutableVariableScope, type VariableScope } from '../bpel/xpath';
import { correlationKey, correlationValues, NO_PROPERTIES, variablePropertyReader, type PropertyCatalog, type Typed } from '../bpel/properties';
import { allActivities, childActivities } from '../bpel/walk';
import { fromPartDeclarations, type PartDefinition } from '../bpel/validate';
import { deserializeFault, faultPathOf, serializeFault, withPath } from './fault-codec';
import { InstanceStore, type ActivityState, type VariableWrite } from './instance-store';
import type { MessageWanted, StoredReply, TakenMessage } from './message-box';
import { WORKFLOW_SQL } from './sql';

/** Where an instance's activities take the messages sent to it (the message box). */
export interface MessageSource {
  /**
   * Waits until the activity execution `consumerKey` has taken one of the
   * messages wanted (the one it took before a crash, if any); undefined once
   * `stop` is aborted without one.
   */
  waitFor(request: { readonly instanceId: string; readonly consumerKey: string; readonly processName: string; readonly wanted: readonly MessageWanted[]; readonly stop: AbortSignal }): Promise<TakenMessage | undefined>;
}

/** The WSDL messages of a partner link's operation. */
export type OperationMessages = (partnerLink: string, role: 'my' | 'partner', operation: string) => { readonly input?: QName; readonly output?: QName } | undefined;

/** Calls a partner's operation. In-process for Provisor's own services, SOAP over HTTP for remote ones. */
export interface PartnerInvoker {
  invoke(request: {
    readonly instanceId: string;
    readonly partnerLink: PartnerLink;
    readonly portType?: QName;
    readonly operation: string;
    readonly input: VariableValue | undefined;
    /** Deterministic: instance + activity path + iteration. A resumed invoke sends the same key. */
    readonly idempotencyKey: string;
    readonly activityPath: string;
    readonly signal: AbortSignal;
    /**
     * Told, with the answer of a read-only operation, when the partner knows
     * the answer stands until something it can report happens (a request's
     * status while it runs in this process): a poll loop asking the same
     * again may park on it instead of asking at every turn.
     */
    readonly onStanding?: (answer: StandingAnswer) => void;
  }): Promise<VariableValue | undefined>;
  /**
   * True when the operation only reads (a request's status): sending it
   * again after a crash changes nothing, so the engine need not make its
   * state durable before sending it. Absent or false: the invoke may have
   * an effect, and everything before it is committed first.
   */
  effectFree?(request: { readonly partnerLink: PartnerLink; readonly portType?: QName; readonly operation: string }): boolean;
}

/** A read-only answer its partner knows to stand until something it reports happens. */
export interface StandingAnswer {
  /** True while the answer is known to be unchanged. */
  holds(): boolean;
  /** Resolves when the answer may have changed, or after `ms` at the latest (then ask {@link holds}). */
  changed(ms: number): Promise<void>;
}

/**
 * A `reply`'s row data when it answers the instance-creating request (one
 * answering a later message is recorded with that message, as a
 * {@link StoredReply}): its message (serialized) and, for a reply with
 * `faultName`, the fault's `{ns}local` name.
 */
export interface CreatingReply extends StoredReply {
  readonly replied: true;
}

/** Told about every activity transition and every alarm (the change manager's feed). */
export interface WorkflowObserver {
  /** False while nothing listens to activity transitions: the interpreter then builds no event for them. Absent: every transition is told. */
  activitiesWanted?(): boolean;
  activity(event: { readonly instanceId: string; readonly key: string; readonly kind: string; readonly name: string | undefined; readonly state: ActivityState; readonly at: Date; readonly fault?: string }): void;
  alarm(event: { readonly instanceId: string; readonly scopeKey: string; readonly scopeName: string | undefined; readonly alarmPath: string; readonly kind: 'DURATION' | 'DEADLINE'; readonly dueAt: Date; readonly firedAt: Date }): void;
  /** The instance reached an end (COMPLETED, FAULTED, TERMINATED). */
  instance(event: { readonly instanceId: string; readonly status: string; readonly at: Date }): void;
}

export type InstanceOutcome =
  | { readonly status: 'COMPLETED' }
  | { readonly status: 'FAULTED'; readonly fault: BpelFault; readonly path: string }
  | { readonly status: 'TERMINATED'; readonly reason: string };

/** An activity stopped because its scope was terminated (fault elsewhere, exit, cancel, shutdown). */
export class Terminated extends Error {
  override readonly name = 'Terminated';
}

/**
 * The reason to abort a run that leaves the instance as it is, to be resumed
 * later (shutdown) or elsewhere (its lease was lost): nothing more is written
 * for it and no termination handler runs, unlike a cancel.
 */
export class Detached extends Error {
  override readonly name = 'Detached';
}

/** `<exit>`: ends the instance at once. */
class ExitProcess extends Error {
  override readonly name = 'ExitProcess';
}

/** Kinds that complete at once, in the transaction that records their end. */
const INSTANT_KINDS: ReadonlySet<ActivityKind> = new Set(['assign', 'empty', 'reply']);

/**
 * Activities whose transitions are written behind run back to back in
 * microtasks, without waiting for anything: a loop of them would hold the
 * event loop (and every other instance, request and `/health`) until it
 * ends. Once activities of any instance have run this long in one turn of
 * the event loop, the next one lets the loop turn first. It measures the
 * process's CPU time, not the plan's time, so it reads the performance
 * clock, not the instance's clock.
 */
const TURN_BUDGET_MS = 5;
let turnStartedAt = -1;

/** Resolves at once while the current turn is within its budget; after the next turn of the event loop otherwise. */
function yieldWhenTurnIsSpent(): Promise<void> | undefined {
  const now = performance.now();
  if (turnStartedAt < 0) {
    turnStartedAt = now;
    setImmediate(() => {
      turnStartedAt = -1;
    });
    return undefined;
  }
  if (now - turnStartedAt < TURN_BUDGET_MS) return undefined;
  return new Promise<void>((resolve) => setImmediate(resolve));
}

interface Frame {
  readonly key: string;
  readonly declarations: ReadonlyMap<string, VariableDeclaration>;
  readonly values: Map<string, VariableValue | undefined>;
  readonly parent: Frame | undefined;
  /** The correlation sets a scope instance (or the process) declares. */
  readonly correlationSets?: ReadonlyMap<string, CorrelationSet>;
}

interface LinkCell {
  readonly key: string;
  value: boolean | undefined;
  readonly settled: Promise<boolean>;
  resolve(value: boolean): void;
}

interface Context {
  /** Maps model paths to execution keys below this point: key = anchor.key + path.slice(anchor.path.length). */
  readonly anchor: { readonly path: string; readonly key: string };
  readonly frame: Frame;
  readonly links: ReadonlyMap<string, LinkCell>;
  readonly signal: AbortSignal;
  readonly suppressJoinFailure: boolean;
  /** The fault being handled, inside a fault handler (for `<rethrow>`). */
  readonly handledFault?: BpelFault;
  /** The scope whose handler is running (for `<compensate>` and `<compensateScope>`). */
  readonly handlerScope?: { readonly scope: Scope; readonly key: string };
  /** The iteration of a poll-shaped loop being watched for parking (see Interpreter.loop). */
  readonly poll?: PollTracker;
}

/** What one iteration of a poll-shaped loop did, to tell whether the next ones would do the same. */
interface PollTracker {
  /** The iteration's key: `loopKey#n`. */
  readonly prefix: string;
  /** When it started (clock ms). */
  readonly startedAt: number;
  invokes: number;
  /** The invoke's answer, when its partner said how long it stands. */
  answer: StandingAnswer | undefined;
  /** The time its waits slept, in all and before the invoke (from each wait's start to its due time). */
  slept: number;
  sleptBeforeInvoke: number;
  /** The waits before the invoke: their key below the iteration and due time from the iteration's start, counting only the time waited. */
  readonly waits: Array<{ readonly rest: string; readonly dueOffset: number }>;
}

/** An iteration whose successors, while its answer stands, would be copies of it: the loop parks on it. */
interface PollTemplate {
  readonly iteration: number;
  readonly startedAt: number;
  /** The invoke's start, from the iteration's: the time its waits before it sleep. */
  readonly invokeOffset: number;
  /** The iteration's length: the time its waits sleep (the rest takes no time on a machine that keeps up). */
  readonly period: number;
  readonly answer: StandingAnswer;
  readonly waits: PollTracker['waits'];
}

/** A loop's durable data: its iteration, whether it is inside the body, and what parking left. */
interface LoopData {
  readonly iteration: number;
  readonly inBody: boolean;
  /** Iterations parked so far (run as copies of the one before, without rows). */
  readonly parked?: number;
  /** True while the loop is parked. */
  readonly parking?: boolean;
  /** When the next iteration starts (clock ms), after a park: a restart keeps it. */
  readonly resumeAt?: number;
}

/** How long a parked poll loop trusts a standing answer before asking it again. */
const PARK_RECHECK_MS = 5_000;

/** Activity kinds a loop body may hold and still be parked. */
const POLL_KINDS: ReadonlySet<ActivityKind> = new Set(['sequence', 'if', 'empty', 'assign', 'wait', 'invoke']);

interface Completion {
  readonly writes?: readonly VariableWrite[];
  readonly data?: string;
}

type Handler<A extends Activity> = (activity: A, ctx: Context, key: string) => Promise<Completion | void>;
type HandlerTable = { readonly [K in ActivityKind]: Handler<Extract<Activity, { kind: K }>> };

/** Waits on the injected clock until `dueAt`, however far away; an abort ends it as Terminated. */
async function sleepUntilDue(clock: Clock, dueAt: Date, signal: AbortSignal): Promise<void> {
  try {
    await sleepUntil(clock, dueAt.getTime(), signal);
  } catch (err) {
    if (err instanceof SleepAborted) throw new Terminated('terminated');
    throw err;
  }
}

function untilSettled<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Terminated('terminated'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new Terminated('terminated'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/**
 * A controller aborted with its parent. `release` detaches it once its work is
 * done: a loop of scopes would otherwise leave one listener per iteration on
 * the parent signal for the rest of the instance.
 */
function childController(parent: AbortSignal): { readonly controller: AbortController; release(): void } {
  const controller = new AbortController();
  if (parent.aborted) {
    controller.abort(parent.reason);
    return { controller, release: () => undefined };
  }
  const onAbort = (): void => controller.abort(parent.reason);
  parent.addEventListener('abort', onAbort, { once: true });
  return { controller, release: () => parent.removeEventListener('abort', onAbort) };
}

/** Activity executions allowed to the fault handlers of an instance that reached its activity limit. */
const ACTIVITY_LIMIT_GRACE = 100;

/** Characters of a `<throw>`'s simple fault variable kept in the fault's message. */
const THROW_DETAIL_LIMIT = 2000;

/** Strips the execution markers (`#n` iterations, `!c` compensation runs) from a key. */
export function pathOfKey(key: string): string {
  return key.replace(/#\d+/g, '').replace(/!c/g, '');
}

/** What the interpreter reads of a process's structure: the same for every instance, so worked out once per process model (models are never changed). */
interface ProcessShape {
  /** The process as the scope its activity runs in. */
  readonly root: Scope;
  readonly scopePaths: ReadonlySet<string>;
  readonly scopesByPath: ReadonlyMap<string, Scope>;
  /** The instance-creating receives and picks, in document order. */
  readonly startActivities: readonly Activity[];
  /** By loop path, filled when first asked: whether the loop may park (see Interpreter.pollShaped). */
  readonly pollShapes: Map<string, boolean>;
  /** By loop path, filled when first asked: the variables its body writes whole before reading them (see Interpreter.rewrittenAlike). */
  readonly rewrittenFirst: Map<string, ReadonlySet<string>>;
  /** By loop path, filled when first asked: its body's paths, when its ended iterations can be let go of (see Interpreter.forgettable). */
  readonly bodyPaths: Map<string, readonly string[] | null>;
}

const shapes = new WeakMap<Process, ProcessShape>();

function shapeOf(process: Process): ProcessShape {
  let shape = shapes.get(process);
  if (shape !== undefined) return shape;
  const root: Scope = {
    kind: 'scope',
    path: '/process',
    line: process.line,
    sources: [],
    targets: [],
    isolated: false,
    variables: process.variables,
    faultHandlers: process.faultHandlers,
    alarms: process.alarms,
    events: process.events,
    messageExchanges: process.messageExchanges,
    correlationSets: process.correlationSets,
    activity: process.activity,
    name: process.name,
  };
  const scopesByPath = new Map<string, Scope>();
  const index = (activity: Activity): void => {
    if (activity.kind === 'scope') scopesByPath.set(activity.path, activity);
    for (const child of childActivities(activity)) index(child.activity);
  };
  index(root);
  shape = {
    root,
    scopePaths: new Set(scopesByPath.keys()),
    scopesByPath,
    startActivities: allActivities(process).filter((a) => (a.kind === 'receive' || a.kind === 'pick') && a.createInstance),
    pollShapes: new Map(),
    rewrittenFirst: new Map(),
    bodyPaths: new Map(),
  };
  shapes.set(process, shape);
  return shape;
}

/**
 * Runs one process instance, durably: every activity transition is written
 * to the instance's rows (behind, or durably before an effect or a sleep;
 * see InstanceStore), and running the same instance again
 * after a crash replays from those rows — completed activities are skipped,
 * loops resume at their recorded iteration, branches keep their recorded
 * choice, timers keep their original due time, and invokes are re-sent with
 * the same idempotency key so no provisioning task runs twice.
 */
export class Interpreter {
  private readonly handlers: HandlerTable;
  private readonly scopePaths: ReadonlySet<string>;
  private readonly scopesByPath: ReadonlyMap<string, Scope>;
  private readonly root: Scope;
  private readonly limits: PlanLimits;
  private rootSignal: AbortSignal | undefined;
  /** Activity rows allowed; raised once the limit's fault is thrown, so fault handlers can still run. */
  private activityLimit: number;
  /** What is worked out once per process model, for every instance of it (see {@link shapeOf}). */
  private readonly shape: ProcessShape;
  /** Due times given to the waits of the iteration a parked loop resumes with, by key. */
  private readonly seededDues = new Map<string, Date>();
  /** bpel:getVariableProperty through the process's property aliases. */
  private readonly readProperty: NonNullable<EvaluationOptions['variableProperty']>;
  /** The instance-creating receives and picks, in document order. */
  private readonly startActivities: readonly Activity[];

  constructor(
    private readonly process: Process,
    private readonly store: InstanceStore,
    private readonly deps: {
      readonly instanceId: string;
      readonly invoker: PartnerInvoker;
      readonly observer: WorkflowObserver;
      readonly clock: Clock;
      readonly log: Logger;
      /** The message that created the instance, for its `receive createInstance="yes"`. */
      readonly initialMessage?: VariableValue;
      /** Called when a `<reply>` answers the instance-creating request. */
      readonly onReply?: (message: VariableValue | undefined, fault?: QName) => void;
      /** The run-time limits (default: DEFAULT_PLAN_LIMITS). */
      readonly limits?: PlanLimits;
      /** `partnerLink/operation` the instance-creating message was sent to (for a creating `<pick>`). */
      readonly initialOperation?: string;
      /** Messages sent to the running instance. */
      readonly messages?: MessageSource;
      /** The properties and aliases of the process's WSDLs. */
      readonly properties?: PropertyCatalog;
      /** The messages of each operation, for correlation values and replies. */
      readonly operationMessages?: OperationMessages;
      /** A WSDL message's parts, each with its element or type (for the variables an onEvent's fromParts declare). */
      readonly messageParts?: (message: QName) => ReadonlyMap<string, PartDefinition> | undefined;
    },
  ) {
    this.limits = deps.limits ?? DEFAULT_PLAN_LIMITS;
    this.activityLimit = this.limits.maxActivities;
    this.readProperty = variablePropertyReader(deps.properties ?? NO_PROPERTIES);
    const shape = shapeOf(process);
    this.shape = shape;
    this.root = shape.root;
    this.scopePaths = shape.scopePaths;
    this.scopesByPath = shape.scopesByPath;
    this.startActivities = shape.startActivities;
    this.handlers = {
      invoke: (a, c, k) => this.invoke(a, c, k),
      receive: (a, c, k) => this.receive(a, c, k),
      reply: (a, c, k) => this.reply(a, c, k),
      pick: (a, c, k) => this.pick(a, c, k),
      assign: (a, c) => this.assign(a, c),
      wait: (a, c, k) => this.wait(a, c, k),
      empty: (_a: Empty) => Promise.resolve(),
      sequence: (a, c) => this.sequence(a, c),
      flow: (a, c, k) => this.flow(a, c, k),
      if: (a, c, k) => this.choose(a, c, k),
      while: (a, c, k) => this.loop(a, c, k),
      repeatUntil: (a, c, k) => this.loop(a, c, k),
      forEach: (a, c, k) => this.forEach(a, c, k),
      scope: (a, c, k) => this.scope(a, c, k),
      throw: (a, c) => this.throwFault(a, c),
      rethrow: (a: Rethrow, c) => {
        if (c.handledFault === undefined) throw standardFault('selectionFailure', `rethrow at line ${a.line} outside a fault handler`);
        throw c.handledFault;
      },
      exit: (_a: Exit) => {
        throw new ExitProcess('exit');
      },
      compensate: (a: Compensate, c) => this.compensateAll(a, c),
      compensateScope: (a, c) => this.compensateNamed(a, c),
    };
  }

  /** Runs (or resumes) the instance to its end. `signal` aborts it (cancel, shutdown). */
  async run(signal: AbortSignal): Promise<InstanceOutcome> {
    this.rootSignal = signal;
    const frame: Frame = { key: '/process', declarations: new Map(), values: new Map(), parent: undefined };
    const ctx: Context = { anchor: { path: '', key: '' }, frame, links: new Map(), signal, suppressJoinFailure: this.process.suppressJoinFailure };
    try {
      await this.deliverInputToVariables();
      await this.exec(this.root, ctx);
      return { status: 'COMPLETED' };
    } catch (err) {
      if (err instanceof BpelFault) return { status: 'FAULTED', fault: err, path: faultPathOf(err) ?? '/process' };
      if (err instanceof ExitProcess) return { status: 'TERMINATED', reason: 'the process executed <exit>' };
      if (err instanceof Terminated) return { status: 'TERMINATED', reason: String((signal.reason as Error | undefined)?.message ?? 'terminated') };
      throw err;
    }
  }

  /**
   * A process without an instance-creating receive takes its input (from
   * StartProcess) into the process variables named like the message's parts.
   */
  private async deliverInputToVariables(): Promise<void> {
    const input = this.deps.initialMessage;
    if (input === undefined || input.kind !== 'message' || this.store.activities.size > 0) return;
    if (this.startActivities.length > 0) return;
    const writes: VariableWrite[] = [];
    for (const [part, value] of input.parts) {
      const declaration = this.process.variables.find((v) => v.name === part);
      if (declaration === undefined) continue;
      const variable: VariableValue = typeof value === 'string' ? { kind: 'simple', value } : declaration.messageType !== undefined ? { kind: 'message', parts: new Map([['parameters', value]]) } : { kind: 'element', element: value };
      writes.push({ scopeKey: '/process', name: part, value: serializeValue(variable) });
    }
    this.store.writeVariables(writes);
  }

  private now(): Date {
    return this.deps.clock.date();
  }

  /** Expression options: the injected clock's time for pv:now() and calendar durations. */
  private opts(): EvaluationOptions {
    return { now: this.deps.clock.date(), properties: this.properties, variableProperty: this.readProperty };
  }

  private get properties(): PropertyCatalog {
    return this.deps.properties ?? NO_PROPERTIES;
  }

  private keyOf(activity: { readonly path: string }, ctx: Context): string {
    if (!activity.path.startsWith(ctx.anchor.path)) throw new Error(`activity ${activity.path} is outside anchor ${ctx.anchor.path}`);
    return ctx.anchor.key + activity.path.slice(ctx.anchor.path.length);
  }

  private emit(key: string, activity: Activity, state: ActivityState, fault?: string): void {
    if (this.deps.observer.activitiesWanted?.() === false) return;
    this.deps.observer.activity({ instanceId: this.deps.instanceId, key, kind: activity.kind, name: activity.name, state, at: this.now(), fault });
  }

  /** The activity lifecycle shared by every kind: replay, join, begin, run, end, links. */
  private async exec(activity: Activity, ctx: Context): Promise<void> {
    const turn = yieldWhenTurnIsSpent();
    if (turn !== undefined) await turn;
    const key = this.keyOf(activity, ctx);
    const record = this.store.activities.get(key);
    if (record !== undefined && record.state !== 'RUNNING') {
      switch (record.state) {
        case 'COMPLETED':
        case 'COMPENSATED':
        case 'SKIPPED':
          this.settleLinksFromStore(activity, ctx);
          return;
        case 'FAULTED':
          throw deserializeFault(record.fault ?? '{}');
        case 'TERMINATED':
          throw new Terminated(`${key} was terminated`);
      }
    }
    if (record === undefined && activity.targets.length > 0) {
      const statuses = await Promise.all(
        activity.targets.map((name) => {
          const cell = ctx.links.get(name);
          if (cell === undefined) throw new Error(`link ${name} of ${activity.path} has no enclosing flow`);
          return untilSettled(cell.settled, ctx.signal);
        }),
      );
      const join =
        activity.joinCondition === undefined
          ? statuses.some(Boolean)
          : evaluateJoinCondition(activity.joinCondition, new Map(activity.targets.map((name, i) => [name, statuses[i] ?? false])), this.opts());
      if (!join) {
        if (activity.suppressJoinFailure ?? ctx.suppressJoinFailure) {
          await this.deadPath(activity, ctx, key);
          return;
        }
        throw withPath(standardFault('joinFailure', `activity ${activity.path}${activity.name === undefined ? '' : ` "${activity.name}"`}: join condition is false`), activity.path);
      }
    }
    if (ctx.signal.aborted) throw new Terminated('terminated');
    if (record === undefined) {
      // Activities that finish at once in one transaction (assign, empty, reply) need no RUNNING row:
      // after a crash they simply run again, all or nothing. The others are recorded as started.
      this.countActivity(activity);
      if (!INSTANT_KINDS.has(activity.kind)) this.store.begin(key, activity.kind, activity.name, this.now());
      this.emit(key, activity, 'RUNNING');
    }
    let completion: Completion | void;
    try {
      const inner = activity.suppressJoinFailure === undefined ? ctx : { ...ctx, suppressJoinFailure: activity.suppressJoinFailure };
      completion = await (this.handlers[activity.kind] as Handler<Activity>)(activity, inner, key);
      if (completion?.writes !== undefined) this.checkVariableBytes(completion.writes, activity);
    } catch (err) {
      if (this.detached()) throw err;
      if (err instanceof BpelFault) {
        withPath(err, activity.path);
        const text = serializeFault(err);
        this.store.end(key, 'FAULTED', this.now(), { fault: text, kind: activity.kind, name: activity.name });
        this.emit(key, activity, 'FAULTED', `${qnameKey(err.faultName)}: ${err.message}`);
      } else if (err instanceof Terminated || err instanceof ExitProcess) {
        this.store.end(key, 'TERMINATED', this.now(), { kind: activity.kind, name: activity.name });
        this.emit(key, activity, 'TERMINATED');
      }
      throw err;
    }
    const links: Array<[string, boolean]> = [];
    for (const source of activity.sources) {
      const cell = ctx.links.get(source.link);
      if (cell === undefined) continue;
      const value = source.transitionCondition === undefined ? true : evaluateBoolean(source.transitionCondition, this.scopeView(ctx.frame), this.opts());
      links.push([cell.key, value]);
    }
    this.store.end(key, 'COMPLETED', this.now(), { writes: completion?.writes, data: completion?.data, links, kind: activity.kind, name: activity.name });
    this.applyWrites(ctx.frame, completion?.writes ?? []);
    for (const [cellKey, value] of links) this.resolveLink(ctx, cellKey, value);
    this.emit(key, activity, 'COMPLETED');
  }

  /** True once the run was aborted to leave the instance as it is (see Detached). */
  private detached(): boolean {
    return this.rootSignal?.aborted === true && this.rootSignal.reason instanceof Detached;
  }

  /** Refuses a new activity execution once the instance has written its allowance of activity rows. */
  private countActivity(activity: Activity): void {
    const count = this.store.activityCount;
    if (count < this.activityLimit) return;
    // The fault handlers that catch it get some room of their own; the limit trips again beyond it.
    this.activityLimit = count + ACTIVITY_LIMIT_GRACE;
    throw withPath(limitFault('maxActivities', this.limits, `activity ${activity.path}${activity.name === undefined ? '' : ` "${activity.name}"`}: the instance has executed ${count} activities`), activity.path);
  }

  /** Refuses variable writes that would take the instance's variables over their byte budget. */
  private checkVariableBytes(writes: readonly VariableWrite[], activity: Activity): void {
    const after = this.store.variableBytesAfter(writes);
    if (after <= this.limits.maxVariableBytes) return;
    throw limitFault('maxVariableBytes', this.limits, `activity ${activity.path}${activity.name === undefined ? '' : ` "${activity.name}"`}: its variable writes would bring the instance's variables to ${after} bytes`);
  }

  private resolveLink(ctx: Context, cellKey: string, value: boolean): void {
    for (const cell of ctx.links.values()) {
      if (cell.key === cellKey && cell.value === undefined) {
        cell.value = value;
        cell.resolve(value);
      }
    }
  }

  /** On replay of a finished activity, its outgoing links already hold their persisted values. */
  private settleLinksFromStore(activity: Activity, ctx: Context): void {
    for (const source of activity.sources) {
      const cell = ctx.links.get(source.link);
      if (cell === undefined) continue;
      const value = this.store.links.get(cell.key);
      if (value !== undefined) this.resolveLink(ctx, cell.key, value);
    }
  }

  /** Dead-path elimination: the activity does not run; its outgoing links, and those of everything inside it, become false. */
  private async deadPath(activity: Activity, ctx: Context, key: string): Promise<void> {
    const links: Array<[string, boolean]> = [];
    const visit = (a: Activity): void => {
      for (const source of a.sources) {
        const cell = ctx.links.get(source.link);
        if (cell !== undefined && cell.value === undefined && !links.some(([k]) => k === cell.key)) links.push([cell.key, false]);
      }
      for (const child of childActivities(a)) visit(child.activity);
    };
    visit(activity);
    this.store.end(key, 'SKIPPED', this.now(), { links, kind: activity.kind, name: activity.name });
    for (const [cellKey, value] of links) this.resolveLink(ctx, cellKey, value);
    this.emit(key, activity, 'SKIPPED');
  }

  // ---- variables ---------------------------------------------------------

  private newFrame(key: string, declarations: readonly VariableDeclaration[], parent: Frame | undefined, correlationSets: readonly CorrelationSet[] = []): Frame {
    const frame: Frame = {
      key,
      declarations: new Map(declarations.map((d) => [d.name, d])),
      values: new Map(),
      parent,
      ...(correlationSets.length > 0 ? { correlationSets: new Map(correlationSets.map((s) => [s.name, s])) } : {}),
    };
    for (const d of declarations) {
      const stored = this.store.variables.get(InstanceStore.variableKey(key, d.name));
      frame.values.set(d.name, stored === undefined ? undefined : deserializeValue(stored));
    }
    return frame;
  }

  /** Initialises declared variables that have an inline `<from>` and no stored value yet. */
  private async initialise(frame: Frame, scope: Scope): Promise<void> {
    const writes: VariableWrite[] = [];
    for (const d of frame.declarations.values()) {
      if (d.from === undefined || frame.values.get(d.name) !== undefined) continue;
      const value = initialValue(d, this.scopeView(frame), this.opts());
      if (value === undefined) continue;
      frame.values.set(d.name, value);
      writes.push({ scopeKey: frame.key, name: d.name, value: serializeValue(value) });
    }
    this.checkVariableBytes(writes, scope);
    this.store.writeVariables(writes);
  }

  private findFrame(frame: Frame, name: string): Frame | undefined {
    for (let f: Frame | undefined = frame; f !== undefined; f = f.parent) if (f.declarations.has(name)) return f;
    return undefined;
  }

  private scopeView(frame: Frame): VariableScope {
    return {
      lookup: (name: string) => {
        const f = this.findFrame(frame, name);
        if (f === undefined) return undefined;
        const declaration = f.declarations.get(name);
        return declaration === undefined ? undefined : { declaration, value: f.values.get(name) };
      },
    };
  }

  /** A scope that records writes instead of applying them; the caller persists them with the activity's end. */
  private recordingView(frame: Frame): { scope: MutableVariableScope; writes: VariableWrite[] } {
    const pending = new Map<Frame, Map<string, VariableValue>>();
    const writes: VariableWrite[] = [];
    const scope: MutableVariableScope = {
      lookup: (name: string) => {
        const f = this.findFrame(frame, name);
        if (f === undefined) return undefined;
        const declaration = f.declarations.get(name);
        if (declaration === undefined) return undefined;
        const overridden = pending.get(f)?.get(name);
        return { declaration, value: overridden ?? f.values.get(name) };
      },
      set: (name: string, value: VariableValue) => {
        const f = this.findFrame(frame, name);
        if (f === undefined) throw standardFault('invalidVariables', `variable "${name}" is not declared`);
        let map = pending.get(f);
        if (map === undefined) pending.set(f, (map = new Map()));
        map.set(name, value);
        const existing = writes.findIndex((w) => w.scopeKey === f.key && w.name === name);
        const write: VariableWrite = { scopeKey: f.key, name, value: serializeValue(value), parsed: value };
        if (existing >= 0) writes[existing] = write;
        else writes.push(write);
      },
    };
    return { scope, writes };
  }

  private applyWrites(frame: Frame, writes: readonly VariableWrite[]): void {
    for (const w of writes) {
      for (let f: Frame | undefined = frame; f !== undefined; f = f.parent) {
        if (f.key === w.scopeKey && f.declarations.has(w.name)) {
          f.values.set(w.name, w.parsed ?? deserializeValue(w.value));
          break;
        }
      }
    }
  }

  private read(ctx: Context, name: string, at: Activity): VariableValue | undefined {
    const f = this.findFrame(ctx.frame, name);
    if (f === undefined) throw withPath(standardFault('invalidVariables', `activity ${at.path}: variable "${name}" is not declared`), at.path);
    return f.values.get(name);
  }

  /**
   * A message as the variable receiving it is declared: itself for a message
   * variable; for an element variable (WS-BPEL SA00048, SA00058), the element
   * of the message's single part.
   */
  private asDeclared(ctx: Context, name: string, message: VariableValue, at: Activity): VariableValue {
    const declaration = this.findFrame(ctx.frame, name)?.declarations.get(name);
    if (declaration === undefined || declaration.messageType !== undefined || message.kind !== 'message') return message;
    const [only, ...more] = [...message.parts.values()];
    if (only === undefined || more.length > 0 || typeof only === 'string') {
      throw withPath(
        standardFault('mismatchedAssignmentFailure', `activity ${at.path}${at.name === undefined ? '' : ` "${at.name}"`}: variable "${name}" is an element variable, but the message has ${message.parts.size === 1 ? 'a text part' : `${message.parts.size} parts`}`),
        at.path,
      );
    }
    return { kind: 'element', element: only };
  }

  // ---- basic activities --------------------------------------------------

  private async invoke(activity: Invoke, ctx: Context, key: string): Promise<Completion> {
    const partnerLink = this.process.partnerLinks.find((p) => p.name === activity.partnerLink);
    if (partnerLink === undefined) throw standardFault('invalidVariables', `activity ${activity.path}: partner link "${activity.partnerLink}" is not declared`);
    const where = `activity ${activity.path}${activity.name === undefined ? '' : ` "${activity.name}"`}`;
    const messages = this.messageTypes(activity.partnerLink, 'partner', activity.operation);
    let input: VariableValue | undefined;
    let inputTyped: Typed = {};
    if (activity.toParts !== undefined) {
      input = this.fromVariables(activity.toParts, messages?.input, ctx, where);
      inputTyped = { messageType: messages?.input };
    } else if (activity.inputVariable !== undefined) {
      input = this.read(ctx, activity.inputVariable, activity);
      if (input === undefined) throw standardFault('uninitializedVariable', `${where}: input variable "${activity.inputVariable}" is not initialised`);
      inputTyped = this.typedVariable(ctx, activity.inputVariable);
    }
    const requestCorrelations = activity.correlations.filter((c) => c.pattern !== 'response');
    if (requestCorrelations.length > 0 && input !== undefined) {
      await this.correlate(requestCorrelations, inputTyped, input, ctx, key, where);
    }
    // An effect leaves only from a durable state: after a crash, replay reaches this invoke again
    // with the same input and idempotency key, so the partner answers the first call's result.
    if (this.deps.invoker.effectFree?.({ partnerLink, portType: activity.portType, operation: activity.operation }) !== true) await this.store.durable();
    const poll = ctx.poll;
    if (poll !== undefined) poll.invokes++;
    const output = await this.deps.invoker.invoke({
      instanceId: this.deps.instanceId,
      partnerLink,
      portType: activity.portType,
      operation: activity.operation,
      input,
      idempotencyKey: `${this.deps.instanceId}${key}`,
      activityPath: activity.path,
      signal: ctx.signal,
      ...(poll === undefined
        ? {}
        : {
            onStanding: (answer: StandingAnswer) => {
              poll.answer = answer;
            },
          }),
    });
    const responseCorrelations = activity.correlations.filter((c) => c.pattern === 'response' || c.pattern === 'request-response');
    if (responseCorrelations.length > 0 && output !== undefined) {
      await this.correlate(responseCorrelations, { messageType: messages?.output }, output, ctx, key, where);
    }
    const requestId = requestIdOf(output);
    const data = requestId === undefined ? undefined : JSON.stringify({ requestId });
    const writes =
      output === undefined
        ? undefined
        : activity.fromParts !== undefined
          ? this.intoVariables(activity.fromParts, output, messages?.output, ctx, where)
          : activity.outputVariable !== undefined
            ? this.intoVariable(ctx, activity.outputVariable, output, activity)
            : undefined;
    if (writes === undefined) return data === undefined ? {} : { data };
    return data === undefined ? { writes } : { writes, data };
  }

  private async receive(activity: Receive, ctx: Context, key: string): Promise<Completion> {
    const where = describeActivity(activity);
    if (activity.createInstance && this.createdBy(activity, [activity])) {
      const input = this.deps.initialMessage;
      if (input === undefined) return {};
      const accepted = await this.accept(activity, input, undefined, ctx, key, where, activity);
      return { writes: accepted.writes };
    }
    if (activity.createInstance) await this.untilJoinable([activity], ctx, where);
    const taken = await this.waitMessage([activity], ctx, key, ctx.signal, undefined, where);
    if (taken === undefined) throw new Terminated('terminated');
    const accepted = await this.accept(activity, taken.message, taken.id, ctx, key, where, activity);
    return { writes: accepted.writes, data: JSON.stringify(accepted.data) };
  }

  private async reply(activity: Reply, ctx: Context, key: string): Promise<Completion> {
    const where = describeActivity(activity);
    const output = this.messageTypes(activity.partnerLink, 'my', activity.operation)?.output;
    const message =
      activity.toParts !== undefined ? this.fromVariables(activity.toParts, activity.faultName === undefined ? output : undefined, ctx, where) : activity.variable === undefined ? undefined : this.read(ctx, activity.variable, activity);
    const exchange = exchangeKey(activity);
    const open = this.openRequests().get(exchange)?.[0];
    if (message !== undefined && activity.correlations.length > 0) {
      await this.correlate(activity.correlations, activity.variable === undefined ? { messageType: output } : this.typedVariable(ctx, activity.variable), message, ctx, key, where);
    }
    if (open !== undefined) {
      // The answer to a message taken after the instance was created: recorded with that message, in the reply's transaction.
      const stored: StoredReply = { ...(message !== undefined ? { message: serializeValue(message) } : {}), ...(activity.faultName !== undefined ? { fault: qnameKey(activity.faultName) } : {}) };
      this.store.statement({ sql: WORKFLOW_SQL.replyToMessage, params: [JSON.stringify(stored), open, this.deps.instanceId], table: 'process_message' });
      return { data: JSON.stringify({ repliedTo: open, message: stored.message, fault: stored.fault }) };
    }
    const creating = this.startActivities.some(
      (a) => (a.kind === 'receive' && a.partnerLink === activity.partnerLink && a.operation === activity.operation) || (a.kind === 'pick' && a.messages.some((m) => m.partnerLink === activity.partnerLink && m.operation === activity.operation)),
    );
    if (!creating) throw withPath(standardFault('missingRequest', `${where}: no request of operation "${activity.operation}" on partner link "${activity.partnerLink}"${activity.messageExchange === undefined ? '' : ` (message exchange "${activity.messageExchange}")`} is open to reply to`), activity.path);
    this.deps.onReply?.(message, activity.faultName);
    // The answer to the creating request: read from this row by whoever waits for it, so the fault is recorded with the message.
    const reply: CreatingReply = { replied: true, ...(message !== undefined ? { message: serializeValue(message) } : {}), ...(activity.faultName !== undefined ? { fault: qnameKey(activity.faultName) } : {}) };
    return { data: JSON.stringify(reply) };
  }

  /** The anonymous message a `<toParts>` builds from its variables; a fault names the activity. */
  private fromVariables(toParts: NonNullable<Invoke['toParts']>, messageType: QName | undefined, ctx: Context, where: string): VariableValue {
    try {
      return messageFromParts(toParts, messageType, this.scopeView(ctx.frame), this.opts());
    } catch (err) {
      if (err instanceof BpelFault) throw new BpelFault(err.faultName, `${where}: ${err.message}`, err.data);
      throw err;
    }
  }

  /** The write of a whole message into its variable (as the variable is declared, see asDeclared). */
  private intoVariable(ctx: Context, name: string, message: VariableValue, at: Activity): VariableWrite[] {
    const { scope, writes } = this.recordingView(ctx.frame);
    scope.set(name, this.asDeclared(ctx, name, message, at));
    return writes;
  }

  /** The writes a `<fromParts>` makes, each part copied into its variable; a fault names the activity. */
  private intoVariables(fromParts: NonNullable<Invoke['fromParts']>, message: VariableValue, messageType: QName | undefined, ctx: Context, where: string): VariableWrite[] {
    const { scope, writes } = this.recordingView(ctx.frame);
    try {
      copyFromParts(fromParts, message, messageType, scope, this.opts());
    } catch (err) {
      if (err instanceof BpelFault) throw new BpelFault(err.faultName, `${where}: ${err.message}`, err.data);
      throw err;
    }
    return writes;
  }

  // ---- messages and correlation -------------------------------------------

  /**
   * Whether the message that created the instance is this start activity's.
   * With one start activity it always is. With several (WS-BPEL 2.0 §10.4,
   * `initiate="join"`) it is the one of the operation the message came to
   * (the first in document order for an instance started without one); the
   * others take their message like any receive, routed by the joined set.
   */
  private createdBy(activity: Activity, messages: readonly InboundMessage[]): boolean {
    if (this.startActivities.length < 2) return true;
    const operation = this.deps.initialOperation;
    if (operation === undefined) return this.startActivities[0] === activity;
    return messages.some((m) => `${m.partnerLink}/${m.operation}` === operation);
  }

  /** Waits until the set a start activity joins is initiated (by the start activity the creating message went to). */
  private async untilJoinable(messages: readonly InboundMessage[], ctx: Context, where: string): Promise<void> {
    const routing = messages[0]?.correlations.find((c) => c.initiate === 'join');
    if (routing === undefined) return;
    const { stored } = this.correlationSet(ctx, routing.set, where);
    while (!this.store.correlations.has(stored) && !ctx.signal.aborted) await untilEither(this.initiated.promise, [ctx.signal]);
    if (ctx.signal.aborted) throw new Terminated('terminated');
  }

  /** The WSDL messages of a partner link's operation, when known. */
  private messageTypes(partnerLink: string, role: 'my' | 'partner', operation: string): { readonly input?: QName; readonly output?: QName } | undefined {
    return this.deps.operationMessages?.(partnerLink, role, operation);
  }

  /** How a variable is declared, for its property aliases. */
  private typedVariable(ctx: Context, name: string): Typed {
    const d = this.findFrame(ctx.frame, name)?.declarations.get(name);
    return d === undefined ? {} : { ...(d.messageType ? { messageType: d.messageType } : {}), ...(d.element ? { element: d.element } : {}), ...(d.type ? { type: d.type } : {}) };
  }

  /**
   * Checks a message against its activity's correlations and initiates those
   * it initiates (WS-BPEL 2.0 §9.2), durably: a message carrying the values
   * is routed to this instance from then on. `key` is the activity
   * execution's: replayed after a crash, it initiates its sets again without
   * a violation.
   *
   * @throws BpelFault bpel:correlationViolation
   */
  private async correlate(correlations: readonly Correlation[], typed: Typed, message: VariableValue, ctx: Context, key: string, where: string): Promise<void> {
    const initiated: Array<{ set: string; key: string; values: string[]; by: string }> = [];
    for (const c of correlations) {
      const { set, stored } = this.correlationSet(ctx, c.set, where);
      const values = correlationValues(this.properties, set, typed, message, where);
      const valueKey = correlationKey(set.name, values);
      const current = this.store.correlations.get(stored);
      if (current === undefined) {
        if (c.initiate === 'no') throw standardFault('correlationViolation', `${where}: correlation set "${set.name}" is not initiated (initiate="no")`);
        initiated.push({ set: stored, key: valueKey, values, by: key });
      } else if (c.initiate === 'yes' && current.by !== key) {
        throw standardFault('correlationViolation', `${where}: correlation set "${set.name}" is already initiated (initiate="yes")`);
      } else if (current.key !== valueKey) {
        throw standardFault('correlationViolation', `${where}: the message's values of correlation set "${set.name}" (${values.join(', ')}) are not the ones the instance holds`);
      }
    }
    await this.store.initiateCorrelations(this.process.name, initiated);
    if (initiated.length > 0) {
      const initiatedNow = this.initiated;
      this.initiated = settledSignal();
      initiatedNow.resolve();
    }
  }

  /** Resolved (and replaced) each time the instance initiates correlation sets: event handlers wait on it for their routing set. */
  private initiated = settledSignal();

  /**
   * The correlation set a name stands for where `ctx` is: the one the
   * innermost enclosing scope instance (or the process) declares, and the
   * name its values are stored under. A scope instance's sets are its own
   * (WS-BPEL 2.0 §9.2): each instance of the scope, a loop's iterations and
   * parallel forEach branches included, initiates them anew.
   */
  private correlationSet(ctx: Context, name: string, where: string): { readonly set: CorrelationSet; readonly stored: string } {
    for (let f: Frame | undefined = ctx.frame; f !== undefined; f = f.parent) {
      const set = f.correlationSets?.get(name);
      if (set !== undefined) return { set, stored: storedSetName(name, f.key) };
    }
    throw standardFault('correlationViolation', `${where}: correlation set "${name}" is not declared`);
  }

  /** Forgets the correlation sets of a scope instance that ended: messages carrying their values no longer reach the instance by them. */
  private releaseCorrelations(frame: Frame): void {
    if (frame.correlationSets === undefined || frame.key === '/process') return;
    for (const name of frame.correlationSets.keys()) {
      const stored = storedSetName(name, frame.key);
      if (!this.store.correlations.has(stored)) continue;
      this.store.correlations.delete(stored);
      this.store.statement({ sql: WORKFLOW_SQL.releaseCorrelation, params: [this.deps.instanceId, stored], table: 'process_correlation' });
    }
  }

  /**
   * The messages an inbound activity takes (its operation, with the values
   * of the set that routes it), and what two activities waiting at once
   * may not share: the operation and the routing set's instance.
   */
  private wanted(message: InboundMessage, ctx: Context, where: string): { readonly wanted: MessageWanted; readonly conflict: string } {
    const routing = message.correlations.find((c) => c.initiate !== 'yes');
    if (routing === undefined) throw standardFault('correlationViolation', `${where}: no correlation set routes messages of operation "${message.operation}" to this instance`);
    const { stored } = this.correlationSet(ctx, routing.set, where);
    const current = this.store.correlations.get(stored);
    if (current === undefined) throw standardFault('correlationViolation', `${where}: correlation set "${routing.set}" is not initiated, so no message can reach this instance by it`);
    const operation = `${message.partnerLink}/${message.operation}`;
    return { wanted: { operation, correlationKey: current.key }, conflict: `${operation}\u0000${stored}` };
  }

  /**
   * Inbound activities of this instance waiting now, by `partnerLink/operation`
   * and routing set instance (for bpel:conflictingReceive): the branches of a
   * parallel forEach may each wait for the operation, by their own scope's set.
   */
  private readonly waiting = new Set<string>();

  /**
   * Waits for a message for one of `messages`, taken for the activity
   * execution `consumerKey` (after a crash: the one it took before).
   * Undefined when `stop` (or the activity's termination) ends the wait first.
   */
  private async waitMessage(messages: readonly InboundMessage[], ctx: Context, consumerKey: string, signal: AbortSignal, stop: AbortSignal | undefined, where: string): Promise<TakenMessage | undefined> {
    const source = this.deps.messages;
    if (source === undefined) throw new Error(`${where}: the engine has no message box`);
    const wants = messages.map((m) => this.wanted(m, ctx, where));
    const wanted = wants.map((w) => w.wanted);
    const conflicts = [...new Set(wants.map((w) => w.conflict))];
    for (const want of wants) {
      if (this.waiting.has(want.conflict)) throw standardFault('conflictingReceive', `${where}: another activity of this instance already waits for a message of ${want.wanted.operation} by the same correlation set`);
    }
    for (const conflict of conflicts) this.waiting.add(conflict);
    const { controller, release } = childController(signal);
    const onStop = (): void => controller.abort(new Error('stopped'));
    stop?.addEventListener('abort', onStop, { once: true });
    if (stop?.aborted === true) controller.abort(new Error('stopped'));
    try {
      const taken = await source.waitFor({ instanceId: this.deps.instanceId, consumerKey, processName: this.process.name, wanted, stop: controller.signal });
      if (taken === undefined && signal.aborted) throw new Terminated('terminated');
      return taken;
    } finally {
      stop?.removeEventListener('abort', onStop);
      release();
      for (const conflict of conflicts) this.waiting.delete(conflict);
    }
  }

  /**
   * A message into its activity: correlations checked and initiated, the
   * request left open for a reply (request-response operations), the
   * variable's write. `messageId` is absent for the instance-creating message.
   */
  private async accept(
    inbound: InboundMessage,
    message: VariableValue,
    messageId: number | undefined,
    ctx: Context,
    key: string,
    where: string,
    at: Activity,
  ): Promise<{ writes: VariableWrite[]; data: { messageId?: number; exchange?: string } }> {
    const types = this.messageTypes(inbound.partnerLink, 'my', inbound.operation);
    await this.correlate(inbound.correlations, { messageType: types?.input }, message, ctx, key, where);
    let exchange: string | undefined;
    if (messageId !== undefined && types?.output !== undefined) {
      exchange = exchangeKey(inbound);
      if ((this.openRequests().get(exchange)?.length ?? 0) > 0) {
        throw standardFault('conflictingRequest', `${where}: a request of operation "${inbound.operation}" on partner link "${inbound.partnerLink}"${inbound.messageExchange === undefined ? '' : ` (message exchange "${inbound.messageExchange}")`} is still open, not yet replied to`);
      }
    }
    const writes =
      inbound.fromParts !== undefined
        ? this.intoVariables(inbound.fromParts, message, types?.input, ctx, where)
        : inbound.variable !== undefined
          ? this.intoVariable(ctx, inbound.variable, message, at)
          : [];
    return { writes, data: { ...(messageId !== undefined ? { messageId } : {}), ...(exchange !== undefined ? { exchange } : {}) } };
  }

  /** Requests taken and not yet replied to, by exchange key, oldest first (read from the activity rows, so a resumed instance knows them). */
  private openRequests(): Map<string, number[]> {
    const received: Array<{ exchange: string; id: number }> = [];
    const replied = new Set<number>();
    for (const record of this.store.activities.values()) {
      const data = record.data;
      if (data === null || (!data.includes('"exchange"') && !data.includes('"repliedTo"'))) continue;
      try {
        const parsed = JSON.parse(data) as { exchange?: unknown; messageId?: unknown; repliedTo?: unknown };
        if (typeof parsed.repliedTo === 'number') replied.add(parsed.repliedTo);
        if (typeof parsed.exchange === 'string' && typeof parsed.messageId === 'number') received.push({ exchange: parsed.exchange, id: parsed.messageId });
      } catch {
        // Data of another form: no request there.
      }
    }
    const open = new Map<string, number[]>();
    for (const r of received.sort((a, b) => a.id - b.id)) {
      if (!replied.has(r.id)) open.set(r.exchange, [...(open.get(r.exchange) ?? []), r.id]);
    }
    return open;
  }

  /**
   * `<pick>`: the first of its messages or alarms. The choice, and the
   * message's variable, are the pick's data; the message is taken for the
   * pick's execution key, so a resumed pick finds the same message again.
   * A message taken while an alarm fires wins over the alarm.
   */
  private async pick(activity: Pick, ctx: Context, key: string): Promise<void> {
    const where = describeActivity(activity);
    let choice = this.data<{ branch: number }>(key);
    if (choice === undefined) {
      let writes: VariableWrite[] = [];
      let data: { branch: number; messageId?: number; exchange?: string };
      if (activity.createInstance && this.createdBy(activity, activity.messages)) {
        const found = activity.messages.findIndex((m) => `${m.partnerLink}/${m.operation}` === this.deps.initialOperation);
        const branch = found < 0 ? 0 : found;
        const onMessage = activity.messages[branch];
        const input = this.deps.initialMessage;
        if (onMessage !== undefined && input !== undefined) ({ writes } = await this.accept(onMessage, input, undefined, ctx, key, where, activity));
        data = { branch };
      } else {
        if (activity.createInstance) await this.untilJoinable(activity.messages, ctx, where);
        const taken = await this.pickWait(activity, ctx, key, where);
        if (taken.message === undefined) data = { branch: activity.messages.length + taken.alarm };
        else {
          const branch = Math.max(0, activity.messages.findIndex((m) => `${m.partnerLink}/${m.operation}` === taken.message.operation));
          const onMessage = activity.messages[branch] as InboundMessage;
          const accepted = await this.accept(onMessage, taken.message.message, taken.message.id, ctx, key, where, activity);
          writes = accepted.writes;
          data = { branch, ...accepted.data };
        }
      }
      this.store.setData(key, JSON.stringify(data), writes);
      this.applyWrites(ctx.frame, writes);
      choice = data;
    }
    const branches = [...activity.messages.map((m) => m.activity), ...activity.alarms.map((a) => a.activity)];
    const target = branches[choice.branch];
    for (const other of branches) {
      if (other !== target && !this.store.activities.has(this.keyOf(other, ctx))) await this.deadPath(other, ctx, this.keyOf(other, ctx));
    }
    if (target !== undefined) await this.exec(target, ctx);
  }

  /** Waits for a pick's first message or alarm. */
  private async pickWait(activity: Pick, ctx: Context, key: string, where: string): Promise<{ message: TakenMessage; alarm: -1 } | { message: undefined; alarm: number }> {
    const view = this.scopeView(ctx.frame);
    let earliest: { index: number; due: Date; timerKey: string } | undefined;
    for (const [index, alarm] of activity.alarms.entries()) {
      const timerKey = this.keyOf(alarm, ctx);
      let due = this.store.timers.get(timerKey);
      if (due === undefined) {
        const computed = alarm.for !== undefined ? new Date(this.deps.clock.now() + evaluateDuration(alarm.for, view, this.opts())) : evaluateDeadline(alarm.until ?? alarm.for!, view, this.opts());
        due = await this.store.timer(timerKey, 'alarm', computed);
      }
      if (earliest === undefined || due.getTime() < earliest.due.getTime()) earliest = { index, due, timerKey };
    }
    const stop = new AbortController();
    const waiting = this.waitMessage(activity.messages, ctx, key, ctx.signal, stop.signal, where);
    if (earliest === undefined) {
      const message = await waiting;
      if (message === undefined) throw new Terminated('terminated');
      return { message, alarm: -1 };
    }
    const { controller, release } = childController(ctx.signal);
    try {
      const fired = sleepUntilDue(this.deps.clock, earliest.due, controller.signal).then(
        () => true,
        (err: unknown) => {
          if (err instanceof Terminated) return false;
          throw err;
        },
      );
      const first = await Promise.race([waiting.then(() => 'message' as const), fired.then((f) => (f ? ('alarm' as const) : ('none' as const)))]);
      if (first === 'alarm') stop.abort();
      else controller.abort();
      const message = await waiting;
      if (message !== undefined) return { message, alarm: -1 };
      if (ctx.signal.aborted || first !== 'alarm') throw new Terminated('terminated');
      this.store.timerFired(earliest.timerKey, this.now());
      return { message: undefined, alarm: earliest.index };
    } finally {
      controller.abort();
      stop.abort();
      release();
    }
  }

  /**
   * `<onEvent>`: while its scope's main activity runs, each message of its
   * operation starts an instance of the handler's scope (concurrently, each
   * with its own copy of the event's variable). Message n is taken for the
   * key `…/onEvent[k]#n`, recorded as an `onEvent` activity row holding the
   * open request; once the scope's main activity ends no new message is
   * taken, and the running instances finish.
   */
  private async runEvent(event: OnEvent, ctx: Context, disabled: AbortSignal): Promise<void> {
    const base = this.keyOf(event, ctx);
    const where = `event handler ${event.path}`;
    const declarations: VariableDeclaration[] =
      event.variable !== undefined
        ? [{ name: event.variable, line: event.line, ...(event.messageType ? { messageType: event.messageType } : {}), ...(event.element ? { element: event.element } : {}) }]
        : event.fromParts !== undefined
          ? this.eventPartVariables(event)
          : [];
    const failed = new AbortController();
    let failure: unknown;
    const instances: Array<Promise<void>> = [];
    const stop = AbortSignal.any([disabled, failed.signal]);
    for (let n = 1; ; n++) {
      const consumerKey = `${base}#${n}`;
      const frame = this.newFrame(`${consumerKey}/event`, declarations, ctx.frame);
      const eventCtx: Context = { ...ctx, frame, anchor: { path: event.path, key: consumerKey } };
      const record = this.store.activities.get(consumerKey);
      if (record === undefined || record.state === 'RUNNING') {
        // A process-level handler is enabled before the start activity initiated the set that routes its messages.
        const routing = event.correlations.find((c) => c.initiate !== 'yes');
        const routingSet = routing === undefined ? undefined : this.correlationSet(ctx, routing.set, where).stored;
        while (routingSet !== undefined && !this.store.correlations.has(routingSet) && !stop.aborted && !ctx.signal.aborted) {
          await untilEither(this.initiated.promise, [stop, ctx.signal]);
        }
        if (ctx.signal.aborted) throw new Terminated('terminated');
        if (stop.aborted) break;
        const taken = await this.waitMessage([event], eventCtx, consumerKey, ctx.signal, stop, where);
        if (taken === undefined) break;
        const accepted = await this.accept(event, taken.message, taken.id, eventCtx, consumerKey, where, event.scope);
        this.store.end(consumerKey, 'COMPLETED', this.now(), { writes: accepted.writes, data: JSON.stringify(accepted.data), kind: 'onEvent' });
        this.applyWrites(frame, accepted.writes);
      }
      instances.push(
        this.exec(event.scope, eventCtx).catch((err: unknown) => {
          failure ??= err;
          failed.abort();
        }),
      );
    }
    await Promise.all(instances);
    if (failure !== undefined) throw failure;
  }

  /** The variables an onEvent's fromParts declare in the handler's scope, each of its part's element or type. */
  private eventPartVariables(event: OnEvent): VariableDeclaration[] {
    const input = this.messageTypes(event.partnerLink, 'my', event.operation)?.input;
    const parts = input === undefined ? undefined : this.deps.messageParts?.(input);
    return fromPartDeclarations(event.fromParts ?? [], parts);
  }

  private async assign(activity: Assign, ctx: Context): Promise<Completion> {
    const { scope, writes } = this.recordingView(ctx.frame);
    executeAssign(activity, scope, this.opts());
    return { writes };
  }

  private async wait(activity: Wait, ctx: Context, key: string): Promise<Completion> {
    const view = this.scopeView(ctx.frame);
    let due = this.store.timers.get(key);
    const startedAt = this.deps.clock.now();
    if (due === undefined) {
      // A parked loop's next iteration keeps the times its iterations would have had.
      const seeded = this.seededDues.get(key);
      if (seeded !== undefined) this.seededDues.delete(key);
      const computed = seeded ?? (activity.for !== undefined ? new Date(startedAt + evaluateDuration(activity.for, view, this.opts())) : activity.until !== undefined ? evaluateDeadline(activity.until, view, this.opts()) : this.now());
      due = await this.store.timer(key, 'wait', computed);
    }
    const poll = ctx.poll;
    if (poll !== undefined) {
      poll.slept += Math.max(0, due.getTime() - startedAt);
      if (poll.invokes === 0 && key.startsWith(poll.prefix)) {
        poll.sleptBeforeInvoke = poll.slept;
        poll.waits.push({ rest: key.slice(poll.prefix.length), dueOffset: poll.slept });
      }
    }
    await sleepUntilDue(this.deps.clock, due, ctx.signal);
    this.store.timerFired(key, this.now());
    return {};
  }

  private async throwFault(activity: Throw, ctx: Context): Promise<never> {
    const data = activity.faultVariable === undefined ? undefined : this.read(ctx, activity.faultVariable, activity);
    // A simple-typed fault variable is the plan's own account of what went wrong: the message carries it
    // (capped, since the message is stored with the fault in a TEXT column).
    const text = data?.kind === 'simple' ? String(data.value) : '';
    const detail = text === '' ? '' : `: ${text.length > THROW_DETAIL_LIMIT ? `${text.slice(0, THROW_DETAIL_LIMIT)}…` : text}`;
    throw new BpelFault(activity.faultName, `activity ${activity.path}${activity.name === undefined ? '' : ` "${activity.name}"`} threw ${qnameKey(activity.faultName)}${detail}`, data);
  }

  // ---- structured activities --------------------------------------------

  private async sequence(activity: Sequence, ctx: Context): Promise<void> {
    for (const child of activity.activities) await this.exec(child, ctx);
  }

  /**
   * Runs activities concurrently; the first fault terminates the others, then
   * is rethrown once all settled. `enough`, asked after each success, ends the
   * others early without a fault (a forEach completion condition).
   */
  private async concurrently(runs: ReadonlyArray<(signal: AbortSignal) => Promise<void>>, ctx: Context, enough: () => boolean = () => false): Promise<void> {
    const { controller, release } = childController(ctx.signal);
    // One listener per branch is expected here; their number is bounded by the plan limits.
    setMaxListeners(runs.length + 10, controller.signal);
    const early = new Error('completion condition met');
    let firstError: unknown;
    try {
      await Promise.all(
        runs.map((run) =>
          run(controller.signal).then(
            () => {
              if (enough()) controller.abort(early);
            },
            (err: unknown) => {
              if (err instanceof Terminated && controller.signal.reason === early) return;
              if (firstError === undefined || (firstError instanceof Terminated && !(err instanceof Terminated))) firstError = err;
              controller.abort(err);
            },
          ),
        ),
      );
    } finally {
      release();
    }
    if (firstError !== undefined) throw firstError;
  }

  private async flow(activity: Flow, ctx: Context, key: string): Promise<void> {
    const links = new Map(ctx.links);
    for (const link of activity.links) {
      let resolve!: (value: boolean) => void;
      const settled = new Promise<boolean>((r) => (resolve = r));
      const cell: LinkCell = { key: `${key}~${link.name}`, value: undefined, settled, resolve };
      const stored = this.store.links.get(cell.key);
      if (stored !== undefined) {
        cell.value = stored;
        resolve(stored);
      }
      links.set(link.name, cell);
    }
    await this.concurrently(
      activity.activities.map((child) => (signal: AbortSignal) => this.exec(child, { ...ctx, links, signal })),
      ctx,
    );
  }

  private data<T>(key: string): T | undefined {
    const text = this.store.activities.get(key)?.data;
    return text === undefined || text === null ? undefined : (JSON.parse(text) as T);
  }

  private async choose(activity: If, ctx: Context, key: string): Promise<void> {
    let chosen = this.data<{ branch: number }>(key)?.branch;
    if (chosen === undefined) {
      const view = this.scopeView(ctx.frame);
      chosen = activity.branches.findIndex((b) => evaluateBoolean(b.condition, view, this.opts()));
      this.store.setData(key, JSON.stringify({ branch: chosen }));
    }
    const branches = [...activity.branches.map((b) => b.activity), ...(activity.else === undefined ? [] : [activity.else])];
    const target = chosen === -1 ? activity.else : activity.branches[chosen]?.activity;
    for (const other of branches) {
      if (other !== target && !this.store.activities.has(this.keyOf(other, ctx))) await this.deadPath(other, ctx, this.keyOf(other, ctx));
    }
    if (target !== undefined) await this.exec(target, ctx);
  }

  /**
   * `while` and `repeatUntil`. A poll-shaped loop (see {@link pollShaped})
   * parks: once an iteration asked a partner something whose answer stands
   * (a running request's status) and changed no variable that the next one
   * would not write again alike, the iterations after it would be copies of
   * it as long as the answer stands, so the loop does not run them. It
   * sleeps until the partner reports a change (the request's end) and then
   * counts the iterations that would have asked in the meantime as run,
   * without rows, and goes on with the next on the same times
   * (docs/workflow.md, "Parked poll loops").
   */
  private async loop(activity: While | RepeatUntil, ctx: Context, key: string): Promise<void> {
    const state = this.data<LoopData>(key) ?? { iteration: 0, inBody: false };
    let { iteration, inBody } = state;
    let parked = state.parked ?? 0;
    const pollable = this.pollShaped(activity);
    const forgettable = this.forgettable(activity);
    let template: PollTemplate | undefined;
    // A loop that stopped between a park and its next iteration keeps that iteration's time.
    if (!inBody && state.resumeAt !== undefined) await sleepUntilDue(this.deps.clock, new Date(state.resumeAt), ctx.signal);
    for (;;) {
      if (ctx.signal.aborted) throw new Terminated('terminated');
      let tracker: PollTracker | undefined;
      if (!inBody) {
        const view = this.scopeView(ctx.frame);
        const proceed = activity.kind === 'while' ? evaluateBoolean(activity.condition, view, this.opts()) : iteration === 0 || !evaluateBoolean(activity.condition, view, this.opts());
        if (!proceed) return;
        if (template !== undefined) {
          ({ iteration, parked } = await this.park(key, template, parked, ctx.signal));
          template = undefined;
          continue;
        }
        if (iteration >= this.limits.maxLoopIterations) {
          throw limitFault('maxLoopIterations', this.limits, `${activity.kind} ${activity.path}${activity.name === undefined ? '' : ` "${activity.name}"`}: iteration ${iteration + 1}`);
        }
        iteration++;
        this.store.setData(key, loopData(iteration, true, parked));
        if (pollable) tracker = { prefix: `${key}#${iteration}`, startedAt: this.deps.clock.now(), invokes: 0, answer: undefined, slept: 0, sleptBeforeInvoke: 0, waits: [] };
      }
      // The variables the iteration changed, by name.
      const changed = new Set<string>();
      const unlisten = tracker === undefined ? undefined : this.store.onVariableChange((k) => changed.add(InstanceStore.variableName(k)));
      try {
        await this.exec(activity.activity, { ...ctx, anchor: { path: activity.path, key: `${key}#${iteration}` }, poll: tracker });
      } finally {
        unlisten?.();
      }
      inBody = false;
      this.store.setData(key, loopData(iteration, false, parked));
      if (tracker?.answer !== undefined && tracker.invokes === 1 && tracker.slept > 0 && this.rewrittenAlike(activity, changed) && tracker.answer.holds()) {
        template = { iteration, startedAt: tracker.startedAt, invokeOffset: tracker.sleptBeforeInvoke, period: tracker.slept, answer: tracker.answer, waits: tracker.waits };
      }
      // The ended iteration's rows are written (or on their way); the run never looks at them again.
      if (forgettable !== null) this.store.forget(forgettable.map((rest) => `${key}#${iteration}${rest}`));
    }
  }

  /**
   * Parks a loop after its iteration `t`: sleeps until the answer `t` got
   * may have changed (or a variable of the instance did, or the run is
   * stopped), then counts as run, without rows, every iteration that would
   * have sent its invoke before that moment, and seeds the waits of the next
   * one with the due times it would have had. While the answer still stands
   * the loop records how far it got every {@link PARK_RECHECK_MS} and parks
   * on. Returns the loop's iteration and parked count afterwards.
   */
  private async park(key: string, t: PollTemplate, parkedBefore: number, signal: AbortSignal): Promise<{ iteration: number; parked: number }> {
    // Iterations the loop limit still allows: the one that would pass it runs, and faults, for real.
    const room = Math.max(0, this.limits.maxLoopIterations - t.iteration);
    const asked = (now: number): number => Math.min(room, Math.max(0, Math.ceil((now - t.startedAt - t.invokeOffset) / t.period) - 1));
    let skipped = 0;
    let answerChanged = false;
    this.store.setData(key, loopData(t.iteration, false, parkedBefore, { parking: true }));
    for (;;) {
      const version = this.store.variableVersion;
      await this.parkedUntilChange(t.answer, signal);
      skipped = asked(this.deps.clock.now());
      answerChanged = !t.answer.holds();
      if (answerChanged || signal.aborted || this.store.variableVersion !== version || skipped >= room) break;
      this.store.setData(key, loopData(t.iteration + skipped, false, parkedBefore + skipped, { parking: true }));
    }
    const iteration = t.iteration + skipped;
    const parked = parkedBefore + skipped;
    if (signal.aborted) {
      this.store.setData(key, loopData(iteration, false, parked));
      throw new Terminated('terminated');
    }
    // The next iteration starts when it would have; its waits before the invoke fall due when they would have.
    const resumeAt = t.startedAt + (skipped + 1) * t.period;
    if (answerChanged) for (const w of t.waits) this.seededDues.set(`${key}#${iteration + 1}${w.rest}`, new Date(resumeAt + w.dueOffset));
    if (resumeAt > this.deps.clock.now()) {
      // Like a timer's due time, durable before the loop sleeps on it.
      this.store.setData(key, loopData(iteration, false, parked, { resumeAt }));
      await this.store.durable();
      await sleepUntilDue(this.deps.clock, new Date(resumeAt), signal);
    }
    this.store.setData(key, loopData(iteration, false, parked));
    return { iteration, parked };
  }

  /** Resolves when the standing answer may have changed, a variable of the instance changed, or `signal` aborts. */
  private async parkedUntilChange(answer: StandingAnswer, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    let stop: () => void = () => undefined;
    const stopped = new Promise<void>((resolve) => {
      stop = resolve;
    });
    signal.addEventListener('abort', stop, { once: true });
    const unlisten = this.store.onVariableChange(stop);
    try {
      await Promise.race([answer.changed(PARK_RECHECK_MS), stopped]);
    } finally {
      unlisten();
      signal.removeEventListener('abort', stop);
    }
  }

  /**
   * True when a loop may park: its condition does not read the time, and
   * its body is only sequences, ifs, empties, assigns, waits `for` a
   * duration and invokes, without links and without `pv:now()`. What else it
   * needs is seen as it runs: exactly one invoke per iteration, whose answer
   * stands, no variable changed by the iteration but those it rewrites
   * alike (see {@link rewrittenAlike}), and a wait in it.
   */
  private pollShaped(loop: While | RepeatUntil): boolean {
    let known = this.shape.pollShapes.get(loop.path);
    if (known === undefined) {
      known = !readsTime(loop.condition) && pollBody(loop.activity);
      this.shape.pollShapes.set(loop.path, known);
    }
    return known;
  }

  /**
   * True when the next iteration of a poll-shaped loop, given the same
   * answer, would write what this one wrote and change nothing: every
   * variable this one changed (`changed`, by name) is one that its body,
   * on no path, reads or writes in part before it has written it whole (see
   * {@link writtenBeforeRead}). Then what the next iteration reads is what
   * this one read, and so are its writes.
   */
  private rewrittenAlike(loop: While | RepeatUntil, changed: ReadonlySet<string>): boolean {
    if (changed.size === 0) return true;
    let rewritten = this.shape.rewrittenFirst.get(loop.path);
    if (rewritten === undefined) {
      rewritten = writtenBeforeRead(loop.activity);
      this.shape.rewrittenFirst.set(loop.path, rewritten);
    }
    for (const name of changed) if (!rewritten.has(name)) return false;
    return true;
  }

  /**
   * The paths of a loop's body below the loop, when the run never looks at
   * an ended iteration's rows again: no scope in it (a completed scope may
   * be compensated later) and no loop or forEach (their keys carry their
   * own iterations). Null otherwise.
   */
  private forgettable(loop: While | RepeatUntil): readonly string[] | null {
    let paths = this.shape.bodyPaths.get(loop.path);
    if (paths === undefined) {
      const found: string[] = [];
      const visit = (a: Activity): boolean => {
        if (a.kind === 'scope' || a.kind === 'while' || a.kind === 'repeatUntil' || a.kind === 'forEach') return false;
        found.push(a.path.slice(loop.path.length));
        return childActivities(a).every((c) => visit(c.activity));
      };
      paths = visit(loop.activity) ? found : null;
      this.shape.bodyPaths.set(loop.path, paths);
    }
    return paths;
  }

  private async forEach(activity: ForEach, ctx: Context, key: string): Promise<void> {
    let bounds = this.data<{ start: number; final: number }>(key);
    if (bounds === undefined) {
      const view = this.scopeView(ctx.frame);
      bounds = { start: evaluateUnsignedInt(activity.startCounter, view, this.opts()), final: evaluateUnsignedInt(activity.finalCounter, view, this.opts()) };
      this.store.setData(key, JSON.stringify(bounds));
    }
    const branchCount = Math.max(0, bounds.final - bounds.start + 1);
    // Checked before anything is allocated per branch.
    const label = `forEach ${activity.path}${activity.name === undefined ? '' : ` "${activity.name}"`}`;
    if (activity.parallel && branchCount > this.limits.maxParallelBranches) {
      throw limitFault('maxParallelBranches', this.limits, `${label}: ${branchCount} parallel branches (counters ${bounds.start} to ${bounds.final})`);
    }
    if (!activity.parallel && branchCount > this.limits.maxLoopIterations) {
      throw limitFault('maxLoopIterations', this.limits, `${label}: ${branchCount} iterations (counters ${bounds.start} to ${bounds.final})`);
    }
    const needed = activity.completionCondition === undefined ? branchCount : evaluateUnsignedInt(activity.completionCondition.branches, this.scopeView(ctx.frame), this.opts());
    if (needed > branchCount) throw standardFault('invalidExpressionValue', `activity ${activity.path}: completion condition asks for ${needed} of ${branchCount} branches`);
    const counterDecl: VariableDeclaration = { name: activity.counterName, line: activity.line, type: { ns: 'http://www.w3.org/2001/XMLSchema', local: 'unsignedInt' } };
    const runBranch = (i: number, signal: AbortSignal): Promise<void> => {
      const branchKey = `${key}#${i}`;
      const counterFrame: Frame = { key: `${branchKey}/counter`, declarations: new Map([[counterDecl.name, counterDecl]]), values: new Map([[counterDecl.name, { kind: 'simple', value: i }]]), parent: ctx.frame };
      return this.exec(activity.scope, { ...ctx, frame: counterFrame, signal, anchor: { path: activity.path, key: branchKey } });
    };
    let completed = 0;
    const done = (): boolean => activity.completionCondition !== undefined && completed >= needed;
    if (!activity.parallel) {
      for (let i = bounds.start; i <= bounds.final && !done(); i++) {
        await runBranch(i, ctx.signal);
        completed++;
      }
      return;
    }
    await this.concurrently(
      Array.from({ length: branchCount }, (_, n) => async (signal: AbortSignal) => {
        await runBranch(bounds.start + n, signal);
        completed++;
      }),
      ctx,
      done,
    );
  }

  // ---- scopes, handlers, compensation ------------------------------------

  private async scope(scope: Scope, ctx: Context, key: string): Promise<Completion | void> {
    const frame = this.newFrame(key, scope.variables, ctx.frame, scope.correlationSets);
    await this.initialise(frame, scope);
    // Only an alarm or event handler's fault stops the scope's activity from within; without them it stops with its parent.
    const child = scope.alarms.length > 0 || scope.events.length > 0 ? childController(ctx.signal) : undefined;
    try {
      return await this.scopeBody(scope, ctx, key, frame, child?.controller);
    } finally {
      child?.release();
      if (!this.detached()) this.releaseCorrelations(frame);
    }
  }

  private async scopeBody(scope: Scope, ctx: Context, key: string, frame: Frame, controller: AbortController | undefined): Promise<Completion | void> {
    const inner: Context = { ...ctx, frame, signal: controller?.signal ?? ctx.signal, handledFault: undefined, handlerScope: undefined };
    let alarmFault: BpelFault | undefined;
    const alarmsDone = controller === undefined ? undefined : new AbortController();
    const handlers = alarmsDone === undefined ? [] : [...scope.alarms.map((alarm) => this.runAlarm(alarm, scope, key, inner, alarmsDone.signal)), ...scope.events.map((event) => this.runEvent(event, inner, alarmsDone.signal))];
    const alarms = handlers.map((handler) =>
      handler.catch((err: unknown) => {
        if (err instanceof BpelFault) {
          alarmFault = err;
          controller?.abort(err);
        } else if (!(err instanceof Terminated)) {
          this.deps.log.error('alarm handler failed', { instanceId: this.deps.instanceId, scope: key, err: String(err) });
        }
      }),
    );
    try {
      await this.exec(scope.activity, inner);
    } catch (err) {
      alarmsDone?.abort();
      await Promise.all(alarms);
      const fault = err instanceof Terminated && alarmFault !== undefined ? alarmFault : err;
      if (!(fault instanceof BpelFault) || ctx.signal.aborted) {
        if (err instanceof Terminated && scope.terminationHandler !== undefined && ctx.signal.aborted && !this.detached()) {
          await this.exec(scope.terminationHandler, { ...ctx, frame, handlerScope: { scope, key } }).catch(() => undefined);
        }
        throw err;
      }
      return this.handleFault(scope, key, frame, fault, ctx);
    }
    // Normal completion: the alarms are disabled; handlers already running finish first.
    alarmsDone?.abort();
    await Promise.all(alarms);
    if (alarmFault !== undefined) return this.handleFault(scope, key, frame, alarmFault, ctx);
    return undefined;
  }

  private async handleFault(scope: Scope, key: string, frame: Frame, fault: BpelFault, ctx: Context): Promise<Completion> {
    const handlers = scope.faultHandlers;
    const match = matchCatch(handlers?.catches ?? [], fault);
    const handlerCtx: Context = { ...ctx, frame, handledFault: fault, handlerScope: { scope, key } };
    if (match !== undefined) {
      let catchCtx = handlerCtx;
      if (match.faultVariable !== undefined) {
        const decl: VariableDeclaration = { name: match.faultVariable, line: match.line, messageType: match.faultMessageType, element: match.faultElement };
        const catchFrame: Frame = { key: `${key}/catch`, declarations: new Map([[decl.name, decl]]), values: new Map([[decl.name, fault.data]]), parent: frame };
        catchCtx = { ...handlerCtx, frame: catchFrame };
      }
      await this.exec(match.activity, catchCtx);
      return { data: JSON.stringify({ handledFault: qnameKey(fault.faultName) }) };
    }
    if (handlers?.catchAll !== undefined) {
      await this.exec(handlers.catchAll, handlerCtx);
      return { data: JSON.stringify({ handledFault: qnameKey(fault.faultName) }) };
    }
    // The default fault handler: compensate the completed inner scopes, then rethrow.
    await this.compensateChildren(scope, key, handlerCtx, undefined);
    throw fault;
  }

  private async runAlarm(alarm: OnAlarm, scope: Scope, scopeKey: string, ctx: Context, disabled: AbortSignal): Promise<void> {
    const base = this.keyOf(alarm, ctx);
    const view = this.scopeView(ctx.frame);
    const scopeStart = this.store.activities.get(scopeKey)?.startedAt ?? this.now();
    let previousDue: Date | undefined;
    for (let n = 1; ; n++) {
      const timerKey = `${base}#${n}`;
      let due = this.store.timers.get(timerKey);
      if (due === undefined) {
        let computed: Date;
        if (n === 1) {
          computed = alarm.for !== undefined ? new Date(scopeStart.getTime() + evaluateDuration(alarm.for, view, this.opts())) : alarm.until !== undefined ? evaluateDeadline(alarm.until, view, this.opts()) : new Date(scopeStart.getTime() + evaluateDuration(alarm.repeatEvery ?? alarm.for!, view, this.opts()));
        } else {
          if (alarm.repeatEvery === undefined || previousDue === undefined) return;
          computed = new Date(previousDue.getTime() + evaluateDuration(alarm.repeatEvery, view, this.opts()));
        }
        due = await this.store.timer(timerKey, 'alarm', computed);
      }
      previousDue = due;
      const handlerKey = `${base}#${n}`;
      const handlerRecord = this.store.activities.get(`${handlerKey}/scope`);
      if (handlerRecord === undefined) {
        try {
          await sleepUntilDue(this.deps.clock, due, disabled);
        } catch (err) {
          if (err instanceof Terminated) return;
          throw err;
        }
        const firedAt = this.now();
        this.store.timerFired(timerKey, firedAt);
        this.deps.observer.alarm({ instanceId: this.deps.instanceId, scopeKey, scopeName: scope.name, alarmPath: alarm.path, kind: alarm.until !== undefined && n === 1 ? 'DEADLINE' : 'DURATION', dueAt: due, firedAt });
      }
      await this.exec(alarm.scope, { ...ctx, anchor: { path: alarm.path, key: handlerKey } });
      if (alarm.repeatEvery === undefined || disabled.aborted) return;
    }
  }

  /** Completed, not yet compensated scope instances directly inside the scope instance `key`, newest first. */
  private completedChildScopes(key: string, name?: string): Array<{ key: string; scope: Scope }> {
    const out: Array<{ key: string; scope: Scope; seq: number }> = [];
    for (const record of this.store.activities.values()) {
      if (record.kind !== 'scope' || record.state !== 'COMPLETED' || !record.key.startsWith(`${key}/`)) continue;
      if (record.data !== null && record.data.includes('handledFault')) continue;
      const scope = this.scopesByPath.get(pathOfKey(record.key));
      if (scope === undefined || (name !== undefined && scope.name !== name)) continue;
      if (this.enclosingScopeKey(record.key) !== key) continue;
      out.push({ key: record.key, scope, seq: record.completionSeq ?? 0 });
    }
    return out.sort((a, b) => b.seq - a.seq);
  }

  /** The key of the nearest scope instance enclosing the activity execution `key`. */
  private enclosingScopeKey(key: string): string {
    const segments = key.split('/');
    for (let i = segments.length - 1; i > 1; i--) {
      const prefix = segments.slice(0, i).join('/');
      if (this.scopePaths.has(pathOfKey(prefix))) return prefix;
    }
    return '/process';
  }

  private async compensateChildren(scope: Scope, key: string, ctx: Context, name: string | undefined): Promise<void> {
    for (const child of this.completedChildScopes(key, name)) await this.compensateOne(child.scope, child.key, ctx);
  }

  /** Runs a completed scope's compensation handler (or the default: its own children, newest first). */
  private async compensateOne(scope: Scope, key: string, ctx: Context): Promise<void> {
    const frame = this.newFrame(key, scope.variables, ctx.frame, scope.correlationSets);
    const handlerCtx: Context = { ...ctx, frame, anchor: { path: scope.path, key: `${key}!c` }, handlerScope: { scope, key }, links: new Map() };
    if (scope.compensationHandler !== undefined) await this.exec(scope.compensationHandler, handlerCtx);
    else await this.compensateChildren(scope, key, handlerCtx, undefined);
    this.store.markCompensated(key, this.now());
    this.emit(key, scope, 'COMPENSATED');
  }

  private async compensateAll(activity: Compensate, ctx: Context): Promise<void> {
    const target = ctx.handlerScope;
    if (target === undefined) throw standardFault('invalidVariables', `activity ${activity.path}: <compensate> outside a handler`);
    await this.compensateChildren(target.scope, target.key, ctx, undefined);
  }

  private async compensateNamed(activity: CompensateScope, ctx: Context): Promise<void> {
    const target = ctx.handlerScope;
    if (target === undefined) throw standardFault('invalidVariables', `activity ${activity.path}: <compensateScope> outside a handler`);
    await this.compensateChildren(target.scope, target.key, ctx, activity.target);
  }

  /** Compensates the process's completed top-level scopes, newest first (cancel with compensation). */
  async compensateProcess(signal: AbortSignal): Promise<void> {
    const frame = this.newFrame('/process', this.process.variables, undefined, this.process.correlationSets);
    const ctx: Context = { anchor: { path: '', key: '' }, frame, links: new Map(), signal, suppressJoinFailure: this.process.suppressJoinFailure, handlerScope: { scope: this.root, key: '/process' } };
    await this.compensateChildren(this.root, '/process', ctx, undefined);
  }
}

function loopData(iteration: number, inBody: boolean, parked: number, extra: { parking?: boolean; resumeAt?: number } = {}): string {
  const data: LoopData = { iteration, inBody, ...(parked > 0 ? { parked } : {}), ...extra };
  return JSON.stringify(data);
}

/** True when an expression reads the clock (`pv:now()`): its value changes between two iterations with the same variables. */
function readsTime(expression: Expression | undefined): boolean {
  return expression !== undefined && /now\s*\(/.test(expression.text);
}

/**
 * The variables a poll-shaped loop's body (see {@link pollBody}) writes
 * whole (an invoke's output variable, a copy to the whole variable) and, on
 * no path through it, reads (a name in an expression, an invoke's input, a
 * copy's source) or writes in part (a copy to a part or a path keeps the
 * rest) before it has written them whole. An assign reads all its sources
 * before any of its copies counts as written. Names only (the body holds no
 * scope); an expression reads the variables {@link analyzeExpression} finds
 * in it (`$name`, `getVariableData('name')`). Empty when the body reads
 * variables in ways not seen here (a variable property, a variable named
 * by a computed string, an invoke built or taken apart by parts).
 */
function writtenBeforeRead(body: Activity): ReadonlySet<string> {
  const readFirst = new Set<string>();
  const everWritten = new Set<string>();
  let unknown = false;
  const namesIn = (expression: Expression | undefined): string[] => {
    if (expression === undefined) return [];
    const analysis = analyzeExpression(expression);
    // A variable named at run time (getVariableData with a computed name) could be any.
    if (analysis.problems.length > 0 || analysis.properties.length > 0 || NAMED_AT_RUN_TIME.test(expression.text)) unknown = true;
    return analysis.references.map((r) => r.variable);
  };
  const walk = (a: Activity, written: ReadonlySet<string>): ReadonlySet<string> => {
    const read = (names: Iterable<string>): void => {
      for (const name of names) if (!written.has(name)) readFirst.add(name);
    };
    switch (a.kind) {
      case 'sequence':
        return a.activities.reduce<ReadonlySet<string>>((w, child) => walk(child, w), written);
      case 'empty':
        return written;
      case 'wait':
        read(namesIn(a.for));
        return written;
      case 'invoke': {
        if (a.toParts !== undefined || a.fromParts !== undefined) unknown = true;
        if (a.inputVariable !== undefined) read([a.inputVariable]);
        if (a.outputVariable === undefined) return written;
        everWritten.add(a.outputVariable);
        return new Set([...written, a.outputVariable]);
      }
      case 'assign': {
        const whole: string[] = [];
        for (const c of a.copies) {
          if (c.from.type === 'variable' || c.from.type === 'property') read([c.from.variable]);
          if (c.from.type === 'variable') read(namesIn(c.from.query));
          if (c.from.type === 'expression') read(namesIn(c.from.expression));
          if (c.from.type === 'property' || c.to.type === 'property') unknown = true;
          if (c.to.type === 'variable' && c.to.part === undefined && c.to.query === undefined) whole.push(c.to.variable);
          else if (c.to.type === 'variable') read([c.to.variable, ...namesIn(c.to.query)]);
          else if (c.to.type === 'expression') read(namesIn(c.to.expression));
        }
        for (const name of whole) everWritten.add(name);
        return new Set([...written, ...whole]);
      }
      case 'if': {
        const after: Array<ReadonlySet<string>> = [];
        for (const branch of a.branches) {
          read(namesIn(branch.condition));
          after.push(walk(branch.activity, written));
        }
        after.push(a.else === undefined ? written : walk(a.else, written));
        const first = after[0] ?? written;
        return new Set([...first].filter((name) => after.every((w) => w.has(name))));
      }
      default:
        unknown = true;
        return written;
    }
  };
  walk(body, new Set());
  if (unknown) return new Set();
  return new Set([...everWritten].filter((name) => !readFirst.has(name)));
}

/** A `getVariableData` call whose first argument is not a quoted name. */
const NAMED_AT_RUN_TIME = /getVariableData\s*\(\s*[^'"\s]/;

/** True when an activity may be the body, or in the body, of a parked loop (see Interpreter.pollShaped). */
function pollBody(a: Activity): boolean {
  if (!POLL_KINDS.has(a.kind) || a.sources.length > 0 || a.targets.length > 0) return false;
  if (a.kind === 'wait' && (a.for === undefined || readsTime(a.for))) return false;
  if (a.kind === 'if' && a.branches.some((b) => readsTime(b.condition))) return false;
  if (a.kind === 'assign') {
    for (const c of a.copies) {
      if (c.from.type === 'expression' && readsTime(c.from.expression)) return false;
      if (c.from.type === 'variable' && readsTime(c.from.query)) return false;
      if (c.to.type === 'expression' && readsTime(c.to.expression)) return false;
      if (c.to.type === 'variable' && readsTime(c.to.query)) return false;
    }
  }
  return childActivities(a).every((c) => pollBody(c.activity));
}

/** A promise with its resolver. */
function settledSignal(): { readonly promise: Promise<void>; readonly resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Resolves when `promise` does or one of `signals` is aborted, whichever comes first. */
function untilEither(promise: Promise<void>, signals: readonly AbortSignal[]): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      for (const s of signals) s.removeEventListener('abort', done);
      resolve();
    };
    for (const s of signals) s.addEventListener('abort', done, { once: true });
    if (signals.some((s) => s.aborted)) done();
    void promise.then(done);
  });
}

/**
 * The name a correlation set's values are stored under: its own for a
 * process-level set, qualified by the scope instance's key for a scope's
 * (hashed when that would not fit the column).
 */
function storedSetName(name: string, scopeKey: string): string {
  if (scopeKey === '/process') return name;
  const qualified = `${name}@${scopeKey}`;
  return qualified.length <= 200 ? qualified : `${name.slice(0, 100)}@${crypto.createHash('sha256').update(scopeKey).digest('hex')}`;
}

function describeActivity(activity: Activity): string {
  return `activity ${activity.path}${activity.name === undefined ? '' : ` "${activity.name}"`}`;
}

/** The key of a request's message exchange: partner link, operation and `messageExchange` (WS-BPEL 2.0 §10.4). */
function exchangeKey(message: { readonly partnerLink: string; readonly operation: string; readonly messageExchange?: string }): string {
  return `${message.partnerLink}|${message.operation}|${message.messageExchange ?? ''}`;
}

/** The `requestId` a provisioning operation answered with (its response element's child of that name), if any. */
function requestIdOf(output: VariableValue | undefined): string | undefined {
  const element = output === undefined ? undefined : output.kind === 'element' ? output.element : output.kind === 'message' ? [...output.parts.values()][0] : undefined;
  if (element === undefined || typeof element === 'string') return undefined;
  for (let n = element.firstChild; n !== null; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as { localName?: string | null }).localName === 'requestId') {
      const text = (n.textContent ?? '').trim();
      return text === '' || text.length > 200 ? undefined : text;
    }
  }
  return undefined;
}

function matchCatch(catches: readonly Catch[], fault: BpelFault): Catch | undefined {
  const named = catches.filter((c) => c.faultName !== undefined && c.faultName.ns === fault.faultName.ns && c.faultName.local === fault.faultName.local);
  const withData = named.find((c) => c.faultVariable !== undefined && fault.data !== undefined);
  if (withData !== undefined) return withData;
  const plain = named.find((c) => c.faultVariable === undefined);
  if (plain !== undefined) return plain;
  if (named[0] !== undefined) return named[0];
  if (fault.data !== undefined) return catches.find((c) => c.faultName === undefined && c.faultVariable !== undefined);
  return undefined;
}
