/**
 * The work-order catalog: a declarative JSON file (types, their parameters,
 * prices and change plans) loaded into the database. Loading is idempotent:
 * a plan is redeployed only when it or its documents changed, and a type
 * that left the file is deactivated, not deleted (its orders keep it).
 */
import fs from 'node:fs';
import path from 'node:path';
import { IsNull, type DataSource } from 'typeorm';
import { ProcessDefinition, ProcessDocument, WorkOrderType } from '../../entities';
import type { Principal } from '../auth/principal';
import { ProvisorError } from '../errors';
import { definitionDigest } from '../workflow/definition-digest';
import { exclusive, isUniqueViolation } from '../db/sql';
import type { Clock } from '../clock';
import type { WorkflowRuntime } from '../workflow/runtime';
import { PARAMETER_TYPES, type ParameterDefinition, type ParameterType } from './api';
import { checkValue } from './parameters';

export class CatalogError extends Error {
  override readonly name = 'CatalogError';
}

export interface CatalogTypeEntry {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly minLevel: number;
  readonly priceMinor: number;
  readonly manual: boolean;
  readonly parameters: readonly ParameterDefinition[];
  readonly planFile: string;
}

export interface Catalog {
  readonly file: string;
  readonly currency: string;
  /** The storage pool orders act on when their account names none. */
  readonly defaultPool: string;
  /** Extra documents (WSDLs) each plan is deployed with, by file name. */
  readonly documents: ReadonlyMap<string, string>;
  readonly types: readonly CatalogTypeEntry[];
}

export interface LoadSummary {
  readonly types: number;
  readonly deployed: readonly string[];
  readonly deactivated: readonly string[];
  /** Plans found replaced by another process of the same name, and redeployed. */
  readonly repaired: readonly RepairedPlan[];
}

/** The deployedBy of the plans the catalog deploys. */
export const CATALOG_DEPLOYER = 'catalog';

const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,99}$/;
const PARAMETER_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/** Reads and checks a catalog file; every mistake is reported with where it is. */
export function readCatalog(file: string): Catalog {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CatalogError(`catalog ${file}: ${(err as Error).message}`);
  }
  const dir = path.dirname(file);
  const at = (where: string, message: string): CatalogError => new CatalogError(`catalog ${path.basename(file)}: ${where}: ${message}`);
  const root = object(raw, at('top level', 'must be an object'));
  const currency = string(root.currency, at('currency', 'must be a 3-letter code'));
  if (!/^[A-Z]{3}$/.test(currency)) throw at('currency', `"${currency}" is not a 3-letter code`);
  const defaultPool = string(root.defaultPool, at('defaultPool', 'must name a managed system'));
  const documents = new Map<string, string>();
  for (const [i, doc] of array(root.documents ?? [], at('documents', 'must be a list of paths')).entries()) {
    const location = path.resolve(dir, string(doc, at(`documents[${i}]`, 'must be a path')));
    documents.set(path.basename(location), readText(location, at(`documents[${i}]`, `cannot read ${path.basename(location)}`)));
  }
  const seen = new Set<string>();
  const types = array(root.types, at('types', 'must be a list')).map((t, i): CatalogTypeEntry => {
    const e = object(t, at(`types[${i}]`, 'must be an object'));
    const name = string(e.name, at(`types[${i}].name`, 'is required'));
    const where = `type ${name}`;
    if (!NAME.test(name)) throw at(where, 'the name must be letters, digits, "_" or "-", starting with a letter');
    if (seen.has(name)) throw at(where, 'is declared twice');
    seen.add(name);
    const minLevel = e.minLevel;
    if (typeof minLevel !== 'number' || !Number.isInteger(minLevel) || minLevel < 0 || minLevel > 100) throw at(where, 'minLevel must be an integer from 0 to 100');
    const price = string(e.price, at(where, 'price must be a decimal string such as "25.00"'));
    if (!/^\d{1,7}(\.\d{1,2})?$/.test(price)) throw at(where, `price "${price}" must be a decimal string with at most two decimals`);
    const planFile = path.resolve(dir, string(e.plan, at(where, 'plan must name a WS-BPEL file')));
    if (!fs.existsSync(planFile)) throw at(where, `plan ${path.relative(dir, planFile)} does not exist`);
    return {
      name,
      title: string(e.title, at(where, 'title is required')),
      description: string(e.description ?? '', at(where, 'description must be text')),
      minLevel,
      priceMinor: Math.round(Number(price) * 100),
      manual: e.manual === true,
      planFile,
      parameters: array(e.parameters ?? [], at(where, 'parameters must be a list')).map((p, j) => parameter(p, (m) => at(`${where} parameters[${j}]`, m))),
    };
  });
  if (types.length === 0) throw at('types', 'the catalog declares no type');
  return { file, currency, defaultPool, documents, types };
}

function parameter(raw: unknown, at: (message: string) => CatalogError): ParameterDefinition {
  const p = object(raw, at('must be an object'));
  const name = string(p.name, at('name is required'));
  if (!PARAMETER_NAME.test(name)) throw at(`"${name}" must be letters, digits or "_", starting with a letter`);
  const type = string(p.type, at(`${name}: type is required`)) as ParameterType;
  if (!PARAMETER_TYPES.includes(type)) throw at(`${name}: type "${type}" is not one of ${PARAMETER_TYPES.join(', ')}`);
  const num = (v: unknown, what: string): number | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw at(`${name}: ${what} must be a number`);
    return v;
  };
  const definition: ParameterDefinition = {
    name,
    label: p.label === undefined ? undefined : string(p.label, at(`${name}: label must be text`)),
    type,
    required: p.required === true,
    allowed: p.allowed === undefined ? undefined : array(p.allowed, at(`${name}: allowed must be a list`)).map((v) => string(v, at(`${name}: allowed values must be strings`))),
    min: num(p.min, 'min'),
    max: num(p.max, 'max'),
    pattern: p.pattern === undefined ? undefined : string(p.pattern, at(`${name}: pattern must be a string`)),
    maxLength: num(p.maxLength, 'maxLength'),
    default: p.default === undefined ? undefined : string(p.default, at(`${name}: default must be a string`)),
    help: string(p.help ?? '', at(`${name}: help must be text`)),
  };
  if (definition.pattern !== undefined) {
    try {
      new RegExp(definition.pattern, 'u');
    } catch (err) {
      throw at(`${name}: pattern is not a regular expression: ${(err as Error).message}`);
    }
  }
  if (definition.default !== undefined) {
    const checked = checkValue(definition, definition.default);
    if (typeof checked !== 'string') throw at(`${name}: the default ${checked.problem}`);
  }
  return dropUndefined(definition);
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function object(v: unknown, error: CatalogError): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw error;
  return v as Record<string, unknown>;
}
function array(v: unknown, error: CatalogError): unknown[] {
  if (!Array.isArray(v)) throw error;
  return v;
}
function string(v: unknown, error: CatalogError): string {
  if (typeof v !== 'string' || v.trim() === '') throw error;
  return v;
}
function readText(file: string, error: CatalogError): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    throw error;
  }
}

/** A catalog plan whose deployed version was not the catalog's: redeployed by the load. */
export interface RepairedPlan {
  readonly type: string;
  readonly plan: string;
  /** The version found in place of the catalog's, and who deployed it. */
  readonly version: number;
  readonly deployedBy: string;
}

/**
 * Puts a catalog into the database: deploys each plan whose latest deployed
 * version is not the catalog's (by digest: the plan changed in the file, or
 * someone deployed another process under its name) and inserts or updates
 * its type. The catalog owns its plans' names, so a replaced plan is
 * redeployed, not refused, and reported in `repaired`.
 */
export async function loadCatalog(dataSource: DataSource, workflow: WorkflowRuntime, catalog: Catalog, clock: Clock): Promise<LoadSummary> {
  const repository = dataSource.getRepository(WorkOrderType);
  const existing = new Map((await repository.find()).map((t) => [t.name, t]));
  const deployed: string[] = [];
  const repaired: RepairedPlan[] = [];
  for (const entry of catalog.types) {
    const bpel = fs.readFileSync(entry.planFile, 'utf8');
    const planDigest = definitionDigest(bpel, catalog.documents);
    const current = existing.get(entry.name);
    let planName = current?.planName;
    const latest = planName === undefined || planName === '' ? undefined : await latestDefinition(dataSource, planName);
    if (current === undefined || latest === undefined || latest.digest !== planDigest) {
      if (current !== undefined && latest !== undefined && current.planDigest === planDigest) {
        repaired.push({ type: entry.name, plan: current.planName, version: latest.version, deployedBy: latest.deployedBy });
      }
      try {
        planName = (await workflow.deploy({ bpel, documents: catalog.documents, bindings: [], deployedBy: CATALOG_DEPLOYER, reuseSameContent: true })).name;
      } catch (err) {
        throw new CatalogError(`type ${entry.name}: its plan ${path.basename(entry.planFile)} cannot be deployed: ${(err as Error).message}`, { cause: err });
      }
      deployed.push(entry.name);
    } else if (latest.recorded === null) {
      // Deployed before digests were recorded: its digest is what billing compares.
      await exclusive(dataSource, () => dataSource.getRepository(ProcessDefinition).update({ id: latest.id, digest: IsNull() }, { digest: latest.digest }));
    }
    const row = {
      name: entry.name,
      title: entry.title,
      description: entry.description,
      minLevel: entry.minLevel,
      parameters: JSON.stringify(entry.parameters),
      priceMinor: entry.priceMinor,
      currency: catalog.currency,
      planName: planName ?? '',
      planDigest,
      manual: entry.manual,
      active: true,
      updatedAt: clock.date(),
    };
    await exclusive(dataSource, async () => {
      if (current === undefined) {
        try {
          await repository.insert(row);
        } catch (err) {
          // Another process loaded the same catalog at the same moment.
          if (!isUniqueViolation(err)) throw err;
          await repository.update({ name: entry.name }, row);
        }
      } else {
        await repository.update({ id: current.id }, row);
      }
    });
  }
  const names = new Set(catalog.types.map((t) => t.name));
  const deactivated = [...existing.values()].filter((t) => t.active && !names.has(t.name)).map((t) => t.name);
  for (const name of deactivated) await exclusive(dataSource, () => repository.update({ name }, { active: false, updatedAt: clock.date() }));
  return { types: catalog.types.length, deployed, deactivated, repaired };
}

/** The latest deployed version of a process, with the digest of what is stored (computed, and as recorded). */
async function latestDefinition(dataSource: DataSource, name: string): Promise<{ id: number; version: number; deployedBy: string; digest: string; recorded: string | null } | undefined> {
  const definition = await dataSource.getRepository(ProcessDefinition).findOne({ where: { name }, order: { version: 'DESC' } });
  if (definition === null) return undefined;
  const documents = await dataSource.getRepository(ProcessDocument).findBy({ definitionId: definition.id });
  const digest = definitionDigest(definition.bpel, new Map(documents.map((d) => [d.name, d.content])));
  return { id: definition.id, version: definition.version, deployedBy: definition.deployedBy, digest, recorded: definition.digest };
}

/**
 * The rule on catalog plans' names: only an admin may deploy a process
 * under the name of a work-order type's plan (customers are billed for
 * what that plan does).
 * @throws ProvisorError `Forbidden` naming the type and the rule.
 */
export async function assertMayDeploy(dataSource: DataSource, processName: string, caller: Pick<Principal, 'name' | 'role'>): Promise<void> {
  if (caller.role === 'admin') return;
  const owner = await dataSource.getRepository(WorkOrderType).findOne({ select: { name: true }, where: { planName: processName } });
  if (owner === null) return;
  throw new ProvisorError('Forbidden', `process "${processName}" is the plan of work-order type ${owner.name} in the catalog: only an admin may deploy under a catalog plan's name (role "${caller.role}" may not)`, 'bpel');
}
