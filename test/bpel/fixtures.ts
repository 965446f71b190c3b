/**
 * Inline BPEL documents for the tests: `bpel(body)` wraps `body` in a
 * `<process>` whose start tag is line 1, so the body's first line is line 2.
 */
import { expect } from 'chai';
import { BPEL_NS, ProcessDefinitionError, type Activity, type Process } from '../../src/bpel/model';
import { parseProcess } from '../../src/bpel/parser';
import { allActivities } from '../../src/bpel/walk';

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
