/**
 * Process definitions: deploying a WS-BPEL process as the next version of
 * its name (parsed, its WSDLs resolved, validated, its partner bindings
 * sealed, its digest recorded), looking versions up, and compiling a stored
 * version once per process for the instances that run it.
 */
import type { DataSource } from 'typeorm';
import { ProcessDefinition, ProcessDocument } from '../../entities';
import type { SecretBox } from '../auth/secret-box';
import { checkStaticLimits } from '../bpel/limits';
import { ProcessDefinitionError, type PartnerLink, type Process, type QName } from '../bpel/model';
import { parseProcess, readProcess } from '../bpel/parser';
import { validateProcess, type PortTypeInfo } from '../bpel/validate';
import type { Clock } from '../clock';
import type { Config } from '../config';
import { isSqliteBusy, isUniqueViolation, transaction } from '../db/sql';
import type { Logger } from '../log';
import { DestinationDeniedError } from '../net/destination-policy';
import type { OutboundHttp } from '../net/outbound-http';
import { definitionDigest } from './definition-digest';
import { WorkflowError } from './errors';
import { openBindings, sealBindings, type PartnerBinding, type StoredBinding } from './partner-bindings';
import { WORKFLOW_SQL } from './sql';
import { WsdlCatalogError, WsdlCatalog } from './wsdl-catalog';

export interface DeployRequest {
  readonly bpel: string;
  /** Documents sent with the process, by the location its imports name. */
  readonly documents: ReadonlyMap<string, string>;
  readonly bindings: readonly PartnerBinding[];
  readonly deployedBy: string;
  /** Asked with the process's name once it is parsed, before anything is stored; throws to refuse the deploy. */
  readonly authorize?: (processName: string) => Promise<void>;
  /**
   * When the latest version of the process's name holds exactly this
   * content (same digest), return that version and store nothing: the
   * catalog's loads on nodes started together deploy each plan once.
   */
  readonly reuseSameContent?: boolean;
}

/** What calling remote partners needs: the policed sender, and the secret box that seals their passwords. */
export interface PartnerAccess {
  readonly outbound: OutboundHttp;
  readonly secrets: SecretBox;
}

/** A stored version, parsed, with its WSDL catalog and its partner bindings opened. */
export interface CompiledProcess {
  readonly definition: ProcessDefinition;
  readonly process: Process;
  readonly catalog: WsdlCatalog;
  readonly bindings: ReadonlyMap<string, PartnerBinding>;
  /** The documents deployed with it, by name. */
  readonly documents: ReadonlyMap<string, string>;
}

/** How many times a deploy reads the latest version again after another deploy of the name took its number. */
const DEPLOY_ATTEMPTS = 20;

/** How long the latest version of a name is remembered. */
const LATEST_CACHE_MS = 1000;

export class ProcessDefinitions {
  private readonly compiled = new Map<number, Promise<CompiledProcess>>();
  private readonly latestByName = new Map<string, { at: number; definition: Promise<ProcessDefinition> }>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly wsdlDir: string,
    /** What a plan may use (docs/operations.md): checked at deploy, the nesting depth also when parsing. */
    private readonly planLimits: Config['planLimits'],
    private readonly partners: PartnerAccess,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Parses, resolves and validates a process, then stores it as the next version of its name. */
  async deploy(request: DeployRequest): Promise<{ name: string; version: number }> {
    // Every problem of the document is reported at once: the static checks run on what the parser could
    // read (leaving out their findings on lines the parser already reported, which would only repeat them).
    const read = readProcess(request.bpel, { maxNestingDepth: this.planLimits.maxNestingDepth });
    const process = read.process;
    if (process === undefined) throw new ProcessDefinitionError('process.bpel', read.diagnostics);
    await request.authorize?.(process.name);
    const catalog = new WsdlCatalog(request.documents, this.wsdlDir);
    const diagnostics = [...read.diagnostics];
    let catalogLoaded = true;
    try {
      catalog.loadImports(process.imports);
    } catch (err) {
      if (!(err instanceof WsdlCatalogError)) throw err;
      diagnostics.push({ line: err.line ?? process.line, message: err.message });
      catalogLoaded = false;
    }
    const portTypeInfo = (link: PartnerLink, role: 'partner' | 'my'): PortTypeInfo | undefined => {
      const roleName = role === 'partner' ? link.partnerRole : link.myRole;
      const info = roleName === undefined ? undefined : catalog.portTypeOf(link.partnerLinkType, roleName);
      return info === undefined ? undefined : { portType: info.name, operations: info.operations };
    };
    // Without the WSDLs (an import failed) the checks that need them are left out rather than each reported.
    const context = catalogLoaded ? { portTypeOf: portTypeInfo, messageParts: (q: QName) => catalog.messages.get(WsdlCatalog.key(q))?.parts, partTypes: (q: QName) => catalog.messages.get(WsdlCatalog.key(q))?.types, properties: catalog.propertyCatalog } : undefined;
    const parserLines = new Set(read.diagnostics.map((d) => d.line));
    diagnostics.push(...validateProcess(process, context).filter((d) => !parserLines.has(d.line)), ...checkStaticLimits(process, this.planLimits));
    for (const binding of request.bindings) {
      if (!process.partnerLinks.some((p) => p.name === binding.partnerLink)) {
        diagnostics.push({ line: process.line, message: `binding names partner link "${binding.partnerLink}", which the process does not declare` });
      }
    }
    if (diagnostics.length > 0) throw new ProcessDefinitionError(process.name === '' ? 'process.bpel' : process.name, [...diagnostics].sort((a, b) => a.line - b.line));
    // Refused before anything is stored; each call checks again when it connects.
    for (const binding of request.bindings) {
      if (binding.address === undefined) continue;
      try {
        await this.partners.outbound.checkDestination(binding.address);
      } catch (err) {
        if (err instanceof DestinationDeniedError) throw new WorkflowError('DestinationDenied', `binding of partner link "${binding.partnerLink}": ${err.message}`);
        throw err;
      }
    }
    const digest = definitionDigest(request.bpel, request.documents);
    const descriptor = JSON.stringify({ bindings: sealBindings(request.bindings, this.partners.secrets) });
    // Two deploys of one name at once both read the same latest version; the
    // unique (name, version) index refuses the second insert, which then
    // reads again and takes the next number (or finds its content deployed).
    let stored: { version: number; created: boolean } | undefined;
    for (let attempt = 1; stored === undefined; attempt++) {
      try {
        stored = await transaction(this.dataSource, async (manager) => {
          const rows = (await manager.query(WORKFLOW_SQL.latestVersionDigest, [process.name])) as Array<{ v: unknown; digest: unknown }>;
          const latest = rows[0];
          if (request.reuseSameContent === true && latest !== undefined && latest.digest === digest) return { version: Number(latest.v), created: false };
          const next = Number(latest?.v ?? 0) + 1;
          const saved = await manager.getRepository(ProcessDefinition).save({
            name: process.name,
            version: next,
            bpel: request.bpel,
            descriptor,
            digest,
            deployedBy: request.deployedBy,
            deployedAt: this.clock.date(),
          });
          for (const [name, content] of request.documents) await manager.getRepository(ProcessDocument).insert({ definitionId: saved.id, name, content });
          return { version: next, created: true };
        });
      } catch (err) {
        if (!(isUniqueViolation(err) || isSqliteBusy(err)) || attempt >= DEPLOY_ATTEMPTS) throw err;
        // Another process of a shared SQLite file is writing: let it finish.
        // Node's timer: another process holds the real SQLite file lock.
        if (isSqliteBusy(err)) await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80));
      }
    }
    const version = stored.version;
    if (!stored.created) {
      this.log.info('process already deployed with this content', { process: process.name, version });
      return { name: process.name, version };
    }
    this.latestByName.delete(process.name);
    this.log.info('process deployed', { process: process.name, version });
    return { name: process.name, version };
  }

  /**
   * A definition parsed, with its WSDL catalog, once per process: the
   * promise is kept, so a thousand instances launched together share one
   * compilation instead of each parsing the documents.
   */
  compile(definitionId: number): Promise<CompiledProcess> {
    let compiled = this.compiled.get(definitionId);
    if (compiled === undefined) {
      compiled = this.compileNow(definitionId);
      this.compiled.set(definitionId, compiled);
      void compiled.catch(() => this.compiled.delete(definitionId));
    }
    return compiled;
  }

  private async compileNow(definitionId: number): Promise<CompiledProcess> {
    const definition = await this.dataSource.getRepository(ProcessDefinition).findOneByOrFail({ id: definitionId });
    const documents = await this.dataSource.getRepository(ProcessDocument).findBy({ definitionId });
    const process = parseProcess(definition.bpel, `${definition.name} v${definition.version}`, { maxNestingDepth: this.planLimits.maxNestingDepth });
    const catalog = new WsdlCatalog(new Map(documents.map((d) => [d.name, d.content])), this.wsdlDir);
    catalog.loadImports(process.imports);
    const descriptor = JSON.parse(definition.descriptor) as { bindings: StoredBinding[] };
    const bindings = openBindings(descriptor.bindings, this.partners.secrets, `${definition.name} v${definition.version}`);
    return { definition, process, catalog, bindings: new Map(bindings.map((b) => [b.partnerLink, b])), documents: new Map(documents.map((d) => [d.name, d.content])) };
  }

  /**
   * The latest version of a process. Remembered for a second: starts are
   * frequent, deployments rare (this process forgets at once on its own).
   */
  latest(name: string): Promise<ProcessDefinition> {
    const now = this.clock.now();
    const cached = this.latestByName.get(name);
    if (cached !== undefined && now - cached.at < LATEST_CACHE_MS) return cached.definition;
    // Starts arriving together share one read: the promise is what is remembered.
    const definition = this.dataSource
      .getRepository(ProcessDefinition)
      .findOne({ select: { id: true, name: true, version: true }, where: { name }, order: { version: 'DESC' } })
      .then((found) => {
        if (found === null) throw new WorkflowError('UnknownProcess', `no process named "${name}" is deployed`);
        return found;
      });
    const entry = { at: now, definition };
    this.latestByName.set(name, entry);
    definition.catch(() => {
      if (this.latestByName.get(name) === entry) this.latestByName.delete(name);
    });
    return definition;
  }

  /** The latest version of a deployed process, compiled, or undefined when none has this name. */
  async describe(name: string): Promise<{ process: Process; catalog: WsdlCatalog; documents: ReadonlyMap<string, string> } | undefined> {
    // Every message to a process endpoint asks: the latest version is remembered as for starts, the rest is compiled once.
    let definition: ProcessDefinition;
    try {
      definition = await this.latest(name);
    } catch (err) {
      if (err instanceof WorkflowError && err.code === 'UnknownProcess') return undefined;
      throw err;
    }
    const compiled = await this.compile(definition.id);
    return { process: compiled.process, catalog: compiled.catalog, documents: compiled.documents };
  }

  /** The names of the deployed processes (any version). */
  async names(): Promise<Set<string>> {
    const rows = (await this.dataSource.query(WORKFLOW_SQL.definitionNames)) as Array<{ name: string }>;
    return new Set(rows.map((r) => r.name));
  }

  /** Every deployed version, by name then version. */
  async list(): Promise<Array<{ name: string; version: number; deployedAt: Date }>> {
    const rows = await this.dataSource.getRepository(ProcessDefinition).find({ order: { name: 'ASC', version: 'ASC' } });
    return rows.map((r) => ({ name: r.name, version: r.version, deployedAt: r.deployedAt }));
  }
}
