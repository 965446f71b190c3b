/**
 * Inline BPEL documents for the tests: `bpel(body)` wraps `body` in a
 * `<process>` whose start tag is line 1, so the body's first line is line 2.
 */
import { expect } from 'chai';
import { BPEL_NS, ProcessDefinitionError, type Activity, type Expression, type Process, type VariableDeclaration } from '../../src/bpel/model';
import { parseProcess } from '../../src/bpel/parser';
import type { VariableValue } from '../../src/bpel/values';
import { allActivities } from '../../src/bpel/walk';
import { serializeValue, type MutableVariableScope } from '../../src/bpel/xpath';

export const TNS = 'urn:test';
export const XSD = 'http://www.w3.org/2001/XMLSchema';

export function bpel(body: string, attributes = ''): string {
  return `<process name="test" targetNamespace="${TNS}" xmlns="${BPEL_NS}" xmlns:tns="${TNS}" xmlns:xsd="${XSD}"${attributes}>\n${body}\n</process>`;
}

export function parse(body: string): Process {
  return parseProcess(bpel(body), 'test.bpel');
}

/** The ProcessDefinitionError that parsing `xml` throws. */
export function parseError(xml: string): ProcessDefinitionError {
  try {
    parseProcess(xml, 'test.bpel');
  } catch (error) {
    expect(error).to.be.instanceOf(ProcessDefinitionError);
    return error as ProcessDefinitionError;
  }
  expect.fail('the document was accepted');
}

/** The activity at `path`, failing the test when there is none. */
export function at(process: Process, path: string): Activity {
  const found = allActivities(process).find((a) => a.path === path);
  if (!found) expect.fail(`no activity at ${path}; paths: ${allActivities(process).map((a) => a.path).join(', ')}`);
  return found;
}

/** Variables in memory for the expression and assign tests: one flat scope. */
export class MemoryVariables implements MutableVariableScope {
  private readonly values = new Map<string, VariableValue | undefined>();
  readonly declarations = new Map<string, VariableDeclaration>();

  constructor(declarations: readonly VariableDeclaration[], values: Readonly<Record<string, VariableValue>> = {}) {
    for (const d of declarations) this.declarations.set(d.name, d);
    for (const [name, value] of Object.entries(values)) this.values.set(name, value);
  }

  lookup(name: string): { declaration: VariableDeclaration; value: VariableValue | undefined } | undefined {
    const declaration = this.declarations.get(name);
    return declaration ? { declaration, value: this.values.get(name) } : undefined;
  }

  set(name: string, value: VariableValue): void {
    if (!this.declarations.has(name)) throw new Error(`test scope has no variable ${name}`);
    this.values.set(name, value);
  }

  /** The value, serialised (for readable assertions); undefined when uninitialised. */
  stored(name: string): unknown {
    const value = this.values.get(name);
    return value === undefined ? undefined : JSON.parse(serializeValue(value));
  }
}

/** An expression written at `line` with the fixture's namespace bindings. */
export function xpathExpr(text: string, line = 1): Expression {
  return { text, line, namespaces: { tns: TNS, xsd: XSD, bpel: BPEL_NS, pv: 'urn:provisor:bpel:functions' } };
}
