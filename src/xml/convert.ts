import type { Element } from '@xmldom/xmldom';
import { NodeType, newDocument, XMLNS_NS } from './dom';
import { NO_ATTRIBUTES, type XmlElement } from './parser';

/**
 * The scanner's element as a DOM element in a document of its own, for the
 * parts that need a DOM (XPath, `<copy>`): the one conversion between the two
 * trees. Names and namespaces are kept; of the attributes, the unqualified
 * ones (`{ns}local` keys are those of other vocabularies, e.g. `soap:mustUnderstand`).
 * An element with element children keeps only those; one without keeps its
 * text, as document/literal wrapped content has no mixed content.
 */
export function toDom(element: XmlElement): Element {
  const document = newDocument();
  const root = build(document, element);
  document.appendChild(root);
  return root;
}

/**
 * A DOM element as the scanner would have read it from its serialisation,
 * without writing and parsing text: names and namespaces, attributes keyed
 * `{ns}local` (or `local`) without the namespace declarations, element
 * children, and the element's own text and CDATA concatenated. Comments and
 * processing instructions are left out.
 */
export function fromDom(element: Element): XmlElement {
  let attrs = NO_ATTRIBUTES as Record<string, string>;
  const list = element.attributes;
  for (let i = 0; i < list.length; i++) {
    const attr = list.item(i);
    if (attr === null || attr.namespaceURI === XMLNS_NS || attr.name === 'xmlns' || attr.name.startsWith('xmlns:')) continue;
    if (attrs === NO_ATTRIBUTES) attrs = Object.create(null) as Record<string, string>;
    const local = attr.localName ?? attr.name;
    attrs[attr.namespaceURI === null || attr.namespaceURI === '' ? local : `{${attr.namespaceURI}}${local}`] = attr.value;
  }
  const children: XmlElement[] = [];
  let text = '';
  for (let n = element.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === NodeType.ELEMENT) children.push(fromDom(n as Element));
    else if (n.nodeType === NodeType.TEXT || n.nodeType === NodeType.CDATA) text += n.nodeValue ?? '';
  }
  return { ns: element.namespaceURI ?? '', name: element.localName ?? element.nodeName, attrs, children, text, line: (element as { lineNumber?: number }).lineNumber ?? 1 };
}

function build(document: ReturnType<typeof newDocument>, element: XmlElement): Element {
  const out = document.createElementNS(element.ns === '' ? null : element.ns, element.name);
  for (const [key, value] of Object.entries(element.attrs)) {
    if (!key.startsWith('{')) out.setAttribute(key, value);
  }
  if (element.children.length > 0) {
    for (const child of element.children) out.appendChild(build(document, child));
  } else if (element.text !== '') {
    out.appendChild(document.createTextNode(element.text));
  }
  return out;
}
