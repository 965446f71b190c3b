/**
 * The in-memory model of a WS-BPEL 2.0 process: what the parser produces, the
 * validator checks and the interpreter runs. Every node carries the line it
 * came from and its activity path (`/process/flow/sequence[2]/invoke`), the
 * stable name under which its state is persisted.
 *
 * The supported subset is documented in docs/bpel.md; anything else is
 * rejected by the parser with its element name and line.
 */

import type { QName } from '../xml/dom';
export const BPEL_NS = 'http://docs.oasis-open.org/wsbpel/2.0/process/executable';
export const PLNK_NS = 'http://docs.oasis-open.org/wsbpel/2.0/plnktype';
export const XPATH1_LANGUAGE = 'urn:oasis:names:tc:wsbpel:2.0:sublang:xpath1.0';

export type { QName };

export function qnameKey(q: QName): string {
  return q.ns === '' ? q.local : `{${q.ns}}${q.local}`;
}

/** An XPath 1.0 expression or query, with the namespace bindings in force where it was written. */
export interface Expression {
  readonly text: string;
  readonly namespaces: Readonly<Record<string, string>>;
  readonly line: number;
}

export interface LinkSource {
  readonly link: string;
  readonly transitionCondition?: Expression;
}

/** Fields every activity has. */
export interface ActivityBase {
  readonly name?: string;
  readonly line: number;
  /** Unique, stable path of the activity inside the process. */
  readonly path: string;
  readonly suppressJoinFailure?: boolean;
  readonly joinCondition?: Expression;
  readonly sources: readonly LinkSource[];
  /** Names of incoming links. */
  readonly targets: readonly string[];
}

/** A `<correlation>` of a messaging activity: the set, whether the message initiates it, and (on an invoke) which message. */
export interface Correlation {
  readonly set: string;
  readonly initiate: 'yes' | 'join' | 'no';
  /** On an invoke: the outgoing request, the response, or both. */
  readonly pattern?: 'request' | 'response' | 'request-response';
  readonly line: number;
}

/**
 * A `<toPart>` (WS-BPEL 2.0 §10.3.1): the variable whose value becomes one
 * part of the anonymous message an invoke or a reply sends, as a `<copy>`
 * from the variable to the part would make it.
 */
export interface ToPart {
  readonly part: string;
  readonly fromVariable: string;
  readonly line: number;
}

/** A `<fromPart>`: one part of a received message copied into a variable, as a `<copy>` from the part would. */
export interface FromPart {
  readonly part: string;
  readonly toVariable: string;
  readonly line: number;
}

export interface Invoke extends ActivityBase {
  readonly kind: 'invoke';
  readonly partnerLink: string;
  readonly portType?: QName;
  readonly operation: string;
  readonly inputVariable?: string;
  readonly outputVariable?: string;
  readonly correlations: readonly Correlation[];
  /** Present when the request is built from variables part by part (then there is no inputVariable). */
  readonly toParts?: readonly ToPart[];
  /** Present when the response is taken apart into variables (then there is no outputVariable). */
  readonly fromParts?: readonly FromPart[];
}

/** What a receive, an onMessage and an onEvent share: the message they take. */
export interface InboundMessage {
  readonly partnerLink: string;
  readonly portType?: QName;
  readonly operation: string;
  readonly variable?: string;
  readonly correlations: readonly Correlation[];
  readonly messageExchange?: string;
  /** Present when the message is taken apart into variables (then there is no variable). */
  readonly fromParts?: readonly FromPart[];
}

export interface Receive extends ActivityBase, InboundMessage {
  readonly kind: 'receive';
  readonly createInstance: boolean;
}

export interface Reply extends ActivityBase {
  readonly kind: 'reply';
  readonly partnerLink: string;
  readonly portType?: QName;
  readonly operation: string;
  readonly variable?: string;
  readonly faultName?: QName;
  readonly correlations: readonly Correlation[];
  readonly messageExchange?: string;
  /** Present when the answer is built from variables part by part (then there is no variable). */
  readonly toParts?: readonly ToPart[];
}

/** A `<pick>`'s `<onMessage>`: its path is `…/pick/onMessage[n]`, its activity's `…/pick/onMessage[n]/<kind>`. */
export interface OnMessage extends InboundMessage {
  readonly line: number;
  readonly path: string;
  readonly activity: Activity;
}

/** A `<pick>`'s `<onAlarm>`: `…/pick/onAlarm[n]`, its activity `…/pick/onAlarm[n]/<kind>`. */
export interface PickAlarm {
  readonly line: number;
  readonly path: string;
  readonly for?: Expression;
  readonly until?: Expression;
  readonly activity: Activity;
}

export interface Pick extends ActivityBase {
  readonly kind: 'pick';
  readonly createInstance: boolean;
  readonly messages: readonly OnMessage[];
  readonly alarms: readonly PickAlarm[];
}

export type CopyFrom =
  | { readonly type: 'variable'; readonly variable: string; readonly part?: string; readonly query?: Expression }
  | { readonly type: 'expression'; readonly expression: Expression }
  /** Serialized XML of the literal's content (or plain text). */
  | { readonly type: 'literal'; readonly xml: string }
  /** A variable property, through the property alias for the variable's type. */
  | { readonly type: 'property'; readonly variable: string; readonly property: QName };

export type CopyTo =
  | { readonly type: 'variable'; readonly variable: string; readonly part?: string; readonly query?: Expression }
  | { readonly type: 'property'; readonly variable: string; readonly property: QName }
  /** An lvalue expression of the form `$var.part/path`. */
  | { readonly type: 'expression'; readonly expression: Expression };

export interface Copy {
  readonly line: number;
  readonly from: CopyFrom;
  readonly to: CopyTo;
  readonly keepSrcElementName: boolean;
  readonly ignoreMissingFromData: boolean;
}

export interface Assign extends ActivityBase {
  readonly kind: 'assign';
  readonly copies: readonly Copy[];
}

export interface Wait extends ActivityBase {
  readonly kind: 'wait';
  /** An xsd:duration expression. */
  readonly for?: Expression;
  /** An xsd:dateTime (or date) expression. */
  readonly until?: Expression;
}

export interface Empty extends ActivityBase {
  readonly kind: 'empty';
}

export interface Sequence extends ActivityBase {
  readonly kind: 'sequence';
  readonly activities: readonly Activity[];
}

export interface Flow extends ActivityBase {
  readonly kind: 'flow';
  readonly links: ReadonlyArray<{ readonly name: string; readonly line: number }>;
  readonly activities: readonly Activity[];
}

export interface If extends ActivityBase {
  readonly kind: 'if';
  /** The `if` branch first, then each `elseif`. */
  readonly branches: ReadonlyArray<{ readonly condition: Expression; readonly activity: Activity }>;
  readonly else?: Activity;
}

export interface While extends ActivityBase {
  readonly kind: 'while';
  readonly condition: Expression;
  readonly activity: Activity;
}

export interface RepeatUntil extends ActivityBase {
  readonly kind: 'repeatUntil';
  readonly condition: Expression;
  readonly activity: Activity;
}

export interface ForEach extends ActivityBase {
  readonly kind: 'forEach';
  readonly counterName: string;
  readonly parallel: boolean;
  readonly startCounter: Expression;
  readonly finalCounter: Expression;
  readonly completionCondition?: { readonly branches: Expression; readonly successfulBranchesOnly: boolean };
  readonly scope: Scope;
}

export interface Catch {
  readonly line: number;
  readonly faultName?: QName;
  readonly faultVariable?: string;
  readonly faultMessageType?: QName;
  readonly faultElement?: QName;
  readonly activity: Activity;
}

export interface FaultHandlers {
  readonly catches: readonly Catch[];
  readonly catchAll?: Activity;
}

export interface OnAlarm {
  readonly line: number;
  /** Stable path of the handler (e.g. `/process/scope/eventHandlers/onAlarm[1]`). */
  readonly path: string;
  readonly for?: Expression;
  readonly until?: Expression;
  readonly repeatEvery?: Expression;
  readonly scope: Scope;
}

/**
 * An event handler's `<onEvent>`: its path is `…/eventHandlers/onEvent[n]`,
 * its scope's `…/onEvent[n]/scope`. Its variable, declared by `messageType`
 * or `element`, belongs to the handler's scope; so do the variables of its
 * `<fromParts>`, each of its part's element or type.
 */
export interface OnEvent extends InboundMessage {
  readonly line: number;
  readonly path: string;
  readonly messageType?: QName;
  readonly element?: QName;
  readonly scope: Scope;
}

export interface VariableDeclaration {
  readonly name: string;
  readonly line: number;
  readonly messageType?: QName;
  readonly element?: QName;
  readonly type?: QName;
  /** Inline initialisation (`<from>` child). */
  readonly from?: CopyFrom;
}

export interface Scope extends ActivityBase {
  readonly kind: 'scope';
  readonly isolated: boolean;
  /** The scope's `exitOnStandardFault` when written; absent means inherited from the enclosing scope. */
  readonly exitOnStandardFault?: boolean;
  readonly variables: readonly VariableDeclaration[];
  readonly faultHandlers?: FaultHandlers;
  readonly compensationHandler?: Activity;
  readonly terminationHandler?: Activity;
  readonly alarms: readonly OnAlarm[];
  readonly events: readonly OnEvent[];
  /** Names of the scope's `<messageExchange>`s. */
  readonly messageExchanges: readonly string[];
  /** The scope's correlation sets: each scope instance has its own, uninitiated until one of its activities initiates it. */
  readonly correlationSets: readonly CorrelationSet[];
  readonly activity: Activity;
}

export interface Throw extends ActivityBase {
  readonly kind: 'throw';
  readonly faultName: QName;
  readonly faultVariable?: string;
}

export interface Rethrow extends ActivityBase {
  readonly kind: 'rethrow';
}

export interface Exit extends ActivityBase {
  readonly kind: 'exit';
}

export interface Compensate extends ActivityBase {
  readonly kind: 'compensate';
}

export interface CompensateScope extends ActivityBase {
  readonly kind: 'compensateScope';
  readonly target: string;
}

export type Activity =
  | Invoke
  | Receive
  | Reply
  | Pick
  | Assign
  | Wait
  | Empty
  | Sequence
  | Flow
  | If
  | While
  | RepeatUntil
  | ForEach
  | Scope
  | Throw
  | Rethrow
  | Exit
  | Compensate
  | CompensateScope;

export type ActivityKind = Activity['kind'];

/** Every activity kind: adding one fails to compile until each mapped table handles it. */
export const ACTIVITY_KINDS = [
  'invoke',
  'receive',
  'reply',
  'pick',
  'assign',
  'wait',
  'empty',
  'sequence',
  'flow',
  'if',
  'while',
  'repeatUntil',
  'forEach',
  'scope',
  'throw',
  'rethrow',
  'exit',
  'compensate',
  'compensateScope',
] as const satisfies readonly ActivityKind[];

export interface Import {
  readonly namespace?: string;
  readonly location?: string;
  readonly importType: string;
  readonly line: number;
}

export interface PartnerLink {
  readonly name: string;
  readonly line: number;
  readonly partnerLinkType: QName;
  readonly myRole?: string;
  readonly partnerRole?: string;
}

export interface CorrelationSet {
  readonly name: string;
  readonly line: number;
  readonly properties: readonly QName[];
}

/** A parsed process. Its top level behaves as a scope named `process`. */
export interface Process {
  readonly name: string;
  readonly targetNamespace: string;
  readonly line: number;
  readonly imports: readonly Import[];
  readonly partnerLinks: readonly PartnerLink[];
  readonly variables: readonly VariableDeclaration[];
  readonly correlationSets: readonly CorrelationSet[];
  readonly faultHandlers?: FaultHandlers;
  readonly alarms: readonly OnAlarm[];
  readonly events: readonly OnEvent[];
  readonly messageExchanges: readonly string[];
  readonly activity: Activity;
  readonly exitOnStandardFault: boolean;
  readonly suppressJoinFailure: boolean;
}

/** A problem found while parsing or validating, with its line. */
export interface Diagnostic {
  readonly line: number;
  readonly message: string;
}

/** Thrown at deploy time with every problem found. */
export class ProcessDefinitionError extends Error {
  override readonly name = 'ProcessDefinitionError';
  constructor(
    readonly documentName: string,
    readonly diagnostics: readonly Diagnostic[],
  ) {
    super(diagnostics.map((d) => `${documentName}:${d.line}: ${d.message}`).join('\n'));
  }
}
