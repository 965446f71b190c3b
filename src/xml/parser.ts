/**
 * A strict, namespace-aware XML parser for SOAP envelopes: the scanner every
 * request goes through (escaping is in ./escape, the DOM for plans in ./dom).
 *
 * Why not sax (node-soap's parser, and the one under xml2js): it tokenises
 * at about 7 MB/s here, some 170 µs for a 1 KB envelope, the largest single
 * cost of a request; this scanner works on the decoded string with indexOf
 * and charCode tests and is an order of magnitude faster (xml2js adds its
 * object building on top, and keeps namespaces and child order only when
 * asked to). It is also deliberately smaller than XML: no DTD, no entity
 * declarations, no processing instructions except the XML declaration —
 * SOAP forbids them (SOAP 1.1 §3, SOAP 1.2 part 1 §5) and they
 * are the door to entity-expansion attacks.
 *
 * It reads every request before authentication, so its cost is linear in
 * the input whatever the document's shape (namespace bindings are linked,
 * not copied; references are decoded in one pass), and its limits are
 * settings (config.xml). test/xml-parser-differential.test.ts compares it
 * with xmldom on generated documents and lists where it is stricter.
 */

import { clipInput } from '../errors';

export class XmlError extends Error {
  override readonly name = 'XmlError';
  constructor(
    message: string,
    /** True for a DTD, entity declaration or processing instruction. */
    readonly forbidden = false,
  ) {
    super(message);
  }
}

export interface XmlElement {
  /** Namespace URI ('' when none). */
  readonly ns: string;
  /** Local name. */
  readonly name: string;
  /** Attributes by `{ns}local` (or `local` when unqualified). Namespace declarations are not included. */
  readonly attrs: Record<string, string>;
  readonly children: XmlElement[];
  /** The element's own character data (all text and CDATA children, concatenated). */
  text: string;
  /** 1-based line of the start tag. */
  readonly line: number;
}

/** What one document may hold; a document over any of them is refused with an XmlError naming the limit. */
export interface ParseLimits {
  /** Deepest nesting of elements. */
  readonly maxDepth: number;
  /** Elements in the whole document. */
  readonly maxElements: number;
  /** Attributes on one element, its namespace declarations included. */
  readonly maxAttributes: number;
  /** Namespace declarations in the whole document. */
  readonly maxNamespaceDeclarations: number;
}

export const DEFAULT_PARSE_LIMITS: ParseLimits = Object.freeze({ maxDepth: 64, maxElements: 200_000, maxAttributes: 64, maxNamespaceDeclarations: 10_000 });

const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

/** The attributes of every element that has none (one frozen object, shared; no prototype, like every attribute map). */
export const NO_ATTRIBUTES: Readonly<Record<string, string>> = Object.freeze(Object.create(null) as Record<string, string>);

/** Caller's text quoted in an error message: names and references are short in any real document. */
const show = (text: string): string => clipInput(text, 80);

function predefined(name: string): string | undefined {
  switch (name) {
    case 'lt':
      return '<';
    case 'gt':
      return '>';
    case 'amp':
      return '&';
    case 'quot':
      return '"';
    case 'apos':
      return "'";
    default:
      return undefined;
  }
}

/** XML 1.0 (fifth edition) NameStartChar, on UTF-16 code units: a supplementary character is a pair of surrogates, both accepted. */
function isNameStart(c: number): boolean {
  if (c < 0x80) return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58;
  return (
    (c >= 0xc0 && c <= 0xd6) ||
    (c >= 0xd8 && c <= 0xf6) ||
    (c >= 0xf8 && c <= 0x2ff) ||
    (c >= 0x370 && c <= 0x37d) ||
    (c >= 0x37f && c <= 0x1fff) ||
    c === 0x200c ||
    c === 0x200d ||
    (c >= 0x2070 && c <= 0x218f) ||
    (c >= 0x2c00 && c <= 0x2fef) ||
    (c >= 0x3001 && c <= 0xdb7f) ||
    (c >= 0xdc00 && c <= 0xdfff) ||
    (c >= 0xf900 && c <= 0xfdcf) ||
    (c >= 0xfdf0 && c <= 0xfffd)
  );
}

function isNameChar(c: number): boolean {
  if (c < 0x80) return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 58 || c === 45 || c === 46;
  return isNameStart(c) || c === 0xb7 || (c >= 0x300 && c <= 0x36f) || c === 0x203f || c === 0x2040;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 9 || c === 13;
}

function isName(text: string): boolean {
  if (text === '' || !isNameStart(text.charCodeAt(0))) return false;
  for (let i = 1; i < text.length; i++) if (!isNameChar(text.charCodeAt(i))) return false;
  return true;
}

/** Code units that may be a character XML does not allow: a quick test that passes almost every document, before the exact one. */
const SUSPECT_CHAR = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ud800-\udfff\ufffe\uffff]/;
/** Characters XML 1.0 does not allow anywhere (controls, U+FFFE, U+FFFF, unpaired surrogates). */
const NOT_XML_CHAR = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** The XML declaration's pseudo-attributes, in their fixed order. */
const XML_DECLARATION = /^xml\s+version\s*=\s*(["'])1\.[0-9]+\1(\s+encoding\s*=\s*(["'])[A-Za-z][A-Za-z0-9._-]*\3)?(\s+standalone\s*=\s*(["'])(yes|no)\5)?\s*$/;

/** Replaces entity and character references. */
function decodeReferences(raw: string, at: () => string): string {
  if (raw.indexOf('&') === -1) return raw;
  let out = '';
  let i = 0;
  for (;;) {
    const amp = raw.indexOf('&', i);
    if (amp === -1) return out + raw.slice(i);
    out += raw.slice(i, amp);
    const semi = raw.indexOf(';', amp + 1);
    if (semi === -1) throw new XmlError(`'&' starts no reference (a literal ampersand is written &amp;) ${at()}`);
    const name = raw.slice(amp + 1, semi);
    if (name.charCodeAt(0) === 35 /* # */) {
      if (!/^#(x[0-9a-fA-F]+|[0-9]+)$/.test(name)) throw new XmlError(`invalid character reference &${show(name)}; ${at()}`);
      const code = name.charCodeAt(1) === 120 /* x */ ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      const valid = code === 9 || code === 10 || code === 13 || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
      if (!valid) throw new XmlError(`character reference &${show(name)}; ${at()} is not a character XML allows`);
      out += String.fromCodePoint(code);
    } else {
      const value = predefined(name);
      if (value === undefined) {
        if (!isName(name)) throw new XmlError(`'&' starts no reference (a literal ampersand is written &amp;) ${at()}`);
        throw new XmlError(`undeclared entity &${show(name)}; ${at()} (entity declarations are not accepted)`, true);
      }
      out += value;
    }
    i = semi + 1;
  }
}

/**
 * One namespace binding. The bindings in force are a map from prefix to its
 * innermost binding, each linked to the one it shadows: an element's
 * declarations cost one map write each on the way in and one on the way
 * out, whatever its ancestors declared.
 */
interface Binding {
  readonly uri: string;
  readonly shadowed: Binding | undefined;
  /** The number of the element that declared it (to find a prefix declared twice on one element). */
  readonly owner: number;
}

interface OpenElement {
  readonly element: XmlElement;
  readonly qname: string;
  /** The prefixes this element declared, to unbind at its end tag. */
  readonly declared: string[] | undefined;
}

/** Where a QName splits into prefix and local part; -1 without a prefix. Throws when it is not a QName. */
function prefixEnd(qname: string, at: () => string): number {
  const colon = qname.indexOf(':');
  if (colon === -1) return -1;
  if (colon === 0 || colon === qname.length - 1 || qname.indexOf(':', colon + 1) !== -1 || !isNameStart(qname.charCodeAt(colon + 1))) {
    throw new XmlError(`${show(qname)} is not a qualified name (prefix:local, one colon) ${at()}`);
  }
  return colon;
}

/**
 * Parses a complete document and returns its root element. Throws XmlError
 * naming the problem and its line.
 */
/** Parses a whole document at once. Throws an XmlError naming the first problem. */
export function parseXml(input: string, limits: ParseLimits = DEFAULT_PARSE_LIMITS): XmlElement {
  const steps = parseSteps(input, limits);
  for (;;) {
    const step = steps.next();
    if (step.done === true) return step.value;
  }
}

/**
 * Parses like {@link parseXml}, giving the event loop a turn after every
 * `sliceMs` of work, so that a large document (up to the body limit, chosen
 * by a caller not yet authenticated) does not hold up the requests that
 * arrive while it is read. The result and the errors are the same.
 */
export async function parseXmlSliced(input: string, limits: ParseLimits = DEFAULT_PARSE_LIMITS, sliceMs = 4): Promise<XmlElement> {
  const steps = parseSteps(input, limits);
  let sliceStart = performance.now();
  for (;;) {
    const step = steps.next();
    if (step.done === true) return step.value;
    if (performance.now() - sliceStart >= sliceMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
}

/** Markup items (tags, attributes) between two points where the parse may pause: a fraction of a millisecond of work. */
const STEP_MASK = 255;

/**
 * The parser, pausing (yielding) every {@link STEP_MASK}+1 markup items so
 * that a caller may interleave other work; one pass, one state.
 */
function* parseSteps(input: string, limits: ParseLimits): Generator<void, XmlElement, void> {
  let steps = 0;
  let src = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  // XML end-of-line handling (§2.11): the parser sees CR LF and lone CR as LF; a character reference &#13; still gives a CR.
  if (src.indexOf('\r') !== -1) src = src.replace(/\r\n?/g, '\n');
  const len = src.length;
  let pos = 0;
  let elementCount = 0;
  let declarationCount = 0;
  let root: XmlElement | undefined;
  const stack: OpenElement[] = [];
  const bindings = new Map<string, Binding | undefined>([['xml', { uri: XML_NS, shadowed: undefined, owner: 0 }]]);
  // Element names repeat (a list of parameters): each is resolved once while the bindings stay the same.
  const names = new Map<string, { ns: string; name: string }>();
  let bindingsChanged = false;

  // Lines are counted incrementally (positions only move forward): each newline is found once.
  let line = 1;
  let lineStart = 0;
  let nextNewline = src.indexOf('\n');
  const lineAt = (index: number): number => {
    while (nextNewline !== -1 && nextNewline < index) {
      line++;
      lineStart = nextNewline + 1;
      nextNewline = src.indexOf('\n', nextNewline + 1);
    }
    return line;
  };
  // The column too: a body sent on one line is otherwise located nowhere.
  const at = (): string => {
    const where = lineAt(pos);
    return `at line ${where}, column ${Math.max(1, pos - lineStart + 1)}`;
  };

  const badChar = SUSPECT_CHAR.test(src) ? NOT_XML_CHAR.exec(src) : null;
  if (badChar !== null) {
    pos = badChar.index;
    throw new XmlError(`character U+${(badChar[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')} is not allowed in XML ${at()}`);
  }

  const readName = (): string => {
    const start = pos;
    if (pos >= len || !isNameStart(src.charCodeAt(pos))) throw new XmlError(`expected a name ${at()}`);
    pos++;
    while (pos < len && isNameChar(src.charCodeAt(pos))) pos++;
    return src.slice(start, pos);
  };
  const skipSpace = (): void => {
    while (pos < len && isSpace(src.charCodeAt(pos))) pos++;
  };
  const unbind = (declared: readonly string[]): void => {
    // Never Map.delete: V8 rebuilds a large map when keys are deleted and added again, which made each of many self-closing declaring elements cost as much as all the root's declarations.
    for (const prefix of declared) bindings.set(prefix, bindings.get(prefix)?.shadowed);
    bindingsChanged = true;
  };
  const namespaceOf = (qname: string, isAttribute: boolean): { ns: string; name: string } => {
    const colon = prefixEnd(qname, at);
    if (colon === -1) return { ns: isAttribute ? '' : (bindings.get('')?.uri ?? ''), name: qname };
    const prefix = qname.slice(0, colon);
    const binding = prefix === 'xmlns' ? undefined : bindings.get(prefix);
    if (binding === undefined) {
      throw new XmlError(prefix === 'xmlns' ? `the prefix xmlns is reserved for namespace declarations (${show(qname)}) ${at()}` : `namespace prefix "${show(prefix)}" of ${show(qname)} is not declared ${at()}`);
    }
    return { ns: binding.uri, name: qname.slice(colon + 1) };
  };

  while (pos < len) {
    if ((++steps & STEP_MASK) === 0) yield;
    const lt = src.indexOf('<', pos);
    const textEnd = lt === -1 ? len : lt;
    if (textEnd > pos) {
      const top = stack[stack.length - 1];
      if (top === undefined) {
        for (let i = pos; i < textEnd; i++) {
          if (!isSpace(src.charCodeAt(i))) {
            pos = i;
            throw new XmlError(`text outside the root element ${at()}`);
          }
        }
      } else {
        const raw = src.slice(pos, textEnd);
        if (raw.indexOf(']]>') !== -1) throw new XmlError(`']]>' in text ${at()}`);
        top.element.text += decodeReferences(raw, at);
      }
      pos = textEnd;
    }
    if (lt === -1) break;
    pos = lt + 1;
    const c = src.charCodeAt(pos);
    if (c === 33 /* ! */) {
      if (src.startsWith('!--', pos)) {
        const end = src.indexOf('--', pos + 3);
        if (end === -1) throw new XmlError(`unterminated comment ${at()}`);
        if (src.charCodeAt(end + 2) !== 62 /* > */) throw new XmlError(`'--' inside a comment ${at()}`);
        pos = end + 3;
      } else if (src.startsWith('![CDATA[', pos)) {
        const end = src.indexOf(']]>', pos + 8);
        if (end === -1) throw new XmlError(`unterminated CDATA section ${at()}`);
        const top = stack[stack.length - 1];
        if (top === undefined) throw new XmlError(`CDATA outside the root element ${at()}`);
        top.element.text += src.slice(pos + 8, end);
        pos = end + 3;
      } else if (src.startsWith('!DOCTYPE', pos) || src.startsWith('!ENTITY', pos) || src.startsWith('!ELEMENT', pos) || src.startsWith('!ATTLIST', pos)) {
        throw new XmlError(`a document type declaration (<${src.slice(pos, pos + 8)}) ${at()} is not accepted in a SOAP message`, true);
      } else {
        throw new XmlError(`unexpected markup <! ${at()}`);
      }
      continue;
    }
    if (c === 63 /* ? */) {
      const end = src.indexOf('?>', pos + 1);
      if (end === -1) throw new XmlError(`unterminated processing instruction ${at()}`);
      const body = src.slice(pos + 1, end);
      const target = /^[^\s]*/.exec(body)?.[0] ?? '';
      if (target !== 'xml' || lt !== 0) {
        throw new XmlError(`processing instruction <?${show(target)}?> ${at()} is not accepted in a SOAP message`, true);
      }
      if (!XML_DECLARATION.test(body)) throw new XmlError(`malformed XML declaration <?${show(body)}?> ${at()}`);
      pos = end + 2;
      continue;
    }
    if (c === 47 /* / */) {
      pos++;
      const open = stack.pop();
      // The usual case compared in place, without cutting the name out.
      const same = open !== undefined && src.startsWith(open.qname, pos) && !isNameChar(src.charCodeAt(pos + open.qname.length));
      const qname = same ? open.qname : readName();
      if (same) pos += qname.length;
      skipSpace();
      if (src.charCodeAt(pos) !== 62) throw new XmlError(`expected '>' to close </${show(qname)} ${at()}`);
      pos++;
      if (open === undefined || open.qname !== qname) {
        pos = lt; // located at its '<', where the reader looks
        throw new XmlError(`end tag </${show(qname)}> ${at()} does not match ${open === undefined ? 'any open element' : `<${show(open.qname)}>`}`);
      }
      if (open.declared !== undefined) unbind(open.declared);
      continue;
    }
    // Start tag.
    const startLine = lineAt(lt);
    const qname = readName();
    const owner = elementCount + 1;
    let rawAttrs: Array<[string, string]> | undefined;
    let declared: string[] | undefined;
    let attributeCount = 0;
    let selfClosing = false;
    for (;;) {
      if ((++steps & STEP_MASK) === 0) yield;
      const before = pos;
      skipSpace();
      const ch = src.charCodeAt(pos);
      if (ch === 62 /* > */) {
        pos++;
        break;
      }
      if (ch === 47 /* / */ && src.charCodeAt(pos + 1) === 62) {
        pos += 2;
        selfClosing = true;
        break;
      }
      if (pos >= len) throw new XmlError(`unterminated start tag <${show(qname)} ${at()}`);
      if (!isNameStart(ch)) throw new XmlError(`unexpected ${JSON.stringify(String.fromCharCode(ch))} in the start tag <${show(qname)}> ${at()}`);
      if (pos === before) throw new XmlError(`expected whitespace before an attribute of <${show(qname)}> ${at()}`);
      const name = readName();
      skipSpace();
      if (src.charCodeAt(pos) !== 61 /* = */) throw new XmlError(`attribute ${show(name)} of <${show(qname)}> has no value ${at()}`);
      pos++;
      skipSpace();
      const quote = src.charCodeAt(pos);
      if (quote !== 34 && quote !== 39) throw new XmlError(`attribute ${show(name)} of <${show(qname)}> is not quoted ${at()}`);
      const end = src.indexOf(quote === 34 ? '"' : "'", pos + 1);
      if (end === -1) throw new XmlError(`unterminated attribute value ${at()}`);
      const rawValue = src.slice(pos + 1, end);
      if (rawValue.indexOf('<') !== -1) throw new XmlError(`'<' in the value of attribute ${show(name)} ${at()}`);
      // Attribute-value normalisation (§3.3.3): literal white space becomes a space before references are replaced, so &#10; stays a newline.
      const value = decodeReferences(rawValue.replace(/[\t\n]/g, ' '), at);
      pos = end + 1;
      if (++attributeCount > limits.maxAttributes) throw new XmlError(`more than ${limits.maxAttributes} attributes and namespace declarations on <${show(qname)}> ${at()}`);
      if (name === 'xmlns' || name.startsWith('xmlns:')) {
        if (++declarationCount > limits.maxNamespaceDeclarations) throw new XmlError(`more than ${limits.maxNamespaceDeclarations} namespace declarations in the document ${at()}`);
        const prefix = name === 'xmlns' ? '' : name.slice(6);
        if (name !== 'xmlns' && (prefix === '' || prefix.indexOf(':') !== -1 || !isNameStart(prefix.charCodeAt(0)))) throw new XmlError(`${show(name)} does not declare a valid prefix ${at()}`);
        if (prefix === 'xmlns') throw new XmlError(`the prefix xmlns must not be declared ${at()}`);
        if (prefix !== '' && value === '') throw new XmlError(`prefix ${show(prefix)} bound to the empty namespace ${at()}`);
        if ((prefix === 'xml') !== (value === XML_NS) || value === XMLNS_NS) {
          throw new XmlError(`${show(name)}="${show(value)}": the xml prefix and its namespace belong only to each other, and the xmlns namespace to no prefix ${at()}`);
        }
        const shadowed = bindings.get(prefix);
        if (shadowed !== undefined && shadowed.owner === owner) throw new XmlError(`duplicate attribute ${show(name)} on <${show(qname)}> ${at()}`);
        bindings.set(prefix, { uri: value, shadowed, owner });
        bindingsChanged = true;
        (declared ??= []).push(prefix);
      } else {
        (rawAttrs ??= []).push([name, value]);
      }
    }
    if (bindingsChanged) {
      names.clear();
      bindingsChanged = false;
    }
    let resolved = names.get(qname);
    if (resolved === undefined) {
      resolved = namespaceOf(qname, false);
      names.set(qname, resolved);
    }
    const { ns, name } = resolved;
    let attrs = NO_ATTRIBUTES as Record<string, string>;
    if (rawAttrs !== undefined) {
      attrs = Object.create(null) as Record<string, string>;
      for (const [attrName, value] of rawAttrs) {
        const attr = namespaceOf(attrName, true);
        const key = attr.ns === '' ? attr.name : `{${attr.ns}}${attr.name}`;
        if (key in attrs) throw new XmlError(`duplicate attribute ${show(attrName)} on <${show(qname)}> ${at()}`);
        attrs[key] = value;
      }
    }
    if (++elementCount > limits.maxElements) throw new XmlError(`more than ${limits.maxElements} elements`);
    const element: XmlElement = { ns, name, attrs, children: [], text: '', line: startLine };
    const parent = stack[stack.length - 1];
    if (parent === undefined) {
      if (root !== undefined) throw new XmlError(`a second root element <${show(qname)}> ${at()}`);
      root = element;
    } else {
      parent.element.children.push(element);
    }
    if (selfClosing) {
      if (declared !== undefined) unbind(declared);
    } else {
      if (stack.length >= limits.maxDepth) throw new XmlError(`elements nested deeper than ${limits.maxDepth} ${at()}`);
      stack.push({ element, qname, declared });
    }
  }
  if (stack.length > 0) throw new XmlError(`the document ends inside <${show(stack[stack.length - 1]?.qname ?? '')}>`);
  if (root === undefined) throw new XmlError('the document has no root element');
  return root;
}
