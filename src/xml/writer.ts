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
