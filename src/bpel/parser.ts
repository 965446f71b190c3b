/**
 * Reads a WS-BPEL 2.0 executable process into the model of `model.ts`.
 *
 * The parser accepts exactly the subset documented in docs/bpel.md and refuses
 * everything else by name and line — an unsupported construct is never
 * skipped, because a silently ignored `<pick>` or `<correlations>` would run a
 * different process than the one written. It collects every problem it finds
 * and throws them together as one ProcessDefinitionError.
 *
 * Activity paths (see docs/bpel.md): the chain of element names from
 * `process`, an activity indexed `[n]` only when its parent holds more than one
 * activity of that kind, `catch`, `elseif` and `onAlarm` always indexed.
 */
import type { Element, Node } from '@xmldom/xmldom';
import {
  ACTIVITY_KINDS,
  BPEL_NS,
  ProcessDefinitionError,
  XPATH1_LANGUAGE,
  type Activity,
  type ActivityBase,
  type ActivityKind,
  type Catch,
  type Copy,
  type CopyFrom,
  type CopyTo,
  type Correlation,
  type CorrelationSet,
  type Diagnostic,
  type Expression,
  type FaultHandlers,
  type FromPart,
  type Import,
  type LinkSource,
  type OnAlarm,
  type OnEvent,
  type OnMessage,
  type PartnerLink,
  type PickAlarm,
  type Process,
  type QName,
  type Scope,
  type ToPart,
  type VariableDeclaration,
} from './model';
import { DEFAULT_PLAN_LIMITS, expressionTooComplex, LIMIT_SETTINGS, tooDeep, tooDeepText } from './limits';
import { NodeType, XML_NS, inScopeNamespaces, lineOf, ownText, parseDom, resolveQName, serializeNode } from '../xml/dom';

/** Every element name of the WS-BPEL 2.0 executable schema (to tell "unsupported" from "unknown"). */
const BPEL_ELEMENTS = new Set([
  'process', 'extensions', 'extension', 'import', 'partnerLinks', 'partnerLink', 'messageExchanges',
  'messageExchange', 'variables', 'variable', 'correlationSets', 'correlationSet', 'faultHandlers', 'catch',
  'catchAll', 'eventHandlers', 'onEvent', 'onAlarm', 'compensationHandler', 'terminationHandler', 'targets',
  'target', 'joinCondition', 'sources', 'source', 'transitionCondition', 'assign', 'copy', 'from', 'to', 'query',
  'literal', 'extensionAssignOperation', 'compensate', 'compensateScope', 'empty', 'exit', 'extensionActivity',
  'flow', 'links', 'link', 'forEach', 'startCounterValue', 'finalCounterValue', 'completionCondition', 'branches',
  'if', 'condition', 'elseif', 'else', 'invoke', 'correlations', 'correlation', 'toParts', 'toPart', 'fromParts',
  'fromPart', 'pick', 'onMessage', 'receive', 'repeatUntil', 'reply', 'rethrow', 'scope', 'sequence', 'throw',
  'validate', 'wait', 'for', 'until', 'repeatEvery', 'while', 'documentation',
]);

/** Elements Provisor supports somewhere; elsewhere they are "not allowed here". */
const SUPPORTED_ELEMENTS = new Set<string>([
  ...ACTIVITY_KINDS,
  'process', 'import', 'partnerLinks', 'partnerLink', 'variables', 'variable', 'correlationSets', 'correlationSet',
  'faultHandlers', 'catch', 'catchAll', 'eventHandlers', 'onAlarm', 'compensationHandler', 'terminationHandler',
  'targets', 'target', 'joinCondition', 'sources', 'source', 'transitionCondition', 'copy', 'from', 'to', 'query',
  'literal', 'links', 'link', 'startCounterValue', 'finalCounterValue', 'completionCondition', 'branches',
  'condition', 'elseif', 'else', 'for', 'until', 'repeatEvery', 'documentation', 'correlations', 'correlation',
  'onMessage', 'onEvent', 'messageExchanges', 'messageExchange', 'toParts', 'toPart', 'fromParts', 'fromPart',
]);

/** Placements WS-BPEL allows and Provisor does not (reported as "not supported", not as misplaced). */
const UNSUPPORTED_PLACEMENTS: Readonly<Record<string, ReadonlySet<string>>> = {
  invoke: new Set(['catch', 'catchAll', 'compensationHandler']),
  scope: new Set(['partnerLinks']),
};

/** Attributes of WS-BPEL 2.0 that Provisor refuses (anything else unknown is refused too). */
const STANDARD_ACTIVITY_ATTRIBUTES = ['name', 'suppressJoinFailure'] as const;

const ACTIVITY_NAMES: ReadonlySet<string> = new Set(ACTIVITY_KINDS);

/** WS-BPEL activities Provisor refuses; one standing where an activity is due is reported once, as refused. */
const REFUSED_ACTIVITIES: ReadonlySet<string> = new Set(['validate', 'extensionActivity']);

/** Whether `parent` holds an activity that was refused (so "needs an activity" would only repeat it). */
function holdsRefusedActivity(parent: Element): boolean {
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    const child = n as Element;
    if (n.nodeType === NodeType.ELEMENT && child.namespaceURI === BPEL_NS && REFUSED_ACTIVITIES.has(child.localName ?? '')) return true;
  }
  return false;
}

function isActivityName(name: string): name is ActivityKind {
  return ACTIVITY_NAMES.has(name);
}

/** What every activity reader receives: the standard parts already read. */
interface ActivityInput {
  readonly element: Element;
  readonly base: ActivityBase;
  /** BPEL child elements other than `<targets>`, `<sources>` and `<documentation>`. */
  readonly content: readonly Element[];
}

type ActivityReaders = {
  readonly [K in ActivityKind]: (input: ActivityInput) => Extract<Activity, { kind: K }>;
};

/**
 * Parses a WS-BPEL 2.0 process document.
 *
 * @param xml the document text
 * @param documentName the name used in diagnostics (e.g. the deployed file name)
 * @param options.maxNestingDepth the deepest element nesting accepted, checked before any recursive step reads the document
 * @throws ProcessDefinitionError listing every problem found, each with its line
 */
export function parseProcess(xml: string, documentName: string, options: { readonly maxNestingDepth?: number } = {}): Process {
  const read = readProcess(xml, options);
  if (read.diagnostics.length > 0 || read.process === undefined) throw new ProcessDefinitionError(documentName, read.diagnostics);
  return read.process;
}

/**
 * Reads a process like `parseProcess`, but returns its problems instead of
 * throwing, together with the model when the document could be read as a
 * process at all (well-formed, not too deep, a BPEL 2.0 `<process>` root):
 * a deployment then runs the static checks on it too and reports every
 * problem of the document at once. In a model read with problems, what
 * could not be read stands as an `<empty>` at its place.
 */
export function readProcess(xml: string, options: { readonly maxNestingDepth?: number } = {}): { readonly process?: Process; readonly diagnostics: readonly Diagnostic[] } {
  const maxDepth = options.maxNestingDepth ?? DEFAULT_PLAN_LIMITS.maxNestingDepth;
  const tooDeepMessage = `elements nest deeper than the nesting limit of ${maxDepth} (${LIMIT_SETTINGS.maxNestingDepth})`;
  const deepText = tooDeepText(xml, maxDepth);
  if (deepText !== undefined) return { diagnostics: [{ line: deepText.line, message: tooDeepMessage }] };
  const parsed = parseDom(xml);
  if ('problem' in parsed) return { diagnostics: [{ line: parsed.problem.line, message: `invalid XML: ${parsed.problem.message}` }] };
  const root = parsed.document.documentElement;
  if (!root) return { diagnostics: [{ line: 1, message: 'invalid XML: missing root element' }] };
  const deep = tooDeep(root, maxDepth);
  if (deep !== undefined) return { diagnostics: [{ line: deep.line, message: tooDeepMessage }] };
  if (root.namespaceURI !== BPEL_NS || root.localName !== 'process') {
    return {
      diagnostics: [
        {
          line: lineOf(root),
          message: `the root element must be <process> in namespace ${BPEL_NS}, not <${root.localName ?? root.nodeName}> in namespace ${root.namespaceURI ?? '(none)'}`,
        },
      ],
    };
  }
  const reader = new ProcessReader(maxDepth);
  reader.extensions(root);
  const process = reader.process(root);
  return { process, diagnostics: [...reader.diagnostics].sort((a, b) => a.line - b.line) };
}

/** Paths for a list of sibling elements: `kind` when unique among them, `kind[n]` otherwise. */
function siblingPaths(parentPath: string, elements: readonly Element[], alwaysIndex = false): string[] {
  const totals = new Map<string, number>();
  for (const e of elements) totals.set(e.localName ?? '', (totals.get(e.localName ?? '') ?? 0) + 1);
  const seen = new Map<string, number>();
  return elements.map((e) => {
    const name = e.localName ?? '';
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    return alwaysIndex || (totals.get(name) ?? 0) > 1 ? `${parentPath}/${name}[${n}]` : `${parentPath}/${name}`;
  });
}

const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

class ProcessReader {
  readonly diagnostics: Diagnostic[] = [];
  /** Namespaces of extensions declared `mustUnderstand="no"`: their elements and attributes are ignored. */
  private readonly ignorable = new Set<string>();

  constructor(private readonly maxNestingDepth: number) {}

  private report(node: Node, message: string): void {
    this.diagnostics.push({ line: lineOf(node), message });
  }

  // ---- generic element handling -------------------------------------------------------------

  /**
   * The BPEL child elements of `element`. Documentation, comments and
   * whitespace are skipped; elements of other namespaces and stray text are reported.
   */
  private children(element: Element): Element[] {
    const out: Element[] = [];
    for (let n = element.firstChild; n; n = n.nextSibling) {
      if (n.nodeType === NodeType.ELEMENT) {
        const child = n as Element;
        if (child.namespaceURI !== BPEL_NS) this.foreign(child);
        else if (child.localName !== 'documentation') out.push(child);
      } else if ((n.nodeType === NodeType.TEXT || n.nodeType === NodeType.CDATA) && (n.nodeValue ?? '').trim() !== '') {
        this.report(n, `text is not allowed in <${element.localName}> (line ${lineOf(n)})`);
      }
    }
    return out;
  }

  /** Reports an element of another namespace: WS-BPEL extensions are refused. */
  private foreign(child: Element): void {
    if (this.ignorable.has(child.namespaceURI ?? '')) return;
    this.report(
      child,
      `<${child.nodeName}> (namespace ${child.namespaceURI ?? '(none)'}) is not supported by Provisor (line ${lineOf(child)}): extension elements are refused; see docs/bpel.md`,
    );
  }

  /** Reports an element that has no place where it stands. */
  private unexpected(child: Element, parent: Element): void {
    const name = child.localName ?? child.nodeName;
    const parentName = parent.localName ?? parent.nodeName;
    const line = lineOf(child);
    if (!BPEL_ELEMENTS.has(name)) {
      this.report(child, `<${name}> is not a WS-BPEL 2.0 element (line ${line})`);
    } else if (!SUPPORTED_ELEMENTS.has(name) || UNSUPPORTED_PLACEMENTS[parentName]?.has(name)) {
      const where = SUPPORTED_ELEMENTS.has(name) ? ` in <${parentName}>` : '';
      this.report(child, `<${name}>${where} is not supported by Provisor (line ${line}); see docs/bpel.md`);
    } else {
      this.report(child, `<${name}> is not allowed in <${parentName}> (line ${line})`);
    }
  }

  /** Refuses attributes outside `allowed` (namespace declarations and `xml:*` excepted). */
  private checkAttributes(element: Element, allowed: readonly string[]): void {
    const attrs = element.attributes;
    for (let i = 0; i < attrs.length; i++) {
      const attr = attrs.item(i);
      if (!attr) continue;
      if (attr.name === 'xmlns' || attr.name.startsWith('xmlns:') || attr.namespaceURI === XML_NS) continue;
      // Carries no semantics for a process; schema-aware editors write it.
      if (attr.namespaceURI === XSI_NS && attr.localName === 'schemaLocation') continue;
      if (attr.namespaceURI && this.ignorable.has(attr.namespaceURI)) continue;
      if (attr.namespaceURI) {
        this.report(
          element,
          `attribute ${attr.name} of <${element.localName}> is not supported by Provisor (line ${lineOf(element)}): extension attributes are refused; see docs/bpel.md`,
        );
      } else if (!allowed.includes(attr.name)) {
        this.report(
          element,
          `attribute "${attr.name}" of <${element.localName}> is not supported by Provisor (line ${lineOf(element)}); see docs/bpel.md`,
        );
      }
    }
  }

  private optional(element: Element, name: string): string | undefined {
    return element.hasAttribute(name) ? element.getAttribute(name) ?? '' : undefined;
  }

  private required(element: Element, name: string): string {
    const value = this.optional(element, name);
    if (value === undefined || value.trim() === '') {
      this.report(element, `<${element.localName}> needs the attribute "${name}" (line ${lineOf(element)})`);
      return '';
    }
    return value.trim();
  }

  private ncname(element: Element, name: string, value: string | undefined): string | undefined {
    if (value === undefined) return undefined;
    if (value !== '' && !/^[A-Za-z_][\w.-]*$/.test(value)) {
      this.report(element, `<${element.localName}> attribute ${name}="${value}" is not a valid name (line ${lineOf(element)})`);
    }
    return value;
  }

  private yesNo(element: Element, name: string): boolean | undefined {
    const value = this.optional(element, name);
    if (value === undefined) return undefined;
    if (value === 'yes') return true;
    if (value === 'no') return false;
    this.report(element, `<${element.localName}> attribute ${name} must be "yes" or "no", not "${value}" (line ${lineOf(element)})`);
    return undefined;
  }

  private qname(element: Element, name: string, value: string | undefined): QName | undefined {
    if (value === undefined) return undefined;
    const resolved = resolveQName(element, value);
    if (!resolved) {
      this.report(
        element,
        `<${element.localName}> attribute ${name}="${value}" is not a QName with a declared prefix (line ${lineOf(element)})`,
      );
    }
    return resolved;
  }

  private requiredQName(element: Element, name: string): QName {
    const value = this.required(element, name);
    return (value === '' ? undefined : this.qname(element, name, value)) ?? { ns: '', local: value };
  }

  private language(element: Element, attribute: string): void {
    const value = this.optional(element, attribute);
    if (value !== undefined && value !== XPATH1_LANGUAGE) {
      this.report(
        element,
        `<${element.localName}> ${attribute} "${value}" is not supported by Provisor (line ${lineOf(element)}): only XPath 1.0 (${XPATH1_LANGUAGE}); see docs/bpel.md`,
      );
    }
  }

  /** An expression element: its text and every namespace binding in scope. */
  private expression(element: Element, languageAttribute = 'expressionLanguage'): Expression {
    this.checkAttributes(element, [languageAttribute]);
    this.language(element, languageAttribute);
    for (const child of this.childrenAllowingText(element)) this.unexpected(child, element);
    return this.expressionText(element);
  }

  /** The text of an expression element, with the namespaces in scope there. */
  private expressionText(element: Element): Expression {
    const text = ownText(element).trim();
    if (text === '') this.report(element, `<${element.localName}> is empty; it needs an XPath 1.0 expression (line ${lineOf(element)})`);
    // The XPath compiler and evaluator recurse per bracket and per operator: bound both before they see it.
    const problem = expressionTooComplex(text, this.maxNestingDepth);
    if (problem !== undefined) {
      this.report(element, `<${element.localName}> expression ${problem} (line ${lineOf(element)})`);
      return emptyExpression(lineOf(element));
    }
    return { text, namespaces: inScopeNamespaces(element), line: lineOf(element) };
  }

  /** At most one child of each listed name. */
  private once(parent: Element, seen: Map<string, Element>, child: Element): boolean {
    const name = child.localName ?? '';
    if (seen.has(name)) {
      this.report(child, `<${parent.localName}> has more than one <${name}> (line ${lineOf(child)})`);
      return false;
    }
    seen.set(name, child);
    return true;
  }

  // ---- process level -------------------------------------------------------------------------

  process(root: Element): Process {
    this.checkAttributes(root, ['name', 'targetNamespace', 'queryLanguage', 'expressionLanguage', 'suppressJoinFailure', 'exitOnStandardFault']);
    const name = this.ncname(root, 'name', this.required(root, 'name')) ?? '';
    const targetNamespace = this.required(root, 'targetNamespace');
    this.language(root, 'queryLanguage');
    this.language(root, 'expressionLanguage');
    const suppressJoinFailure = this.yesNo(root, 'suppressJoinFailure') ?? false;
    const exitOnStandardFault = this.yesNo(root, 'exitOnStandardFault') ?? false;

    const imports: Import[] = [];
    let partnerLinks: PartnerLink[] = [];
    let variables: VariableDeclaration[] = [];
    let correlationSets: CorrelationSet[] = [];
    let faultHandlers: FaultHandlers | undefined;
    let alarms: OnAlarm[] = [];
    let events: OnEvent[] = [];
    let messageExchanges: string[] = [];
    const activities: Element[] = [];
    const seen = new Map<string, Element>();
    for (const child of this.children(root)) {
      switch (child.localName) {
        case 'extensions':
          // Read first, by extensions().
          this.once(root, seen, child);
          break;
        case 'import':
          imports.push(this.import(child));
          break;
        case 'partnerLinks':
          if (this.once(root, seen, child)) partnerLinks = this.partnerLinks(child);
          break;
        case 'variables':
          if (this.once(root, seen, child)) variables = this.variables(child);
          break;
        case 'correlationSets':
          if (this.once(root, seen, child)) correlationSets = this.correlationSets(child);
          break;
        case 'faultHandlers':
          if (this.once(root, seen, child)) faultHandlers = this.faultHandlers(child, '/process/faultHandlers');
          break;
        case 'eventHandlers':
          if (this.once(root, seen, child)) ({ alarms, events } = this.eventHandlers(child, '/process/eventHandlers'));
          break;
        case 'messageExchanges':
          if (this.once(root, seen, child)) messageExchanges = this.messageExchanges(child);
          break;
        default:
          if (isActivityName(child.localName ?? '')) activities.push(child);
          else this.unexpected(child, root);
      }
    }
    const activity = this.single(root, activities, '/process');
    return {
      name,
      targetNamespace,
      line: lineOf(root),
      imports,
      partnerLinks,
      variables,
      correlationSets,
      ...(faultHandlers ? { faultHandlers } : {}),
      alarms,
      events,
      messageExchanges,
      activity,
      exitOnStandardFault,
      suppressJoinFailure,
    };
  }

  /**
   * Reads `<extensions>` before anything else (WS-BPEL 2.0 §14): an extension
   * declared `mustUnderstand="yes"` is refused naming its namespace, since
   * Provisor understands none; one declared `mustUnderstand="no"` is ignored,
   * as the specification allows: its elements and attributes are skipped, an
   * `<extensionActivity>` of it runs as `<empty>` (keeping its name and
   * links) and an `<extensionAssignOperation>` of it does nothing.
   */
  extensions(root: Element): void {
    for (let n = root.firstChild; n; n = n.nextSibling) {
      const element = n as Element;
      if (n.nodeType !== NodeType.ELEMENT || element.namespaceURI !== BPEL_NS || element.localName !== 'extensions') continue;
      this.checkAttributes(element, []);
      let count = 0;
      for (let c = element.firstChild; c; c = c.nextSibling) {
        const extension = c as Element;
        if (c.nodeType !== NodeType.ELEMENT) continue;
        if (extension.namespaceURI !== BPEL_NS) {
          this.foreign(extension);
          continue;
        }
        if (extension.localName !== 'extension') {
          this.unexpected(extension, element);
          continue;
        }
        count++;
        this.checkAttributes(extension, ['namespace', 'mustUnderstand']);
        const namespace = this.required(extension, 'namespace');
        const mustUnderstand = this.yesNo(extension, 'mustUnderstand') ?? false;
        if (namespace === BPEL_NS) {
          this.report(extension, `<extension> namespace ${namespace} is WS-BPEL's own namespace, which an extension may not use (line ${lineOf(extension)})`);
        } else if (mustUnderstand) {
          this.report(extension, `extension ${namespace} is declared mustUnderstand="yes", and Provisor does not understand it (line ${lineOf(extension)}); see docs/bpel.md`);
        } else if (namespace !== '') {
          this.ignorable.add(namespace);
        }
      }
      if (count === 0) this.report(element, `<extensions> needs at least one <extension> (line ${lineOf(element)})`);
    }
    if (this.ignorable.size > 0) this.dropIgnoredExtensions(root);
  }

  /** Replaces each ignorable `<extensionActivity>` by an `<empty>` and removes each ignorable `<extensionAssignOperation>`. */
  private dropIgnoredExtensions(element: Element): void {
    for (let n = element.firstChild; n; ) {
      const next = n.nextSibling;
      const child = n as Element;
      if (n.nodeType === NodeType.ELEMENT && child.namespaceURI === BPEL_NS && (child.localName === 'extensionActivity' || child.localName === 'extensionAssignOperation')) {
        let inner: Element | undefined;
        for (let c = child.firstChild; c; c = c.nextSibling) if (c.nodeType === NodeType.ELEMENT && inner === undefined) inner = c as Element;
        if (inner !== undefined && this.ignorable.has(inner.namespaceURI ?? '')) {
          if (child.localName === 'extensionAssignOperation') element.removeChild(child);
          else element.replaceChild(this.emptyFor(child, inner), child);
          n = next;
          continue;
        }
      }
      if (n.nodeType === NodeType.ELEMENT) this.dropIgnoredExtensions(child);
      n = next;
    }
  }

  /** An `<empty>` standing for an ignored extension activity: its name, suppressJoinFailure, targets and sources. */
  private emptyFor(wrapper: Element, extension: Element): Element {
    const document = wrapper.ownerDocument;
    if (document === null) return wrapper;
    const prefix = wrapper.prefix;
    const empty = document.createElementNS(BPEL_NS, prefix ? `${prefix}:empty` : 'empty');
    (empty as unknown as { lineNumber: number }).lineNumber = lineOf(extension);
    for (const attribute of ['name', 'suppressJoinFailure']) {
      const value = extension.getAttribute(attribute);
      if (extension.hasAttribute(attribute) && value !== null) empty.setAttribute(attribute, value);
    }
    for (let c = extension.firstChild; c; ) {
      const next = c.nextSibling;
      const el = c as Element;
      if (c.nodeType === NodeType.ELEMENT && el.namespaceURI === BPEL_NS && (el.localName === 'targets' || el.localName === 'sources')) empty.appendChild(c);
      c = next;
    }
    return empty;
  }

  private import(element: Element): Import {
    this.checkAttributes(element, ['namespace', 'location', 'importType']);
    for (const child of this.children(element)) this.unexpected(child, element);
    const namespace = this.optional(element, 'namespace');
    const location = this.optional(element, 'location');
    return {
      ...(namespace !== undefined ? { namespace } : {}),
      ...(location !== undefined ? { location } : {}),
      importType: this.required(element, 'importType'),
      line: lineOf(element),
    };
  }

  private partnerLinks(element: Element): PartnerLink[] {
    this.checkAttributes(element, []);
    const out: PartnerLink[] = [];
    for (const child of this.children(element)) {
      if (child.localName !== 'partnerLink') {
        this.unexpected(child, element);
        continue;
      }
      // initializePartnerRole carries no semantics here: partner endpoints come from the deployment's bindings.
      this.checkAttributes(child, ['name', 'partnerLinkType', 'myRole', 'partnerRole', 'initializePartnerRole']);
      this.yesNo(child, 'initializePartnerRole');
      if (child.hasAttribute('initializePartnerRole') && !child.hasAttribute('partnerRole')) {
        // SA00017
        this.report(child, `<partnerLink> "${child.getAttribute('name') ?? ''}" has initializePartnerRole but no partnerRole (line ${lineOf(child)})`);
      }
      for (const grandchild of this.children(child)) this.unexpected(grandchild, child);
      const myRole = this.optional(child, 'myRole');
      const partnerRole = this.optional(child, 'partnerRole');
      if (myRole === undefined && partnerRole === undefined) {
        this.report(child, `<partnerLink> "${child.getAttribute('name') ?? ''}" needs myRole or partnerRole (line ${lineOf(child)})`);
      }
      out.push({
        name: this.ncname(child, 'name', this.required(child, 'name')) ?? '',
        line: lineOf(child),
        partnerLinkType: this.requiredQName(child, 'partnerLinkType'),
        ...(myRole !== undefined ? { myRole } : {}),
        ...(partnerRole !== undefined ? { partnerRole } : {}),
      });
    }
    if (out.length === 0) this.report(element, `<partnerLinks> needs at least one <partnerLink> (line ${lineOf(element)})`);
    return out;
  }

  private variables(element: Element): VariableDeclaration[] {
    this.checkAttributes(element, []);
    const out: VariableDeclaration[] = [];
    for (const child of this.children(element)) {
      if (child.localName !== 'variable') {
        this.unexpected(child, element);
        continue;
      }
      out.push(this.variable(child));
    }
    if (out.length === 0) this.report(element, `<variables> needs at least one <variable> (line ${lineOf(element)})`);
    return out;
  }

  private variable(element: Element): VariableDeclaration {
    this.checkAttributes(element, ['name', 'messageType', 'element', 'type']);
    const name = this.required(element, 'name');
    if (name !== '' && !/^[A-Za-z_][\w-]*$/.test(name)) {
      this.report(element, `variable name "${name}" is not valid: an NCName without "." (line ${lineOf(element)})`);
    }
    const messageType = this.qname(element, 'messageType', this.optional(element, 'messageType'));
    const elementName = this.qname(element, 'element', this.optional(element, 'element'));
    const type = this.qname(element, 'type', this.optional(element, 'type'));
    const kinds = ['messageType', 'element', 'type'].filter((a) => element.hasAttribute(a));
    if (kinds.length !== 1) {
      this.report(
        element,
        `variable "${name}" needs exactly one of messageType, element or type${kinds.length > 1 ? `, not ${kinds.join(' and ')}` : ''} (line ${lineOf(element)})`,
      );
    }
    let from: CopyFrom | undefined;
    for (const child of this.children(element)) {
      if (child.localName === 'from' && from === undefined) from = this.from(child);
      else this.unexpected(child, element);
    }
    return {
      name,
      line: lineOf(element),
      ...(messageType ? { messageType } : {}),
      ...(elementName ? { element: elementName } : {}),
      ...(type ? { type } : {}),
      ...(from ? { from } : {}),
    };
  }

  private correlationSets(element: Element): CorrelationSet[] {
    this.checkAttributes(element, []);
    const out: CorrelationSet[] = [];
    for (const child of this.children(element)) {
      if (child.localName !== 'correlationSet') {
        this.unexpected(child, element);
        continue;
      }
      this.checkAttributes(child, ['name', 'properties']);
      for (const grandchild of this.children(child)) this.unexpected(grandchild, child);
      const properties = this.required(child, 'properties')
        .split(/\s+/)
        .filter((p) => p !== '')
        .map((p) => this.qname(child, 'properties', p) ?? { ns: '', local: p });
      out.push({ name: this.ncname(child, 'name', this.required(child, 'name')) ?? '', line: lineOf(child), properties });
    }
    return out;
  }

  // ---- handlers -------------------------------------------------------------------------------

  private faultHandlers(element: Element, path: string): FaultHandlers {
    this.checkAttributes(element, []);
    const catchElements: Element[] = [];
    let catchAll: Activity | undefined;
    let catchAllSeen = false;
    for (const child of this.children(element)) {
      if (child.localName === 'catch') {
        if (catchAllSeen) this.report(child, `<catch> must come before <catchAll> (line ${lineOf(child)})`);
        catchElements.push(child);
      } else if (child.localName === 'catchAll') {
        if (catchAllSeen) {
          this.report(child, `<faultHandlers> has more than one <catchAll> (line ${lineOf(child)})`);
          continue;
        }
        catchAllSeen = true;
        this.checkAttributes(child, []);
        catchAll = this.singleChild(child, `${path}/catchAll`);
      } else {
        this.unexpected(child, element);
      }
    }
    const paths = siblingPaths(path, catchElements, true);
    const catches = catchElements.map((c, i) => this.catch(c, paths[i] ?? path));
    if (catches.length === 0 && !catchAllSeen) {
      this.report(element, `<faultHandlers> needs at least one <catch> or <catchAll> (line ${lineOf(element)})`);
    }
    return { catches, ...(catchAll ? { catchAll } : {}) };
  }

  private catch(element: Element, path: string): Catch {
    this.checkAttributes(element, ['faultName', 'faultVariable', 'faultMessageType', 'faultElement']);
    const faultName = this.qname(element, 'faultName', this.optional(element, 'faultName'));
    const faultVariable = this.optional(element, 'faultVariable');
    const faultMessageType = this.qname(element, 'faultMessageType', this.optional(element, 'faultMessageType'));
    const faultElement = this.qname(element, 'faultElement', this.optional(element, 'faultElement'));
    const line = lineOf(element);
    if (!element.hasAttribute('faultName') && faultVariable === undefined) {
      this.report(element, `<catch> needs faultName or faultVariable (line ${line})`);
    }
    if (element.hasAttribute('faultMessageType') && element.hasAttribute('faultElement')) {
      this.report(element, `<catch> may have faultMessageType or faultElement, not both (line ${line})`);
    }
    if (faultVariable !== undefined && !element.hasAttribute('faultMessageType') && !element.hasAttribute('faultElement')) {
      this.report(element, `<catch> with faultVariable "${faultVariable}" needs faultMessageType or faultElement (line ${line})`);
    }
    if (faultVariable === undefined && (element.hasAttribute('faultMessageType') || element.hasAttribute('faultElement'))) {
      this.report(element, `<catch> with faultMessageType or faultElement needs faultVariable (line ${line})`);
    }
    if (faultVariable !== undefined) this.ncname(element, 'faultVariable', faultVariable);
    return {
      line,
      ...(faultName ? { faultName } : {}),
      ...(faultVariable !== undefined ? { faultVariable } : {}),
      ...(faultMessageType ? { faultMessageType } : {}),
      ...(faultElement ? { faultElement } : {}),
      activity: this.singleChild(element, path),
    };
  }

  private eventHandlers(element: Element, path: string): { alarms: OnAlarm[]; events: OnEvent[] } {
    this.checkAttributes(element, []);
    const alarmElements: Element[] = [];
    const eventElements: Element[] = [];
    for (const child of this.children(element)) {
      if (child.localName === 'onAlarm') alarmElements.push(child);
      else if (child.localName === 'onEvent') eventElements.push(child);
      else this.unexpected(child, element);
    }
    if (alarmElements.length === 0 && eventElements.length === 0) this.report(element, `<eventHandlers> needs at least one <onEvent> or <onAlarm> (line ${lineOf(element)})`);
    const paths = siblingPaths(path, alarmElements, true);
    const eventPaths = siblingPaths(path, eventElements, true);
    return { alarms: alarmElements.map((a, i) => this.onAlarm(a, paths[i] ?? path)), events: eventElements.map((e, i) => this.onEvent(e, eventPaths[i] ?? path)) };
  }

  private onEvent(element: Element, path: string): OnEvent {
    this.checkAttributes(element, ['partnerLink', 'portType', 'operation', 'variable', 'messageType', 'element', 'messageExchange']);
    const seen = new Map<string, Element>();
    let correlations: Correlation[] = [];
    let fromParts: FromPart[] | undefined;
    let scope: Scope | undefined;
    for (const child of this.children(element)) {
      if (child.localName === 'correlations') {
        if (this.once(element, seen, child)) correlations = this.correlations(child, false);
      } else if (child.localName === 'fromParts') {
        if (this.once(element, seen, child)) fromParts = this.fromParts(child);
      } else if (child.localName === 'scope') {
        if (this.once(element, seen, child)) scope = this.activity(child, `${path}/scope`) as Scope;
      } else this.unexpected(child, element);
    }
    const line = lineOf(element);
    if (!scope) this.report(element, `<onEvent> needs a <scope> (line ${line})`);
    const portType = this.qname(element, 'portType', this.optional(element, 'portType'));
    const variable = this.optional(element, 'variable');
    const messageType = this.qname(element, 'messageType', this.optional(element, 'messageType'));
    const elementName = this.qname(element, 'element', this.optional(element, 'element'));
    if (variable !== undefined && messageType === undefined && elementName === undefined) {
      this.report(element, `<onEvent> variable "${variable}" needs messageType or element (line ${line})`);
    }
    if (messageType !== undefined && elementName !== undefined) this.report(element, `<onEvent> may have messageType or element, not both (line ${line})`);
    const messageExchange = this.optional(element, 'messageExchange');
    return {
      line,
      path,
      partnerLink: this.required(element, 'partnerLink'),
      ...(portType ? { portType } : {}),
      operation: this.required(element, 'operation'),
      ...(variable !== undefined ? { variable } : {}),
      ...(messageType ? { messageType } : {}),
      ...(elementName ? { element: elementName } : {}),
      correlations,
      ...(messageExchange !== undefined ? { messageExchange } : {}),
      ...(fromParts ? { fromParts } : {}),
      scope: scope ?? placeholderScope(`${path}/scope`, line),
    };
  }

  private messageExchanges(element: Element): string[] {
    this.checkAttributes(element, []);
    const out: string[] = [];
    for (const child of this.children(element)) {
      if (child.localName !== 'messageExchange') {
        this.unexpected(child, element);
        continue;
      }
      this.checkAttributes(child, ['name']);
      for (const x of this.children(child)) this.unexpected(x, child);
      out.push(this.ncname(child, 'name', this.required(child, 'name')) ?? '');
    }
    if (out.length === 0) this.report(element, `<messageExchanges> needs at least one <messageExchange> (line ${lineOf(element)})`);
    return out;
  }

  /** `<correlations>`: on an invoke each may say its `pattern`. */
  private correlations(element: Element, invoke: boolean): Correlation[] {
    this.checkAttributes(element, []);
    const out: Correlation[] = [];
    for (const child of this.children(element)) {
      if (child.localName !== 'correlation') {
        this.unexpected(child, element);
        continue;
      }
      this.checkAttributes(child, invoke ? ['set', 'initiate', 'pattern'] : ['set', 'initiate']);
      for (const x of this.children(child)) this.unexpected(x, child);
      const line = lineOf(child);
      const initiate = this.optional(child, 'initiate') ?? 'no';
      if (initiate !== 'yes' && initiate !== 'join' && initiate !== 'no') {
        this.report(child, `<correlation> attribute initiate must be "yes", "join" or "no", not "${initiate}" (line ${line})`);
      }
      const pattern = invoke ? this.optional(child, 'pattern') : undefined;
      if (pattern !== undefined && pattern !== 'request' && pattern !== 'response' && pattern !== 'request-response') {
        this.report(child, `<correlation> attribute pattern must be "request", "response" or "request-response", not "${pattern}" (line ${line})`);
      }
      out.push({
        set: this.ncname(child, 'set', this.required(child, 'set')) ?? '',
        initiate: initiate === 'yes' || initiate === 'join' ? initiate : 'no',
        ...(pattern === 'request' || pattern === 'response' || pattern === 'request-response' ? { pattern } : {}),
        line,
      });
    }
    if (out.length === 0) this.report(element, `<correlations> needs at least one <correlation> (line ${lineOf(element)})`);
    return out;
  }

  private onAlarm(element: Element, path: string): OnAlarm {
    this.checkAttributes(element, []);
    const seen = new Map<string, Element>();
    let forExpr: Expression | undefined;
    let until: Expression | undefined;
    let repeatEvery: Expression | undefined;
    let scope: Scope | undefined;
    for (const child of this.children(element)) {
      switch (child.localName) {
        case 'for':
          if (this.once(element, seen, child)) forExpr = this.expression(child);
          break;
        case 'until':
          if (this.once(element, seen, child)) until = this.expression(child);
          break;
        case 'repeatEvery':
          if (this.once(element, seen, child)) repeatEvery = this.expression(child);
          break;
        case 'scope':
          if (this.once(element, seen, child)) scope = this.activity(child, `${path}/scope`) as Scope;
          break;
        default:
          this.unexpected(child, element);
      }
    }
    const line = lineOf(element);
    if (forExpr && until) this.report(element, `<onAlarm> may have <for> or <until>, not both (line ${line})`);
    if (!forExpr && !until && !repeatEvery) this.report(element, `<onAlarm> needs <for>, <until> or <repeatEvery> (line ${line})`);
    if (!scope) this.report(element, `<onAlarm> needs a <scope> (line ${line})`);
    return {
      line,
      path,
      ...(forExpr ? { for: forExpr } : {}),
      ...(until ? { until } : {}),
      ...(repeatEvery ? { repeatEvery } : {}),
      scope: scope ?? placeholderScope(`${path}/scope`, line),
    };
  }

  // ---- activities -----------------------------------------------------------------------------

  /** The one activity among `candidates` (the activity children of `parent`). */
  private single(parent: Element, candidates: readonly Element[], parentPath: string): Activity {
    const first = candidates[0];
    if (!first) {
      if (!holdsRefusedActivity(parent)) this.report(parent, `<${parent.localName}> needs an activity (line ${lineOf(parent)})`);
      return placeholder(`${parentPath}/empty`, lineOf(parent));
    }
    for (const extra of candidates.slice(1)) {
      this.report(extra, `<${parent.localName}> holds one activity; <${extra.localName}> is one too many (line ${lineOf(extra)})`);
    }
    return this.activity(first, `${parentPath}/${first.localName}`);
  }

  /** A wrapper holding exactly one activity and nothing else (catch, handlers, else…). */
  private singleChild(parent: Element, parentPath: string): Activity {
    const candidates: Element[] = [];
    for (const child of this.children(parent)) {
      if (isActivityName(child.localName ?? '')) candidates.push(child);
      else this.unexpected(child, parent);
    }
    return this.single(parent, candidates, parentPath);
  }

  private activity(element: Element, path: string): Activity {
    const kind = element.localName ?? '';
    if (!isActivityName(kind)) {
      this.unexpected(element, element.parentNode as Element);
      return placeholder(path, lineOf(element));
    }
    const { base, content } = this.base(element, path);
    const read = this.readers[kind] as (input: ActivityInput) => Activity;
    return read({ element, base, content });
  }

  /** The standard attributes and elements of every activity. */
  private base(element: Element, path: string): { base: ActivityBase; content: Element[] } {
    const name = this.optional(element, 'name');
    const suppressJoinFailure = this.yesNo(element, 'suppressJoinFailure');
    let joinCondition: Expression | undefined;
    const targets: string[] = [];
    const sources: LinkSource[] = [];
    const content: Element[] = [];
    const seen = new Map<string, Element>();
    for (const child of this.children(element)) {
      if (child.localName === 'targets') {
        if (!this.once(element, seen, child)) continue;
        this.checkAttributes(child, []);
        for (const t of this.children(child)) {
          if (t.localName === 'joinCondition') {
            if (joinCondition) this.report(t, `<targets> has more than one <joinCondition> (line ${lineOf(t)})`);
            joinCondition = this.expression(t);
          } else if (t.localName === 'target') {
            this.checkAttributes(t, ['linkName']);
            for (const x of this.children(t)) this.unexpected(x, t);
            targets.push(this.required(t, 'linkName'));
          } else {
            this.unexpected(t, child);
          }
        }
        if (targets.length === 0) this.report(child, `<targets> needs at least one <target> (line ${lineOf(child)})`);
      } else if (child.localName === 'sources') {
        if (!this.once(element, seen, child)) continue;
        this.checkAttributes(child, []);
        for (const s of this.children(child)) {
          if (s.localName !== 'source') {
            this.unexpected(s, child);
            continue;
          }
          this.checkAttributes(s, ['linkName']);
          let transitionCondition: Expression | undefined;
          for (const x of this.children(s)) {
            if (x.localName === 'transitionCondition' && !transitionCondition) transitionCondition = this.expression(x);
            else this.unexpected(x, s);
          }
          sources.push({ link: this.required(s, 'linkName'), ...(transitionCondition ? { transitionCondition } : {}) });
        }
        if (sources.length === 0) this.report(child, `<sources> needs at least one <source> (line ${lineOf(child)})`);
      } else {
        content.push(child);
      }
    }
    return {
      base: {
        ...(name !== undefined ? { name } : {}),
        line: lineOf(element),
        path,
        ...(suppressJoinFailure !== undefined ? { suppressJoinFailure } : {}),
        ...(joinCondition ? { joinCondition } : {}),
        sources,
        targets,
      },
      content,
    };
  }

  /** Activity elements among `content` get paths; anything else is reported. */
  private activityList(parent: Element, content: readonly Element[], parentPath: string, allow: readonly string[] = []): Activity[] {
    const elements = content.filter((c) => {
      if (isActivityName(c.localName ?? '')) return true;
      if (!allow.includes(c.localName ?? '')) this.unexpected(c, parent);
      return false;
    });
    const paths = siblingPaths(parentPath, elements);
    return elements.map((e, i) => this.activity(e, paths[i] ?? parentPath));
  }

  private noContent(input: ActivityInput): void {
    for (const child of input.content) this.unexpected(child, input.element);
  }

  /**
   * The attributes and content every messaging activity has. `parts` says
   * which of `<toParts>` and `<fromParts>` the activity may hold (invoke both,
   * receive fromParts, reply toParts).
   */
  private messaging(
    input: ActivityInput,
    attributes: readonly string[],
    parts: { readonly to: boolean; readonly from: boolean },
  ): { partnerLink: string; portType?: QName; operation: string; correlations: Correlation[]; toParts?: ToPart[]; fromParts?: FromPart[] } {
    const { element } = input;
    this.checkAttributes(element, [...STANDARD_ACTIVITY_ATTRIBUTES, 'partnerLink', 'portType', 'operation', ...attributes]);
    const seen = new Map<string, Element>();
    let correlations: Correlation[] = [];
    let toParts: ToPart[] | undefined;
    let fromParts: FromPart[] | undefined;
    for (const child of input.content) {
      if (child.localName === 'correlations') {
        if (this.once(element, seen, child)) correlations = this.correlations(child, element.localName === 'invoke');
      } else if (child.localName === 'toParts' && parts.to) {
        if (this.once(element, seen, child)) toParts = this.toParts(child);
      } else if (child.localName === 'fromParts' && parts.from) {
        if (this.once(element, seen, child)) fromParts = this.fromParts(child);
      } else this.unexpected(child, element);
    }
    const portType = this.qname(element, 'portType', this.optional(element, 'portType'));
    return {
      partnerLink: this.required(element, 'partnerLink'),
      ...(portType ? { portType } : {}),
      operation: this.required(element, 'operation'),
      correlations,
      ...(toParts ? { toParts } : {}),
      ...(fromParts ? { fromParts } : {}),
    };
  }

  /** `<toParts>`: one or more `<toPart part fromVariable>`. */
  private toParts(element: Element): ToPart[] {
    return this.partList(element, 'toPart', 'fromVariable').map(({ part, variable, line }) => ({ part, fromVariable: variable, line }));
  }

  /** `<fromParts>`: one or more `<fromPart part toVariable>`. */
  private fromParts(element: Element): FromPart[] {
    return this.partList(element, 'fromPart', 'toVariable').map(({ part, variable, line }) => ({ part, toVariable: variable, line }));
  }

  private partList(element: Element, itemName: 'toPart' | 'fromPart', variableAttribute: 'fromVariable' | 'toVariable'): Array<{ part: string; variable: string; line: number }> {
    this.checkAttributes(element, []);
    const out: Array<{ part: string; variable: string; line: number }> = [];
    for (const child of this.children(element)) {
      if (child.localName !== itemName) {
        this.unexpected(child, element);
        continue;
      }
      this.checkAttributes(child, ['part', variableAttribute]);
      for (const x of this.children(child)) this.unexpected(x, child);
      const part = this.ncname(child, 'part', this.required(child, 'part')) ?? '';
      const variable = this.ncname(child, variableAttribute, this.required(child, variableAttribute)) ?? '';
      out.push({ part, variable, line: lineOf(child) });
    }
    if (out.length === 0) this.report(element, `<${element.localName}> needs at least one <${itemName}> (line ${lineOf(element)})`);
    return out;
  }

  /** A `<pick>`'s `<onMessage>`: the message it takes, then one activity. */
  private onMessage(element: Element, path: string): OnMessage {
    this.checkAttributes(element, ['partnerLink', 'portType', 'operation', 'variable', 'messageExchange']);
    const seen = new Map<string, Element>();
    let correlations: Correlation[] = [];
    let fromParts: FromPart[] | undefined;
    const candidates: Element[] = [];
    for (const child of this.children(element)) {
      if (child.localName === 'correlations' && candidates.length === 0) {
        if (this.once(element, seen, child)) correlations = this.correlations(child, false);
      } else if (child.localName === 'fromParts' && candidates.length === 0) {
        if (this.once(element, seen, child)) fromParts = this.fromParts(child);
      } else if (isActivityName(child.localName ?? '')) candidates.push(child);
      else this.unexpected(child, element);
    }
    const portType = this.qname(element, 'portType', this.optional(element, 'portType'));
    const variable = this.optional(element, 'variable');
    const messageExchange = this.optional(element, 'messageExchange');
    return {
      line: lineOf(element),
      path,
      partnerLink: this.required(element, 'partnerLink'),
      ...(portType ? { portType } : {}),
      operation: this.required(element, 'operation'),
      ...(variable !== undefined ? { variable } : {}),
      correlations,
      ...(messageExchange !== undefined ? { messageExchange } : {}),
      ...(fromParts ? { fromParts } : {}),
      activity: this.single(element, candidates, path),
    };
  }

  /** A `<pick>`'s `<onAlarm>`: `<for>` or `<until>`, then one activity. */
  private pickAlarm(element: Element, path: string): PickAlarm {
    this.checkAttributes(element, []);
    let forExpr: Expression | undefined;
    let until: Expression | undefined;
    const candidates: Element[] = [];
    for (const child of this.children(element)) {
      if (child.localName === 'for' && !forExpr && !until && candidates.length === 0) forExpr = this.expression(child);
      else if (child.localName === 'until' && !forExpr && !until && candidates.length === 0) until = this.expression(child);
      else if (isActivityName(child.localName ?? '')) candidates.push(child);
      else this.unexpected(child, element);
    }
    if (!forExpr && !until) this.report(element, `<onAlarm> in <pick> needs <for> or <until> (line ${lineOf(element)})`);
    return { line: lineOf(element), path, ...(forExpr ? { for: forExpr } : {}), ...(until ? { until } : {}), activity: this.single(element, candidates, path) };
  }

  private readonly readers: ActivityReaders = {
    invoke: (input) => {
      const messaging = this.messaging(input, ['inputVariable', 'outputVariable'], { to: true, from: true });
      const inputVariable = this.optional(input.element, 'inputVariable');
      const outputVariable = this.optional(input.element, 'outputVariable');
      return {
        kind: 'invoke',
        ...input.base,
        ...messaging,
        ...(inputVariable !== undefined ? { inputVariable } : {}),
        ...(outputVariable !== undefined ? { outputVariable } : {}),
      };
    },
    receive: (input) => {
      const messaging = this.messaging(input, ['variable', 'createInstance', 'messageExchange'], { to: false, from: true });
      const variable = this.optional(input.element, 'variable');
      const messageExchange = this.optional(input.element, 'messageExchange');
      return {
        kind: 'receive',
        ...input.base,
        ...messaging,
        ...(variable !== undefined ? { variable } : {}),
        ...(messageExchange !== undefined ? { messageExchange } : {}),
        createInstance: this.yesNo(input.element, 'createInstance') ?? false,
      };
    },
    reply: (input) => {
      const messaging = this.messaging(input, ['variable', 'faultName', 'messageExchange'], { to: true, from: false });
      const variable = this.optional(input.element, 'variable');
      const faultName = this.qname(input.element, 'faultName', this.optional(input.element, 'faultName'));
      const messageExchange = this.optional(input.element, 'messageExchange');
      return {
        kind: 'reply',
        ...input.base,
        ...messaging,
        ...(variable !== undefined ? { variable } : {}),
        ...(faultName ? { faultName } : {}),
        ...(messageExchange !== undefined ? { messageExchange } : {}),
      };
    },
    pick: (input) => {
      const { element, base } = input;
      this.checkAttributes(element, [...STANDARD_ACTIVITY_ATTRIBUTES, 'createInstance']);
      const messageElements: Element[] = [];
      const alarmElements: Element[] = [];
      for (const child of input.content) {
        if (child.localName === 'onMessage') messageElements.push(child);
        else if (child.localName === 'onAlarm') alarmElements.push(child);
        else this.unexpected(child, element);
      }
      const createInstance = this.yesNo(element, 'createInstance') ?? false;
      if (messageElements.length === 0) this.report(element, `<pick> needs at least one <onMessage> (line ${base.line})`);
      // SA00062: an instance-creating pick has no onAlarm.
      if (createInstance && alarmElements.length > 0) this.report(element, `<pick createInstance="yes"> may not have an <onAlarm> (line ${base.line})`);
      const messagePaths = siblingPaths(base.path, messageElements, true);
      const alarmPaths = siblingPaths(base.path, alarmElements, true);
      return {
        kind: 'pick',
        ...base,
        createInstance,
        messages: messageElements.map((m, i) => this.onMessage(m, messagePaths[i] ?? base.path)),
        alarms: alarmElements.map((a, i) => this.pickAlarm(a, alarmPaths[i] ?? base.path)),
      };
    },
    assign: (input) => {
      const { element } = input;
      this.checkAttributes(element, [...STANDARD_ACTIVITY_ATTRIBUTES, 'validate']);
      if (this.yesNo(element, 'validate') === true) {
        this.report(element, `<assign validate="yes"> is not supported by Provisor (line ${lineOf(element)}); see docs/bpel.md`);
      }
      const copies: Copy[] = [];
      for (const child of input.content) {
        if (child.localName === 'copy') copies.push(this.copy(child));
        else this.unexpected(child, element);
      }
      if (copies.length === 0) this.report(element, `<assign> needs at least one <copy> (line ${lineOf(element)})`);
      return { kind: 'assign', ...input.base, copies };
    },
    wait: (input) => {
      const { element } = input;
      this.checkAttributes(element, [...STANDARD_ACTIVITY_ATTRIBUTES]);
      let forExpr: Expression | undefined;
      let until: Expression | undefined;
      for (const child of input.content) {
        if (child.localName === 'for' && !forExpr && !until) forExpr = this.expression(child);
        else if (child.localName === 'until' && !forExpr && !until) until = this.expression(child);
        else if (child.localName === 'for' || child.localName === 'until') {
          this.report(child, `<wait> has one <for> or one <until>; <${child.localName}> is one too many (line ${lineOf(child)})`);
        } else this.unexpected(child, element);
      }
      if (!forExpr && !until) this.report(element, `<wait> needs <for> or <until> (line ${lineOf(element)})`);
      return { kind: 'wait', ...input.base, ...(forExpr ? { for: forExpr } : {}), ...(until ? { until } : {}) };
    },
    empty: (input) => this.simple(input, 'empty'),
    exit: (input) => this.simple(input, 'exit'),
    rethrow: (input) => this.simple(input, 'rethrow'),
    compensate: (input) => this.simple(input, 'compensate'),
    compensateScope: (input) => {
      this.checkAttributes(input.element, [...STANDARD_ACTIVITY_ATTRIBUTES, 'target']);
      this.noContent(input);
      return { kind: 'compensateScope', ...input.base, target: this.required(input.element, 'target') };
    },
    throw: (input) => {
      this.checkAttributes(input.element, [...STANDARD_ACTIVITY_ATTRIBUTES, 'faultName', 'faultVariable']);
      this.noContent(input);
      const faultVariable = this.optional(input.element, 'faultVariable');
      return {
        kind: 'throw',
        ...input.base,
        faultName: this.requiredQName(input.element, 'faultName'),
        ...(faultVariable !== undefined ? { faultVariable } : {}),
      };
    },
    sequence: (input) => {
      this.checkAttributes(input.element, [...STANDARD_ACTIVITY_ATTRIBUTES]);
      const activities = this.activityList(input.element, input.content, input.base.path);
      if (activities.length === 0 && !holdsRefusedActivity(input.element)) {
        this.report(input.element, `<sequence> needs at least one activity (line ${input.base.line})`);
      }
      return { kind: 'sequence', ...input.base, activities };
    },
    flow: (input) => {
      const { element } = input;
      this.checkAttributes(element, [...STANDARD_ACTIVITY_ATTRIBUTES]);
      const links: Array<{ name: string; line: number }> = [];
      const linksElements = input.content.filter((c) => c.localName === 'links');
      for (const [i, linksElement] of linksElements.entries()) {
        if (i > 0) this.report(linksElement, `<flow> has more than one <links> (line ${lineOf(linksElement)})`);
        this.checkAttributes(linksElement, []);
        for (const link of this.children(linksElement)) {
          if (link.localName !== 'link') {
            this.unexpected(link, linksElement);
            continue;
          }
          this.checkAttributes(link, ['name']);
          for (const x of this.children(link)) this.unexpected(x, link);
          links.push({ name: this.ncname(link, 'name', this.required(link, 'name')) ?? '', line: lineOf(link) });
        }
        if (links.length === 0) this.report(linksElement, `<links> needs at least one <link> (line ${lineOf(linksElement)})`);
      }
      const activities = this.activityList(element, input.content, input.base.path, ['links']);
      if (activities.length === 0 && !holdsRefusedActivity(element)) {
        this.report(element, `<flow> needs at least one activity (line ${input.base.line})`);
      }
      return { kind: 'flow', ...input.base, links, activities };
    },
    if: (input) => {
      const { element, base } = input;
      this.checkAttributes(element, [...STANDARD_ACTIVITY_ATTRIBUTES]);
      let condition: Expression | undefined;
      const thenCandidates: Element[] = [];
      const elseifs: Element[] = [];
      let elseElement: Element | undefined;
      for (const child of input.content) {
        const name = child.localName ?? '';
        if (name === 'condition' && !condition && thenCandidates.length === 0) condition = this.expression(child);
        else if (isActivityName(name) && elseifs.length === 0 && !elseElement) thenCandidates.push(child);
        else if (name === 'elseif' && !elseElement) elseifs.push(child);
        else if (name === 'else' && !elseElement) elseElement = child;
        else if (['condition', 'elseif', 'else'].includes(name) || isActivityName(name)) {
          this.report(child, `<if> expects <condition>, an activity, then <elseif>s and one <else>: <${name}> is out of place (line ${lineOf(child)})`);
        } else this.unexpected(child, element);
      }
      if (!condition) this.report(element, `<if> needs a <condition> (line ${base.line})`);
      const branches: Array<{ condition: Expression; activity: Activity }> = [
        { condition: condition ?? emptyExpression(base.line), activity: this.single(element, thenCandidates, base.path) },
      ];
      const elseifPaths = siblingPaths(base.path, elseifs, true);
      for (const [i, elseif] of elseifs.entries()) {
        const elseifPath = elseifPaths[i] ?? base.path;
        this.checkAttributes(elseif, []);
        let elseifCondition: Expression | undefined;
        const candidates: Element[] = [];
        for (const child of this.children(elseif)) {
          if (child.localName === 'condition' && !elseifCondition && candidates.length === 0) elseifCondition = this.expression(child);
          else if (isActivityName(child.localName ?? '')) candidates.push(child);
          else this.unexpected(child, elseif);
        }
        if (!elseifCondition) this.report(elseif, `<elseif> needs a <condition> first (line ${lineOf(elseif)})`);
        branches.push({
          condition: elseifCondition ?? emptyExpression(lineOf(elseif)),
          activity: this.single(elseif, candidates, elseifPath),
        });
      }
      let elseActivity: Activity | undefined;
      if (elseElement) {
        this.checkAttributes(elseElement, []);
        elseActivity = this.singleChild(elseElement, `${base.path}/else`);
      }
      return { kind: 'if', ...base, branches, ...(elseActivity ? { else: elseActivity } : {}) };
    },
    while: (input) => {
      const { condition, activity } = this.loop(input, 'first');
      return { kind: 'while', ...input.base, condition, activity };
    },
    repeatUntil: (input) => {
      const { condition, activity } = this.loop(input, 'last');
      return { kind: 'repeatUntil', ...input.base, condition, activity };
    },
    forEach: (input) => {
      const { element, base } = input;
      this.checkAttributes(element, [...STANDARD_ACTIVITY_ATTRIBUTES, 'counterName', 'parallel']);
      const counterName = this.required(element, 'counterName');
      if (counterName !== '' && !/^[A-Za-z_][\w-]*$/.test(counterName)) {
        this.report(element, `<forEach> counterName "${counterName}" is not a valid variable name (line ${base.line})`);
      }
      const parallel = this.yesNo(element, 'parallel');
      if (parallel === undefined && !element.hasAttribute('parallel')) {
        this.report(element, `<forEach> needs the attribute "parallel" (yes or no) (line ${base.line})`);
      }
      const seen = new Map<string, Element>();
      let startCounter: Expression | undefined;
      let finalCounter: Expression | undefined;
      let completionCondition: { branches: Expression; successfulBranchesOnly: boolean } | undefined;
      let scope: Scope | undefined;
      for (const child of input.content) {
        switch (child.localName) {
          case 'startCounterValue':
            if (this.once(element, seen, child)) startCounter = this.expression(child);
            break;
          case 'finalCounterValue':
            if (this.once(element, seen, child)) finalCounter = this.expression(child);
            break;
          case 'completionCondition':
            if (this.once(element, seen, child)) completionCondition = this.completionCondition(child);
            break;
          case 'scope':
            if (this.once(element, seen, child)) scope = this.activity(child, `${base.path}/scope`) as Scope;
            break;
          default:
            if (isActivityName(child.localName ?? '')) {
              this.report(child, `<forEach> holds a <scope>, not <${child.localName}> (line ${lineOf(child)})`);
            } else this.unexpected(child, element);
        }
      }
      if (!startCounter) this.report(element, `<forEach> needs <startCounterValue> (line ${base.line})`);
      if (!finalCounter) this.report(element, `<forEach> needs <finalCounterValue> (line ${base.line})`);
      if (!scope) this.report(element, `<forEach> needs a <scope> (line ${base.line})`);
      return {
        kind: 'forEach',
        ...base,
        counterName,
        parallel: parallel ?? false,
        startCounter: startCounter ?? emptyExpression(base.line),
        finalCounter: finalCounter ?? emptyExpression(base.line),
        ...(completionCondition ? { completionCondition } : {}),
        scope: scope ?? placeholderScope(`${base.path}/scope`, base.line),
      };
    },
    scope: (input) => {
      const { element, base } = input;
      this.checkAttributes(element, [...STANDARD_ACTIVITY_ATTRIBUTES, 'isolated', 'exitOnStandardFault']);
      const isolated = this.yesNo(element, 'isolated') ?? false;
      const exitOnStandardFault = this.yesNo(element, 'exitOnStandardFault');
      const seen = new Map<string, Element>();
      let variables: VariableDeclaration[] = [];
      let faultHandlers: FaultHandlers | undefined;
      let compensationHandler: Activity | undefined;
      let terminationHandler: Activity | undefined;
      let alarms: OnAlarm[] = [];
      let events: OnEvent[] = [];
      let messageExchanges: string[] = [];
      let correlationSets: CorrelationSet[] = [];
      const activities: Element[] = [];
      for (const child of input.content) {
        switch (child.localName) {
          case 'variables':
            if (this.once(element, seen, child)) variables = this.variables(child);
            break;
          case 'correlationSets':
            if (this.once(element, seen, child)) correlationSets = this.correlationSets(child);
            break;
          case 'faultHandlers':
            if (this.once(element, seen, child)) faultHandlers = this.faultHandlers(child, `${base.path}/faultHandlers`);
            break;
          case 'compensationHandler':
            if (this.once(element, seen, child)) {
              this.checkAttributes(child, []);
              compensationHandler = this.singleChild(child, `${base.path}/compensationHandler`);
            }
            break;
          case 'terminationHandler':
            if (this.once(element, seen, child)) {
              this.checkAttributes(child, []);
              terminationHandler = this.singleChild(child, `${base.path}/terminationHandler`);
            }
            break;
          case 'eventHandlers':
            if (this.once(element, seen, child)) ({ alarms, events } = this.eventHandlers(child, `${base.path}/eventHandlers`));
            break;
          case 'messageExchanges':
            if (this.once(element, seen, child)) messageExchanges = this.messageExchanges(child);
            break;
          default:
            if (isActivityName(child.localName ?? '')) activities.push(child);
            else this.unexpected(child, element);
        }
      }
      return {
        kind: 'scope',
        ...base,
        isolated,
        ...(exitOnStandardFault !== undefined ? { exitOnStandardFault } : {}),
        variables,
        ...(faultHandlers ? { faultHandlers } : {}),
        ...(compensationHandler ? { compensationHandler } : {}),
        ...(terminationHandler ? { terminationHandler } : {}),
        alarms,
        events,
        messageExchanges,
        correlationSets,
        activity: this.single(element, activities, base.path),
      };
    },
  };

  private simple<K extends 'empty' | 'exit' | 'rethrow' | 'compensate'>(input: ActivityInput, kind: K): ActivityBase & { kind: K } {
    this.checkAttributes(input.element, [...STANDARD_ACTIVITY_ATTRIBUTES]);
    this.noContent(input);
    return { kind, ...input.base };
  }

  private loop(input: ActivityInput, conditionAt: 'first' | 'last'): { condition: Expression; activity: Activity } {
    const { element, base } = input;
    this.checkAttributes(element, [...STANDARD_ACTIVITY_ATTRIBUTES]);
    let condition: Expression | undefined;
    const candidates: Element[] = [];
    for (const child of input.content) {
      if (child.localName === 'condition' && !condition) {
        if (conditionAt === 'first' && candidates.length > 0) {
          this.report(child, `<${element.localName}> has its <condition> before the activity (line ${lineOf(child)})`);
        } else if (conditionAt === 'last' && candidates.length === 0) {
          this.report(child, `<${element.localName}> has its <condition> after the activity (line ${lineOf(child)})`);
        }
        condition = this.expression(child);
      } else if (isActivityName(child.localName ?? '')) candidates.push(child);
      else this.unexpected(child, element);
    }
    if (!condition) this.report(element, `<${element.localName}> needs a <condition> (line ${base.line})`);
    return { condition: condition ?? emptyExpression(base.line), activity: this.single(element, candidates, base.path) };
  }

  private completionCondition(element: Element): { branches: Expression; successfulBranchesOnly: boolean } | undefined {
    this.checkAttributes(element, []);
    let result: { branches: Expression; successfulBranchesOnly: boolean } | undefined;
    for (const child of this.children(element)) {
      if (child.localName === 'branches' && !result) {
        const successfulBranchesOnly = this.yesNo(child, 'successfulBranchesOnly') ?? false;
        this.checkAttributes(child, ['expressionLanguage', 'successfulBranchesOnly']);
        this.language(child, 'expressionLanguage');
        for (const x of this.childrenAllowingText(child)) this.unexpected(x, child);
        const text = ownText(child).trim();
        if (text === '') this.report(child, `<branches> is empty; it needs an XPath 1.0 expression (line ${lineOf(child)})`);
        result = { branches: { text, namespaces: inScopeNamespaces(child), line: lineOf(child) }, successfulBranchesOnly };
      } else this.unexpected(child, element);
    }
    if (!result) this.report(element, `<completionCondition> needs <branches> (line ${lineOf(element)})`);
    return result;
  }

  // ---- assign ---------------------------------------------------------------------------------

  private copy(element: Element): Copy {
    this.checkAttributes(element, ['keepSrcElementName', 'ignoreMissingFromData']);
    let from: CopyFrom | undefined;
    let to: CopyTo | undefined;
    for (const child of this.children(element)) {
      if (child.localName === 'from' && !from && !to) from = this.from(child);
      else if (child.localName === 'to' && from && !to) to = this.to(child);
      else if (child.localName === 'from' || child.localName === 'to') {
        this.report(child, `<copy> holds one <from> then one <to>: <${child.localName}> is out of place (line ${lineOf(child)})`);
      } else this.unexpected(child, element);
    }
    const line = lineOf(element);
    if (!from) this.report(element, `<copy> needs a <from> (line ${line})`);
    if (!to) this.report(element, `<copy> needs a <to> (line ${line})`);
    return {
      line,
      from: from ?? { type: 'literal', xml: '' },
      to: to ?? { type: 'variable', variable: '' },
      keepSrcElementName: this.yesNo(element, 'keepSrcElementName') ?? false,
      ignoreMissingFromData: this.yesNo(element, 'ignoreMissingFromData') ?? false,
    };
  }

  /** The `variable`/`part`/`<query>` form shared by from-specs and to-specs. */
  private variableSpec(element: Element, children: readonly Element[]): { variable: string; part?: string; query?: Expression } {
    let query: Expression | undefined;
    for (const child of children) {
      if (child.localName === 'query' && !query) query = this.expression(child, 'queryLanguage');
      else this.unexpected(child, element);
    }
    if (ownText(element).trim() !== '') {
      this.report(element, `<${element.localName} variable="…"> cannot also hold an expression (line ${lineOf(element)})`);
    }
    const part = this.optional(element, 'part');
    return {
      variable: this.required(element, 'variable'),
      ...(part !== undefined ? { part } : {}),
      ...(query ? { query } : {}),
    };
  }

  /** `<from variable property>` / `<to variable property>`: nothing else on it. */
  private propertySpec(element: Element, children: readonly Element[]): { type: 'property'; variable: string; property: QName } {
    for (const child of children) this.unexpected(child, element);
    if (element.hasAttribute('part')) this.report(element, `<${element.localName} property="…"> cannot also have part="…" (line ${lineOf(element)})`);
    if (ownText(element).trim() !== '') this.report(element, `<${element.localName} property="…"> cannot also hold an expression (line ${lineOf(element)})`);
    return { type: 'property', variable: this.required(element, 'variable'), property: this.requiredQName(element, 'property') };
  }

  private from(element: Element): CopyFrom {
    this.checkAttributes(element, ['variable', 'part', 'expressionLanguage', 'property']);
    const children = this.childrenAllowingText(element);
    const line = lineOf(element);
    if (element.hasAttribute('property')) return this.propertySpec(element, children);
    if (element.hasAttribute('variable')) return { type: 'variable', ...this.variableSpec(element, children) };
    if (element.hasAttribute('part')) this.report(element, `<from part="…"> needs variable="…" (line ${line})`);
    const literal = children.find((c) => c.localName === 'literal');
    if (literal) {
      for (const child of children) if (child !== literal) this.unexpected(child, element);
      if (ownText(element).trim() !== '') this.report(element, `<from> holds a <literal> or an expression, not both (line ${line})`);
      this.checkAttributes(literal, []);
      return { type: 'literal', xml: literalContent(literal) };
    }
    return { type: 'expression', expression: this.specExpression(element, children) };
  }

  /** A from/to-spec written as an expression (its attributes and children already read). */
  private specExpression(element: Element, children: readonly Element[]): Expression {
    this.language(element, 'expressionLanguage');
    for (const child of children) this.unexpected(child, element);
    return this.expressionText(element);
  }

  private to(element: Element): CopyTo {
    this.checkAttributes(element, ['variable', 'part', 'expressionLanguage', 'property']);
    const children = this.childrenAllowingText(element);
    if (element.hasAttribute('property')) return this.propertySpec(element, children);
    if (element.hasAttribute('variable')) return { type: 'variable', ...this.variableSpec(element, children) };
    if (element.hasAttribute('part')) this.report(element, `<to part="…"> needs variable="…" (line ${lineOf(element)})`);
    return { type: 'expression', expression: this.specExpression(element, children) };
  }

  /** Children of a from/to-spec (whose text is an expression, so text is not reported here). */
  private childrenAllowingText(element: Element): Element[] {
    const out: Element[] = [];
    for (let n = element.firstChild; n; n = n.nextSibling) {
      if (n.nodeType !== NodeType.ELEMENT) continue;
      const child = n as Element;
      if (child.namespaceURI !== BPEL_NS) this.foreign(child);
      else if (child.localName !== 'documentation') out.push(child);
    }
    return out;
  }
}

/** The literal's content, serialised; each element carries the namespace declarations it needs. */
function literalContent(literal: Element): string {
  let out = '';
  for (let n = literal.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === NodeType.COMMENT || n.nodeType === NodeType.PROCESSING_INSTRUCTION) continue;
    out += serializeNode(n);
  }
  return out;
}

function emptyExpression(line: number): Expression {
  return { text: '', namespaces: {}, line };
}

/** Stands in for an activity that could not be read; never returned, as its problem is reported. */
function placeholder(path: string, line: number): Activity {
  return { kind: 'empty', path, line, sources: [], targets: [] };
}

function placeholderScope(path: string, line: number): Scope {
  return {
    kind: 'scope',
    path,
    line,
    sources: [],
    targets: [],
    isolated: false,
    variables: [],
    alarms: [],
    events: [],
    messageExchanges: [],
    correlationSets: [],
    activity: placeholder(`${path}/empty`, line),
  };
}
