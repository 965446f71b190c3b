import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../src/project-root';

/** xmllint (Debian's libxml2-utils; .ci/run installs it) checks responses against the WSDL schemas. */
export const HAVE_XMLLINT = spawnSync('xmllint', ['--version']).status === 0;

/** Validates one element (with its own namespace declarations) against the schema inside a WSDL, with xmllint. */
export function validateAgainstWsdl(wsdlName: string, elementXml: string): void {
  const wsdl = fs.readFileSync(path.join(projectRoot(), 'wsdl', `${wsdlName}.wsdl`), 'utf8');
  const schema = /<xsd:schema[\s\S]*<\/xsd:schema>/.exec(wsdl)?.[0];
  if (schema === undefined) throw new Error(`no schema in ${wsdlName}.wsdl`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'provisor-xsd-'));
  try {
    fs.writeFileSync(path.join(dir, 'schema.xsd'), `<?xml version="1.0"?>\n${schema}`);
    fs.writeFileSync(path.join(dir, 'doc.xml'), elementXml);
    execFileSync('xmllint', ['--noout', '--schema', path.join(dir, 'schema.xsd'), path.join(dir, 'doc.xml')], { stdio: 'pipe' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The Body's child element of a response envelope, as a standalone document. */
export function bodyElement(xml: string): string {
  const match = /<soap:Body>([\s\S]*)<\/soap:Body>/.exec(xml);
  if (match?.[1] === undefined) throw new Error(`no Body in ${xml}`);
  return match[1];
}
