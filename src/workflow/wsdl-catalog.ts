import fs from 'node:fs';
import path from 'node:path';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { PLNK_NS, type Import, type QName } from '../bpel/model';
import { VPROP_NS, type PropertyAlias, type PropertyCatalog } from '../bpel/properties';
import { partDefinitions, type PartDefinition } from '../bpel/validate';
import { inScopeNamespaces, lineOf, ownText } from '../xml/dom';

const WSDL_NS = 'http://schemas.xmlsoap.org/wsdl/';

export interface OperationInfo {
  readonly name: string;
  readonly input?: QName;
  readonly output?: QName;
  readonly faults: readonly string[];
  /** Each fault's message, by fault name. */
  readonly faultMessages: ReadonlyMap<string, QName>;
}

export interface PortTypeInfo {
  readonly name: QName;
  readonly operations: ReadonlyMap<string, OperationInfo>;
  /** Where it was defined (a document name). */
  readonly document: string;
}

export interface MessageInfo {
  readonly name: QName;
  /** Part name → element QName (element parts) or undefined (type parts). */
  readonly parts: ReadonlyMap<string, QName | undefined>;
  /** Part name → XML Schema type QName, for the type parts. */
  readonly types: ReadonlyMap<string, QName>;
}

/** Provisor's own services, by WSDL file, as imports may name them. */
export const PROVISOR_WSDLS: ReadonlyArray<{ readonly service: string; readonly file: string; readonly namespace: string }> = [
  { service: 'Software', file: 'software.wsdl', namespace: 'urn:provisor:software:1' },
  { service: 'File', file: 'file.wsdl', namespace: 'urn:provisor:file:1' },
  { service: 'Request', file: 'request.wsdl', namespace: 'urn:provisor:request:1' },
  { service: 'Callback', file: 'callback.wsdl', namespace: 'urn:provisor:callback:1' },
];

export class WsdlCatalogError extends Error {
  override readonly name = 'WsdlCatalogError';
  constructor(
    message: string,
    /** The line of the process's import that failed, when it was one. */
    readonly line?: number,
  ) {
    super(message);
  }
}

function qname(element: Element, value: string | null, what: string): QName {
  if (value === null || value === '') throw new WsdlCatalogError(`${what}: missing QName`);
  const colon = value.indexOf(':');
  const prefix = colon === -1 ? null : value.slice(0, colon);
  const local = colon === -1 ? value : value.slice(colon + 1);
  // Read from the declarations in scope: the DOM's lookup of the default namespace (prefix null) answers
  // null, which would put an unprefixed QName (`element="Foo"` under xmlns="…") in no namespace.
  const ns = inScopeNamespaces(element)[prefix ?? ''];
  if (ns === undefined && prefix !== null) throw new WsdlCatalogError(`${what}: prefix "${prefix}" of ${value} is not declared`);
  return { ns: ns ?? '', local };
}

function childrenNS(element: Element, ns: string, local: string): Element[] {
  const out: Element[] = [];
  for (let n = element.firstChild; n !== null; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as Element).namespaceURI === ns && (n as Element).localName === local) out.push(n as Element);
  }
  return out;
}

/**
 * The WSDL knowledge a process needs: port types with their operations and
 * messages, and partner link types. Built from the documents sent with
 * DeployProcess, then Provisor's own WSDLs, following `bpel:import` and
 * `wsdl:import` by location or namespace.
 */
export class WsdlCatalog {
  readonly portTypes = new Map<string, PortTypeInfo>();
  readonly messages = new Map<string, MessageInfo>();
  readonly partnerLinkTypes = new Map<string, ReadonlyMap<string, QName>>();
  /** `vprop:property` declarations (key → type) and `vprop:propertyAlias`es. */
  readonly properties = new Map<string, QName | undefined>();
  readonly aliases: PropertyAlias[] = [];
  private readonly loaded = new Map<string, string>();

  constructor(
    private readonly documents: ReadonlyMap<string, string>,
    private readonly wsdlDir: string,
  ) {}

  static key(q: QName): string {
    return `{${q.ns}}${q.local}`;
  }

  /** Loads every import of the process. Throws WsdlCatalogError naming the import that cannot be resolved. */
  loadImports(imports: readonly Import[]): void {
    for (const imp of imports) {
      if (imp.importType !== 'http://schemas.xmlsoap.org/wsdl/') continue;
      const resolved = this.resolve(imp.location, imp.namespace);
      if (resolved === undefined) {
        throw new WsdlCatalogError(`import ${imp.location ?? imp.namespace ?? ''} is neither a document sent with the process nor one of Provisor's WSDLs`, imp.line);
      }
      try {
        this.load(resolved.name, resolved.text);
      } catch (err) {
        if (err instanceof WsdlCatalogError && err.line === undefined) throw new WsdlCatalogError(err.message, imp.line);
        throw err;
      }
    }
  }

  private resolve(location: string | undefined, namespace: string | undefined): { name: string; text: string } | undefined {
    if (location !== undefined) {
      const sent = this.documents.get(location) ?? this.documents.get(path.posix.basename(location.split('?')[0] ?? location));
      if (sent !== undefined) return { name: location, text: sent };
      const own = PROVISOR_WSDLS.find(
        (w) => path.posix.basename(location) === w.file || new RegExp(`/soap/${w.service}\\?wsdl$`, 'i').test(location),
      );
      if (own !== undefined) return { name: own.file, text: fs.readFileSync(path.join(this.wsdlDir, own.file), 'utf8') };
    }
    if (namespace !== undefined) {
      const own = PROVISOR_WSDLS.find((w) => w.namespace === namespace);
      if (own !== undefined) return { name: own.file, text: fs.readFileSync(path.join(this.wsdlDir, own.file), 'utf8') };
    }
    return undefined;
  }

  private load(name: string, text: string): void {
    if (this.loaded.has(name)) return;
    this.loaded.set(name, text);
    this.portTypesAsked = new WeakMap();
    const errors: string[] = [];
    const doc = new DOMParser({ onError: (level, message) => level !== 'warning' && errors.push(message) }).parseFromString(text, 'text/xml');
    const root = doc.documentElement;
    if (errors.length > 0 || root === null || root.namespaceURI !== WSDL_NS || root.localName !== 'definitions') {
      throw new WsdlCatalogError(`document ${name} is not a WSDL 1.1 definitions document${errors.length > 0 ? `: ${errors[0]}` : ''}`);
    }
    const tns = root.getAttribute('targetNamespace') ?? '';
    for (const imp of childrenNS(root, WSDL_NS, 'import')) {
      const resolved = this.resolve(imp.getAttribute('location') ?? undefined, imp.getAttribute('namespace') ?? undefined);
      if (resolved === undefined) throw new WsdlCatalogError(`document ${name}: wsdl:import ${imp.getAttribute('location') ?? imp.getAttribute('namespace') ?? ''} cannot be resolved`);
      this.load(resolved.name, resolved.text);
    }
    for (const message of childrenNS(root, WSDL_NS, 'message')) {
      const parts = new Map<string, QName | undefined>();
      const types = new Map<string, QName>();
      for (const part of childrenNS(message, WSDL_NS, 'part')) {
        const partName = part.getAttribute('name') ?? '';
        parts.set(partName, part.hasAttribute('element') ? qname(part, part.getAttribute('element'), `${name}: part`) : undefined);
        if (!part.hasAttribute('element') && part.hasAttribute('type')) types.set(partName, qname(part, part.getAttribute('type'), `${name}: part`));
      }
      const q = { ns: tns, local: message.getAttribute('name') ?? '' };
      this.messages.set(WsdlCatalog.key(q), { name: q, parts, types });
    }
    for (const portType of childrenNS(root, WSDL_NS, 'portType')) {
      const operations = new Map<string, OperationInfo>();
      for (const op of childrenNS(portType, WSDL_NS, 'operation')) {
        const input = childrenNS(op, WSDL_NS, 'input')[0];
        const output = childrenNS(op, WSDL_NS, 'output')[0];
        operations.set(op.getAttribute('name') ?? '', {
          name: op.getAttribute('name') ?? '',
          input: input === undefined ? undefined : qname(input, input.getAttribute('message'), `${name}: input`),
          output: output === undefined ? undefined : qname(output, output.getAttribute('message'), `${name}: output`),
          faults: childrenNS(op, WSDL_NS, 'fault').map((f) => f.getAttribute('name') ?? ''),
          faultMessages: new Map(
            childrenNS(op, WSDL_NS, 'fault')
              .filter((f) => f.hasAttribute('message'))
              .map((f) => [f.getAttribute('name') ?? '', qname(f, f.getAttribute('message'), `${name}: fault`)]),
          ),
        });
      }
      const q = { ns: tns, local: portType.getAttribute('name') ?? '' };
      this.portTypes.set(WsdlCatalog.key(q), { name: q, operations, document: name });
    }
    for (const plt of childrenNS(root, PLNK_NS, 'partnerLinkType')) {
      const roles = new Map<string, QName>();
      for (const role of childrenNS(plt, PLNK_NS, 'role')) roles.set(role.getAttribute('name') ?? '', qname(role, role.getAttribute('portType'), `${name}: role`));
      this.partnerLinkTypes.set(WsdlCatalog.key({ ns: tns, local: plt.getAttribute('name') ?? '' }), roles);
    }
    this.loadProperties(root, name, tns);
  }

  /** The properties and aliases, as the engine reads them. */
  get propertyCatalog(): PropertyCatalog {
    return { properties: this.properties, aliases: this.aliases };
  }

  private loadProperties(root: Element, name: string, tns: string): void {
    for (const property of childrenNS(root, VPROP_NS, 'property')) {
      const type = property.getAttribute('type');
      this.properties.set(WsdlCatalog.key({ ns: tns, local: property.getAttribute('name') ?? '' }), type === null || type === '' ? undefined : qname(property, type, `${name}: property`));
    }
    for (const alias of childrenNS(root, VPROP_NS, 'propertyAlias')) {
      const attribute = (attr: string): QName | undefined => (alias.hasAttribute(attr) ? qname(alias, alias.getAttribute(attr), `${name}: propertyAlias ${attr}`) : undefined);
      const messageType = attribute('messageType');
      const element = attribute('element');
      const type = attribute('type');
      const part = alias.getAttribute('part');
      const queryElement = childrenNS(alias, VPROP_NS, 'query')[0];
      const queryText = queryElement === undefined ? '' : ownText(queryElement).trim();
      this.aliases.push({
        property: qname(alias, alias.getAttribute('propertyName'), `${name}: propertyAlias propertyName`),
        ...(messageType !== undefined ? { messageType } : {}),
        ...(part !== null && part !== '' ? { part } : {}),
        ...(element !== undefined ? { element } : {}),
        ...(type !== undefined ? { type } : {}),
        ...(queryElement !== undefined && queryText !== '' ? { query: { text: queryText, namespaces: inScopeNamespaces(queryElement), line: lineOf(queryElement) } } : {}),
      });
    }
  }

  /** A message's parts, each with the element or type defining it; undefined when the message is not defined. */
  partDefinitions(message: QName): ReadonlyMap<string, PartDefinition> | undefined {
    return partDefinitions(message, { messageParts: (q) => this.messages.get(WsdlCatalog.key(q))?.parts, partTypes: (q) => this.messages.get(WsdlCatalog.key(q))?.types });
  }

  /** The text of a loaded document, by the name it was loaded under. */
  documentText(name: string): string | undefined {
    return this.loaded.get(name);
  }

  /** The port type a partner link's role uses, or undefined when the link type or role is unknown. */
  portTypeOf(partnerLinkType: QName, role: string): PortTypeInfo | undefined {
    // Every invoke of every instance asks with its partner link's QName: the answer is kept per QName object and role.
    let byRole = this.portTypesAsked.get(partnerLinkType);
    if (byRole === undefined) this.portTypesAsked.set(partnerLinkType, (byRole = new Map()));
    if (byRole.has(role)) return byRole.get(role);
    const roles = this.partnerLinkTypes.get(WsdlCatalog.key(partnerLinkType));
    const portType = roles?.get(role);
    const found = portType === undefined ? undefined : this.portTypes.get(WsdlCatalog.key(portType));
    byRole.set(role, found);
    return found;
  }

  /** Answers of {@link portTypeOf}, forgotten whenever a document is loaded. */
  private portTypesAsked = new WeakMap<QName, Map<string, PortTypeInfo | undefined>>();
}
