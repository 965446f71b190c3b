/**
 * Plans on disk: the WS-BPEL file, the WSDL documents its imports name, and
 * the input message given on the command line; checked offline exactly as
 * DeployProcess checks them (parse, resolve imports, validate), but with the
 * file's own name in every diagnostic.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { checkStaticLimits, DEFAULT_PLAN_LIMITS, type PlanLimits } from '../../src/bpel/limits';
import { ProcessDefinitionError, type Diagnostic, type PartnerLink, type Process, type Receive } from '../../src/bpel/model';
import { parseProcess } from '../../src/bpel/parser';
import { validateProcess, type PortTypeInfo } from '../../src/bpel/validate';
import type { VariableValue } from '../../src/bpel/values';
import { allActivities } from '../../src/bpel/walk';
import { projectRoot } from '../../src/project-root';
import { WsdlCatalogError, WsdlCatalog } from '../../src/workflow/wsdl-catalog';
import { usage } from './exit';

/** Reads a text file; a missing or unreadable one is the caller's mistake, named with `what`. */
export function readText(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : (err as Error).message;
    throw usage(`cannot read ${what} ${file}: ${why}`);
  }
}

/** Commander collector for repeatable options. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * The documents of `--document NAME=PATH` (or `--document PATH`, named after
 * the file), by name, as imports name them.
 */
export function readDocuments(specs: readonly string[]): Map<string, string> {
  const documents = new Map<string, string>();
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const file = eq === -1 ? spec : spec.slice(eq + 1);
    const name = eq === -1 ? path.basename(spec) : spec.slice(0, eq);
    if (name === '' || file === '') throw usage(`--document takes NAME=PATH or PATH, got "${spec}"`);
    if (documents.has(name)) throw usage(`--document ${name} is given twice`);
    documents.set(name, readText(file, `--document ${name}:`));
  }
  return documents;
}

export interface CheckedPlan {
  readonly file: string;
  readonly bpel: string;
  readonly documents: ReadonlyMap<string, string>;
  /** Undefined when the file does not parse. */
  readonly process: Process | undefined;
  readonly catalog: WsdlCatalog;
  /** Every problem, sorted by line; empty when the plan deploys. */
  readonly diagnostics: readonly Diagnostic[];
}

/** A relative location names a file; a URL or an absolute path does not name one next to the plan. */
function relativeFile(location: string | undefined): string | undefined {
  if (location === undefined || location === '' || /^[A-Za-z][A-Za-z0-9+.-]*:/.test(location) || path.isAbsolute(location)) return undefined;
  return location.split('?')[0];
}

/** The `location`s of a WSDL document's own `wsdl:import`s; none when it does not parse (the catalog then says why). */
function wsdlImportLocations(text: string): string[] {
  const doc = new DOMParser({ onError: () => undefined }).parseFromString(text, 'text/xml');
  const imports = doc.getElementsByTagNameNS('http://schemas.xmlsoap.org/wsdl/', 'import');
  const locations: string[] = [];
  for (let i = 0; i < imports.length; i++) {
    const location = imports.item(i)?.getAttribute('location');
    if (location !== null && location !== undefined) locations.push(location);
  }
  return locations;
}

/**
 * The documents given with `--document`, plus each document the plan's
 * imports (and, in turn, their `wsdl:import`s) name by a relative location
 * that is a file next to the importing one and was not given: a plan and its
 * WSDLs kept in one folder validate and deploy without options.
 */
export function withNeighbours(file: string, process: Process, given: ReadonlyMap<string, string>): Map<string, string> {
  const documents = new Map(given);
  const pending = process.imports.map((imp) => ({ location: imp.location, from: path.dirname(file) }));
  for (let next = pending.shift(); next !== undefined; next = pending.shift()) {
    const relative = relativeFile(next.location);
    if (relative === undefined || documents.has(relative) || documents.has(path.posix.basename(relative))) continue;
    const candidate = path.resolve(next.from, relative);
    if (!fs.existsSync(candidate) || !fs.statSync(candidate).isFile()) continue;
    const text = readText(candidate, 'imported document');
    documents.set(relative, text);
    for (const location of wsdlImportLocations(text)) pending.push({ location, from: path.dirname(candidate) });
  }
  return documents;
}

/**
 * Parses, resolves the imports of and validates a plan file against the plan
 * limits, collecting every problem. Imports are resolved against `given`,
 * then files next to the plan ({@link withNeighbours}), then Provisor's own WSDLs.
 */
export function checkPlan(file: string, given: ReadonlyMap<string, string>, limits: PlanLimits = DEFAULT_PLAN_LIMITS): CheckedPlan {
  const bpel = readText(file, 'plan');
  let process: Process;
  try {
    process = parseProcess(bpel, file, { maxNestingDepth: limits.maxNestingDepth });
  } catch (err) {
    if (err instanceof ProcessDefinitionError) return { file, bpel, documents: given, process: undefined, catalog: new WsdlCatalog(given, path.join(projectRoot(), 'wsdl')), diagnostics: err.diagnostics };
    throw err;
  }
  const documents = withNeighbours(file, process, given);
  const catalog = new WsdlCatalog(documents, path.join(projectRoot(), 'wsdl'));
  const diagnostics: Diagnostic[] = [];
  // One import at a time, so each problem gets the line of its own import.
  for (const imp of process.imports) {
    try {
      catalog.loadImports([imp]);
    } catch (err) {
      if (!(err instanceof WsdlCatalogError)) throw err;
      const name = imp.location === undefined ? undefined : path.posix.basename(imp.location.split('?')[0] ?? imp.location);
      const hint = name !== undefined && !documents.has(name) && !documents.has(imp.location ?? '') ? `; put it next to the plan or give it with --document ${name}=PATH` : '';
      diagnostics.push({ line: imp.line, message: `${err.message.replace(/^line \d+: /, '')}${hint}` });
    }
  }
  const portTypeOf = (link: PartnerLink, role: 'partner' | 'my'): PortTypeInfo | undefined => {
    const roleName = role === 'partner' ? link.partnerRole : link.myRole;
    const info = roleName === undefined ? undefined : catalog.portTypeOf(link.partnerLinkType, roleName);
    return info === undefined ? undefined : { portType: info.name, operations: info.operations };
  };
  diagnostics.push(...validateProcess(process, { portTypeOf }), ...checkStaticLimits(process, limits));
  diagnostics.sort((a, b) => a.line - b.line);
  return { file, bpel, documents, process, catalog, diagnostics };
}

/** `FILE:LINE: message` lines. */
export function diagnosticLines(plan: CheckedPlan): string[] {
  return plan.diagnostics.map((d) => `${plan.file}:${d.line}: ${d.message}`);
}

/** The one-line summary of a valid plan. */
export function summary(plan: CheckedPlan & { process: Process }): string {
  const activities = allActivities(plan.process).length;
  const links = plan.process.partnerLinks.map((p) => p.name);
  const linkText = links.length === 0 ? 'no partner links' : `${links.length} partner link${links.length === 1 ? '' : 's'} (${links.join(', ')})`;
  return `${plan.file}: process ${plan.process.name} is valid: ${activities} activit${activities === 1 ? 'y' : 'ies'}, ${linkText}`;
}

/** The checked plan, or an error listing its problems (exit code 2). */
export function validPlan(file: string, documentSpecs: readonly string[], limits: PlanLimits = DEFAULT_PLAN_LIMITS): CheckedPlan & { process: Process } {
  const plan = checkPlan(file, readDocuments(documentSpecs), limits);
  if (plan.process === undefined || plan.diagnostics.length > 0) {
    throw usage(`${diagnosticLines(plan).join('\n')}\n${file}: ${plan.diagnostics.length} problem${plan.diagnostics.length === 1 ? '' : 's'}; nothing deployed`);
  }
  return plan as CheckedPlan & { process: Process };
}

function partValue(part: string, raw: string): Element | string {
  const text = raw.startsWith('@') ? readText(raw.slice(1), `--input ${part}:`) : raw;
  const trimmed = text.trim();
  if (!trimmed.startsWith('<')) return text;
  if (/<!DOCTYPE|<!ENTITY/i.test(trimmed)) throw usage(`--input ${part}: a DTD is not accepted`);
  const errors: string[] = [];
  const doc = new DOMParser({ onError: (level, message) => level !== 'warning' && errors.push(message) }).parseFromString(trimmed, 'text/xml');
  if (errors.length > 0 || doc.documentElement === null) throw usage(`--input ${part}: not well-formed XML: ${errors[0] ?? 'no element'}`);
  return doc.documentElement;
}

/**
 * The instance's input message from `--input PART=VALUE` / `PART=@FILE`
 * (a value starting with `<` is an element). When the plan is at hand, its
 * instance-creating receive must exist and the parts must be its message's.
 */
export function inputMessage(specs: readonly string[], plan?: CheckedPlan & { process: Process }): VariableValue | undefined {
  if (specs.length === 0) return undefined;
  const parts = new Map<string, Element | string>();
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    if (eq <= 0) throw usage(`--input takes PART=VALUE or PART=@FILE, got "${spec}"`);
    const part = spec.slice(0, eq);
    if (parts.has(part)) throw usage(`--input ${part} is given twice`);
    parts.set(part, partValue(part, spec.slice(eq + 1)));
  }
  if (plan !== undefined) {
    const receive = allActivities(plan.process).find((a): a is Receive => a.kind === 'receive' && a.createInstance);
    if (receive?.variable === undefined) throw usage(`--input: process ${plan.process.name} has no instance-creating <receive> with a variable to take it`);
    const declaration = plan.process.variables.find((v) => v.name === receive.variable);
    const message = declaration?.messageType === undefined ? undefined : plan.catalog.messages.get(WsdlCatalog.key(declaration.messageType));
    if (message !== undefined) {
      for (const part of parts.keys()) {
        if (!message.parts.has(part)) throw usage(`--input ${part}: message ${message.name.local} of variable "${receive.variable}" has no part "${part}" (its parts: ${[...message.parts.keys()].join(', ')})`);
      }
    }
  }
  return { kind: 'message', parts };
}
