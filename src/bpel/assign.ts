/**
 * `<assign>`/`<copy>` (WS-BPEL 2.0 §8.4) and inline variable initialisation.
 *
 * An assign is all or nothing: its copies run in order against working
 * copies of the variables they write (later copies see earlier ones), and
 * the variables are set only when every copy has succeeded. Committed values
 * are never changed in place.
 *
 * Copy semantics:
 * - element → element: the target keeps its name and takes the source's
 *   attributes and children (`keepSrcElementName="yes"`: the source's name too);
 * - text, attribute or atomic value → element: the element's content becomes that text;
 * - anything → attribute or text node: its string value;
 * - anything → simple-typed variable: its string value, kept as a number or
 *   boolean when the variable's XML Schema type is numeric or boolean and the value parses;
 * - a whole message copies only to a message variable (else `mismatchedAssignmentFailure`);
 * - an uninitialised element variable or message part is created by the copy;
 *   a `<query>` into one is `uninitializedVariable`;
 * - a from-spec selecting no node is `selectionFailure` (skipped with
 *   `ignoreMissingFromData="yes"`); more than one node, or a to-spec not
 *   selecting exactly one node, is `selectionFailure`.
 */
import type { Attr, CharacterData, Document, Element, Node } from '@xmldom/xmldom';
import type { Assign, Copy, CopyFrom, Expression, QName, VariableDeclaration } from './model';
import { evaluate, evaluateQuery, numberToString, type EvaluationOptions, type VariableScope } from './expression';
import { standardFault, type VariableValue } from './values';
import { cloneValue } from './variable-value';
import { aliasFor, describeTyped, NO_PROPERTIES, propertyValue } from './properties';
import { NodeType, detachedCopy, newDocument, parseElement, stringValue } from '../xml/dom';

/** A variable scope an assign can write to. */
export interface MutableVariableScope extends VariableScope {
  /** Sets a variable (the innermost one of that name in scope). */
  set(name: string, value: VariableValue): void;
}

const XSD_NS = 'http://www.w3.org/2001/XMLSchema';
const NUMERIC_TYPES = new Set([
  'int', 'integer', 'long', 'short', 'byte', 'decimal', 'float', 'double', 'nonNegativeInteger', 'positiveInteger',
  'negativeInteger', 'nonPositiveInteger', 'unsignedLong', 'unsignedInt', 'unsignedShort', 'unsignedByte',
]);

/** What a from-spec produced. */
type Source =
  | { readonly kind: 'message'; readonly value: Extract<VariableValue, { kind: 'message' }> }
  | { readonly kind: 'node'; readonly node: Node }
  /** The content of a literal holding more than one node. */
  | { readonly kind: 'fragment'; readonly nodes: readonly Node[] }
  | { readonly kind: 'atomic'; readonly value: string | number | boolean }
  /** Nothing selected, with ignoreMissingFromData="yes". */
  | { readonly kind: 'missing' };

type Fault = Parameters<typeof standardFault>[0];
type Fail = (fault: Fault, message: string) => never;

/**
 * The variables an assign has read or written so far: working copies over
 * the real scope. A working copy is changed in place; a value the assign
 * only took whole from another variable (see {@link newElement}) shares that
 * variable's element until a later copy of the assign changes it.
 */
class WorkingSet implements MutableVariableScope {
  /** `owned`: every element of the value is in a document of this assign's own (changed in place by later copies). */
  private readonly entries = new Map<string, { declaration: VariableDeclaration; value: VariableValue | undefined; dirty: boolean; owned: boolean }>();
  /** The documents of this assign's working copies and new elements: they may still change, so they are never shared. */
  private readonly ownDocuments = new Set<Document>();

  constructor(private readonly base: VariableScope) {}

  lookup(name: string): { declaration: VariableDeclaration; value: VariableValue | undefined } | undefined {
    return this.entries.get(name) ?? this.base.lookup(name);
  }

  /** The variable's own working copy, safe to change in place. */
  writable(name: string, fail: Fail): { declaration: VariableDeclaration; value: VariableValue | undefined } {
    let entry = this.entries.get(name);
    if (!entry || !entry.owned) {
      const found = entry ?? this.base.lookup(name);
      if (!found) fail('subLanguageExecutionFault', `variable "${name}" is not declared`);
      const value = found.value === undefined ? undefined : cloneValue(found.value);
      if (value !== undefined) this.adoptValue(value);
      entry = { declaration: found.declaration, value, dirty: entry?.dirty ?? false, owned: true };
      this.entries.set(name, entry);
    }
    return entry;
  }

  set(name: string, value: VariableValue): void {
    const found = this.entries.get(name) ?? this.base.lookup(name);
    if (!found) throw standardFault('subLanguageExecutionFault', `variable "${name}" is not declared`);
    this.entries.set(name, { declaration: found.declaration, value, dirty: true, owned: this.owns(value) });
  }

  /** A new element of this assign: its document may change, so it is never shared. */
  adopt(element: Element): Element {
    if (element.ownerDocument) this.ownDocuments.add(element.ownerDocument);
    return element;
  }

  /**
   * True when `element` can be held by another variable as it is: it is the
   * whole of a value held outside this assign (the document element of a
   * document no copy of this assign changes), and so never changes.
   */
  shareable(element: Element): boolean {
    const document = element.ownerDocument;
    return document !== null && document !== undefined && element.parentNode === document && document.documentElement === element && !this.ownDocuments.has(document);
  }

  /** A value this assign copied (see {@link adopt}). */
  adoptValue(value: VariableValue): void {
    if (value.kind === 'element') this.adopt(value.element);
    else if (value.kind === 'message') for (const part of value.parts.values()) if (typeof part !== 'string') this.adopt(part);
  }

  private owns(value: VariableValue): boolean {
    const mine = (element: Element): boolean => element.ownerDocument !== null && element.ownerDocument !== undefined && this.ownDocuments.has(element.ownerDocument);
    if (value.kind === 'element') return mine(value.element);
    if (value.kind === 'message') {
      for (const part of value.parts.values()) if (typeof part !== 'string' && !mine(part)) return false;
    }
    return true;
  }

  /** Writes every changed variable to `target`. */
  commit(target: MutableVariableScope): void {
    for (const [name, entry] of this.entries) if (entry.dirty && entry.value !== undefined) target.set(name, entry.value);
  }
}

/**
 * Runs every copy of an assign; the variables change only if all succeed.
 *
 * @throws BpelFault a standard fault naming the copy, its expression and line; no variable has changed
 */
export function executeAssign(assign: Pick<Assign, 'copies'>, vars: MutableVariableScope, extra?: EvaluationOptions): void {
  const working = new WorkingSet(vars);
  for (const copy of assign.copies) runCopy(copy, working, extra ?? {});
  working.commit(vars);
}

/**
 * Runs one copy (all or nothing, like an assign of one copy).
 *
 * @throws BpelFault a standard fault naming the copy, its expression and line
 */
export function executeCopy(copy: Copy, vars: MutableVariableScope, extra?: EvaluationOptions): void {
  executeAssign({ copies: [copy] }, vars, extra);
}

/**
 * The value a declaration's inline `<from>` gives the variable, or undefined
 * (uninitialised) without one.
 *
 * @param vars the variables visible to the initialiser (enclosing scopes and earlier declarations)
 * @throws BpelFault as a copy does
 */
export function initialValue(declaration: VariableDeclaration, vars: VariableScope, extra?: EvaluationOptions): VariableValue | undefined {
  if (!declaration.from) return undefined;
  let result: VariableValue | undefined;
  const scope: MutableVariableScope = {
    lookup: (name) => (name === declaration.name ? { declaration, value: result } : vars.lookup(name)),
    set: (name, value) => {
      if (name === declaration.name) result = value;
    },
  };
  executeCopy(
    { line: declaration.line, from: declaration.from, to: { type: 'variable', variable: declaration.name }, keepSrcElementName: false, ignoreMissingFromData: false },
    scope,
    extra,
  );
  return result;
}

// ---- one copy -------------------------------------------------------------------------------

function runCopy(copy: Copy, working: WorkingSet, extra: EvaluationOptions): void {
  const fail: Fail = (fault, message) => {
    throw standardFault(fault, `<copy> at line ${copy.line}: ${message}`);
  };
  const source = readSource(copy, working, extra, fail);
  if (source.kind === 'missing') return;
  const to = copy.to;
  const target = to.type === 'variable' ? to : to.type === 'property' ? propertyLvalue(to, working, extra, fail) : lvalue(to.expression, fail);
  const entry = working.writable(target.variable, fail);
  if (!target.query) {
    const value = target.part === undefined
      ? wholeVariable(entry.declaration, entry.value, source, copy.keepSrcElementName, working, fail)
      : messagePart(entry.declaration, entry.value, target.part, source, copy.keepSrcElementName, working, fail);
    working.set(target.variable, value);
    return;
  }
  // A query into the variable: find the one node in the working copy and change it in place.
  const where = target.part === undefined ? `variable "${target.variable}"` : `part "${target.part}" of variable "${target.variable}"`;
  if (entry.value === undefined) fail('uninitializedVariable', `${where} is not initialised, so <to> cannot query into it`);
  const context = contextNode(entry.value, target.variable, target.part, fail);
  const result = evaluateQuery(target.query, context, working, extra);
  if (!Array.isArray(result)) fail('selectionFailure', `<to> query "${target.query.text}" (line ${target.query.line}) does not select a node`);
  if (result.length !== 1) {
    fail('selectionFailure', `<to> query "${target.query.text}" (line ${target.query.line}) selected ${result.length} nodes; it must select exactly one`);
  }
  const node = result[0] as Node;
  writeNode(node, source, copy.keepSrcElementName, fail);
  working.set(target.variable, rootChanged(entry.value, target.part, context));
}

/** A `<to variable property>` as variable, part and query: where the property alias for the variable's type points. */
function propertyLvalue(to: { readonly variable: string; readonly property: QName }, working: WorkingSet, extra: EvaluationOptions, fail: Fail): { variable: string; part?: string; query?: Expression } {
  const found = working.lookup(to.variable);
  if (!found) fail('subLanguageExecutionFault', `<to> variable "${to.variable}" is not declared`);
  const alias = aliasFor(extra.properties ?? NO_PROPERTIES, to.property, found.declaration, found.value);
  if (alias === undefined) fail('selectionFailure', `<to> property {${to.property.ns}}${to.property.local} has no property alias for ${describeTyped(found.declaration)}`);
  const part = found.declaration.messageType !== undefined ? alias.part : undefined;
  return { variable: to.variable, ...(part !== undefined ? { part } : {}), ...(alias.query !== undefined ? { query: alias.query } : {}) };
}

/** A to-spec expression (`$var`, `$var.part`, `$var/path`, `$var.part/path`) as variable, part and query. */
function lvalue(expr: Expression, fail: Fail): { variable: string; part?: string; query?: Expression } {
  const m = /^\s*\$([A-Za-z_][\w-]*)(?:\.([A-Za-z_][\w.-]*?))?(?=\s*$|\s*[/[])(.*)$/s.exec(expr.text);
  if (!m) fail('subLanguageExecutionFault', `<to> expression "${expr.text}" (line ${expr.line}) must be $var, $var.part or a path from one`);
  const [, variable = '', part, rest = ''] = m as RegExpExecArray;
  const path = rest.trim();
  if (path === '') return part === undefined ? { variable } : { variable, part };
  const query = { ...expr, text: path.startsWith('/') ? `.${path}` : `self::node()${path}` };
  return part === undefined ? { variable, query } : { variable, part, query };
}

function readSource(copy: Copy, working: WorkingSet, extra: EvaluationOptions, fail: Fail): Source {
  const from: CopyFrom = copy.from;
  switch (from.type) {
    case 'literal':
      return literal(from);
    case 'property': {
      const found = working.lookup(from.variable);
      if (!found) fail('subLanguageExecutionFault', `<from> variable "${from.variable}" is not declared`);
      if (found.value === undefined) fail('uninitializedVariable', `<from> variable "${from.variable}" is not initialised`);
      return { kind: 'atomic', value: propertyValue(extra.properties ?? NO_PROPERTIES, from.property, found.declaration, found.value, `<copy> at line ${copy.line}: <from> property of variable "${from.variable}"`, extra) };
    }
    case 'expression': {
      const result = evaluate(from.expression, working, extra);
      return Array.isArray(result)
        ? selected(result, `<from> expression "${from.expression.text}" (line ${from.expression.line})`, copy.ignoreMissingFromData, fail)
        : { kind: 'atomic', value: result };
    }
    case 'variable': {
      const found = working.lookup(from.variable);
      if (!found) fail('subLanguageExecutionFault', `<from> variable "${from.variable}" is not declared`);
      const value = found.value;
      if (value === undefined) fail('uninitializedVariable', `<from> variable "${from.variable}" is not initialised`);
      if (from.part === undefined && !from.query) {
        if (value.kind === 'message') return { kind: 'message', value };
        return value.kind === 'element' ? { kind: 'node', node: value.element } : { kind: 'atomic', value: value.value };
      }
      if (from.part !== undefined && value.kind === 'message') {
        const part = value.parts.get(from.part);
        if (part === undefined) fail('uninitializedVariable', `part "${from.part}" of <from> variable "${from.variable}" is not initialised`);
        if (!from.query) return typeof part === 'string' ? { kind: 'atomic', value: part } : { kind: 'node', node: part };
      }
      const context = contextNode(value, from.variable, from.part, fail);
      const query = from.query as Expression;
      const result = evaluateQuery(query, context, working, extra);
      return Array.isArray(result)
        ? selected(result, `<from> query "${query.text}" (line ${query.line})`, copy.ignoreMissingFromData, fail)
        : { kind: 'atomic', value: result };
    }
  }
}

function selected(nodes: Node[], what: string, ignoreMissing: boolean, fail: Fail): Source {
  if (nodes.length === 0) {
    if (ignoreMissing) return { kind: 'missing' };
    fail('selectionFailure', `${what} selected no node`);
  }
  if (nodes.length > 1) fail('selectionFailure', `${what} selected ${nodes.length} nodes; it must select one`);
  return { kind: 'node', node: nodes[0] as Node };
}

/**
 * A literal's parsed form, once per compiled copy: every use of a source copies
 * its nodes (importNode, detachedCopy), so the parsed nodes are never changed.
 */
const literals = new WeakMap<CopyFrom, Source>();

function literal(from: Extract<CopyFrom, { type: 'literal' }>): Source {
  let parsed = literals.get(from);
  if (parsed === undefined) {
    parsed = parseLiteral(from.xml);
    literals.set(from, parsed);
  }
  return parsed;
}

function parseLiteral(xml: string): Source {
  const wrapper = parseElement(`<literal>${xml}</literal>`);
  const nodes: Node[] = [];
  for (let n = wrapper.firstChild; n; n = n.nextSibling) nodes.push(n);
  const elements = nodes.filter((n) => n.nodeType === NodeType.ELEMENT);
  const onlySpaceBesides = nodes.every((n) => n.nodeType === NodeType.ELEMENT || (n.nodeValue ?? '').trim() === '');
  if (elements.length === 1 && onlySpaceBesides) return { kind: 'node', node: elements[0] as Node };
  if (elements.length === 0) return { kind: 'atomic', value: stringValue(wrapper) };
  return { kind: 'fragment', nodes };
}

/** The node a query runs against: the element variable or the element part. */
function contextNode(value: VariableValue, variable: string, part: string | undefined, fail: Fail): Element {
  if (value.kind === 'message') {
    if (part === undefined) fail('subLanguageExecutionFault', `message variable "${variable}" needs a part for a query`);
    const partValue = value.parts.get(part);
    if (partValue === undefined) fail('uninitializedVariable', `part "${part}" of variable "${variable}" is not initialised`);
    if (typeof partValue === 'string') fail('subLanguageExecutionFault', `part "${part}" of variable "${variable}" is not XML, so it cannot be queried`);
    return partValue;
  }
  if (part !== undefined) fail('subLanguageExecutionFault', `variable "${variable}" is not a message variable, so it has no part "${part}"`);
  if (value.kind === 'simple') fail('subLanguageExecutionFault', `variable "${variable}" is not XML, so it cannot be queried`);
  return value.element;
}

// ---- writing ---------------------------------------------------------------------------------

type DeclaredKind = 'message' | 'element' | 'simple' | 'unknown';

function declaredKind(declaration: VariableDeclaration): DeclaredKind {
  if (declaration.messageType) return 'message';
  if (declaration.element) return 'element';
  if (declaration.type) return declaration.type.ns === XSD_NS ? 'simple' : 'element';
  return 'unknown';
}

function sourceString(source: Exclude<Source, { kind: 'missing' }>, fail: Fail): string {
  switch (source.kind) {
    case 'message':
      return fail('mismatchedAssignmentFailure', 'a whole message cannot be copied to a single value');
    case 'node':
      return stringValue(source.node);
    case 'fragment':
      return source.nodes.map((n) => stringValue(n)).join('');
    case 'atomic':
      return typeof source.value === 'number' ? numberToString(source.value) : String(source.value);
  }
}

/** A value for a simple-typed variable, kept as a number or boolean when the type says so. */
function simpleFor(declaration: VariableDeclaration, source: Exclude<Source, { kind: 'missing' }>, fail: Fail): VariableValue {
  const type = declaration.type?.ns === XSD_NS ? declaration.type.local : undefined;
  if (type !== undefined && NUMERIC_TYPES.has(type)) {
    if (source.kind === 'atomic' && typeof source.value === 'number') return { kind: 'simple', value: source.value };
    const text = sourceString(source, fail).trim();
    const n = /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : text === 'INF' ? Infinity : text === '-INF' ? -Infinity : text === 'NaN' ? NaN : undefined;
    return { kind: 'simple', value: n === undefined ? text : n };
  }
  if (type === 'boolean') {
    if (source.kind === 'atomic' && typeof source.value === 'boolean') return { kind: 'simple', value: source.value };
    const text = sourceString(source, fail).trim();
    if (text === 'true' || text === '1') return { kind: 'simple', value: true };
    if (text === 'false' || text === '0') return { kind: 'simple', value: false };
    return { kind: 'simple', value: text };
  }
  return { kind: 'simple', value: sourceString(source, fail) };
}

/**
 * A new element value for an uninitialised element variable or part. The
 * whole element of another variable's value, taken under its own name, is
 * held as it is rather than copied: values are never changed in place (a
 * later copy into it works on a copy, see WorkingSet), and it is the
 * document element of its own document already.
 */
function newElement(
  name: QName | undefined,
  source: Exclude<Source, { kind: 'missing' | 'message' }>,
  keepSrcElementName: boolean,
  what: string,
  working: WorkingSet,
  fail: Fail,
): Element {
  if (source.kind === 'node' && source.node.nodeType === NodeType.ELEMENT) {
    const from = source.node as Element;
    const sameName = !name || ((from.namespaceURI ?? '') === name.ns && from.localName === name.local);
    if ((keepSrcElementName || sameName) && working.shareable(from)) return from;
    const copy = working.adopt(detachedCopy(from));
    return keepSrcElementName || sameName ? copy : rename(copy, name);
  }
  if (!name) fail('mismatchedAssignmentFailure', `${what} is uninitialised and has no declared element, so text cannot initialise it`);
  const element = working.adopt(createElement(name, newDocument()));
  writeNode(element, source, false, fail);
  return element;
}

/** An element named `name` (in the default namespace, no prefix), appended to `document` when it is empty. */
function createElement(name: QName, document: Document): Element {
  const element = document.createElementNS(name.ns === '' ? null : name.ns, name.local);
  if (!document.documentElement) document.appendChild(element);
  return element;
}

/** `element` under another name, in its document, with the same attributes and children. */
function rename(element: Element, name: QName): Element {
  const document = ownerOf(element);
  const renamed = document.createElementNS(name.ns === '' ? null : name.ns, name.local);
  copyContent(element, renamed);
  document.replaceChild(renamed, element);
  return renamed;
}

function copyContent(from: Element, to: Element): void {
  const document = ownerOf(to);
  for (let i = 0; i < from.attributes.length; i++) {
    const attr = from.attributes.item(i);
    if (attr) to.setAttributeNS(attr.namespaceURI, attr.name, attr.value);
  }
  for (let n = from.firstChild; n; n = n.nextSibling) to.appendChild(document.importNode(n, true));
}

function wholeVariable(
  declaration: VariableDeclaration,
  current: VariableValue | undefined,
  source: Exclude<Source, { kind: 'missing' }>,
  keepSrcElementName: boolean,
  working: WorkingSet,
  fail: Fail,
): VariableValue {
  const kind = declaredKind(declaration) === 'unknown' ? current?.kind ?? (source.kind === 'message' ? 'message' : source.kind === 'atomic' ? 'simple' : 'element') : declaredKind(declaration);
  const name = declaration.name;
  if (source.kind === 'message') {
    if (kind !== 'message') fail('mismatchedAssignmentFailure', `a message cannot be copied to variable "${name}", which is not a message variable`);
    const parts = [...source.value.parts.values()];
    // A message held whole by another variable is shared as it is (see newElement); one this assign changed is copied.
    if (parts.every((part) => typeof part === 'string' || working.shareable(part))) return { kind: 'message', parts: new Map(source.value.parts) };
    const copy = cloneValue(source.value);
    working.adoptValue(copy);
    return copy;
  }
  if (kind === 'message') fail('mismatchedAssignmentFailure', `only a message can be copied to the whole of message variable "${name}"; name a part`);
  if (kind === 'simple') return simpleFor(declaration, source, fail);
  if (current?.kind === 'element') {
    const element = writeNode(current.element, source, keepSrcElementName, fail) as Element;
    return { kind: 'element', element };
  }
  return { kind: 'element', element: newElement(declaration.element, source, keepSrcElementName, `variable "${name}"`, working, fail) };
}

function messagePart(
  declaration: VariableDeclaration,
  current: VariableValue | undefined,
  part: string,
  source: Exclude<Source, { kind: 'missing' }>,
  keepSrcElementName: boolean,
  working: WorkingSet,
  fail: Fail,
): VariableValue {
  const name = declaration.name;
  if (current !== undefined && current.kind !== 'message') {
    fail('subLanguageExecutionFault', `variable "${name}" is not a message variable, so it has no part "${part}"`);
  }
  if (current === undefined && declaredKind(declaration) !== 'message' && declaredKind(declaration) !== 'unknown') {
    fail('subLanguageExecutionFault', `variable "${name}" is not a message variable, so it has no part "${part}"`);
  }
  if (source.kind === 'message') fail('mismatchedAssignmentFailure', `a whole message cannot be copied to part "${part}" of variable "${name}"`);
  const parts = new Map(current?.kind === 'message' ? current.parts : []);
  const existing = parts.get(part);
  let value: Element | string;
  if (existing === undefined) {
    if ((source.kind === 'node' && source.node.nodeType === NodeType.ELEMENT) || source.kind === 'fragment') {
      value = newElement(undefined, source, true, `part "${part}" of variable "${name}"`, working, fail);
    } else {
      value = sourceString(source, fail);
    }
  } else if (typeof existing === 'string') {
    value = sourceString(source, fail);
  } else {
    value = writeNode(existing, source, keepSrcElementName, fail) as Element;
  }
  parts.set(part, value);
  return { kind: 'message', parts };
}

/**
 * Copies `source` into `target` in place and returns the node now standing
 * where `target` stood (a new one only when keepSrcElementName replaces an element).
 */
function writeNode(target: Node, source: Exclude<Source, { kind: 'missing' }>, keepSrcElementName: boolean, fail: Fail): Node {
  switch (target.nodeType) {
    case NodeType.ATTRIBUTE: {
      const attr = target as Attr;
      attr.ownerElement?.setAttributeNS(attr.namespaceURI, attr.name, sourceString(source, fail));
      return target;
    }
    case NodeType.TEXT:
    case NodeType.CDATA: {
      const text = target as CharacterData;
      text.replaceData(0, text.length, sourceString(source, fail));
      return target;
    }
    case NodeType.ELEMENT: {
      const element = target as Element;
      const document = ownerOf(element);
      if (source.kind === 'node' && source.node.nodeType === NodeType.ELEMENT) {
        const from = source.node as Element;
        if (keepSrcElementName) {
          const copy = document.importNode(from, true);
          element.parentNode?.replaceChild(copy, element);
          return copy;
        }
        while (element.attributes.length > 0) {
          const attr = element.attributes.item(0);
          if (attr) element.removeAttributeNode(attr);
        }
        while (element.firstChild) element.removeChild(element.firstChild);
        copyContent(from, element);
        return element;
      }
      while (element.firstChild) element.removeChild(element.firstChild);
      if (source.kind === 'fragment') {
        for (const n of source.nodes) element.appendChild(document.importNode(n, true));
      } else {
        const text = sourceString(source, fail);
        if (text !== '') element.appendChild(document.createTextNode(text));
      }
      return element;
    }
    default:
      return fail('selectionFailure', `the <to> target is a ${target.nodeType === NodeType.DOCUMENT ? 'document' : `node of type ${target.nodeType}`}, not an element, attribute or text`);
  }
}

function ownerOf(node: Node): Document {
  const document = node.ownerDocument;
  if (!document) throw new Error('a variable node has no owner document');
  return document;
}

/** The variable's value after a node in it changed (its root element may have been replaced). */
function rootChanged(value: VariableValue, part: string | undefined, context: Element): VariableValue {
  // keepSrcElementName on the root itself replaces the document element.
  const root = ownerOf(context).documentElement ?? context;
  if (value.kind === 'message' && part !== undefined) {
    const parts = new Map(value.parts);
    parts.set(part, root);
    return { kind: 'message', parts };
  }
  if (value.kind === 'element') return { kind: 'element', element: root };
  return value;
}
