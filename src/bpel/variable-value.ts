/**
 * Building, copying and storing variable values (values.ts `VariableValue`).
 *
 * Every element held by a value is the document element of a document of its
 * own, so `/` in a query is the value's root. Values are never changed in
 * place: `<assign>` works on copies of its own (see assign.ts), so a copy
 * into one variable can never change another, and two variables may hold
 * the same element (a part copied whole from one to the other).
 */
import type { Element } from '@xmldom/xmldom';
import type { VariableValue } from './values';
import { detachedCopy, parseElement, serializeNode } from '../xml/dom';

/** A message value from its parts: an element for an element part, text for a simple-typed part. */
export function messageValue(parts: Readonly<Record<string, Element | string>>): VariableValue {
  const map = new Map<string, Element | string>();
  for (const [name, part] of Object.entries(parts)) map.set(name, typeof part === 'string' ? part : detachedCopy(part));
  return { kind: 'message', parts: map };
}

/** An element value (the element is copied). */
export function elementValue(element: Element): VariableValue {
  return { kind: 'element', element: detachedCopy(element) };
}

/** A simple-typed value. */
export function simpleValue(value: string | number | boolean): VariableValue {
  return { kind: 'simple', value };
}

/** True when every element of `value` is the document element of its document, as the values built here hold them. */
export function standalone(value: VariableValue): boolean {
  switch (value.kind) {
    case 'message':
      for (const part of value.parts.values()) if (typeof part !== 'string' && !isRoot(part)) return false;
      return true;
    case 'element':
      return isRoot(value.element);
    case 'simple':
      return true;
  }
}

function isRoot(element: Element): boolean {
  const document = element.ownerDocument;
  return document !== null && document !== undefined && document.documentElement === element && element.parentNode === document;
}

/** A deep copy that shares no node with `value`. */
export function cloneValue(value: VariableValue): VariableValue {
  switch (value.kind) {
    case 'message': {
      const parts = new Map<string, Element | string>();
      for (const [name, part] of value.parts) parts.set(name, typeof part === 'string' ? part : detachedCopy(part));
      return { kind: 'message', parts };
    }
    case 'element':
      return { kind: 'element', element: detachedCopy(value.element) };
    case 'simple':
      return value;
  }
}

/**
 * The XML text of each element a value holds, once it was serialised or
 * parsed: an element held by a value is never changed in place (`<assign>`
 * changes copies of its own before they are held), so its text stands for
 * as long as the element lives. A value stored again (the instance's input
 * taken by its receive, a part copied whole into another variable) costs no
 * second serialisation, and one read back from its text none either.
 */
const elementXml = new WeakMap<Element, string>();

/** The XML of an element held by a value. */
function xmlOf(element: Element): string {
  let xml = elementXml.get(element);
  if (xml === undefined) {
    xml = serializeNode(element);
    elementXml.set(element, xml);
  }
  return xml;
}

/** An element parsed from a value's stored XML, which stands as its text. */
function elementOf(xml: string): Element {
  const element = parseElement(xml);
  elementXml.set(element, xml);
  return element;
}

type StoredPart = { readonly name: string; readonly xml: string } | { readonly name: string; readonly text: string };

type StoredValue =
  | { readonly kind: 'message'; readonly parts: readonly StoredPart[] }
  | { readonly kind: 'element'; readonly xml: string }
  | { readonly kind: 'simple'; readonly value: string | number | boolean }
  /** NaN and the infinities, which JSON cannot hold as numbers. */
  | { readonly kind: 'simple'; readonly nonFinite: 'NaN' | 'Infinity' | '-Infinity' };

/**
 * A value as text (JSON holding the XML of each element), for storing in a
 * row. `deserializeValue` gives back an equal value.
 */
export function serializeValue(value: VariableValue): string {
  let stored: StoredValue;
  switch (value.kind) {
    case 'message':
      stored = {
        kind: 'message',
        parts: [...value.parts].map(([name, part]) =>
          typeof part === 'string' ? { name, text: part } : { name, xml: xmlOf(part) },
        ),
      };
      break;
    case 'element':
      stored = { kind: 'element', xml: xmlOf(value.element) };
      break;
    case 'simple':
      stored =
        typeof value.value === 'number' && !Number.isFinite(value.value)
          ? { kind: 'simple', nonFinite: String(value.value) as 'NaN' | 'Infinity' | '-Infinity' }
          : { kind: 'simple', value: value.value };
      break;
  }
  return JSON.stringify(stored);
}

/**
 * Reads a value written by `serializeValue`.
 *
 * @throws Error naming what is wrong when the text is not a stored value
 */
export function deserializeValue(text: string): VariableValue {
  let stored: unknown;
  try {
    stored = JSON.parse(text);
  } catch (error) {
    throw new Error(`stored variable value is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const s = stored as Partial<Record<string, unknown>> | null;
  if (typeof s !== 'object' || s === null) throw new Error('stored variable value is not an object');
  switch (s['kind']) {
    case 'message': {
      if (!Array.isArray(s['parts'])) throw new Error('stored message value has no parts list');
      const parts = new Map<string, Element | string>();
      for (const p of s['parts'] as unknown[]) {
        const part = p as Partial<Record<string, unknown>>;
        if (typeof part['name'] !== 'string') throw new Error('stored message part has no name');
        if (typeof part['xml'] === 'string') parts.set(part['name'], elementOf(part['xml']));
        else if (typeof part['text'] === 'string') parts.set(part['name'], part['text']);
        else throw new Error(`stored message part "${part['name']}" has neither xml nor text`);
      }
      return { kind: 'message', parts };
    }
    case 'element':
      if (typeof s['xml'] !== 'string') throw new Error('stored element value has no xml');
      return { kind: 'element', element: elementOf(s['xml']) };
    case 'simple': {
      const nonFinite = s['nonFinite'];
      if (nonFinite === 'NaN' || nonFinite === 'Infinity' || nonFinite === '-Infinity') {
        return { kind: 'simple', value: Number(nonFinite) };
      }
      const v = s['value'];
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
        throw new Error('stored simple value is not a string, number or boolean');
      }
      return { kind: 'simple', value: v };
    }
    default:
      throw new Error(`stored variable value has an unknown kind ${JSON.stringify(s['kind'])}`);
  }
}
