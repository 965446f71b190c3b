/**
 * The DOM side of the XML layer, under the BPEL parser and the variable values: a safe parse
 * (no DTD, no entity declarations, every problem with its line), in-scope
 * namespace bindings, QName resolution and serialisation.
 *
 * xmldom is used rather than the scanner of ./parser because BPEL needs a
 * real DOM: XPath runs over it and `<copy>` edits it.
 */
import { DOMImplementation, DOMParser, XMLSerializer } from '@xmldom/xmldom';
import type { CharacterData, Document, Element, Node, ProcessingInstruction } from '@xmldom/xmldom';

/** A namespace-qualified name (the BPEL model's QName has this shape). */
export interface QName {
  readonly ns: string;
  readonly local: string;
}

export const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';
export const XML_NS = 'http://www.w3.org/XML/1998/namespace';

/** DOM node types used here (xmldom's numbering, which is the DOM's). */
export const NodeType = {
  ELEMENT: 1,
  ATTRIBUTE: 2,
  TEXT: 3,
  CDATA: 4,
  PROCESSING_INSTRUCTION: 7,
  COMMENT: 8,
  DOCUMENT: 9,
} as const;

/** A problem with the XML itself, before any BPEL meaning is looked at. */
export interface XmlProblem {
  readonly line: number;
  readonly message: string;
}

export type XmlParseResult = { readonly document: Document } | { readonly problem: XmlProblem };

/**
 * Finds a DTD or entity declaration outside comments and CDATA sections. They
 * are refused before parsing: they are the door to entity-expansion attacks and
 * no BPEL document needs them.
 */
function findDeclaration(text: string): { line: number; what: string } | undefined {
  let i = 0;
  for (;;) {
    const lt = text.indexOf('<!', i);
    if (lt === -1) return undefined;
    if (text.startsWith('<!--', lt)) {
      const end = text.indexOf('-->', lt + 4);
      if (end === -1) return undefined;
      i = end + 3;
    } else if (text.startsWith('<![CDATA[', lt)) {
      const end = text.indexOf(']]>', lt + 9);
      if (end === -1) return undefined;
      i = end + 3;
    } else {
      const what = /^<!([A-Za-z]+)/.exec(text.slice(lt, lt + 20))?.[1] ?? '';
      return { line: lineAt(text, lt), what: what === '' ? '<!' : `<!${what}` };
    }
  }
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/**
 * Parses an XML document, refusing DTDs and entity declarations. Never throws:
 * the first problem is returned with its line.
 */
export function parseDom(text: string): XmlParseResult {
  const declaration = findDeclaration(text);
  if (declaration) {
    return {
      problem: {
        line: declaration.line,
        message: `${declaration.what} is refused: document type and entity declarations are not allowed (line ${declaration.line})`,
      },
    };
  }
  let first: XmlProblem | undefined;
  const parser = new DOMParser({
    locator: true,
    onError: (level, message, context: unknown) => {
      if (level === 'warning') return;
      const locator = (context as { locator?: { lineNumber?: number } } | undefined)?.locator;
      first ??= { line: locator?.lineNumber ?? 0, message };
      throw new Error(message);
    },
  });
  try {
    const document = parser.parseFromString(text, 'text/xml');
    if (first) return { problem: first };
    if (!document.documentElement) return { problem: { line: 1, message: 'missing root element' } };
    return { document };
  } catch (error) {
    if (first) return { problem: first };
    const locator = (error as { locator?: { lineNumber?: number } }).locator;
    const message = error instanceof Error ? error.message : String(error);
    return { problem: { line: locator?.lineNumber ?? 0, message } };
  }
}

/** Parses one element (a variable value, a literal), throwing an Error naming the problem. */
export function parseElement(xml: string): Element {
  const result = parseDom(xml);
  if ('problem' in result) throw new Error(`invalid XML (line ${result.problem.line}): ${result.problem.message}`);
  const root = result.document.documentElement;
  if (!root) throw new Error('invalid XML: missing root element');
  return root;
}

const implementation = new DOMImplementation();

/** A new, empty document to hold one value. */
export function newDocument(): Document {
  return implementation.createDocument(null, '', null);
}

/**
 * A deep copy of `element` as the document element of a document of its own,
 * so that `/` in a query is the value's root.
 *
 * Built with the document's constructors, a fifth of the time of xmldom's
 * importNode (which copies every own property of every node); a tree they
 * refuse (a name xmldom's looser methods let through) is copied by
 * importNode instead.
 */
export function detachedCopy(element: Element): Element {
  const document = newDocument();
  let copy: Element;
  try {
    copy = copyTree(document, element);
  } catch {
    copy = document.importNode(element, true) as Element;
  }
  document.appendChild(copy);
  return copy;
}

/** `root` and everything under it, made by `document` (without recursion: a deep tree needs no deep stack). */
function copyTree(document: Document, root: Element): Element {
  const top = copyNode(document, root) as Element;
  const pending: Array<{ readonly from: Node; readonly to: Node }> = [{ from: root, to: top }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    for (let child = next.from.firstChild; child; child = child.nextSibling) {
      const made = copyNode(document, child);
      next.to.appendChild(made);
      if (child.nodeType === NodeType.ELEMENT && child.firstChild) pending.push({ from: child, to: made });
    }
  }
  return top;
}

/** One node, without its children (an element with its attributes and, when parsed, its line and column). */
function copyNode(document: Document, node: Node): Node {
  switch (node.nodeType) {
    case NodeType.ELEMENT: {
      const element = node as Element;
      const copy = document.createElementNS(element.namespaceURI, element.nodeName);
      const attributes = element.attributes;
      for (let i = 0; i < attributes.length; i++) {
        const attribute = attributes.item(i);
        if (attribute) copy.setAttributeNS(attribute.namespaceURI, attribute.name, attribute.value);
      }
      const at = element as { lineNumber?: number; columnNumber?: number };
      if (at.lineNumber !== undefined) Object.assign(copy, { lineNumber: at.lineNumber, columnNumber: at.columnNumber });
      return copy;
    }
    case NodeType.TEXT:
      return document.createTextNode((node as CharacterData).data);
    case NodeType.CDATA:
      return document.createCDATASection((node as CharacterData).data);
    case NodeType.COMMENT:
      return document.createComment((node as CharacterData).data);
    case NodeType.PROCESSING_INSTRUCTION:
      return document.createProcessingInstruction((node as ProcessingInstruction).target, (node as ProcessingInstruction).data);
    default:
      return document.importNode(node, true);
  }
}

/** The element children of `element`. */
export function childElements(element: Element): Element[] {
  const out: Element[] = [];
  for (let n = element.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === NodeType.ELEMENT) out.push(n as Element);
  }
  return out;
}

/** The concatenated text and CDATA children of `element`. */
export function ownText(element: Element): string {
  let out = '';
  for (let n = element.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === NodeType.TEXT || n.nodeType === NodeType.CDATA) out += n.nodeValue ?? '';
  }
  return out;
}

/** The XPath string value of a node: all descendant text for elements and documents. */
export function stringValue(node: Node): string {
  if (node.nodeType === NodeType.ELEMENT || node.nodeType === NodeType.DOCUMENT) {
    let out = '';
    const walk = (n: Node): void => {
      for (let c = n.firstChild; c; c = c.nextSibling) {
        if (c.nodeType === NodeType.TEXT || c.nodeType === NodeType.CDATA) out += c.nodeValue ?? '';
        else if (c.nodeType === NodeType.ELEMENT) walk(c);
      }
    };
    walk(node);
    return out;
  }
  return node.nodeValue ?? '';
}

/** The 1-based line of a node (0 when unknown). */
export function lineOf(node: Node): number {
  return (node as { lineNumber?: number }).lineNumber ?? 0;
}

/**
 * Every namespace binding in scope at `element` (inner declarations win),
 * the default namespace under the key `''` when one is declared.
 */
export function inScopeNamespaces(element: Element): Record<string, string> {
  const chain: Element[] = [];
  for (let n: Node | null = element; n && n.nodeType === NodeType.ELEMENT; n = n.parentNode) chain.push(n as Element);
  const bindings: Record<string, string> = {};
  for (const el of chain.reverse()) {
    const attrs = el.attributes;
    for (let i = 0; i < attrs.length; i++) {
      const attr = attrs.item(i);
      if (!attr) continue;
      if (attr.name === 'xmlns') {
        if (attr.value === '') delete bindings[''];
        else bindings[''] = attr.value;
      } else if (attr.name.startsWith('xmlns:')) {
        bindings[attr.name.slice(6)] = attr.value;
      }
    }
  }
  return bindings;
}

/**
 * Resolves a QName-valued attribute with the namespaces in scope at `element`.
 * An unprefixed name takes the default namespace, as for `xsd:QName`.
 * Returns undefined for a syntactically bad name or an undeclared prefix.
 */
export function resolveQName(element: Element, value: string): QName | undefined {
  const text = value.trim();
  const match = /^(?:([A-Za-z_][\w.-]*):)?([A-Za-z_][\w.-]*)$/.exec(text);
  if (!match) return undefined;
  const prefix = match[1];
  const local = match[2] ?? '';
  const namespaces = inScopeNamespaces(element);
  if (prefix === undefined) return { ns: namespaces[''] ?? '', local };
  if (prefix === 'xml') return { ns: XML_NS, local };
  const ns = namespaces[prefix];
  return ns === undefined ? undefined : { ns, local };
}

/** Serialises a node (an element keeps the namespace declarations it needs). */
export function serializeNode(node: Node): string {
  return new XMLSerializer().serializeToString(node);
}
