import type { Element } from '@xmldom/xmldom';
import { newDocument } from './dom';
import type { XmlElement } from './parser';

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
