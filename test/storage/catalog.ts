/**
 * Test support for the storage work-order catalog: reads
 * `scripts/catalog/storage.json` the way the work-order loader does (plans
 * and documents relative to the catalog file; documents named by their file
 * name, which is how the plans import them), deploys its plans and starts
 * them with the input parts the automation sends.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { InstanceView } from '../../src/workflow/runtime';
import type { ParameterDefinition } from '../../src/workorders/api';
import { planInput } from '../../src/workorders/automation';
import { eventually, type TestServer } from '../support/harness';

export const CATALOG_FILE = path.resolve(__dirname, '..', '..', '..', 'scripts', 'catalog', 'storage.json');

export interface CatalogType {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly minLevel: number;
  readonly price: string;
  readonly manual: boolean;
  readonly plan: string;
  readonly parameters: readonly ParameterDefinition[];
}

export interface Catalog {
  readonly currency: string;
  readonly defaultPool: string;
  readonly documents: readonly string[];
  readonly types: readonly CatalogType[];
}

export function readCatalog(): Catalog {
  return JSON.parse(readFileSync(CATALOG_FILE, 'utf8')) as Catalog;
}

export function catalogType(catalog: Catalog, name: string): CatalogType {
  const type = catalog.types.find((t) => t.name === name);
  if (type === undefined) throw new Error(`the catalog has no type ${name}`);
  return type;
}

/** A plan's BPEL text. */
export function planText(type: CatalogType): string {
  return readFileSync(path.resolve(path.dirname(CATALOG_FILE), type.plan), 'utf8');
}

/** The catalog's documents, by file name. */
export function catalogDocuments(catalog: Catalog): Map<string, string> {
  return new Map(catalog.documents.map((document) => [path.basename(document), readFileSync(path.resolve(path.dirname(CATALOG_FILE), document), 'utf8')]));
}

/** Deploys every plan of the catalog; returns the process name of each type. */
export async function deployCatalog(server: Pick<TestServer, 'app'>, catalog: Catalog): Promise<Map<string, string>> {
  const documents = catalogDocuments(catalog);
  const processes = new Map<string, string>();
  for (const type of catalog.types) {
    const deployed = await server.app.workflow.deploy({ bpel: planText(type), documents, bindings: [], deployedBy: 'catalog' });
    processes.set(type.name, deployed.name);
  }
  return processes;
}

/**
 * The input parts the automation sends: workOrderId, account, pool, and
 * every parameter of the type (an optional one absent from `values` as its
 * default, or empty).
 */
export function inputParts(type: CatalogType, order: { workOrderId: string; account: string; pool: string; values: Readonly<Record<string, string>> }): Map<string, string> {
  const parameters = type.parameters.map((p) => ({ name: p.name, value: order.values[p.name] ?? p.default ?? '' }));
  return planInput(type.parameters, { ...order, parameters });
}

/** Waits for an instance to leave RUNNING. */
export async function finished(server: Pick<TestServer, 'app'>, instanceId: string, timeoutMs = 60_000): Promise<InstanceView> {
  return eventually(async () => {
    const view = await server.app.workflow.status(instanceId);
    return view.status === 'RUNNING' ? undefined : view;
  }, `instance ${instanceId} to end`, timeoutMs, 50);
}
