import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import express from 'express';
import type { DataSource } from 'typeorm';
import { AddressThrottle } from './auth/address-throttle';
import { LoginGuard } from './auth/login-guard';
import { LoginStateStore } from './auth/login-state-store';
import { NonceStore } from './auth/nonce-store';
import { SecretBox } from './auth/secret-box';
import { UserStore } from './auth/users';
import { systemClock, type Clock } from './clock';
import { databaseKind, type Config } from './config';
import { databaseFingerprint, openDatabase, pingDatabase } from './db/data-source';
import type { Driver } from './drivers/driver';
import { defaultDrivers } from './drivers/defaults';
import type { Logger } from './log';
import { EmailChannel } from './mail/email-channel';
import { Metrics } from './metrics';
import { widenAccept, type AcceptHandles } from './net/accept-handles';
import { ConnectionLimiter } from './net/connection-limit';
import { DestinationPolicy } from './net/destination-policy';
import { OutboundHttp } from './net/outbound-http';
import { portalRouter } from './portal/router';
import { LoginTokens, SessionStore } from './portal/sessions';
import { projectRoot } from './project-root';
import type { ProvisioningApi } from './provisioning/api';
import { CallbackDeliveries } from './provisioning/callbacks';
import { DeploymentEngine } from './provisioning/engine';
import { ProvisioningService } from './provisioning/provisioning-service';
import { RequestStore } from './provisioning/request-store';
import { PackageCatalog } from './provisioning/packages';
import { SystemRegistry } from './provisioning/systems';
import { SoapClient } from './soap/client';
import { SoapGateway } from './soap/gateway';
import { Authenticator } from './soap/ws-security';
import { WorkflowRuntime } from './workflow/runtime';
import { ChangeManager, WakeSignal, type ChangePlanner } from './changemanager/change-manager';
import { ChangeStore } from './changemanager/change-store';
import { serverPlanner } from './changemanager/server-planner';
import { PolicyStore } from './changemanager/policy-store';
import { SystemFactsStore } from './changemanager/system-facts';
import { PackageRepositories } from './drivers/local/package-repositories';
import type { WorkflowObserver } from './workflow/interpreter';
import { WorkOrderAutomation } from './workorders/automation';
import { LeaseKeeper } from './leases/keeper';
import { assertMayDeploy, loadCatalog, readCatalog, type LoadSummary } from './workorders/catalog';
import { WorkOrderService, workOrderParts } from './workorders/service';
import { CallbackDispatcher } from './wrappers/callback-sender';
import { CALLBACK_PRINCIPAL, ownProcessEndpoint } from './wrappers/own-endpoints';
import { ChangeManagerNotifier } from './wrappers/change-manager-feed';
import { changeManagerService } from './wrappers/changemanager-service';
import { SoapPartners } from './wrappers/partner-invoker';
import { processEndpoints } from './wrappers/process-endpoints';
import { fileService } from './wrappers/file-service';
import { getStatusStanding, REQUEST_NS, requestService } from './wrappers/request-service';
import { softwareService } from './wrappers/software-service';
import { workflowService } from './wrappers/workflow-service';
import { workOrderService } from './wrappers/workorder-service';

export interface AppDependencies {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** An open DataSource (tests share one); otherwise one is opened from the configuration. */
  readonly dataSource?: DataSource;
  /** Drivers by name; defaults to `local` and `simulated` built from the configuration. */
  readonly drivers?: ReadonlyMap<string, Driver>;
  /** The change manager's planner; defaults to the model loader and `planChange` in this process. */
  readonly changePlanner?: ChangePlanner;
}

export interface App {
  readonly config: Config;
  readonly dataSource: DataSource;
  readonly server: http.Server;
  readonly api: ProvisioningApi;
  readonly engine: DeploymentEngine;
  readonly callbacks: CallbackDispatcher;
  readonly users: UserStore;
  readonly systems: SystemRegistry;
  readonly metrics: Metrics;
  readonly workflow: WorkflowRuntime;
  readonly notifier: ChangeManagerNotifier;
  /** The change manager: requests for change, their plans, policies (docs/changemanager-service.md). */
  readonly changes: ChangeManager;
  readonly workOrders: WorkOrderService;
  /** SMTP intake, replies and outcome notifications (docs/email.md). */
  readonly email: EmailChannel;
  readonly automation: WorkOrderAutomation;
  /** This process's node lease: its owner id, "still mine?", and the lost-lease event (src/leases/keeper.ts). */
  readonly lease: LeaseKeeper;
  /** Loads (or refreshes) the work-order catalog: the configured file, or the one named. */
  loadCatalog(file?: string): Promise<LoadSummary>;
  /** Starts the engine and listens; resolves with the bound port. */
  listen(port?: number, host?: string): Promise<number>;
  /** Stops accepting work, lets running tasks finish (up to graceMs), closes the server and the database. */
  close(graceMs?: number): Promise<void>;
}

/**
 * True when an Authorization header carries `Bearer <token>` whose SHA-256
 * is `expected`. Hashing both sides first makes the comparison constant-time
 * whatever the lengths.
 */
function bearerMatches(header: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '');
  const given = crypto.createHash('sha256').update(match?.[1] ?? '').digest();
  return crypto.timingSafeEqual(given, expected) && match !== null;
}

/** How long a database that answered `/health`'s ping is taken as reachable without asking again. */
const HEALTH_PING_FRESH_MS = 1_000;

/** The composition root: wires every part from its dependencies. Listening is separate (main.ts). */
export async function buildApp(deps: AppDependencies): Promise<App> {
  const { config, logger } = deps;
  const clock = deps.clock ?? systemClock;
  const ownsDataSource = deps.dataSource === undefined;
  const dataSource = deps.dataSource ?? (await openDatabase(config));
  const drivers = deps.drivers ?? defaultDrivers(config, clock);
  const metrics = new Metrics();
  const secrets = SecretBox.load(config.secretKey, config.secretKeyFile);
  const users = new UserStore(dataSource, secrets, clock);
  const systems = new SystemRegistry(dataSource, drivers, config.drivers.systemsDir, clock);
  // Package indexes for the change manager's planning and ListPackages, re-read after 5 s.
  const packageRepositories = new PackageRepositories({ cacheDir: path.join(config.dataDir, 'cache'), indexTtlMs: 5000, fetchTimeoutMs: config.outbound.timeoutMs, now: () => clock.now() });
  const store = new RequestStore(dataSource);
  // Provisor's own ports are refused as destinations: the configured ones, and the ones bound (port 0 picks one).
  let boundHttpPort: number | null = null;
  const ownPorts = (): number[] =>
    [config.port, config.mail.smtpPort, boundHttpPort, email.intake?.port ?? null].filter((p): p is number => p !== null && p > 0);
  const outbound = new OutboundHttp(
    new DestinationPolicy({ allowNetworks: config.outbound.allowNetworks, denyNetworks: config.outbound.denyNetworks, allowOwnPorts: config.outbound.allowOwnPorts }, ownPorts),
    { maxResponseBytes: config.outbound.maxResponseBytes, timeoutMs: config.outbound.timeoutMs },
  );
  // The one outbound SOAP client: callbacks, the change-manager feed and partner invokes.
  const soapClient = new SoapClient(outbound, clock);
  // This process's node lease: requests, instances and work orders it claims are its own while it holds.
  const lease = new LeaseKeeper(dataSource, clock, { leaseMs: config.nodes.leaseMs }, logger.child({ component: 'lease' }));
  // Callback deliveries carry the same owner id (each delivery is leased for one attempt).
  // A callback to one of this server's process endpoints is delivered in-process (the policy refuses its own ports).
  const ownEndpoint = (url: string): string | undefined => ownProcessEndpoint(url, boundHttpPort, config.host);
  const callbacks = new CallbackDispatcher(new CallbackDeliveries(dataSource), store, config.callbacks, soapClient, clock, logger.child({ component: 'callbacks' }), lease.owner, {
    route: ownEndpoint,
    async deliver(endpointPath, message, messageId) {
      await gateway.deliverInternal(endpointPath, message, { principal: CALLBACK_PRINCIPAL, messageId, log: logger.child({ component: 'callbacks', endpoint: endpointPath }) });
    },
  });
  const engine = new DeploymentEngine(dataSource, store, systems, drivers, callbacks, config.engine, clock, lease, logger.child({ component: 'engine' }), metrics);
  // The engine is what the API signals (wake, abort, wait for the end): built first, passed in.
  const api = new ProvisioningService(dataSource, store, systems, drivers, clock, engine, {
    checkDestination: (url) => (ownEndpoint(url) !== undefined ? Promise.resolve() : outbound.checkDestination(url)),
  });
  const login = new LoginGuard(new LoginStateStore(dataSource, config.login), new AddressThrottle(config.login, dataSource), clock, logger.child({ component: 'login' }), metrics);
  const auth = new Authenticator(users, secrets, login, clock, {
    nonces: new NonceStore(dataSource),
    maxTokenAgeSeconds: config.soap.maxTokenAgeSeconds,
    maxClockSkewSeconds: config.soap.maxClockSkewSeconds,
  });
  const root = projectRoot();
  const packageCatalog = new PackageCatalog(() => systems.repositoryLocations(), packageRepositories);
  const provisioningServices = [softwareService(api, packageCatalog, root), fileService(api, root), requestService(api, root)];
  const processNames = new Map<string, string>();
  const notifier = new ChangeManagerNotifier(config.workflow.notifyUrl, soapClient, clock, logger.child({ component: 'change-manager-feed' }), (id) => processNames.get(id) ?? '');
  // The change manager hears of every instance's end at once (it also polls, and reads the instances itself).
  const instanceEnded = new WakeSignal();
  const observer: WorkflowObserver = {
    activitiesWanted: () => notifier.activitiesWanted(),
    activity: (event) => notifier.activity(event),
    alarm: (event) => notifier.alarm(event),
    instance: (event) => {
      notifier.instance(event);
      instanceEnded.fire();
    },
  };
  const workflow = new WorkflowRuntime(
    dataSource,
    new SoapPartners(provisioningServices, soapClient, new Map([[`{${REQUEST_NS}}GetStatus`, getStatusStanding(api)]])),
    path.join(root, 'wsdl'),
    { pollMs: config.workflow.pollMs, maxInstances: config.workflow.maxInstances, planLimits: config.planLimits, messageKeepMs: config.workflow.messageKeepMs },
    clock,
    lease,
    logger.child({ component: 'workflow' }),
    observer,
    { outbound, secrets },
    processNames,
    metrics,
  );
  const planner =
    deps.changePlanner ??
    serverPlanner(
      { dataSource, clock, repositories: packageRepositories },
      config.changes.statusPollInterval,
    );
  const changes = new ChangeManager(new ChangeStore(dataSource), new PolicyStore(dataSource), planner, workflow, config.changes, clock, logger.child({ component: 'changes' }), instanceEnded);
  const orderParts = workOrderParts(dataSource, clock, logger.child({ component: 'workorders' }));
  const defaultCatalog = config.workOrders.catalogFile ?? path.join(root, 'scripts', 'catalog', 'storage.json');
  let defaultPool = 'pool1';
  const automation = new WorkOrderAutomation(
    orderParts,
    workflow,
    () => defaultPool,
    { pollMs: config.workOrders.pollMs, batchSize: config.workOrders.batchSize, restartAfterMs: config.workOrders.restartAfterMs },
    clock,
    logger.child({ component: 'automation' }),
    lease,
  );
  const workOrders = new WorkOrderService(orderParts, { plans: automation, onSubmitted: () => automation.wake() });
  const email = new EmailChannel(config.mail, config.outbound, workOrders, users, logger);
  const loadWorkOrderCatalog = async (file = defaultCatalog): Promise<LoadSummary> => {
    const catalog = readCatalog(file);
    const summary = await loadCatalog(dataSource, workflow, catalog, clock);
    defaultPool = catalog.defaultPool;
    workOrders.invalidateTypes();
    for (const plan of summary.repaired) {
      logger.warn('a catalog plan had been replaced by another process of its name; the catalog redeployed its own', { file, ...plan });
    }
    logger.info('work-order catalog loaded', { file, types: summary.types, deployed: summary.deployed, deactivated: summary.deactivated, repaired: summary.repaired.map((p) => p.type) });
    return summary;
  };

  const gateway = new SoapGateway(
    [...provisioningServices, workflowService(workflow, root, (processName, caller) => assertMayDeploy(dataSource, processName, caller)), workOrderService(workOrders, root), changeManagerService(changes, root, new SystemFactsStore(dataSource))],
    auth,
    { maxBodyBytes: config.soap.maxBodyBytes, bodyTimeoutMs: config.soap.bodyTimeoutMs, xml: config.xml },
    logger.child({ component: 'soap' }),
    metrics,
    [
      { name: 'Callback', wsdlFile: path.join(root, 'wsdl', 'callback.wsdl'), namespace: 'urn:provisor:callback:1' },
    ],
  );

  gateway.serveDynamic('/soap/processes/', processEndpoints(workflow, config.workflow.replyTimeoutMs));

  const web = express();
  web.disable('x-powered-by');
  // A database that answered a ping within the last second is taken as reachable: a load balancer
  // probing every few milliseconds costs one round trip a second, not one per probe.
  let databaseAnsweredAt = -Infinity;
  web.get('/health', async (_req, res) => {
    try {
      if (clock.now() - databaseAnsweredAt >= HEALTH_PING_FRESH_MS) {
        await pingDatabase(dataSource);
        databaseAnsweredAt = clock.now();
      }
      res.json({ status: 'ok', db: databaseKind(config), database: databaseFingerprint(config) });
    } catch (err) {
      logger.warn('health check: database unreachable', { err: String(err) });
      res.status(503).json({ status: 'unavailable', db: databaseKind(config) });
    }
  });
  const metricsToken = config.metrics.token === undefined ? undefined : crypto.createHash('sha256').update(config.metrics.token).digest();
  web.get('/metrics', async (req, res) => {
    if (metricsToken !== undefined && !bearerMatches(req.headers.authorization, metricsToken)) {
      logger.warn('metrics: request without the metrics token refused', { remote: req.socket.remoteAddress });
      res.status(401).set('www-authenticate', 'Bearer realm="metrics"').type('text/plain').send('/metrics needs an Authorization: Bearer header with the metrics token\n');
      return;
    }
    try {
      const counts = await store.countByStatus();
      for (const [status, n] of Object.entries(counts)) metrics.queueDepth.labels(status).set(n);
    } catch (err) {
      logger.warn('metrics: queue depth unavailable', { err: String(err) });
    }
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  web.use(
    '/portal',
    portalRouter({
      workOrders,
      changes,
      users,
      systems: {
        systems: async () => Promise.all((await new SystemFactsStore(dataSource).list()).map(async (facts) => ({ facts, components: await api.listInstalled(facts.name) }))),
        recentRequests: (limit) => api.listRequests({ limit }),
      },
      login,
      sessions: new SessionStore(dataSource, config.portal, clock),
      loginTokens: new LoginTokens(secrets.deriveKey('portal login form'), clock),
      config: config.portal,
      logger: logger.child({ component: 'portal' }),
    }),
  );
  web.get('/', (_req, res) => {
    res.type('text/plain').send(`Provisor\n\nPortal (HTML, for customers and admins): /portal/\n\nSOAP services (WSDL at <path>?wsdl):\n${gateway.paths.map((p) => `  ${p}`).join('\n')}\n\nGET /health, GET /metrics\n`);
  });
  web.use((_req, res) => {
    res.status(404).type('text/plain').send('not found\n');
  });

  // SOAP on the bare server, express for everything else.
  let active = 0;
  const server = http.createServer((req, res) => {
    active++;
    res.once('close', () => active--);
    if (!gateway.handle(req, res)) web(req, res);
  });
  new ConnectionLimiter(config.http, {
    clock,
    logger: logger.child({ component: 'http' }),
    onRefused: (reason) => metrics.connectionsRefused.labels(reason).inc(),
  }).attach(server);
  server.requestTimeout = 60_000;
  server.headersTimeout = 20_000;
  server.keepAliveTimeout = 65_000;

  let closed = false;
  let acceptHandles: AcceptHandles | undefined;
  return {
    config,
    dataSource,
    server,
    api,
    engine,
    callbacks,
    users,
    systems,
    metrics,
    workflow,
    notifier,
    changes,
    workOrders,
    email,
    automation,
    lease,
    loadCatalog: loadWorkOrderCatalog,
    async listen(port = config.port, host = config.host) {
      if (!fs.existsSync(defaultCatalog)) logger.warn('no work-order catalog file', { file: defaultCatalog });
      else if (config.workOrders.loadCatalogOnStart) await loadWorkOrderCatalog();
      else defaultPool = readCatalog(defaultCatalog).defaultPool; // loaded by someone else: only its default pool is needed here
      await lease.start();
      if (config.engine.enabled) {
        await engine.start();
        callbacks.start();
      }
      if (config.workflow.enabled) workflow.startRunner();
      if (config.workOrders.automation) automation.start();
      if (config.changes.enabled) changes.start();
      await email.start();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      acceptHandles = widenAccept(server, config.http.acceptHandles, logger.child({ component: 'http' }));
      await acceptHandles.ready;
      const address = server.address();
      boundHttpPort = typeof address === 'object' && address !== null ? address.port : port;
      const notifyUrl = config.workflow.notifyUrl;
      if (notifyUrl !== undefined) {
        // Said once at start rather than only on every dropped message.
        outbound.checkDestination(notifyUrl).catch((err: unknown) => logger.warn('the change manager endpoint is refused by the outbound policy; its messages will be dropped', { err: String(err) }));
      }
      return boundHttpPort;
    },
    async close(graceMs = 5000) {
      if (closed) return;
      closed = true;
      await email.stopIntake();
      // Stop accepting; let requests in flight finish (up to graceMs) before cutting connections.
      acceptHandles?.close();
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = Date.now() + graceMs;
      // Node's timers: real HTTP requests in flight get a real-time grace at shutdown, even when the clock stands still.
      while (active > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      server.closeAllConnections();
      await serverClosed;
      await automation.stop();
      await changes.stop();
      await workflow.stopRunner();
      await engine.stop(graceMs);
      // Given up last: the instances' and tasks' last writes above are fenced by it.
      await lease.stop();
      await callbacks.stop();
      await email.closeOutgoing();
      await Promise.all([...drivers.values()].map((d) => d.close()));
      if (ownsDataSource) await dataSource.destroy();
    },
  };
}
