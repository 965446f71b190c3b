import type { ParameterDefinition, ParameterType } from '../workorders/api';
import { html, type Html } from './html';
import { htmlPattern } from './html-pattern';

/** What the form shows in each field: what the user entered, else the default. */
export type FieldValues = ReadonlyMap<string, string>;
/** Server-side problems by parameter name. */
export type FieldErrors = ReadonlyMap<string, readonly string[]>;

/** Hints for the types that have no input of their own in HTML. */
const PLACEHOLDERS: Partial<Record<ParameterType, string>> = {
  'xsd:duration': 'e.g. P1D or PT30M',
  'xsd:dateTime': 'e.g. 2030-01-31T12:00:00Z',
};

/** A parameter's name as an id fragment: ids stay unique and CSS-safe whatever the catalog calls its parameters. */
export function fieldId(name: string): string {
  return `param-${Buffer.from(name, 'utf8').toString('hex')}`;
}

function choice(definition: ParameterDefinition, id: string, value: string, described: string, options: ReadonlyArray<{ value: string; label: string }>): Html {
  // An empty first option: for a required parameter it makes `required` bite until one is chosen; for an optional one it means "leave it out".
  const empty = definition.required ? 'Choose…' : definition.default !== undefined ? `(default: ${definition.default})` : '(none)';
  return html`<select id="${id}" name="${definition.name}" aria-describedby="${described}"${definition.required && html` required`}>
    <option value=""${value === '' && html` selected`}>${empty}</option>
    ${options.map((o) => html`<option value="${o.value}"${o.value === value && html` selected`}>${o.label}</option>`)}
  </select>`;
}

function input(definition: ParameterDefinition, id: string, value: string, described: string): Html {
  if (definition.type === 'xsd:boolean') {
    // A select rather than a checkbox: an unticked checkbox sends nothing, and "no" must arrive as "false".
    return choice(definition, id, value, described, [
      { value: 'true', label: 'Yes' },
      { value: 'false', label: 'No' },
    ]);
  }
  if (definition.allowed !== undefined) {
    return choice(definition, id, value, described, definition.allowed.map((a) => ({ value: a, label: a })));
  }
  const required = definition.required && html` required`;
  switch (definition.type) {
    case 'xsd:int':
    case 'xsd:long':
    case 'xsd:decimal':
      return html`<input id="${id}" name="${definition.name}" type="number" step="${definition.type === 'xsd:decimal' ? 'any' : '1'}"${definition.min !== undefined && html` min="${definition.min}"`}${definition.max !== undefined && html` max="${definition.max}"`} value="${value}" aria-describedby="${described}"${required}>`;
    case 'xsd:string':
    case 'xsd:duration':
    case 'xsd:dateTime': {
      const placeholder = PLACEHOLDERS[definition.type];
      const pattern = definition.pattern === undefined ? undefined : htmlPattern(definition.pattern);
      return html`<input id="${id}" name="${definition.name}" type="text"${pattern !== undefined && html` pattern="${pattern}"`}${definition.maxLength !== undefined && html` maxlength="${definition.maxLength}"`}${placeholder !== undefined && html` placeholder="${placeholder}"`} value="${value}" aria-describedby="${described}"${required}>`;
    }
  }
}

/** A parameter's name spelt out for people, when the catalog gives it no label: `sizeGiB` → "Size GiB", `retain_count` → "Retain count". */
export function spelledOut(name: string): string {
  // A word starts at a capital followed by a small letter, so units stay whole (`sizeGiB`: "size GiB").
  const words = name.replace(/_/g, ' ').replace(/([a-z0-9])(?=[A-Z][a-z])/g, '$1 ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** What forms and order pages call a parameter: the catalog's label, else its name spelt out. */
export function labelOf(definition: Pick<ParameterDefinition, 'name' | 'label'>): string {
  return definition.label ?? spelledOut(definition.name);
}

/** One labelled field with its help text and, after a refused submission, its problems. */
export function parameterField(definition: ParameterDefinition, values: FieldValues, errors: FieldErrors): Html {
  const id = fieldId(definition.name);
  const value = values.get(definition.name) ?? definition.default ?? '';
  const problems = errors.get(definition.name) ?? [];
  const described = `${id}-help${problems.length > 0 ? ` ${id}-error` : ''}`;
  return html`<div class="field${problems.length > 0 && html` refused`}" data-parameter="${definition.name}">
  <label for="${id}">${labelOf(definition)}${definition.required && html` <span class="required" title="required">*</span>`}</label>
  ${input(definition, id, value, described)}
  <p class="help" id="${id}-help">${definition.help}${definition.min !== undefined && definition.max !== undefined && html` (${definition.min}–${definition.max})`}</p>
  ${problems.length > 0 && html`<p class="field-error" id="${id}-error" role="alert">${problems.join('; ')}</p>`}
</div>`;
}
