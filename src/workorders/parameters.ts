/**
 * Checks a submission's parameters against its type's definitions. Every
 * problem is reported (a form or a reply mail lists them all), each naming
 * its parameter; the values that pass are normalised so the same order
 * makes the same row whichever channel it came through.
 */
import { parseDeadline, parseDuration } from '../bpel/xsd-time';
import { clipInput } from '../errors';
import type { ParameterDefinition, ParameterInput, ParameterProblem } from './api';

const INT_RANGE = { min: -2_147_483_648, max: 2_147_483_647 };
const LONG_RANGE = { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER };
const MAX_VALUE_LENGTH = 4000;

export type CheckResult = { readonly ok: true; readonly values: ParameterInput[] } | { readonly ok: false; readonly problems: ParameterProblem[] };

/** The checked, normalised values in definition order (defaults filled in), or every problem found. */
export function checkParameters(definitions: readonly ParameterDefinition[], inputs: readonly ParameterInput[]): CheckResult {
  const problems: ParameterProblem[] = [];
  const given = new Map<string, string>();
  const known = new Set(definitions.map((d) => d.name));
  for (const input of inputs) {
    if (!known.has(input.name)) problems.push({ parameter: input.name, message: `is not a parameter of this type (expected one of: ${[...known].join(', ') || 'none'})` });
    else if (given.has(input.name)) problems.push({ parameter: input.name, message: 'is given more than once' });
    else given.set(input.name, input.value);
  }
  const values: ParameterInput[] = [];
  for (const definition of definitions) {
    const raw = given.get(definition.name)?.trim();
    if (raw === undefined || raw === '') {
      if (definition.required) problems.push({ parameter: definition.name, message: 'is required' });
      else if (definition.default !== undefined) values.push({ name: definition.name, value: definition.default });
      continue;
    }
    const checked = checkValue(definition, raw);
    if (typeof checked === 'string') values.push({ name: definition.name, value: checked });
    else problems.push({ parameter: definition.name, message: checked.problem });
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, values };
}

/** The normalised value, or what is wrong with it. */
export function checkValue(definition: ParameterDefinition, value: string): string | { problem: string } {
  if (value.length > MAX_VALUE_LENGTH) return { problem: `is longer than ${MAX_VALUE_LENGTH} characters` };
  const normalised = normaliseByType(definition, value);
  if (typeof normalised !== 'string') return normalised;
  if (definition.allowed !== undefined && !definition.allowed.includes(normalised)) {
    return { problem: `"${clipInput(value)}" is not one of the allowed values (${definition.allowed.join(', ')})` };
  }
  if (definition.maxLength !== undefined && normalised.length > definition.maxLength) return { problem: `is longer than ${definition.maxLength} characters` };
  if (definition.pattern !== undefined && !new RegExp(`^(?:${definition.pattern})$`, 'u').test(normalised)) {
    return { problem: `"${clipInput(value)}" does not match the pattern ${definition.pattern}` };
  }
  return normalised;
}

function normaliseByType(definition: ParameterDefinition, value: string): string | { problem: string } {
  switch (definition.type) {
    case 'xsd:string':
      return value;
    case 'xsd:int':
      return integer(definition, value, INT_RANGE, 'an integer (xsd:int)');
    case 'xsd:long':
      return integer(definition, value, LONG_RANGE, 'an integer (xsd:long)');
    case 'xsd:decimal': {
      if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(value)) return { problem: `"${clipInput(value)}" is not a decimal number` };
      return inRange(definition, Number(value), canonicalDecimal(value));
    }
    case 'xsd:boolean': {
      if (value === 'true' || value === '1') return 'true';
      if (value === 'false' || value === '0') return 'false';
      return { problem: `"${clipInput(value)}" is not a boolean (true or false)` };
    }
    case 'xsd:duration':
      return parseDuration(value) === undefined ? { problem: `"${clipInput(value)}" is not an xsd:duration (e.g. PT24H, P7D)` } : value;
    case 'xsd:dateTime': {
      const date = parseDeadline(value);
      return date === undefined ? { problem: `"${clipInput(value)}" is not an xsd:dateTime with a time zone (e.g. 2026-12-01T02:00:00Z)` } : date.toISOString();
    }
  }
}

function integer(definition: ParameterDefinition, value: string, range: { min: number; max: number }, what: string): string | { problem: string } {
  if (!/^[+-]?\d+$/.test(value)) return { problem: `"${clipInput(value)}" is not ${what}` };
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < range.min || n > range.max) return { problem: `${clipInput(value)} is out of the range of ${what}` };
  return inRange(definition, n, String(n));
}

function inRange(definition: ParameterDefinition, n: number, normalised: string): string | { problem: string } {
  if (definition.min !== undefined && n < definition.min) return { problem: `${normalised} is below the minimum ${definition.min}` };
  if (definition.max !== undefined && n > definition.max) return { problem: `${normalised} is above the maximum ${definition.max}` };
  return normalised;
}

/** `+007.50` → `7.5`, `-0.0` → `0`. */
function canonicalDecimal(value: string): string {
  const negative = value.startsWith('-');
  const unsigned = value.replace(/^[+-]/, '');
  const [whole = '', fraction = ''] = unsigned.split('.');
  const w = whole.replace(/^0+(?=\d)/, '') || '0';
  const f = fraction.replace(/0+$/, '');
  const text = f === '' ? w : `${w}.${f}`;
  return negative && text !== '0' ? `-${text}` : text;
}
