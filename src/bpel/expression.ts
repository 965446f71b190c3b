/**
 * XPath 1.0 for BPEL expressions and queries, with WS-BPEL 2.0 variable
 * access (`$var`, `$var.part/ns:child`), `bpel:getVariableProperty`, the
 * BPEL4WS 1.1 style `bpel:getVariableData('var', 'part', '/query')` and
 * `bpel:getLinkStatus('link')` (join conditions only), and Provisor's helpers in
 * `urn:provisor:bpel:functions` (`pv:now()`, `pv:duration-ms($d)`).
 *
 * Every failure is a BPEL standard fault naming the expression and its line:
 * a syntax or runtime error is `subLanguageExecutionFault`, reading an
 * uninitialised variable or part `uninitializedVariable`, a query that must
 * select one node and does not `selectionFailure`, a bad duration, date or
 * counter `invalidExpressionValue`.
 */
import type { Document, Node } from '@xmldom/xmldom';
import { BPEL_NS, type Expression, type QName, type VariableDeclaration } from './model';
import { BpelFault, standardFault, type VariableValue } from './values';
import { newDocument, XML_NS } from '../xml/dom';
import { durationMillis, formatDateTime, parseDeadline, parseDuration } from './xsd-time';
import type { PropertyCatalog } from './properties';

/** Namespace of Provisor's XPath functions (`xmlns:pv="urn:provisor:bpel:functions"`). */
export const PROVISOR_FUNCTIONS_NS = 'urn:provisor:bpel:functions';
/** BPEL4WS 1.1 namespace, accepted for `getVariableData` (the 2.0 namespace is accepted too). */
export const BPEL4WS_NS = 'http://schemas.xmlsoap.org/ws/2003/03/business-process/';
const XSD_NS = 'http://www.w3.org/2001/XMLSchema';

/** What an expression can see: the variables in scope where it is evaluated. */
export interface VariableScope {
  lookup(name: string): { declaration: VariableDeclaration; value: VariableValue | undefined } | undefined;
}

/** Evaluation extras: forEach counters (looked up before variables) and the current time for `pv:now()`. */
export interface EvaluationOptions {
  readonly counters?: Readonly<Record<string, number>>;
  /** Defaults to the system clock; the interpreter passes its injected clock's time. */
  readonly now?: Date;
  /** The properties and aliases `<from property>` and `<to property>` read through. */
  readonly properties?: PropertyCatalog;
  /**
   * Reads a variable property for `bpel:getVariableProperty`: the node its
   * property alias points at, or a type part's text (properties.ts
   * `variablePropertyReader`). Without it the function is a fault.
   */
  readonly variableProperty?: (variable: { readonly declaration: VariableDeclaration; readonly value: VariableValue }, property: QName, what: string) => Node | string;
  /** The status of the incoming links, in a join condition only (`bpel:getLinkStatus`). */
  readonly links?: ReadonlyMap<string, boolean>;
}

/** An XPath 1.0 result: a node-set in document order, a string, a number or a boolean. */
export type XPathResult = string | number | boolean | Node[];

// ---- the xpath package, typed for what is used here ------------------------------------------
// Its own typings declare neither parse() nor the expression classes, and they pull the DOM
// library into every file of the program; this narrow view avoids both.

interface XValue {
  stringValue(): string;
  numberValue(): number;
  booleanValue(): boolean;
}
interface XNodeSet extends XValue {
  toArray(): Node[];
}
type XFunction = (context: unknown, ...args: XValue[]) => unknown;
interface XPathOptions {
  node?: Node;
  namespaces: (prefix: string) => string | undefined;
  variables: (name: string, namespace: string | null) => unknown;
  functions: (name: string, namespace: string | null) => XFunction | undefined;
}
interface ParsedXPath {
  readonly expression: object;
  evaluate(options: XPathOptions): XValue;
}
type Class<T> = abstract new (...args: never[]) => T;
interface XPathLibrary {
  parse(text: string): ParsedXPath;
  XNodeSet: Class<XNodeSet>;
  XString: new (text: string) => XValue & { str: string };
  XNumber: new (n: number) => XValue;
  XBoolean: Class<XValue>;
  VariableReference: Class<{ variable: string }>;
  FunctionCall: Class<{ functionName: string; arguments: unknown[] }>;
  PathExpr: Class<{ filter?: unknown; filterPredicates?: unknown[]; locationPath?: unknown }> & {
    applyStep: (step: { readonly axis: number }, xpc: unknown, node: Node) => Node[];
  };
  Step: Class<{ nodeTest?: { prefix?: string | null } }> & { readonly ATTRIBUTE: number };
  FunctionResolver: { prototype: { addStandardFunctions(this: { functions: object }): void } };
}
const lib = require('xpath') as XPathLibrary;

// Every context the library makes (one per evaluation, per path expression and per predicate)
// starts with a function resolver of its own, filled with the 27 standard functions, which the
// evaluation's resolver replaces at once: the largest part of what evaluating an expression
// allocated. They now share one table (a function added to one resolver stays its own).
const standardFunctions: object = {};
lib.FunctionResolver.prototype.addStandardFunctions.call({ functions: standardFunctions });
lib.FunctionResolver.prototype.addStandardFunctions = function () {
  this.functions = Object.create(standardFunctions) as object;
};

// XPath 1.0 §5.3: namespace declarations are not attributes, so `@*` and `@node()` must not select
// them; the library's attribute axis returns them with the others. Filtered where the axis is applied,
// so counts and predicates see the right set too.
const applyStep = lib.PathExpr.applyStep;
lib.PathExpr.applyStep = (step, xpc, node) => {
  const nodes = applyStep(step, xpc, node);
  if (step.axis !== lib.Step.ATTRIBUTE) return nodes;
  return nodes.filter((n) => {
    const name = (n as { name?: string }).name ?? '';
    return name !== 'xmlns' && !name.startsWith('xmlns:');
  });
};

const OPERATOR_NAMES: ReadonlySet<string> = new Set(['and', 'or', 'div', 'mod']);

/**
 * The expression with whitespace between a function name (or node type)
 * and its `(` removed: XPath 1.0 allows it (`concat ('x', 'y')`), the
 * library does not. String literals are copied as they are, and the
 * operator names `and`, `or`, `div` and `mod` keep their space.
 */
export function closeFunctionCalls(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; ) {
    const c = text[i] ?? '';
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      const stop = end === -1 ? text.length : end + 1;
      out += text.slice(i, stop);
      i = stop;
      continue;
    }
    if (/\s/.test(c)) {
      let j = i;
      while (j < text.length && /\s/.test(text[j] ?? '')) j++;
      const name = /(^|::|[^$@\w.:-])((?:[A-Za-z_][\w.-]*:)?[A-Za-z_][\w.-]*)$/.exec(out);
      if (text[j] === '(' && name !== null && !OPERATOR_NAMES.has(name[2] ?? '')) {
        i = j;
        continue;
      }
      out += text.slice(i, j);
      i = j;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

/** A problem found while evaluating, turned into a standard fault naming the expression. */
class ExpressionProblem extends Error {
  constructor(
    readonly fault: Parameters<typeof standardFault>[0],
    message: string,
  ) {
    super(message);
  }
}

/** `expression "…" (line N)`, the prefix of every message about an expression. */
export function describeExpression(expr: Expression, what = 'expression'): string {
  const text = expr.text.length > 120 ? `${expr.text.slice(0, 117)}...` : expr.text;
  return `${what} "${text}" (line ${expr.line})`;
}

const compiled = new Map<string, ParsedXPath | Error>();

function compile(text: string): ParsedXPath | Error {
  let found = compiled.get(text);
  if (found === undefined) {
    try {
      found = lib.parse(/\s\(/.test(text) ? closeFunctionCalls(text) : text);
    } catch (error) {
      found = error instanceof Error ? error : new Error(String(error));
    }
    if (compiled.size >= 2000) compiled.clear();
    compiled.set(text, found);
  }
  return found;
}

/** The context node of expressions: BPEL gives them none, so paths from it select nothing. */
let emptyDocument: Document | undefined;
function noContext(): Document {
  emptyDocument ??= newDocument();
  return emptyDocument;
}

interface Evaluation {
  readonly vars: VariableScope;
  readonly options: EvaluationOptions;
  readonly namespaces: Readonly<Record<string, string>>;
}

/**
 * `bpel:getVariableProperty('variable', 'ns:property')`, WS-BPEL 2.0's
 * function for variable properties: the node the property alias for the
 * variable's type points at (a node-set of one), or a type part's text.
 */
function getVariableProperty(evaluation: Evaluation, args: XValue[]): Node[] | string {
  if (args.length !== 2) throw new ExpressionProblem('subLanguageExecutionFault', `getVariableProperty takes 2 arguments, not ${args.length}`);
  const name = args[0]?.stringValue() ?? '';
  const text = args[1]?.stringValue() ?? '';
  const property = qnameIn(text, evaluation.namespaces);
  if (property === undefined) throw new ExpressionProblem('subLanguageExecutionFault', `getVariableProperty: "${text}" is not a QName with a declared prefix`);
  const found = evaluation.vars.lookup(name);
  if (!found) throw new ExpressionProblem('subLanguageExecutionFault', `variable "${name}" is not declared`);
  if (found.value === undefined) throw new ExpressionProblem('uninitializedVariable', `variable "${name}" is not initialised`);
  const reader = evaluation.options.variableProperty;
  if (reader === undefined) throw new ExpressionProblem('subLanguageExecutionFault', `getVariableProperty('${name}', '${text}'): no property aliases are known here`);
  const target = reader({ declaration: found.declaration, value: found.value }, property, `getVariableProperty('${name}', '${text}')`);
  return typeof target === 'string' ? target : [target];
}

/** `bpel:getLinkStatus('link')`, the BPEL4WS 1.1 form of `$link`: the status of an incoming link, in a join condition only. */
function getLinkStatus(evaluation: Evaluation, args: XValue[]): boolean {
  if (args.length !== 1) throw new ExpressionProblem('subLanguageExecutionFault', `getLinkStatus takes 1 argument, not ${args.length}`);
  const name = args[0]?.stringValue() ?? '';
  const links = evaluation.options.links;
  if (links === undefined) throw new ExpressionProblem('subLanguageExecutionFault', `getLinkStatus('${name}') is only allowed in a joinCondition`);
  const status = links.get(name);
  if (status === undefined) throw new ExpressionProblem('subLanguageExecutionFault', `getLinkStatus('${name}'): "${name}" is not an incoming link of the activity`);
  return status;
}

/** A `prefix:local` (or unprefixed) name resolved with the expression's namespace bindings. */
function qnameIn(text: string, namespaces: Readonly<Record<string, string>>): QName | undefined {
  const match = /^\s*(?:([A-Za-z_][\w.-]*):)?([A-Za-z_][\w.-]*)\s*$/.exec(text);
  if (match === null) return undefined;
  const [, prefix, local = ''] = match;
  if (prefix === undefined) return { ns: '', local };
  const ns = namespaces[prefix];
  return ns === undefined ? undefined : { ns, local };
}

function namespaceResolver(namespaces: Readonly<Record<string, string>>): (prefix: string) => string {
  return (prefix) => {
    if (prefix === 'xml') return XML_NS;
    const ns = prefix === '' ? undefined : namespaces[prefix];
    // Throwing keeps the library from falling back to the prefixes declared in the data.
    if (ns === undefined) throw new ExpressionProblem('subLanguageExecutionFault', `namespace prefix "${prefix}" is not declared`);
    return ns;
  };
}

/** The value of `$name` or `$name.part`, as XPath sees it. */
function variableValue(evaluation: Evaluation, name: string, part: string | undefined): Node | string | number | boolean {
  const counter = part === undefined ? evaluation.options.counters?.[name] : undefined;
  if (counter !== undefined) return counter;
  const found = evaluation.vars.lookup(name);
  if (!found) throw new ExpressionProblem('subLanguageExecutionFault', `variable "${name}" is not declared`);
  const value = found.value;
  if (value === undefined) throw new ExpressionProblem('uninitializedVariable', `variable "${name}" is not initialised`);
  if (value.kind === 'message') {
    if (part === undefined) {
      throw new ExpressionProblem('subLanguageExecutionFault', `message variable "${name}" is read part by part: $${name}.<part>`);
    }
    const partValue = value.parts.get(part);
    if (partValue === undefined) {
      throw new ExpressionProblem('uninitializedVariable', `part "${part}" of variable "${name}" is not initialised`);
    }
    return partValue;
  }
  if (part !== undefined) {
    throw new ExpressionProblem('subLanguageExecutionFault', `variable "${name}" is not a message variable: it has no part "${part}"`);
  }
  return value.kind === 'element' ? value.element : value.value;
}

function isLiteral(arg: unknown): string | undefined {
  if (!(arg instanceof lib.PathExpr)) return undefined;
  if (arg.locationPath || (arg.filterPredicates?.length ?? 0) > 0) return undefined;
  return arg.filter instanceof lib.XString ? arg.filter.str : undefined;
}

function getVariableData(evaluation: Evaluation, args: XValue[]): Node[] | string | number | boolean {
  if (args.length < 1 || args.length > 3) {
    throw new ExpressionProblem('subLanguageExecutionFault', `getVariableData takes 1 to 3 arguments, not ${args.length}`);
  }
  const name = args[0]?.stringValue() ?? '';
  const part = args.length >= 2 ? args[1]?.stringValue() : undefined;
  const query = args.length === 3 ? args[2]?.stringValue() : undefined;
  const base = variableValue(evaluation, name, part === '' ? undefined : part);
  if (query === undefined) return typeof base === 'object' ? [base] : base;
  if (typeof base !== 'object') {
    throw new ExpressionProblem('subLanguageExecutionFault', `getVariableData('${name}'…) has a query but the value is not XML`);
  }
  const nodes = runQuery(evaluation, query, base);
  if (nodes.length !== 1) {
    throw new ExpressionProblem(
      'selectionFailure',
      `getVariableData('${name}'${part !== undefined ? `, '${part}'` : ''}, '${query}') selected ${nodes.length} nodes, not one`,
    );
  }
  return nodes;
}

function runQuery(evaluation: Evaluation, text: string, context: Node): Node[] {
  const parsed = compile(text);
  if (parsed instanceof Error) throw new ExpressionProblem('subLanguageExecutionFault', `query "${text}" is not valid XPath 1.0`);
  const result = parsed.evaluate(xpathOptions(evaluation, context));
  if (!(result instanceof lib.XNodeSet)) {
    throw new ExpressionProblem('subLanguageExecutionFault', `query "${text}" does not select nodes`);
  }
  return result.toArray();
}

function functionFor(evaluation: Evaluation, name: string, namespace: string | null): XFunction | undefined {
  if (namespace === BPEL_NS || namespace === BPEL4WS_NS) {
    if (name === 'getVariableData') return (_context, ...args) => getVariableData(evaluation, args);
    if (name === 'getVariableProperty') return (_context, ...args) => getVariableProperty(evaluation, args);
    if (name === 'getLinkStatus') return (_context, ...args) => getLinkStatus(evaluation, args);
    if (name === 'doXslTransform') {
      return () => {
        throw new ExpressionProblem('subLanguageExecutionFault', `bpel:${name}() is not supported by Provisor; see docs/bpel.md`);
      };
    }
    return undefined;
  }
  if (namespace === PROVISOR_FUNCTIONS_NS) {
    if (name === 'now') return () => formatDateTime(evaluation.options.now ?? new Date());
    if (name === 'duration-ms') {
      return (_context, ...args) => {
        if (args.length !== 1) throw new ExpressionProblem('subLanguageExecutionFault', `pv:duration-ms takes one argument, not ${args.length}`);
        const text = args[0]?.stringValue() ?? '';
        const duration = parseDuration(text);
        if (!duration) throw new ExpressionProblem('invalidExpressionValue', `pv:duration-ms: "${text}" is not an xsd:duration`);
        return durationMillis(duration, evaluation.options.now ?? new Date());
      };
    }
  }
  return undefined;
}

function xpathOptions(evaluation: Evaluation, node: Node): XPathOptions {
  return {
    node,
    namespaces: namespaceResolver(evaluation.namespaces),
    variables: (name, namespace) => {
      if (namespace) throw new ExpressionProblem('subLanguageExecutionFault', `variable $${name} has a namespace prefix; BPEL variables have none`);
      const dot = name.indexOf('.');
      return dot === -1 ? variableValue(evaluation, name, undefined) : variableValue(evaluation, name.slice(0, dot), name.slice(dot + 1));
    },
    functions: (name, namespace) => functionFor(evaluation, name, namespace),
  };
}

/** An expression that is one string literal and nothing else (`'QUEUED'`, `"PT0.2S"`): its text. */
const STRING_LITERAL = /^\s*(?:'([^']*)'|"([^"]*)")\s*$/;
const literals = new Map<string, string | null>();

/** The value of an expression that is a string literal alone, or null: initial values, durations and deadlines mostly are, and need no evaluation. */
function literalOf(text: string): string | null {
  let found = literals.get(text);
  if (found === undefined) {
    const match = STRING_LITERAL.exec(text);
    found = match === null ? null : (match[1] ?? match[2] ?? '');
    if (literals.size >= 2000) literals.clear();
    literals.set(text, found);
  }
  return found;
}

function run(expr: Expression, what: string, vars: VariableScope, options: EvaluationOptions | undefined, node: Node): XValue {
  const literal = literalOf(expr.text);
  if (literal !== null) return new lib.XString(literal);
  const parsed = compile(expr.text);
  if (parsed instanceof Error) {
    throw standardFault('subLanguageExecutionFault', `${describeExpression(expr, what)}: not valid XPath 1.0 (${parsed.message})`);
  }
  const evaluation: Evaluation = { vars, options: options ?? {}, namespaces: expr.namespaces };
  try {
    return parsed.evaluate(xpathOptions(evaluation, node));
  } catch (error) {
    // A property alias's query is an expression of its own: its fault names the function call that ran it.
    if (error instanceof BpelFault && error.message.startsWith('getVariableProperty(')) throw new BpelFault(error.faultName, `${describeExpression(expr, what)}: ${error.message}`, error.data);
    if (error instanceof BpelFault) throw error;
    if (error instanceof ExpressionProblem) throw standardFault(error.fault, `${describeExpression(expr, what)}: ${error.message}`);
    const message = error instanceof Error ? error.message : String(error);
    throw standardFault('subLanguageExecutionFault', `${describeExpression(expr, what)}: ${message}`);
  }
}

function unwrap(value: XValue): XPathResult {
  if (value instanceof lib.XNodeSet) return value.toArray();
  const raw: object = value;
  if (raw instanceof lib.XNumber) return value.numberValue();
  if (raw instanceof lib.XBoolean) return value.booleanValue();
  return value.stringValue();
}

/**
 * Evaluates an XPath 1.0 expression. Node results are the variables' own
 * nodes: read them, never change them.
 *
 * @throws BpelFault a standard fault naming the expression and its line
 */
export function evaluate(expr: Expression, vars: VariableScope, extra?: EvaluationOptions): XPathResult {
  return unwrap(run(expr, 'expression', vars, extra, noContext()));
}

/**
 * Evaluates a `<query>` with `context` (a part or an element variable) as its context node.
 *
 * @throws BpelFault a standard fault naming the query and its line
 */
export function evaluateQuery(query: Expression, context: Node, vars: VariableScope, extra?: EvaluationOptions): XPathResult {
  return unwrap(run(query, 'query', vars, extra, context));
}

/** Evaluates with XPath's boolean() conversion (a condition). */
export function evaluateBoolean(expr: Expression, vars: VariableScope, extra?: EvaluationOptions): boolean {
  return run(expr, 'expression', vars, extra, noContext()).booleanValue();
}

/**
 * Evaluates a `<joinCondition>`, where `$link` is the status of an incoming link.
 *
 * @param linkStatus the status of each incoming link of the activity
 */
export function evaluateJoinCondition(expr: Expression, linkStatus: ReadonlyMap<string, boolean>, extra?: EvaluationOptions): boolean {
  const links: VariableScope = {
    lookup: (name) => {
      const status = linkStatus.get(name);
      if (status === undefined) return undefined;
      return { declaration: { name, line: expr.line, type: { ns: XSD_NS, local: 'boolean' } }, value: { kind: 'simple', value: status } };
    },
  };
  return evaluateBoolean(expr, links, { ...extra, links: linkStatus });
}

/** Evaluates with XPath's number() conversion. */
export function evaluateNumber(expr: Expression, vars: VariableScope, extra?: EvaluationOptions): number {
  return run(expr, 'expression', vars, extra, noContext()).numberValue();
}

/** Evaluates with XPath's string() conversion. */
export function evaluateString(expr: Expression, vars: VariableScope, extra?: EvaluationOptions): string {
  return run(expr, 'expression', vars, extra, noContext()).stringValue();
}

/**
 * Evaluates a forEach counter value or completion branch count: an
 * xsd:unsignedInt, else `invalidExpressionValue`.
 */
export function evaluateUnsignedInt(expr: Expression, vars: VariableScope, extra?: EvaluationOptions): number {
  const n = evaluateNumber(expr, vars, extra);
  if (!Number.isInteger(n) || n < 0 || n > 4294967295) {
    throw standardFault('invalidExpressionValue', `${describeExpression(expr)}: ${numberToString(n)} is not an xsd:unsignedInt`);
  }
  return n;
}

/**
 * Evaluates an xsd:duration expression (`'PT45M'`, `'P1DT2H'`, `'PT0.5S'`)
 * to milliseconds; years and months count from `extra.now`. A negative
 * duration gives a negative number.
 *
 * @throws BpelFault invalidExpressionValue when the value is not an xsd:duration
 */
export function evaluateDuration(expr: Expression, vars: VariableScope, extra?: EvaluationOptions): number {
  const text = evaluateString(expr, vars, extra);
  const duration = parseDuration(text);
  if (!duration) throw standardFault('invalidExpressionValue', `${describeExpression(expr)}: "${text}" is not an xsd:duration`);
  const ms = durationMillis(duration, extra?.now ?? new Date());
  if (!Number.isFinite(ms)) throw standardFault('invalidExpressionValue', `${describeExpression(expr)}: "${text}" is out of range`);
  return ms;
}

/**
 * Evaluates an xsd:dateTime or xsd:date expression to an instant. Without a
 * time zone the value is UTC; `[Area/City]` after a value without an offset
 * names an IANA zone.
 *
 * @throws BpelFault invalidExpressionValue when the value is neither
 */
export function evaluateDeadline(expr: Expression, vars: VariableScope, extra?: EvaluationOptions): Date {
  const text = evaluateString(expr, vars, extra);
  const deadline = parseDeadline(text);
  if (!deadline) {
    throw standardFault('invalidExpressionValue', `${describeExpression(expr)}: "${text}" is not an xsd:dateTime or xsd:date`);
  }
  return deadline;
}

/** A number as XPath's string() writes it (`3`, `0.5`, `NaN`, no exponent). */
export function numberToString(n: number): string {
  return new lib.XNumber(n).stringValue();
}

// ---- static analysis ---------------------------------------------------------------------------

/** A variable an expression reads: `$name`, `$name.part` or a literal `getVariableData('name', 'part')`. */
export interface ExpressionReference {
  readonly variable: string;
  readonly part?: string;
}

/** A `bpel:getVariableProperty('variable', 'ns:property')` of an expression, its arguments read. */
export interface PropertyReference {
  readonly variable: string;
  readonly property: QName;
}

export interface ExpressionAnalysis {
  readonly references: readonly ExpressionReference[];
  /** The variables and properties `bpel:getVariableProperty` reads. */
  readonly properties: readonly PropertyReference[];
  /** The links `bpel:getLinkStatus` reads. */
  readonly links: readonly string[];
  /** What is wrong, without the expression prefix (e.g. `namespace prefix "x" is not declared`). */
  readonly problems: readonly string[];
}

const CORE_FUNCTIONS = new Set([
  'last', 'position', 'count', 'id', 'local-name', 'namespace-uri', 'name', 'string', 'concat', 'starts-with',
  'contains', 'substring-before', 'substring-after', 'substring', 'string-length', 'normalize-space', 'translate',
  'boolean', 'not', 'true', 'false', 'lang', 'number', 'sum', 'floor', 'ceiling', 'round',
]);

/**
 * What an expression reads and what is wrong with it, without evaluating it:
 * syntax, undeclared prefixes, unsupported functions.
 */
export function analyzeExpression(expr: Expression): ExpressionAnalysis {
  const parsed = compile(expr.text);
  if (parsed instanceof Error) return { references: [], properties: [], links: [], problems: ['is not valid XPath 1.0'] };
  const references: ExpressionReference[] = [];
  const properties: PropertyReference[] = [];
  const links: string[] = [];
  const problems = new Set<string>();
  const resolve = (prefix: string): string | undefined => (prefix === 'xml' ? XML_NS : expr.namespaces[prefix]);
  const seen = new Set<object>();
  const visit = (node: unknown): void => {
    if (typeof node !== 'object' || node === null || seen.has(node)) return;
    seen.add(node);
    if (node instanceof lib.VariableReference) {
      const name = node.variable;
      if (name.includes(':')) problems.add(`variable $${name} has a namespace prefix; BPEL variables have none`);
      else {
        const dot = name.indexOf('.');
        references.push(dot === -1 ? { variable: name } : { variable: name.slice(0, dot), part: name.slice(dot + 1) });
      }
    } else if (node instanceof lib.FunctionCall) {
      const colon = node.functionName.indexOf(':');
      const local = colon === -1 ? node.functionName : node.functionName.slice(colon + 1);
      const ns = colon === -1 ? '' : resolve(node.functionName.slice(0, colon));
      if (ns === undefined) problems.add(`namespace prefix "${node.functionName.slice(0, colon)}" is not declared`);
      else if (ns === '') {
        if (!CORE_FUNCTIONS.has(local)) problems.add(`function ${local}() is not an XPath 1.0 function`);
      } else if (ns === BPEL_NS || ns === BPEL4WS_NS) {
        if (local === 'getVariableData') {
          const name = isLiteral(node.arguments[0]);
          const part = isLiteral(node.arguments[1]);
          if (name !== undefined) references.push(part ? { variable: name, part } : { variable: name });
          if (node.arguments.length < 1 || node.arguments.length > 3) problems.add('getVariableData takes 1 to 3 arguments');
        } else if (local === 'getVariableProperty') {
          // SA00030, SA00031: both arguments quoted strings, the second a QName.
          const variable = isLiteral(node.arguments[0]);
          const text = isLiteral(node.arguments[1]);
          const property = text === undefined ? undefined : qnameIn(text, expr.namespaces);
          if (node.arguments.length !== 2 || variable === undefined || text === undefined) problems.add('bpel:getVariableProperty takes two quoted strings: a variable name and a property QName');
          else if (property === undefined) problems.add(`bpel:getVariableProperty: "${text}" is not a QName with a declared prefix`);
          else properties.push({ variable, property });
        } else if (local === 'getLinkStatus') {
          const link = isLiteral(node.arguments[0]);
          if (node.arguments.length !== 1 || link === undefined) problems.add('bpel:getLinkStatus takes one quoted string, a link name');
          else links.push(link);
        } else {
          problems.add(`bpel:${local}() is not supported by Provisor; see docs/bpel.md`);
        }
      } else if (ns === PROVISOR_FUNCTIONS_NS) {
        if (local !== 'now' && local !== 'duration-ms') problems.add(`function pv:${local}() does not exist`);
      } else {
        problems.add(`function ${node.functionName}() (namespace ${ns}) is not supported by Provisor`);
      }
    } else if (node instanceof lib.Step) {
      const prefix = node.nodeTest?.prefix;
      if (typeof prefix === 'string' && prefix !== '' && resolve(prefix) === undefined) {
        problems.add(`namespace prefix "${prefix}" is not declared`);
      }
    }
    for (const value of Object.values(node)) visit(value);
  };
  visit(parsed.expression);
  return { references, properties, links, problems: [...problems] };
}
