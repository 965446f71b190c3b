/**
 * Static checks of a parsed process (WS-BPEL 2.0 §A static analysis, for the
 * supported subset): names declared once and resolved where used, operations
 * that exist on the partner's port type, links used once each way without
 * crossing loop or handler boundaries or forming cycles, and `rethrow`,
 * `compensate`, `compensateScope` only where they have a meaning.
 *
 * WSDL knowledge comes from the caller through `ProcessContext`, so the
 * deployment (which resolves the imported WSDLs) decides where it comes from.
 */
import {
  ProcessDefinitionError,
  qnameKey,
  type Activity,
  type Copy,
  type Correlation,
  type CorrelationSet,
  type Diagnostic,
  type Expression,
  type Flow,
  type FromPart,
  type InboundMessage,
  type OnAlarm,
  type OnEvent,
  type PartnerLink,
  type Process,
  type QName,
  type Scope,
  type ToPart,
  type VariableDeclaration,
} from './model';
import { allActivities, childActivities, visibleCorrelationSets, type VisibleCorrelationSet } from './walk';
import { analyzeExpression, describeExpression } from './expression';
import { describeTyped, hasAlias, type PropertyCatalog, type Typed } from './properties';

/** One WSDL operation, as far as the checks need it. */
export interface OperationInfo {
  /** The input message QName (absent for a notification, which Provisor does not use). */
  readonly input?: QName;
  /** The output message QName; absent for a one-way operation. */
  readonly output?: QName;
  /** The names of the operation's faults. */
  readonly faults: readonly string[];
  /** Each fault's message, by fault name, when known (a reply's `<toParts>` with `faultName` builds it). */
  readonly faultMessages?: ReadonlyMap<string, QName>;
}

/** The port type a partner link role stands for, with its operations by name. */
export interface PortTypeInfo {
  readonly portType: QName;
  readonly operations: ReadonlyMap<string, OperationInfo>;
}

/**
 * What the validator asks the deployment about the imported WSDLs. Return
 * undefined when the partner link type or role cannot be resolved: that is
 * reported as a problem of the partner link.
 */
export interface ProcessContext {
  portTypeOf(partnerLink: PartnerLink, role: 'partner' | 'my'): PortTypeInfo | undefined;
  /**
   * A WSDL message's parts (part name → the element defining it, or undefined
   * for a type part), or undefined when the message is not defined. Without
   * it, an element variable cannot be matched to an operation's message and
   * is accepted as long as its element is not checked.
   */
  messageParts?(message: QName): ReadonlyMap<string, QName | undefined> | undefined;
  /** The XML Schema type of each type part of a WSDL message (toParts and fromParts are checked against it). */
  partTypes?(message: QName): ReadonlyMap<string, QName> | undefined;
  /** The properties and aliases of the imported WSDLs; without them, aliases are not checked. */
  readonly properties?: PropertyCatalog;
}

const XSD_NS = 'http://www.w3.org/2001/XMLSchema';

type VariableKind = 'message' | 'element' | 'simple';

interface VariableInfo {
  readonly declaration: VariableDeclaration;
  readonly kind: VariableKind;
}

interface LinkInfo {
  readonly name: string;
  readonly line: number;
  readonly flow: Flow;
  readonly sources: Activity[];
  readonly targets: Activity[];
}

type LinkFrame = { readonly kind: 'flow'; readonly links: ReadonlyMap<string, LinkInfo> } | { readonly kind: 'boundary'; readonly what: string };

/** What is in force where an activity stands. */
interface Context {
  /** Variable frames, innermost last. */
  readonly variables: ReadonlyArray<ReadonlyMap<string, VariableInfo>>;
  /** Flows and loop/handler boundaries, innermost last. */
  readonly links: readonly LinkFrame[];
  /** Inside a catch or catchAll (for rethrow). */
  readonly inFaultHandler: boolean;
  /** The scope (or process) whose fault, compensation or termination handler this is in (for compensate). */
  readonly handlerOf: Scope | Process | undefined;
}

function kindOf(declaration: VariableDeclaration): VariableKind {
  if (declaration.messageType) return 'message';
  if (declaration.element) return 'element';
  // A type outside XML Schema is taken as complex: its value is an element.
  return declaration.type && declaration.type.ns !== XSD_NS ? 'element' : 'simple';
}

function subject(activity: Activity): string {
  return `activity ${activity.path}${activity.name !== undefined ? ` "${activity.name}"` : ''}`;
}

function isProcess(owner: Scope | Process): owner is Process {
  return !('kind' in owner);
}

/**
 * Checks a parsed process. Returns every problem found (empty when valid),
 * sorted by line.
 *
 * @param context WSDL knowledge; without it, operations and message types are not checked
 */
export function validateProcess(process: Process, context?: ProcessContext): Diagnostic[] {
  return new Validator(process, context).run();
}

/**
 * Like `validateProcess`, but throws.
 *
 * @throws ProcessDefinitionError with every problem found
 */
export function assertValid(process: Process, documentName: string, context?: ProcessContext): void {
  const diagnostics = validateProcess(process, context);
  if (diagnostics.length > 0) throw new ProcessDefinitionError(documentName, diagnostics);
}

class Validator {
  private readonly diagnostics: Diagnostic[] = [];
  private readonly partnerLinks = new Map<string, PartnerLink>();
  private readonly links: LinkInfo[] = [];
  private readonly scopesByName = new Map<string, Scope>();
  /** The correlation sets each activity, onMessage and onEvent sees, by its path. */
  private readonly visibleSets: ReadonlyMap<string, ReadonlyMap<string, VisibleCorrelationSet>>;
  private readonly messageExchanges = new Set<string>();
  /** Each inbound operation's routing correlation set, by `partnerLink/operation` (one per operation). */
  private readonly routing = new Map<string, { set: string; owner: string; line: number }>();

  /** The instance-creating receives and picks, in document order. */
  private readonly starts: readonly Activity[];

  constructor(
    private readonly process: Process,
    private readonly context: ProcessContext | undefined,
  ) {
    this.visibleSets = visibleCorrelationSets(process);
    this.starts = allActivities(process).filter((a) => (a.kind === 'receive' || a.kind === 'pick') && a.createInstance);
  }

  private report(line: number, message: string): void {
    this.diagnostics.push({ line, message });
  }

  run(): Diagnostic[] {
    const process = this.process;
    for (const pl of process.partnerLinks) {
      if (this.partnerLinks.has(pl.name)) this.report(pl.line, `partner link "${pl.name}" is declared twice`);
      else this.partnerLinks.set(pl.name, pl);
    }
    this.declareCorrelationSets(process.correlationSets, 'the process');
    for (const name of process.messageExchanges) this.messageExchanges.add(name);
    for (const a of allActivities(process)) if (a.kind === 'scope') for (const name of a.messageExchanges) this.messageExchanges.add(name);
    const root: Context = { variables: [], links: [], inFaultHandler: false, handlerOf: undefined };
    const inProcess = this.declare(process.variables, root, 'process');
    this.handlers(process, inProcess);
    this.activity(process.activity, inProcess);
    this.startActivities();
    this.checkLinks();
    this.checkCycles();
    return [...this.diagnostics].sort((a, b) => a.line - b.line);
  }

  // ---- variables ---------------------------------------------------------------------------

  /** A new context with the declarations of one scope, checking duplicates and inline initialisers. */
  private declare(declarations: readonly VariableDeclaration[], context: Context, owner: string): Context {
    const frame = new Map<string, VariableInfo>();
    const next: Context = { ...context, variables: [...context.variables, frame] };
    for (const declaration of declarations) {
      if (frame.has(declaration.name)) {
        this.report(declaration.line, `variable "${declaration.name}" is declared twice in ${owner}`);
        continue;
      }
      if (declaration.from) this.copyFrom(declaration.from, declaration.line, next, `variable "${declaration.name}"`);
      frame.set(declaration.name, { declaration, kind: kindOf(declaration) });
    }
    return next;
  }

  private lookup(context: Context, name: string): VariableInfo | undefined {
    for (let i = context.variables.length - 1; i >= 0; i--) {
      const found = context.variables[i]?.get(name);
      if (found) return found;
    }
    return undefined;
  }

  /** A variable named by an attribute: it must be declared in scope. */
  private variable(context: Context, name: string, line: number, where: string, role: string): VariableInfo | undefined {
    const found = this.lookup(context, name);
    if (!found) this.report(line, `${where}: ${role} "${name}" is not a declared variable in scope`);
    return found;
  }

  private expression(expr: Expression, context: Context, where: string, what = 'expression'): void {
    const analysis = analyzeExpression(expr);
    for (const problem of analysis.problems) this.report(expr.line, `${where}: ${describeExpression(expr, what)}: ${problem}`);
    for (const ref of analysis.references) {
      const found = this.lookup(context, ref.variable);
      if (!found) {
        this.report(expr.line, `${where}: ${describeExpression(expr, what)}: variable "${ref.variable}" is not declared in scope`);
      } else if (found.kind === 'message' && ref.part === undefined) {
        this.report(expr.line, `${where}: ${describeExpression(expr, what)}: message variable "${ref.variable}" is read by part ($${ref.variable}.part)`);
      } else if (found.kind !== 'message' && ref.part !== undefined) {
        this.report(expr.line, `${where}: ${describeExpression(expr, what)}: variable "${ref.variable}" is not a message variable, so it has no part "${ref.part}"`);
      }
    }
    for (const ref of analysis.properties) this.propertyOf(ref, expr.line, context, where, `${describeExpression(expr, what)}: bpel:getVariableProperty`);
    for (const link of analysis.links) this.report(expr.line, `${where}: ${describeExpression(expr, what)}: bpel:getLinkStatus('${link}') is only allowed in a joinCondition`);
  }

  // ---- activities --------------------------------------------------------------------------

  private activity(activity: Activity, context: Context): void {
    const where = subject(activity);
    this.linkEnds(activity, context, where);
    if (activity.joinCondition) this.joinCondition(activity, activity.joinCondition, where);
    for (const source of activity.sources) {
      if (source.transitionCondition) this.expression(source.transitionCondition, context, where);
    }
    switch (activity.kind) {
      case 'invoke': {
        const info = this.messaging(activity, 'partner', where);
        for (const c of activity.correlations) {
          const pattern = c.pattern ?? 'request';
          if (pattern !== 'response') this.correlationsOf([c], activity.path, info?.input, undefined, where);
          if (pattern !== 'request') this.correlationsOf([c], activity.path, info?.output, undefined, where);
        }
        const input = activity.inputVariable !== undefined ? this.variable(context, activity.inputVariable, activity.line, where, 'inputVariable') : undefined;
        const output = activity.outputVariable !== undefined ? this.variable(context, activity.outputVariable, activity.line, where, 'outputVariable') : undefined;
        if (input) this.messageVariable(input, info?.input, activity.line, where, 'inputVariable', 'input');
        if (output) {
          if (info && !info.output) this.report(activity.line, `${where}: operation "${activity.operation}" is one-way, so it has no output for outputVariable "${output.declaration.name}"`);
          else this.messageVariable(output, info?.output, activity.line, where, 'outputVariable', 'output');
        }
        // SA00051, SA00052: parts or a variable, not both.
        if (activity.toParts && activity.inputVariable !== undefined) this.report(activity.line, `${where}: <toParts> and inputVariable "${activity.inputVariable}" exclude each other`);
        if (activity.fromParts && activity.outputVariable !== undefined) this.report(activity.line, `${where}: <fromParts> and outputVariable "${activity.outputVariable}" exclude each other`);
        if (activity.toParts) this.toParts(activity.toParts, info?.input, context, where);
        if (activity.fromParts) {
          if (info && !info.output) this.report(activity.fromParts[0]?.line ?? activity.line, `${where}: operation "${activity.operation}" is one-way, so it has no output for <fromParts>`);
          else this.fromParts(activity.fromParts, info?.output, context, where);
        }
        break;
      }
      case 'receive': {
        const info = this.messaging(activity, 'my', where);
        const variable = activity.variable !== undefined ? this.variable(context, activity.variable, activity.line, where, 'variable') : undefined;
        if (variable) this.messageVariable(variable, info?.input, activity.line, where, 'variable', 'input');
        this.inboundParts(activity, info?.input, context, activity.line, where);
        this.inbound(activity, activity.path, activity.createInstance, info?.input, activity.line, where);
        break;
      }
      case 'pick': {
        for (const message of activity.messages) {
          const at = `${where} <onMessage> ${message.path}`;
          const info = this.messaging({ ...message, kind: 'receive' }, 'my', at, message.line);
          const variable = message.variable !== undefined ? this.variable(context, message.variable, message.line, at, 'variable') : undefined;
          if (variable) this.messageVariable(variable, info?.input, message.line, at, 'variable', 'input');
          this.inboundParts(message, info?.input, context, message.line, at);
          this.inbound(message, message.path, activity.createInstance, info?.input, message.line, at);
        }
        for (const alarm of activity.alarms) {
          if (alarm.for) this.expression(alarm.for, context, where);
          if (alarm.until) this.expression(alarm.until, context, where);
        }
        break;
      }
      case 'reply': {
        this.correlationsOf(activity.correlations, activity.path, undefined, undefined, where);
        this.exchange(activity.messageExchange, activity.line, where);
        const info = this.messaging(activity, 'my', where);
        const variable = activity.variable !== undefined ? this.variable(context, activity.variable, activity.line, where, 'variable') : undefined;
        if (info && !info.output) {
          this.report(activity.line, `${where}: operation "${activity.operation}" is one-way; there is nothing to reply`);
        } else if (activity.faultName) {
          if (info && !info.faults.includes(activity.faultName.local)) {
            this.report(activity.line, `${where}: operation "${activity.operation}" has no fault "${activity.faultName.local}"`);
          }
          if (variable && variable.kind === 'simple') this.report(activity.line, `${where}: variable "${variable.declaration.name}" must be a message variable or an element variable`);
        } else if (variable) {
          this.messageVariable(variable, info?.output, activity.line, where, 'variable', 'output');
        }
        if (activity.toParts) {
          // SA00059
          if (activity.variable !== undefined) this.report(activity.line, `${where}: <toParts> and variable "${activity.variable}" exclude each other`);
          const message = activity.faultName ? info?.faultMessages?.get(activity.faultName.local) : info?.output;
          if (!info || info.output) this.toParts(activity.toParts, message, context, where);
        }
        break;
      }
      case 'assign':
        for (const copy of activity.copies) this.copy(copy, context, where);
        break;
      case 'wait':
        if (activity.for) this.expression(activity.for, context, where);
        if (activity.until) this.expression(activity.until, context, where);
        break;
      case 'throw':
        if (activity.faultVariable !== undefined) this.variable(context, activity.faultVariable, activity.line, where, 'faultVariable');
        break;
      case 'rethrow':
        if (!context.inFaultHandler) this.report(activity.line, `${where}: <rethrow> is only allowed in a fault handler (<catch> or <catchAll>)`);
        break;
      case 'compensate':
        if (!context.handlerOf) this.report(activity.line, `${where}: <compensate> is only allowed in a fault, compensation or termination handler`);
        break;
      case 'compensateScope':
        this.compensateScope(activity.target, activity.line, context, where);
        break;
      case 'if':
        for (const branch of activity.branches) this.expression(branch.condition, context, where);
        break;
      case 'while':
      case 'repeatUntil':
        this.expression(activity.condition, context, where);
        this.activity(activity.activity, { ...context, links: [...context.links, { kind: 'boundary', what: `the <${activity.kind}> ${activity.path}` }] });
        return;
      case 'forEach': {
        this.expression(activity.startCounter, context, where);
        this.expression(activity.finalCounter, context, where);
        if (activity.completionCondition) this.expression(activity.completionCondition.branches, context, where);
        const counter: VariableDeclaration = { name: activity.counterName, line: activity.line, type: { ns: XSD_NS, local: 'unsignedInt' } };
        if (activity.scope.variables.some((v) => v.name === activity.counterName)) {
          this.report(activity.line, `${where}: counterName "${activity.counterName}" is also declared as a variable of its scope`);
        }
        const withCounter: Context = {
          ...context,
          variables: [...context.variables, new Map([[counter.name, { declaration: counter, kind: 'simple' as const }]])],
          links: [...context.links, { kind: 'boundary', what: `the <forEach> ${activity.path}` }],
        };
        this.activity(activity.scope, withCounter);
        return;
      }
      case 'flow':
        this.flow(activity, context);
        return;
      case 'scope':
        this.scope(activity, context);
        return;
      case 'sequence':
      case 'empty':
      case 'exit':
        break;
      default: {
        const unhandled: never = activity;
        throw new Error(`no static checks for activity ${(unhandled as Activity).kind}`);
      }
    }
    for (const child of childActivities(activity)) this.activity(child.activity, context);
  }

  private flow(flow: Flow, context: Context): void {
    const links = new Map<string, LinkInfo>();
    for (const link of flow.links) {
      if (links.has(link.name)) {
        this.report(link.line, `${subject(flow)}: link "${link.name}" is declared twice`);
        continue;
      }
      const info: LinkInfo = { name: link.name, line: link.line, flow, sources: [], targets: [] };
      links.set(link.name, info);
      this.links.push(info);
    }
    const inner: Context = { ...context, links: [...context.links, { kind: 'flow', links }] };
    for (const child of flow.activities) this.activity(child, inner);
  }

  private scope(scope: Scope, context: Context): void {
    if (scope.name !== undefined) {
      const other = this.scopesByName.get(scope.name);
      if (other) {
        this.report(scope.line, `${subject(scope)}: scope name "${scope.name}" is already used by ${other.path}; scope names are unique in a process`);
      } else this.scopesByName.set(scope.name, scope);
    }
    const inner = this.declare(scope.variables, context, `scope ${scope.path}`);
    this.declareCorrelationSets(scope.correlationSets, `scope ${scope.path}`);
    this.handlers(scope, inner);
    if (scope.compensationHandler) {
      const boundary: LinkFrame = { kind: 'boundary', what: `the compensation handler of ${scope.path}` };
      this.activity(scope.compensationHandler, { ...inner, links: [...inner.links, boundary], inFaultHandler: false, handlerOf: scope });
    }
    if (scope.terminationHandler) {
      const boundary: LinkFrame = { kind: 'boundary', what: `the termination handler of ${scope.path}` };
      this.activity(scope.terminationHandler, { ...inner, links: [...inner.links, boundary], inFaultHandler: false, handlerOf: scope });
    }
    this.activity(scope.activity, inner);
  }

  /** Fault handlers and alarms of a scope or of the process. */
  private handlers(owner: Scope | Process, context: Context): void {
    const ownerPath = isProcess(owner) ? '/process' : owner.path;
    const catches = owner.faultHandlers?.catches ?? [];
    for (const [i, c] of catches.entries()) {
      let withFault = context;
      if (c.faultVariable !== undefined) {
        const declaration: VariableDeclaration = {
          name: c.faultVariable,
          line: c.line,
          ...(c.faultMessageType ? { messageType: c.faultMessageType } : {}),
          ...(c.faultElement ? { element: c.faultElement } : {}),
        };
        withFault = { ...context, variables: [...context.variables, new Map([[c.faultVariable, { declaration, kind: kindOf(declaration) }]])] };
      }
      const boundary: LinkFrame = { kind: 'boundary', what: `the fault handler ${ownerPath}/faultHandlers/catch[${i + 1}]` };
      this.activity(c.activity, { ...withFault, links: [...context.links, boundary], inFaultHandler: true, handlerOf: owner });
    }
    const catchAll = owner.faultHandlers?.catchAll;
    if (catchAll) {
      const boundary: LinkFrame = { kind: 'boundary', what: `the fault handler ${ownerPath}/faultHandlers/catchAll` };
      this.activity(catchAll, { ...context, links: [...context.links, boundary], inFaultHandler: true, handlerOf: owner });
    }
    for (const alarm of owner.alarms) this.alarm(alarm, context);
    for (const event of owner.events) this.event(event, context);
  }

  private event(event: OnEvent, context: Context): void {
    const where = `event handler ${event.path}`;
    const info = this.messaging({ ...event, kind: 'receive' }, 'my', where, event.line);
    // The event's variable, or the variables of its fromParts, belong to the handler's scope (SA00086).
    const implicit = new Map<string, VariableInfo>();
    if (event.variable !== undefined) {
      const declaration: VariableDeclaration = { name: event.variable, line: event.line, ...(event.messageType ? { messageType: event.messageType } : {}), ...(event.element ? { element: event.element } : {}) };
      const variable: VariableInfo = { declaration, kind: kindOf(declaration) };
      this.messageVariable(variable, info?.input, event.line, where, 'variable', 'input');
      implicit.set(event.variable, variable);
    }
    if (event.fromParts) {
      // SA00085
      if (event.variable !== undefined || event.messageType !== undefined || event.element !== undefined) {
        this.report(event.line, `${where}: <fromParts> and the attributes variable, messageType and element exclude each other`);
      }
      for (const declaration of fromPartDeclarations(event.fromParts, info?.input === undefined ? undefined : partDefinitions(info.input, this.context))) {
        if (implicit.has(declaration.name)) this.report(declaration.line, `${where}: <fromPart> toVariable "${declaration.name}" is named twice`);
        else implicit.set(declaration.name, { declaration, kind: kindOf(declaration) });
      }
    }
    for (const declared of event.scope.variables) {
      if (implicit.has(declared.name)) this.report(declared.line, `${where}: variable "${declared.name}" of the handler's scope is already the event's variable, which belongs to that scope`);
    }
    const inner: Context = implicit.size === 0 ? context : { ...context, variables: [...context.variables, implicit] };
    if (event.fromParts) this.fromParts(event.fromParts, info?.input, inner, where);
    this.inbound(event, event.path, false, info?.input, event.line, where);
    const boundary: LinkFrame = { kind: 'boundary', what: `the event handler ${event.path}` };
    this.activity(event.scope, { ...inner, links: [...inner.links, boundary], inFaultHandler: false, handlerOf: undefined });
  }

  // ---- toParts and fromParts --------------------------------------------------------------

  /** A receive's or onMessage's `<fromParts>` (SA00055, SA00063: not with a variable). */
  private inboundParts(message: InboundMessage, input: QName | undefined, context: Context, line: number, where: string): void {
    if (!message.fromParts) return;
    if (message.variable !== undefined) this.report(line, `${where}: <fromParts> and variable "${message.variable}" exclude each other`);
    this.fromParts(message.fromParts, input, context, where);
  }

  /**
   * The `<toParts>` of an invoke or a reply against the message they build
   * (SA00050, SA00054): each part named once and defined by the message,
   * every part of the message given, each variable declared and of its
   * part's element or type.
   */
  private toParts(toParts: readonly ToPart[], message: QName | undefined, context: Context, where: string): void {
    const parts = this.partsOf(message);
    const named = new Set<string>();
    for (const p of toParts) {
      if (named.has(p.part)) this.report(p.line, `${where}: <toPart> part "${p.part}" is named twice`);
      named.add(p.part);
      const variable = this.variable(context, p.fromVariable, p.line, where, `<toPart> fromVariable`);
      if (parts !== undefined && message !== undefined) this.partFits(p.part, variable, message, parts, p.line, where, '<toPart>');
    }
    if (parts === undefined || message === undefined) return;
    const missing = [...parts.keys()].filter((part) => !named.has(part));
    if (missing.length > 0) {
      this.report(toParts[0]?.line ?? 0, `${where}: <toParts> gives no <toPart> for part${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')} of message ${qnameKey(message)}; every part is given`);
    }
  }

  /** `<fromParts>` against the message they take apart (SA00053): each part defined by it, each variable declared and of its part's element or type. */
  private fromParts(fromParts: readonly FromPart[], message: QName | undefined, context: Context, where: string): void {
    const parts = this.partsOf(message);
    const targets = new Set<string>();
    for (const p of fromParts) {
      if (targets.has(p.toVariable)) this.report(p.line, `${where}: <fromPart> toVariable "${p.toVariable}" is named twice`);
      targets.add(p.toVariable);
      const variable = this.variable(context, p.toVariable, p.line, where, `<fromPart> toVariable`);
      if (parts !== undefined && message !== undefined) this.partFits(p.part, variable, message, parts, p.line, where, '<fromPart>');
    }
  }

  /** A message's parts, each with its element or its type, when the WSDLs are known. */
  private partsOf(message: QName | undefined): ReadonlyMap<string, PartDefinition> | undefined {
    return message === undefined ? undefined : partDefinitions(message, this.context);
  }

  /** A part of the message, and a variable holding what it holds: an element variable of its element, or a variable of its type. */
  private partFits(
    part: string,
    variable: VariableInfo | undefined,
    message: QName,
    parts: ReadonlyMap<string, PartDefinition>,
    line: number,
    where: string,
    role: string,
  ): void {
    const definition = parts.get(part);
    if (definition === undefined) {
      this.report(line, `${where}: ${role} part "${part}" is not a part of message ${qnameKey(message)} (its parts: ${[...parts.keys()].join(', ')})`);
      return;
    }
    if (variable === undefined) return;
    const d = variable.declaration;
    const holds = d.messageType ? `message type ${qnameKey(d.messageType)}` : d.element ? `element ${qnameKey(d.element)}` : d.type ? `type ${qnameKey(d.type)}` : 'no type';
    if (definition.element !== undefined) {
      if (d.element === undefined || qnameKey(d.element) !== qnameKey(definition.element)) {
        this.report(line, `${where}: ${role} part "${part}" of message ${qnameKey(message)} is element ${qnameKey(definition.element)}, but variable "${d.name}" holds ${holds}`);
      }
    } else if (d.type === undefined || (definition.type !== undefined && qnameKey(d.type) !== qnameKey(definition.type))) {
      this.report(line, `${where}: ${role} part "${part}" of message ${qnameKey(message)} is of type ${definition.type === undefined ? '(unknown)' : qnameKey(definition.type)}, but variable "${d.name}" holds ${holds}`);
    }
  }

  // ---- correlation -------------------------------------------------------------------------

  /**
   * A receive, onMessage or onEvent: its correlations, its message exchange,
   * and how its messages find their instance. An instance-creating one
   * initiates its sets (Provisor has one start activity per instance); any
   * other one is reached by its first correlation with initiate "no" or
   * "join", the same set for every activity taking that operation.
   */
  private inbound(message: InboundMessage, path: string, creates: boolean, input: QName | undefined, line: number, where: string): void {
    this.correlationsOf(message.correlations, path, input, undefined, where);
    this.exchange(message.messageExchange, line, where);
    const several = this.starts.length > 1;
    if (creates) {
      for (const c of message.correlations) {
        if (c.initiate === 'no') this.report(c.line, `${where}: correlation set "${c.set}" has initiate="no", but an instance-creating activity initiates or joins its correlation sets`);
        else if (c.initiate === 'join' && !several) this.report(c.line, `${where}: correlation set "${c.set}" has initiate="join", but the process's only start activity initiates its correlation sets (initiate="yes"); a set is joined by several start activities`);
      }
      // One of several start activities is reached, when another created the instance, by the set it joins.
      if (!several) return;
    }
    const routing = message.correlations.find((c) => c.initiate !== 'yes');
    if (routing === undefined && creates) return;
    if (routing === undefined) {
      this.report(line, `${where}: a message after the instance-creating one reaches its instance by its correlation values: it needs a <correlation> with initiate="no" or "join"`);
      return;
    }
    const key = `${message.partnerLink}/${message.operation}`;
    const other = this.routing.get(key);
    const owner = this.visibleSets.get(path)?.get(routing.set)?.owner ?? '';
    if (other === undefined) this.routing.set(key, { set: routing.set, owner, line });
    else if (other.set !== routing.set || other.owner !== owner) {
      const describe = (set: string, of: string): string => `"${set}"${of === '/process' || of === '' ? '' : ` of scope ${of}`}`;
      this.report(line, `${where}: operation "${message.operation}" of partner link "${message.partnerLink}" is taken by correlation set ${describe(other.set, other.owner)} at line ${other.line}; every activity taking one operation is reached by the same set, here ${describe(routing.set, owner)}`);
    }
  }

  /** Correlation sets declared, and each property with an alias for the message. */
  private correlationsOf(correlations: readonly Correlation[], path: string, message: QName | undefined, element: QName | undefined, where: string): void {
    const seen = new Set<string>();
    for (const c of correlations) {
      if (seen.has(c.set)) this.report(c.line, `${where}: correlation set "${c.set}" is named twice`);
      seen.add(c.set);
      const set = this.visibleSets.get(path)?.get(c.set)?.set;
      if (set === undefined) {
        this.report(c.line, `${where}: correlation set "${c.set}" is not declared by the process or an enclosing scope`);
        continue;
      }
      const catalog = this.context?.properties;
      const typed: Typed = message !== undefined ? { messageType: message } : element !== undefined ? { element } : {};
      if (catalog === undefined || (message === undefined && element === undefined)) continue;
      for (const p of set.properties) {
        if (hasAlias(catalog, p, typed)) continue;
        const parts = message === undefined ? undefined : this.context?.messageParts?.(message);
        const only = parts !== undefined && parts.size === 1 ? [...parts.values()][0] : undefined;
        if (only !== undefined && hasAlias(catalog, p, { element: only })) continue;
        this.report(c.line, `${where}: correlation set "${c.set}": no property alias of ${qnameKey(p)} applies to ${describeTyped(typed)}`);
      }
    }
  }

  /**
   * Several start activities (WS-BPEL 2.0 §10.4, SA00057): they share at
   * least one correlation set, each joins every shared set
   * (`initiate="join"`), and Provisor asks besides that the shared sets are
   * the process's and that no two start activities take one operation.
   */
  private startActivities(): void {
    if (this.starts.length < 2) return;
    const messages = this.starts.flatMap((s) => (s.kind === 'receive' ? [{ message: s as InboundMessage, path: s.path, line: s.line, where: subject(s) }] : s.kind === 'pick' ? s.messages.map((m) => ({ message: m as InboundMessage, path: m.path, line: m.line, where: `${subject(s)} <onMessage> ${m.path}` })) : []));
    const [first, ...others] = messages;
    if (first === undefined) return;
    const shared = first.message.correlations.map((c) => c.set).filter((set) => others.every((o) => o.message.correlations.some((c) => c.set === set)));
    if (shared.length === 0) {
      this.report(first.line, `the process has ${this.starts.length} start activities (${this.starts.map((s) => `line ${s.line}`).join(', ')}), and they share no correlation set: several start activities join one to find the instance the first of them created (SA00057)`);
    }
    for (const set of shared) {
      for (const m of messages) {
        const c = m.message.correlations.find((x) => x.set === set);
        if (c !== undefined && c.initiate !== 'join') this.report(c.line, `${m.where}: correlation set "${set}" is shared by the process's start activities, so each joins it (initiate="join"), not initiate="${c.initiate}" (SA00057)`);
      }
      const owner = this.visibleSets.get(first.path)?.get(set)?.owner;
      if (owner !== undefined && owner !== '/process') this.report(first.line, `correlation set "${set}" shared by the start activities is declared by scope ${owner}; Provisor joins start activities by sets of the process`);
    }
    const operations = new Map<string, number>();
    for (const m of messages) {
      const operation = `${m.message.partnerLink}/${m.message.operation}`;
      const line = operations.get(operation);
      if (line !== undefined) this.report(m.line, `${m.where}: operation "${m.message.operation}" of partner link "${m.message.partnerLink}" is already taken by the start activity at line ${line}; each start activity takes its own operation`);
      else operations.set(operation, m.line);
    }
  }

  /** A scope's (or the process's) correlation sets: names unique (SA00044), properties defined by the imported WSDLs. */
  private declareCorrelationSets(sets: readonly CorrelationSet[], owner: string): void {
    const names = new Set<string>();
    for (const cs of sets) {
      if (names.has(cs.name)) this.report(cs.line, `correlation set "${cs.name}" is declared twice in ${owner}`);
      names.add(cs.name);
      if (this.context?.properties) {
        for (const p of cs.properties) {
          if (!this.context.properties.properties.has(qnameKey(p))) this.report(cs.line, `correlation set "${cs.name}": property ${qnameKey(p)} is not defined by the imported WSDLs`);
        }
      }
    }
  }

  private exchange(name: string | undefined, line: number, where: string): void {
    if (name !== undefined && !this.messageExchanges.has(name)) this.report(line, `${where}: message exchange "${name}" is not declared`);
  }

  private alarm(alarm: OnAlarm, context: Context): void {
    const where = `event handler ${alarm.path}`;
    if (alarm.for) this.expression(alarm.for, context, where);
    if (alarm.until) this.expression(alarm.until, context, where);
    if (alarm.repeatEvery) this.expression(alarm.repeatEvery, context, where);
    const boundary: LinkFrame = { kind: 'boundary', what: `the event handler ${alarm.path}` };
    this.activity(alarm.scope, { ...context, links: [...context.links, boundary], inFaultHandler: false, handlerOf: undefined });
  }

  // ---- messaging ---------------------------------------------------------------------------

  private messaging(
    activity: Pick<Extract<Activity, { kind: 'invoke' | 'receive' | 'reply' }>, 'kind' | 'partnerLink' | 'portType' | 'operation'> & { readonly line?: number },
    role: 'partner' | 'my',
    where: string,
    atLine?: number,
  ): OperationInfo | undefined {
    const line = atLine ?? activity.line ?? 0;
    const pl = this.partnerLinks.get(activity.partnerLink);
    if (!pl) {
      this.report(line, `${where}: partner link "${activity.partnerLink}" is not declared`);
      return undefined;
    }
    const roleName = role === 'partner' ? pl.partnerRole : pl.myRole;
    if (roleName === undefined) {
      const attribute = role === 'partner' ? 'partnerRole' : 'myRole';
      this.report(line, `${where}: partner link "${pl.name}" has no ${attribute}, which <${activity.kind}> needs`);
      return undefined;
    }
    if (!this.context) return undefined;
    const portType = this.context.portTypeOf(pl, role);
    if (!portType) {
      this.report(
        line,
        `${where}: partner link "${pl.name}": role "${roleName}" of partner link type ${qnameKey(pl.partnerLinkType)} is not defined by the imported WSDLs`,
      );
      return undefined;
    }
    if (activity.portType && qnameKey(activity.portType) !== qnameKey(portType.portType)) {
      this.report(
        line,
        `${where}: portType ${qnameKey(activity.portType)} is not the port type of partner link "${pl.name}" (${qnameKey(portType.portType)})`,
      );
    }
    const operation = portType.operations.get(activity.operation);
    if (!operation) this.report(line, `${where}: partner link "${pl.name}" has no operation "${activity.operation}"`);
    return operation;
  }

  /**
   * The variable of an invoke, receive or reply against the operation's
   * message: a message variable of that message type, or (SA00048, SA00058)
   * an element variable of the element defining the message's single part.
   */
  private messageVariable(variable: VariableInfo, expected: QName | undefined, line: number, where: string, role: string, direction: string): void {
    const name = variable.declaration.name;
    const element = variable.declaration.element;
    if (variable.kind === 'element' && element !== undefined) {
      if (!expected || !this.context?.messageParts) return;
      const parts = this.context.messageParts(expected);
      if (parts === undefined) return;
      const [only, ...more] = [...parts];
      if (only === undefined || more.length > 0 || only[1] === undefined) {
        this.report(
          line,
          `${where}: ${role} "${name}" is an element variable, but the operation's ${direction} ${qnameKey(expected)} ${only === undefined ? 'has no part' : more.length > 0 ? `has ${parts.size} parts` : `part "${only[0]}" is not defined by an element`}; use a message variable (messageType=${qnameKey(expected)})`,
        );
      } else if (qnameKey(only[1]) !== qnameKey(element)) {
        this.report(line, `${where}: ${role} "${name}" holds element ${qnameKey(element)}, but the operation's ${direction} ${qnameKey(expected)} is element ${qnameKey(only[1])}`);
      }
      return;
    }
    if (variable.kind !== 'message') {
      this.report(line, `${where}: ${role} "${name}" must be a message variable (messageType=…) or an element variable (element=…) of the message's single element part`);
      return;
    }
    const actual = variable.declaration.messageType;
    if (expected && actual && qnameKey(expected) !== qnameKey(actual)) {
      this.report(line, `${where}: ${role} "${name}" has message type ${qnameKey(actual)}, but the operation's ${direction} is ${qnameKey(expected)}`);
    }
  }

  // ---- assign ------------------------------------------------------------------------------

  private copyFrom(from: Copy['from'], line: number, context: Context, where: string): VariableInfo | undefined {
    switch (from.type) {
      case 'variable': {
        const found = this.variable(context, from.variable, line, where, '<from> variable');
        if (found) this.partOf(found, from.part, line, where);
        if (from.query) this.expression(from.query, context, where, 'query');
        return found;
      }
      case 'expression':
        this.expression(from.expression, context, where);
        return undefined;
      case 'literal':
        return undefined;
      case 'property':
        this.propertyOf(from, line, context, where, '<from>');
        return undefined;
    }
  }

  /** A `<from>`/`<to>` with `property`: the variable in scope, and an alias of the property for its type. */
  private propertyOf(spec: { readonly variable: string; readonly property: QName }, line: number, context: Context, where: string, role: string): void {
    const found = this.variable(context, spec.variable, line, where, `${role} variable`);
    const catalog = this.context?.properties;
    if (found === undefined || catalog === undefined) return;
    const d = found.declaration;
    const typed: Typed = d.messageType ? { messageType: d.messageType } : d.element ? { element: d.element } : d.type ? { type: d.type } : {};
    if (!catalog.properties.has(qnameKey(spec.property))) this.report(line, `${where}: ${role} property ${qnameKey(spec.property)} is not defined by the imported WSDLs`);
    else if (!hasAlias(catalog, spec.property, typed)) this.report(line, `${where}: ${role} property ${qnameKey(spec.property)} has no property alias for ${describeTyped(typed)} (variable "${spec.variable}")`);
  }

  private partOf(variable: VariableInfo, part: string | undefined, line: number, where: string): void {
    if (part !== undefined && variable.kind !== 'message') {
      this.report(line, `${where}: variable "${variable.declaration.name}" is not a message variable, so it has no part "${part}"`);
    }
  }

  private copy(copy: Copy, context: Context, where: string): void {
    const from = this.copyFrom(copy.from, copy.line, context, where);
    const to = copy.to;
    if (to.type === 'property') {
      this.propertyOf(to, copy.line, context, where, '<to>');
    } else if (to.type === 'variable') {
      const target = this.variable(context, to.variable, copy.line, where, '<to> variable');
      if (target) this.partOf(target, to.part, copy.line, where);
      if (to.query) this.expression(to.query, context, where, 'query');
      const wholeFrom = copy.from.type === 'variable' && copy.from.part === undefined && !copy.from.query;
      const wholeTo = to.part === undefined && !to.query;
      if (from && target && wholeFrom && wholeTo && (from.kind === 'message') !== (target.kind === 'message')) {
        this.report(copy.line, `${where}: copy from variable "${from.declaration.name}" to variable "${target.declaration.name}": a whole message copies only to a message variable`);
      } else if (from && target && wholeFrom && wholeTo && from.kind === 'message') {
        const a = from.declaration.messageType;
        const b = target.declaration.messageType;
        if (a && b && qnameKey(a) !== qnameKey(b)) {
          this.report(copy.line, `${where}: copy from variable "${from.declaration.name}" (${qnameKey(a)}) to variable "${target.declaration.name}" (${qnameKey(b)}): the message types differ`);
        }
      }
    } else {
      if (!/^\s*\$/.test(to.expression.text)) {
        this.report(copy.line, `${where}: ${describeExpression(to.expression, '<to> expression')}: must start with a variable reference ($var, $var.part or $var/…)`);
      }
      this.expression(to.expression, context, where, '<to> expression');
    }
  }

  // ---- compensation ------------------------------------------------------------------------

  private compensateScope(target: string, line: number, context: Context, where: string): void {
    const owner = context.handlerOf;
    if (!owner) {
      this.report(line, `${where}: <compensateScope> is only allowed in a fault, compensation or termination handler`);
      return;
    }
    const enclosed = immediatelyEnclosedScopes(owner.activity);
    if (!enclosed.some((s) => s.name === target)) {
      const ownerName = isProcess(owner) ? 'the process' : `scope ${owner.path}`;
      const names = enclosed.filter((s) => s.name !== undefined).map((s) => `"${s.name}"`);
      this.report(
        line,
        `${where}: target "${target}" is not a scope immediately enclosed by ${ownerName}${names.length > 0 ? ` (those are ${names.join(', ')})` : ''}`,
      );
    }
  }

  // ---- links -------------------------------------------------------------------------------

  private resolveLink(name: string, context: Context): { link?: LinkInfo; crossed?: string } {
    let crossed: string | undefined;
    for (let i = context.links.length - 1; i >= 0; i--) {
      const frame = context.links[i];
      if (!frame) continue;
      if (frame.kind === 'boundary') crossed ??= frame.what;
      else {
        const link = frame.links.get(name);
        if (link) return { link, ...(crossed !== undefined ? { crossed } : {}) };
      }
    }
    return {};
  }

  private linkEnds(activity: Activity, context: Context, where: string): void {
    const ends: Array<[string, 'source' | 'target']> = [
      ...activity.sources.map((s): [string, 'source'] => [s.link, 'source']),
      ...activity.targets.map((t): [string, 'target'] => [t, 'target']),
    ];
    for (const [name, end] of ends) {
      const { link, crossed } = this.resolveLink(name, context);
      if (!link) {
        this.report(activity.line, `${where}: link "${name}" is not declared by an enclosing <flow>`);
        continue;
      }
      if (crossed !== undefined) {
        this.report(activity.line, `${where}: link "${name}" of ${subject(link.flow)} crosses the boundary of ${crossed}`);
      }
      (end === 'source' ? link.sources : link.targets).push(activity);
    }
  }

  private joinCondition(activity: Activity, expr: Expression, where: string): void {
    const analysis = analyzeExpression(expr);
    for (const problem of analysis.problems) this.report(expr.line, `${where}: ${describeExpression(expr, 'joinCondition')}: ${problem}`);
    for (const ref of analysis.references) {
      if (ref.part !== undefined || !activity.targets.includes(ref.variable)) {
        this.report(expr.line, `${where}: ${describeExpression(expr, 'joinCondition')}: $${ref.variable}${ref.part !== undefined ? `.${ref.part}` : ''} is not an incoming link of the activity`);
      }
    }
    for (const link of analysis.links) {
      if (!activity.targets.includes(link)) this.report(expr.line, `${where}: ${describeExpression(expr, 'joinCondition')}: bpel:getLinkStatus('${link}') does not name an incoming link of the activity`);
    }
    for (const ref of analysis.properties) {
      this.report(expr.line, `${where}: ${describeExpression(expr, 'joinCondition')}: bpel:getVariableProperty('${ref.variable}', …) reads a variable; a joinCondition reads only incoming links`);
    }
  }

  private checkLinks(): void {
    for (const link of this.links) {
      const where = `${subject(link.flow)}: link "${link.name}"`;
      if (link.sources.length === 0 && link.targets.length === 0) {
        this.report(link.line, `${where} is declared but not used`);
        continue;
      }
      if (link.sources.length === 0) this.report(link.line, `${where} has no source`);
      if (link.targets.length === 0) this.report(link.line, `${where} has no target`);
      if (link.sources.length > 1) this.report(link.line, `${where} has ${link.sources.length} sources (${link.sources.map((a) => a.path).join(', ')}); a link has one`);
      if (link.targets.length > 1) this.report(link.line, `${where} has ${link.targets.length} targets (${link.targets.map((a) => a.path).join(', ')}); a link has one`);
    }
  }

  /**
   * Control cycles. Each activity is a start and an end node; structure adds
   * start→child start, child end→end, and in a sequence end→next start; a
   * link adds source end→target start. A strongly connected component of
   * more than one node is a cycle, and always holds a link.
   */
  private checkCycles(): void {
    const used = this.links.filter((l) => l.sources.length === 1 && l.targets.length === 1);
    if (used.length === 0) return;
    const edges = new Map<string, Array<{ to: string; link?: LinkInfo }>>();
    const edge = (from: string, to: string, link?: LinkInfo): void => {
      let list = edges.get(from);
      if (!list) edges.set(from, (list = []));
      list.push(link ? { to, link } : { to });
    };
    const structure = (a: Activity): void => {
      const children = childActivities(a).filter((c) => c.role === 'body' || c.role === 'branch' || c.role === 'else');
      if (children.length === 0) edge(`s${a.path}`, `e${a.path}`);
      if (a.kind === 'sequence') {
        const [first] = a.activities;
        const last = a.activities[a.activities.length - 1];
        if (first) edge(`s${a.path}`, `s${first.path}`);
        for (let i = 0; i + 1 < a.activities.length; i++) edge(`e${a.activities[i]?.path ?? ''}`, `s${a.activities[i + 1]?.path ?? ''}`);
        if (last) edge(`e${last.path}`, `e${a.path}`);
      } else {
        for (const c of children) {
          edge(`s${a.path}`, `s${c.activity.path}`);
          edge(`e${c.activity.path}`, `e${a.path}`);
        }
      }
      for (const c of childActivities(a)) structure(c.activity);
    };
    for (const h of [...(this.process.faultHandlers?.catches.map((c) => c.activity) ?? []), ...(this.process.faultHandlers?.catchAll ? [this.process.faultHandlers.catchAll] : []), ...this.process.alarms.map((a) => a.scope), ...this.process.events.map((e) => e.scope)]) {
      structure(h);
    }
    structure(this.process.activity);
    for (const link of used) {
      const source = link.sources[0];
      const target = link.targets[0];
      if (source && target) edge(`e${source.path}`, `s${target.path}`, link);
    }
    for (const component of stronglyConnected(edges)) {
      const inside = new Set(component);
      const cycleLinks = used.filter((l) => inside.has(`e${l.sources[0]?.path ?? ''}`) && inside.has(`s${l.targets[0]?.path ?? ''}`));
      if (cycleLinks.length === 0) continue;
      cycleLinks.sort((a, b) => a.line - b.line);
      const described = cycleLinks.map((l) => `"${l.name}" (${l.sources[0]?.path} → ${l.targets[0]?.path})`).join(', ');
      this.report(cycleLinks[0]?.line ?? 0, `links form a cycle: ${described}`);
    }
  }
}

/** What defines a WSDL message part: its element, or its XML Schema type. */
export interface PartDefinition {
  readonly element?: QName;
  readonly type?: QName;
}

/** A WSDL message's parts with the element or type defining each, or undefined when the WSDLs are not known. */
export function partDefinitions(message: QName, context: Pick<ProcessContext, 'messageParts' | 'partTypes'> | undefined): ReadonlyMap<string, PartDefinition> | undefined {
  const parts = context?.messageParts?.(message);
  if (parts === undefined) return undefined;
  const types = context?.partTypes?.(message);
  const out = new Map<string, PartDefinition>();
  for (const [name, element] of parts) {
    const type = types?.get(name);
    out.set(name, element !== undefined ? { element } : type !== undefined ? { type } : {});
  }
  return out;
}

/**
 * The variables an `<onEvent>`'s `<fromParts>` declare in the handler's
 * scope (WS-BPEL 2.0 §12.7.1), each of its part's element or type: an
 * element part gives an element variable, a type part a variable of that type.
 */
export function fromPartDeclarations(fromParts: readonly FromPart[], parts: ReadonlyMap<string, PartDefinition> | undefined): VariableDeclaration[] {
  return fromParts.map((p) => {
    const definition = parts?.get(p.part);
    return { name: p.toVariable, line: p.line, ...(definition?.element ? { element: definition.element } : {}), ...(definition?.type ? { type: definition.type } : {}) };
  });
}

/** Scopes directly inside `activity` (not inside another scope), forEach scopes included. */
function immediatelyEnclosedScopes(activity: Activity): Scope[] {
  if (activity.kind === 'scope') return [activity];
  return childActivities(activity).flatMap((c) => immediatelyEnclosedScopes(c.activity));
}

/** Tarjan's algorithm, iterative; returns the components with more than one node. */
function stronglyConnected(edges: ReadonlyMap<string, ReadonlyArray<{ to: string }>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  let counter = 0;
  const nodes = new Set<string>();
  for (const [from, list] of edges) {
    nodes.add(from);
    for (const e of list) nodes.add(e.to);
  }
  for (const root of nodes) {
    if (index.has(root)) continue;
    const work: Array<{ node: string; next: number }> = [{ node: root, next: 0 }];
    index.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const top = work[work.length - 1];
      if (!top) break;
      const list = edges.get(top.node) ?? [];
      if (top.next < list.length) {
        const to = list[top.next++]?.to ?? '';
        if (!index.has(to)) {
          index.set(to, counter);
          low.set(to, counter++);
          stack.push(to);
          onStack.add(to);
          work.push({ node: to, next: 0 });
        } else if (onStack.has(to)) {
          low.set(top.node, Math.min(low.get(top.node) ?? 0, index.get(to) ?? 0));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node) ?? 0, low.get(top.node) ?? 0));
      if (low.get(top.node) === index.get(top.node)) {
        const component: string[] = [];
        for (;;) {
          const n = stack.pop();
          if (n === undefined) break;
          onStack.delete(n);
          component.push(n);
          if (n === top.node) break;
        }
        if (component.length > 1) out.push(component);
      }
    }
  }
  return out;
}
