/**
 * Variable properties (WS-BPEL 2.0 §8.2): a property names a value that
 * messages of different types carry in different places, and a property
 * alias says where for one message type (its part and a query), element or
 * type. Correlation sets are lists of properties; a message's correlation
 * values are its properties' values, and their key (a hash of the set's name
 * and values) is what the engine routes messages by.
 */
import crypto from 'node:crypto';
import type { Element, Node } from '@xmldom/xmldom';
import { qnameKey, type CorrelationSet, type Expression, type QName } from './model';
import { evaluateQuery, type EvaluationOptions } from './expression';
import { standardFault, type VariableValue } from './values';
import { stringValue } from '../xml/dom';

/** Namespace of `vprop:property` and `vprop:propertyAlias` in WSDL documents. */
export const VPROP_NS = 'http://docs.oasis-open.org/wsbpel/2.0/varprop';

export interface PropertyAlias {
  readonly property: QName;
  readonly messageType?: QName;
  readonly part?: string;
  readonly element?: QName;
  readonly type?: QName;
  /** Where in the part (or element) the value is; absent: the part (or element) itself. */
  readonly query?: Expression;
}

/** The properties and aliases the imported WSDLs define. */
export interface PropertyCatalog {
  /** Property key (`{ns}local`) → its XML Schema type (undefined when declared by element). */
  readonly properties: ReadonlyMap<string, QName | undefined>;
  readonly aliases: readonly PropertyAlias[];
}

export const NO_PROPERTIES: PropertyCatalog = { properties: new Map(), aliases: [] };

/** How a variable (or a message) is typed, as far as aliases go. */
export interface Typed {
  readonly messageType?: QName;
  readonly element?: QName;
  readonly type?: QName;
}

const same = (a: QName | undefined, b: QName | undefined): boolean => a !== undefined && b !== undefined && qnameKey(a) === qnameKey(b);

/**
 * The alias of `property` for a variable typed so: by message type, element
 * or type. A message with no alias of its type takes an element alias of
 * its single element part (`value` tells which element that is).
 */
export function aliasFor(catalog: PropertyCatalog, property: QName, typed: Typed, value?: VariableValue): PropertyAlias | undefined {
  const key = qnameKey(property);
  const mine = catalog.aliases.filter((a) => qnameKey(a.property) === key);
  const direct = mine.find((a) => same(a.messageType, typed.messageType) || same(a.element, typed.element) || same(a.type, typed.type));
  if (direct !== undefined || value?.kind !== 'message' || value.parts.size !== 1) return direct;
  const only = [...value.parts.values()][0];
  if (only === undefined || typeof only === 'string') return undefined;
  const element: QName = { ns: only.namespaceURI ?? '', local: only.localName ?? '' };
  return mine.find((a) => same(a.element, element));
}

/** Whether the catalog has an alias of `property` for a variable typed so. */
export function hasAlias(catalog: PropertyCatalog, property: QName, typed: Typed): boolean {
  return aliasFor(catalog, property, typed) !== undefined;
}

/** The node (or the text of a type part) an alias points at in a value; throws selectionFailure. */
export function propertyTarget(alias: PropertyAlias, value: VariableValue, what: string, extra?: EvaluationOptions): { readonly part?: string; readonly context?: Element; readonly node: Node | string } {
  let context: Element | string;
  if (value.kind === 'message') {
    const partName = alias.part ?? (value.parts.size === 1 ? [...value.parts.keys()][0] : undefined);
    const part = partName === undefined ? undefined : value.parts.get(partName);
    if (partName === undefined || part === undefined) throw standardFault('selectionFailure', `${what}: the property alias of ${qnameKey(alias.property)} names part "${alias.part ?? ''}", which the message does not have`);
    if (alias.query === undefined || typeof part === 'string') return { part: partName, node: part };
    context = part;
    const nodes = evaluateQuery(alias.query, context, { lookup: () => undefined }, extra);
    return { part: partName, context, node: one(nodes, alias, what) };
  }
  if (value.kind === 'simple') return { node: String(value.value) };
  context = value.element;
  if (alias.query === undefined) return { context, node: context };
  return { context, node: one(evaluateQuery(alias.query, context, { lookup: () => undefined }, extra), alias, what) };
}

function one(result: ReturnType<typeof evaluateQuery>, alias: PropertyAlias, what: string): Node | string {
  if (!Array.isArray(result)) return String(result);
  if (result.length !== 1) {
    throw standardFault('selectionFailure', `${what}: the query "${alias.query?.text ?? ''}" of the property alias of ${qnameKey(alias.property)} selected ${result.length} nodes; it must select one`);
  }
  return result[0] as Node;
}

/**
 * A property's value in a variable's value (or a message's), as a string.
 *
 * @throws BpelFault selectionFailure when no alias applies or its query does not select one node
 */
export function propertyValue(catalog: PropertyCatalog, property: QName, typed: Typed, value: VariableValue, what: string, extra?: EvaluationOptions): string {
  const alias = aliasFor(catalog, property, typed, value);
  if (alias === undefined) throw standardFault('selectionFailure', `${what}: no property alias of ${qnameKey(property)} applies to ${describeTyped(typed)}`);
  const target = propertyTarget(alias, value, what, extra);
  return typeof target.node === 'string' ? target.node : stringValue(target.node);
}

/**
 * How `bpel:getVariableProperty` reads a property (EvaluationOptions
 * `variableProperty`): the node the alias for the variable's type points
 * at, or a type part's text.
 *
 * @throws BpelFault selectionFailure when no alias applies or its query does not select one node
 */
export function variablePropertyReader(catalog: PropertyCatalog): NonNullable<EvaluationOptions['variableProperty']> {
  return (variable, property, what) => {
    const alias = aliasFor(catalog, property, variable.declaration, variable.value);
    if (alias === undefined) throw standardFault('selectionFailure', `${what}: no property alias of ${qnameKey(property)} applies to ${describeTyped(variable.declaration)}`);
    return propertyTarget(alias, variable.value, what).node;
  };
}

export function describeTyped(typed: Typed): string {
  if (typed.messageType !== undefined) return `message type ${qnameKey(typed.messageType)}`;
  if (typed.element !== undefined) return `element ${qnameKey(typed.element)}`;
  return typed.type === undefined ? 'this variable' : `type ${qnameKey(typed.type)}`;
}

/** A correlation set's values in a message, in the order of its properties. */
export function correlationValues(catalog: PropertyCatalog, set: CorrelationSet, typed: Typed, message: VariableValue, what: string): string[] {
  return set.properties.map((p) => propertyValue(catalog, p, typed, message, `${what}: correlation set "${set.name}"`));
}

/** The key messages are routed by: a hash of the set's name and its values. */
export function correlationKey(setName: string, values: readonly string[]): string {
  return crypto.createHash('sha256').update(JSON.stringify([setName, values])).digest('hex');
}
