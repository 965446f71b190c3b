import { clipInput, ProvisorError } from '../errors';
import { NO_ATTRIBUTES, type XmlElement } from '../xml/parser';

const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

/** What a reader holds once done: nothing. */
const READ: XmlElement = Object.freeze({ ns: '', name: '', attrs: Object.freeze({}), children: Object.freeze([]) as unknown as XmlElement[], text: '', line: 0 });
const LONG_PATTERN = /^[+-]?\d{1,19}$/;
const DECIMAL_PATTERN = /^[+-]?(\d{1,30}(\.\d{0,30})?|\.\d{1,30})$/;
const DATETIME_PATTERN = /^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;

/**
 * One `parameter` of a request's `parameters` list as read from the wire: a
 * name and its value (the driver's Parameter has the same shape; the SOAP
 * layer does not import the drivers).
 */
export interface NameValuePair {
  readonly name: string;
  readonly value: string;
}

export interface StringRules {
  readonly minLength?: number;
  readonly maxLength?: number;
}

/**
 * Reads the fields of an operation's wrapper element, typed, in the service's
 * namespace, and rejects what the schema would: a missing required field, an
 * ill-typed or out-of-range value, a repeated single field, an element the
 * request type does not have. Errors name the field by its path.
 */
export class FieldReader {
  private readonly used = new Set<XmlElement>();

  constructor(
    private element: XmlElement,
    private readonly ns: string,
    private readonly path = '',
  ) {}

  private fieldPath(name: string): string {
    return this.path === '' ? name : `${this.path}/${name}`;
  }

  private find(name: string): XmlElement | undefined {
    let found: XmlElement | undefined;
    for (const child of this.element.children) {
      if (child.name !== name || child.ns !== this.ns) continue;
      if (found !== undefined) throw new ProvisorError('InvalidField', `${this.fieldPath(name)} appears more than once`, this.fieldPath(name));
      found = child;
    }
    if (found === undefined) {
      // A field written without the service's namespace is named as such, not reported as missing.
      const stray = this.element.children.find((child) => child.name === name && child.ns !== this.ns);
      if (stray !== undefined) throw this.wrongNamespace(stray);
      return undefined;
    }
    this.used.add(found);
    const nil = found.attrs[`{${XSI_NS}}nil`];
    if (nil === 'true' || nil === '1') return undefined;
    // A simple-typed field holds text only: `<system>web<b>x</b>01</system>` is refused, not read as "web01".
    const inner = found.children[0];
    if (inner !== undefined && !this.isComplex(name)) {
      throw new ProvisorError('InvalidField', `${this.fieldPath(name)} must hold text only, not elements (it holds <${clipInput(inner.name)}>)`, this.fieldPath(name));
    }
    return found;
  }

  /** `element system must be in namespace urn:provisor:software:1 (it is in no namespace …)`. */
  private wrongNamespace(child: XmlElement): ProvisorError {
    const where = this.fieldPath(clipInput(child.name));
    const found = child.ns === '' ? 'it is in no namespace' : `it is in namespace ${clipInput(child.ns)}`;
    return new ProvisorError(
      'InvalidField',
      `element ${where} must be in namespace ${this.ns} (${found}; write the fields with the operation element's prefix, or declare xmlns="${this.ns}" on it)`,
      where,
    );
  }

  private complexNames = new Set<string>();
  private isComplex(name: string): boolean {
    return this.complexNames.has(name);
  }

  /** An optional xsd:string (trimmed of nothing: values are taken as sent). */
  optString(name: string, rules: StringRules = {}): string | undefined {
    const el = this.find(name);
    if (el === undefined) return undefined;
    return this.checkLength(name, el.text, rules);
  }

  string(name: string, rules: StringRules = {}): string {
    const value = this.optString(name, { minLength: 1, ...rules });
    if (value === undefined) throw new ProvisorError('MissingField', `${this.fieldPath(name)} is required`, this.fieldPath(name));
    return value;
  }

  private checkLength(name: string, value: string, rules: StringRules): string {
    const min = rules.minLength ?? 0;
    if (value.length < min) {
      throw new ProvisorError(min === 1 ? 'MissingField' : 'InvalidField', min === 1 ? `${this.fieldPath(name)} must not be empty` : `${this.fieldPath(name)} must have at least ${min} characters`, this.fieldPath(name));
    }
    if (rules.maxLength !== undefined && value.length > rules.maxLength) {
      throw new ProvisorError('InvalidField', `${this.fieldPath(name)} has ${value.length} characters, more than the ${rules.maxLength} allowed`, this.fieldPath(name));
    }
    return value;
  }

  /** An absolute http(s) URI (xsd:anyURI restricted to what Provisor can call). */
  optHttpUri(name: string): string | undefined {
    const value = this.optString(name, { maxLength: 2048 });
    if (value === undefined) return undefined;
    let url: URL;
    try {
      url = new URL(value.trim());
    } catch {
      throw new ProvisorError('InvalidField', `${this.fieldPath(name)} "${clipInput(value)}" is not an absolute URI`, this.fieldPath(name));
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ProvisorError('InvalidField', `${this.fieldPath(name)} must be an http or https URL, got ${clipInput(url.protocol)}`, this.fieldPath(name));
    }
    return url.toString();
  }

  optLong(name: string, range: { min?: number; max?: number } = {}): number | undefined {
    const el = this.find(name);
    if (el === undefined) return undefined;
    const text = el.text.trim();
    const n = Number(text);
    if (!LONG_PATTERN.test(text) || !Number.isSafeInteger(n)) {
      throw new ProvisorError('InvalidField', `${this.fieldPath(name)} "${clipInput(el.text)}" is not an integer`, this.fieldPath(name));
    }
    if ((range.min !== undefined && n < range.min) || (range.max !== undefined && n > range.max)) {
      throw new ProvisorError('InvalidField', `${this.fieldPath(name)} ${n} is outside ${range.min ?? '-∞'}..${range.max ?? '∞'}`, this.fieldPath(name));
    }
    return n;
  }

  /** An xsd:decimal within (minExclusive, maxInclusive] when given. */
  optDecimal(name: string, range: { minExclusive?: number; maxInclusive?: number } = {}): number | undefined {
    const el = this.find(name);
    if (el === undefined) return undefined;
    const text = el.text.trim();
    const n = Number(text);
    if (!DECIMAL_PATTERN.test(text) || !Number.isFinite(n)) {
      throw new ProvisorError('InvalidField', `${this.fieldPath(name)} "${clipInput(el.text)}" is not an xsd:decimal`, this.fieldPath(name));
    }
    if ((range.minExclusive !== undefined && n <= range.minExclusive) || (range.maxInclusive !== undefined && n > range.maxInclusive)) {
      throw new ProvisorError('InvalidField', `${this.fieldPath(name)} ${text} must be more than ${range.minExclusive ?? '-∞'} and at most ${range.maxInclusive ?? '∞'}`, this.fieldPath(name));
    }
    return n;
  }

  optBoolean(name: string): boolean | undefined {
    const el = this.find(name);
    if (el === undefined) return undefined;
    const text = el.text.trim();
    if (text === 'true' || text === '1') return true;
    if (text === 'false' || text === '0') return false;
    throw new ProvisorError('InvalidField', `${this.fieldPath(name)} "${clipInput(el.text)}" is not an xsd:boolean`, this.fieldPath(name));
  }

  optDateTime(name: string): Date | undefined {
    const el = this.find(name);
    if (el === undefined) return undefined;
    const text = el.text.trim();
    const date = new Date(text);
    if (!DATETIME_PATTERN.test(text) || Number.isNaN(date.getTime())) {
      throw new ProvisorError('InvalidField', `${this.fieldPath(name)} "${clipInput(el.text)}" is not an xsd:dateTime`, this.fieldPath(name));
    }
    return date;
  }

  optEnum<T extends string>(name: string, values: readonly T[]): T | undefined {
    const value = this.optString(name);
    if (value === undefined) return undefined;
    if (!(values as readonly string[]).includes(value)) {
      throw new ProvisorError('InvalidField', `${this.fieldPath(name)} "${clipInput(value)}" is not one of ${values.join(', ')}`, this.fieldPath(name));
    }
    return value as T;
  }

  /** A nested element read with its own reader; undefined when absent. */
  optRecord(name: string): FieldReader | undefined {
    this.complexNames.add(name);
    const el = this.find(name);
    return el === undefined ? undefined : new FieldReader(el, this.ns, this.fieldPath(name));
  }

  /** Every occurrence of a repeated complex element, in document order. */
  repeated(name: string): FieldReader[] {
    const out: FieldReader[] = [];
    for (const child of this.element.children) {
      if (child.name !== name || child.ns !== this.ns) continue;
      this.used.add(child);
      out.push(new FieldReader(child, this.ns, `${this.fieldPath(name)}[${out.length + 1}]`));
    }
    return out;
  }

  /** Every occurrence of a repeated simple-typed element, as text, in document order (at most `max`). */
  repeatedText(name: string, max: number, rules: StringRules = {}): string[] {
    const out: string[] = [];
    for (const child of this.element.children) {
      if (child.name !== name || child.ns !== this.ns) continue;
      const where = `${this.fieldPath(name)}[${out.length + 1}]`;
      if (out.length >= max) throw new ProvisorError('InvalidField', `${this.fieldPath(name)} appears more than ${max} times`, this.fieldPath(name));
      if (child.children.length > 0) throw new ProvisorError('InvalidField', `${where} must hold text only, not elements`, where);
      this.used.add(child);
      const text = child.text;
      if (text.length < (rules.minLength ?? 0) || (rules.maxLength !== undefined && text.length > rules.maxLength)) {
        throw new ProvisorError('InvalidField', `${where} must have ${rules.minLength ?? 0} to ${rules.maxLength ?? '∞'} characters`, where);
      }
      out.push(text);
    }
    return out;
  }

  /** The contract's `parameters` list: repeated `parameter` with `name` and `value`. */
  parameters(name = 'parameters'): NameValuePair[] {
    const list = this.optRecord(name);
    if (list === undefined) return [];
    const plain = list.plainParameters();
    if (plain !== undefined) return plain;
    // Something is off: read it field by field, which names the problem.
    const seen = new Set<string>();
    const out = list.repeated('parameter').map((p) => {
      const parameter = { name: p.string('name', { maxLength: 200 }), value: p.optString('value', { maxLength: 65_536 }) ?? '' };
      p.done();
      if (seen.has(parameter.name)) {
        throw new ProvisorError('InvalidField', `${this.fieldPath(name)}: parameter "${clipInput(parameter.name)}" is given twice`, this.fieldPath(name));
      }
      seen.add(parameter.name);
      return parameter;
    });
    list.done();
    return out;
  }

  /**
   * The common case of a parameter list read in one pass, without a reader
   * per parameter: every child a `parameter` holding `name` (1–200
   * characters) and optionally `value` (at most 64 KiB), in that order, no
   * attributes, no nested elements, no name twice. Undefined when anything
   * differs, for the general path to report.
   */
  plainParameters(): NameValuePair[] | undefined {
    const out: NameValuePair[] = [];
    const seen = new Set<string>();
    for (const p of this.element.children) {
      if (p.name !== 'parameter' || p.ns !== this.ns || hasAttributes(p) || (p.text !== '' && p.text.trim() !== '')) return undefined;
      const [nameEl, valueEl, extra] = p.children;
      if (nameEl === undefined || extra !== undefined || !isPlainField(nameEl, 'name', this.ns)) return undefined;
      if (valueEl !== undefined && !isPlainField(valueEl, 'value', this.ns)) return undefined;
      const parameterName = nameEl.text;
      const value = valueEl?.text ?? '';
      if (parameterName.length < 1 || parameterName.length > 200 || value.length > 65_536 || seen.has(parameterName)) return undefined;
      seen.add(parameterName);
      out.push({ name: parameterName, value });
    }
    for (const p of this.element.children) this.used.add(p);
    return out;
  }

  /**
   * Rejects any element that no getter asked for. Call after reading every
   * field. The reader then lets go of the parsed request, so that a handler
   * awaiting the database does not keep the whole tree alive meanwhile.
   */
  done(): void {
    for (const child of this.element.children) {
      if (this.used.has(child)) continue;
      const where = this.fieldPath(clipInput(child.name));
      if (child.ns !== this.ns) throw this.wrongNamespace(child);
      throw new ProvisorError('InvalidField', `${where} is not a field of this request`, where);
    }
    this.element = READ;
    this.used.clear();
  }
}

function hasAttributes(element: XmlElement): boolean {
  if (element.attrs === NO_ATTRIBUTES) return false;
  for (const key in element.attrs) if (Object.hasOwn(element.attrs, key)) return true;
  return false;
}

/** A text-only element of that name and namespace, without attributes. */
function isPlainField(element: XmlElement, name: string, ns: string): boolean {
  return element.name === name && element.ns === ns && element.children.length === 0 && !hasAttributes(element);
}
