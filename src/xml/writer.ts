import type { Document, Element } from '@xmldom/xmldom';
import { newDocument, XMLNS_NS } from './dom';
import { escapeXml } from './escape';

/**
 * A response value: element content in schema order. Objects become nested
 * elements (key order is document order), arrays repeated elements, Dates
 * xsd:dateTime; undefined and null are left out (minOccurs="0").
 */
export type XmlValue = string | number | boolean | Date | XmlObject | readonly XmlValue[] | undefined | null;
export interface XmlObject {
  readonly [key: string]: XmlValue;
}

function writeValue(prefix: string, name: string, value: XmlValue, out: string[]): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) {
    for (const item of value as readonly XmlValue[]) writeValue(prefix, name, item, out);
    return;
  }
  const tag = prefix === '' ? name : `${prefix}:${name}`;
  if (value instanceof Date) {
    out.push(`<${tag}>${value.toISOString()}</${tag}>`);
  } else if (typeof value === 'object') {
    out.push(`<${tag}>`);
    for (const [key, inner] of Object.entries(value)) writeValue(prefix, key, inner, out);
    out.push(`</${tag}>`);
  } else {
    out.push(`<${tag}>${escapeXml(String(value))}</${tag}>`);
  }
}

/** `<p:Name xmlns:p="ns">…</p:Name>` with every child qualified (elementFormDefault="qualified"). */
export function writeElement(ns: string, name: string, content: XmlObject): string {
  const out: string[] = [`<p:${name} xmlns:p="${escapeXml(ns)}">`];
  for (const [key, value] of Object.entries(content)) writeValue('p', key, value, out);
  out.push(`</p:${name}>`);
  return out.join('');
}

/** What escapeXml does to text besides escaping: characters XML 1.0 cannot hold become U+FFFD. */
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g;

function domValue(document: Document, parent: Element, ns: string, name: string, value: XmlValue): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) {
    for (const item of value as readonly XmlValue[]) domValue(document, parent, ns, name, item);
    return;
  }
  const element = document.createElementNS(ns, `p:${name}`);
  parent.appendChild(element);
  if (value instanceof Date) {
    element.appendChild(document.createTextNode(value.toISOString()));
  } else if (typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) domValue(document, element, ns, key, inner);
  } else {
    const text = String(value).replace(NOT_XML, '\uFFFD');
    if (text !== '') element.appendChild(document.createTextNode(text));
  }
}

/**
 * The element writeElement writes, built as a DOM element (in a document of
 * its own) without writing and parsing text: the same names, prefix `p` and
 * its declaration, the same values.
 */
export function writeDomElement(ns: string, name: string, content: XmlObject): Element {
  const document = newDocument();
  const root = document.createElementNS(ns, `p:${name}`);
  root.setAttributeNS(XMLNS_NS, 'xmlns:p', ns);
  document.appendChild(root);
  for (const [key, value] of Object.entries(content)) domValue(document, root, ns, key, value);
  return root;
}
