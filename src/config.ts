import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_PLAN_LIMITS as PLAN } from './bpel/plan-limits';
import { parseNetwork } from './net/cidr';

/**
 * The one configuration object. Read once from the environment (and an
 * optional JSON file named by PROVISOR_CONFIG), validated, frozen and passed
 * down. No other module reads `process.env`.
 */
export interface Config {
  readonly host: string;
  readonly port: number;
  /** Absent: embedded SQLite file `<dataDir>/provisor.sqlite`. */
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly logLevel: 'error' | 'warn' | 'info' | 'debug';
  /** Secret used to encrypt the password copies needed for WS-Security PasswordDigest. */
  readonly secretKeyFile: string;
  readonly secretKey: string | undefined;
  readonly soap: {
    /** Largest accepted request body, after decompression. */
    readonly maxBodyBytes: number;
    /** Oldest accepted wsu:Created, in seconds. */
    readonly maxTokenAgeSeconds: number;
    /** How far in the future a wsu:Created may be, in seconds. */
    readonly maxClockSkewSeconds: number;
    /** How long a request may take to arrive in full. */
    readonly bodyTimeoutMs: number;
  };
  /** Caps on HTTP connections open at once (SOAP, portal, health, metrics together); see docs/operations.md, "Security". */
  readonly http: {
    /** All client addresses together (PROVISOR_HTTP_MAX_CONNECTIONS, default 4,096; 0: no cap). */
    readonly maxConnections: number;
    /** From one client address (PROVISOR_HTTP_MAX_CONNECTIONS_PER_ADDRESS, default 64; 0: no cap, e.g. behind a load balancer). */
    readonly maxConnectionsPerAddress: number;
    /** Listening handles besides the server's own, each accepting one waiting connection per event-loop turn (PROVISOR_HTTP_ACCEPT_HANDLES, default 15; 0: only the server's own). */
    readonly acceptHandles: number;
  };
  /** Limits of the SOAP XML parser, which reads every request before it is authenticated; see docs/operations.md, "SOAP parser limits". */
  readonly xml: {
    /** Deepest nesting of elements in a request (PROVISOR_XML_MAX_DEPTH, default 64). */
    readonly maxDepth: number;
    /** Most elements in one request (PROVISOR_XML_MAX_ELEMENTS, default 200,000). */
    readonly maxElements: number;
    /** Most attributes on one element, its namespace declarations included (PROVISOR_XML_MAX_ATTRIBUTES, default 64). */
    readonly maxAttributes: number;
    /** Most namespace declarations in one request, all elements together (PROVISOR_XML_MAX_NAMESPACE_DECLARATIONS, default 10,000). */
    readonly maxNamespaceDeclarations: number;
  };
  /** Each process's lease on its own liveness (docs/operations.md, "Several nodes behind a load balancer"). */
  readonly nodes: {
    /** How long a process counts as alive after each renewal of its lease; renewed every third of it (PROVISOR_NODE_LEASE_MS, default 15 s). */
    readonly leaseMs: number;
  };
  readonly engine: {
    readonly enabled: boolean;
    readonly concurrency: number;
    readonly pollMs: number;
    /** How long a request queued by another process's engine is left to that engine before this one may take it. */
    readonly affinityMs: number;
  };
  readonly workflow: {
    readonly enabled: boolean;
    /** Instances one process executes at once. */
    readonly maxInstances: number;
    readonly pollMs: number;
    /** The change manager endpoint that receives ReportWorkflowStatus and ReportViolation. */
    readonly notifyUrl: string | undefined;
    /** How long a call to a process endpoint waits for the instance's reply. */
    readonly replyTimeoutMs: number;
    /** How long a message for a process instance not there yet (no instance holds its correlation values) is kept for one to take it; 0 refuses it. */
    readonly messageKeepMs: number;
  };
  /**
   * Limits that keep one process plan from taking the workflow engine or the
   * server down, and the retention of finished instances; see
   * docs/operations.md (Security, Plan limits and retention).
   */
  readonly planLimits: {
    /** Deepest element nesting of a BPEL document; deeper documents are refused at deploy, before any recursive step reads them. */
    readonly maxNestingDepth: number;
    /** Most branches a parallel forEach may run; more fault the instance with provisor:branchLimitExceeded (refused at deploy when the counters are literals). */
    readonly maxParallelBranches: number;
    /** Most iterations of one while, repeatUntil or sequential forEach; one more faults the instance with provisor:iterationLimitExceeded. */
    readonly maxLoopIterations: number;
    /** Most activity executions (activity rows) one instance may write; one more faults it with provisor:activityLimitExceeded. */
    readonly maxActivities: number;
    /** Most bytes all of an instance's variables may hold, as stored; a write beyond faults it with provisor:variableLimitExceeded. */
    readonly maxVariableBytes: number;
    /** An instance that was running when its server died this many times in a row is SUSPENDED instead of resumed. */
    readonly crashLoopLimit: number;
    /** Finished instances older than this many days lose their activity, variable, link and timer rows; 0 keeps them for ever. */
    readonly retentionDays: number;
    /** How often the pruning job runs. */
    readonly pruneIntervalMs: number;
    /** Instances pruned per transaction. */
    readonly pruneBatchSize: number;
    /** Most instances one run of the pruning job prunes; the rest wait for the next run. */
    readonly pruneMaxPerRun: number;
  };
  readonly workOrders: {
    /** The automation: claims NEW orders and runs their plans. */
    readonly automation: boolean;
    readonly pollMs: number;
    readonly batchSize: number;
    readonly restartAfterMs: number;
    /** The catalog file; undefined: the project's own storage catalog. */
    readonly catalogFile: string | undefined;
    /** Load (or refresh) the catalog when the service starts. */
    readonly loadCatalogOnStart: boolean;
  };
  /** The change manager (docs/changemanager-service.md). */
  readonly changes: {
    /** Plan queued changes, launch planned ones and follow running ones in this process. */
    readonly enabled: boolean;
    /** How often the queue is looked at when nothing wakes it. */
    readonly pollMs: number;
    /** The planner's time budget for one plan. */
    readonly planTimeBudgetMs: number;
    /** A planning lease: a change whose planner died is planned again after this long. */
    readonly leaseMs: number;
    /** Planning attempts (a planner that died or threw) after which a change is rejected. */
    readonly maxPlanAttempts: number;
    /** How long a generated plan waits between two GetStatus calls on a task (an xsd:duration in seconds, e.g. PT5S). */
    readonly statusPollInterval: string;
  };
  readonly callbacks: {
    readonly maxAttempts: number;
    readonly initialBackoffMs: number;
    readonly maxBackoffMs: number;
    readonly timeoutMs: number;
  };
  readonly portal: {
    /** Mark the portal's cookies Secure (set it when the portal is served over HTTPS, e.g. behind a TLS proxy). */
    readonly secureCookies: boolean;
    /** A session ends after this long without a request. */
    readonly idleTimeoutMs: number;
    /** A session ends this long after log-in, however active. */
    readonly maxSessionMs: number;
  };
  /** Log-in throttling and lockout, for SOAP and the portal alike (docs/operations.md, "Log-in throttling and lockout"). */
  readonly login: {
    /** Consecutive failed log-ins of one user name after which the account is locked until `provisor user unlock`; 0: never locked. */
    readonly lockAfterFailures: number;
    /** Failed log-ins of one user name answered without a wait; after them, each failure doubles the wait before the next attempt is checked. */
    readonly freeFailures: number;
    /** The first wait, in milliseconds. */
    readonly initialDelayMs: number;
    /** The longest wait, in milliseconds. */
    readonly maxDelayMs: number;
    /** Failed log-ins from one client address (counted by all processes together) answered without a wait; 0 turns the per-address throttle off. */
    readonly addressFreeFailures: number;
    /** Failures (of a name or an address) with none newer for this long are forgotten; locks are not. */
    readonly resetAfterMs: number;
  };
  readonly drivers: {
    /** Where `local` systems get their roots. */
    readonly systemsDir: string;
    readonly hookTimeoutMs: number;
    readonly simulated: { readonly minMs: number; readonly maxMs: number; readonly failureRate: number };
    /** The `ssh` driver's connections (docs/operations.md, "Remote systems over SSH"). */
    readonly ssh: {
      /** Longest wait for a connection: TCP, key exchange and log-in. */
      readonly connectTimeoutMs: number;
      /** Keep-alive interval on pooled connections; three unanswered ones drop the connection. */
      readonly keepAliveMs: number;
      /** Channels (commands, the SFTP session) open at once on one system's connection. */
      readonly maxChannels: number;
    };
  };
  /** The Prometheus endpoint `GET /metrics`. */
  readonly metrics: {
    /**
     * A bearer token `/metrics` requires (`Authorization: Bearer <token>`,
     * PROVISOR_METRICS_TOKEN, at least 16 characters); undefined leaves
     * `/metrics` open to anyone who reaches the port.
     */
    readonly token: string | undefined;
  };
  /** E-mail intake (SMTP) and the replies and notifications sent through a relay; see docs/email.md. */
  readonly mail: {
    /** The SMTP intake's port; null (the default) leaves the intake off. */
    readonly smtpPort: number | null;
    readonly smtpHost: string;
    /** The recipient addresses the intake accepts (lower case); any other is refused at RCPT TO. */
    readonly intakeAddresses: readonly string[];
    /** Largest accepted message in bytes; a larger one is refused with 552. */
    readonly maxMessageBytes: number;
    /** smtp:// or smtps:// URL of the relay that carries replies and notifications; absent: they are only logged. */
    readonly relayUrl: string | undefined;
    /** The From of replies and notifications. */
    readonly from: string;
    /** Attempts per outgoing message (the first included) while the relay fails temporarily. */
    readonly sendAttempts: number;
    /** The wait before the second attempt; it doubles for each one after. */
    readonly sendBackoffMs: number;
  };
  /** Limits on outbound calls (where Provisor may call, how much it reads) and on SMTP intake sessions; see docs/operations.md. */
  readonly outbound: {
    /** Largest answer read from a partner, a callback endpoint or the change manager; past it the call fails and the connection is closed. */
    readonly maxResponseBytes: number;
    /** Deadline of an outbound call whose own setting gives none (the change-manager feed). */
    readonly timeoutMs: number;
    /** Networks (CIDR, IPv4 and IPv6) outbound calls may reach; empty: any network no rule denies. An entry also admits a network denied by default. */
    readonly allowNetworks: readonly string[];
    /** Networks (CIDR) outbound calls never reach, whatever the allow list says; link-local and "this host" networks are denied anyway. */
    readonly denyNetworks: readonly string[];
    /** Allow outbound calls to Provisor's own listening ports on this host (HTTP, SMTP); off by default. */
    readonly allowOwnPorts: boolean;
    /** SMTP intake connections open at once; one more is answered 421 and closed. */
    readonly smtpMaxConnections: number;
    /** SMTP intake connections open at once from one client address; one more is answered 421 and closed. */
    readonly smtpMaxConnectionsPerAddress: number;
    /** Longest SMTP intake session; past it the session is answered 421 and closed. */
    readonly smtpMaxSessionMs: number;
    /** Longest silence of an SMTP client while Provisor waits for its next command or data; past it 421 and closed. */
    readonly smtpIdleTimeoutMs: number;
  };
  /** The change manager's scheduler; see docs/scheduler.md. */
  readonly scheduler: {
    /** Time budget of one plan in milliseconds, checking and bounds included (PROVISOR_SCHEDULER_TIME_LIMIT_MS, default 1000). */
    readonly timeLimitMs: number;
    /** Seed of the scheduler's search: the same seed and problem give the same plan under a schedule budget (PROVISOR_SCHEDULER_SEED, default 1). */
    readonly seed: number;
  };
}

const EMAIL_ADDRESS = /^[^\s@<>,]+@[^\s@<>,]+$/;

export type Env = Readonly<Record<string, string | undefined>>;

/** A setting as {@link loadConfig} reads it: what `describeSettings` collects for the documentation. */
export interface SettingRead {
  readonly name: string;
  readonly default?: string;
  readonly accepted?: string;
}

/**
 * Every setting {@link loadConfig} reads, in the order it reads them, with
 * the default and the accepted values where the reader knows them (the
 * table of docs/operations.md, "Settings", is generated from this and
 * checked against it by a test).
 */
export function describeSettings(): SettingRead[] {
  const found = new Map<string, SettingRead>();
  loadConfig({}, '/', (setting) => {
    const known = found.get(setting.name);
    found.set(setting.name, { ...known, ...setting, name: setting.name });
  });
  return [...found.values()];
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function readFileConfig(env: Env): Record<string, unknown> {
  const file = env.PROVISOR_CONFIG;
  if (file === undefined || file === '') return {};
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`PROVISOR_CONFIG: cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`PROVISOR_CONFIG: ${file} is not a JSON object of settings: ${(err as Error).message}`);
  }
}

/**
 * Builds the configuration. Settings come from the environment first, then the
 * JSON file (keys are the environment variable names), then defaults.
 */
export function loadConfig(env: Env = process.env, cwd: string = process.cwd(), observe?: (setting: SettingRead) => void): Config {
  const file = readFileConfig(env);
  const raw = (name: string): string | undefined => {
    observe?.({ name });
    const fromEnv = env[name];
    if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
    const fromFile = file[name];
    if (fromFile === undefined || fromFile === null) return undefined;
    return String(fromFile);
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    observe?.({ name, default: String(fallback), accepted: `integer ${min}–${max}` });
    const value = raw(name);
    if (value === undefined) return fallback;
    if (!/^-?\d+$/.test(value)) throw new ConfigError(`${name} must be an integer, got "${value}"`);
    const n = Number(value);
    if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${n}`);
    return n;
  };
  const num = (name: string, fallback: number, min: number, max: number): number => {
    observe?.({ name, default: String(fallback), accepted: `number ${min}–${max}` });
    const value = raw(name);
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max) throw new ConfigError(`${name} must be a number between ${min} and ${max}, got "${value}"`);
    return n;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    observe?.({ name, default: String(fallback), accepted: 'true or false' });
    const value = raw(name);
    if (value === undefined) return fallback;
    if (/^(1|true|yes|on)$/i.test(value)) return true;
    if (/^(0|false|no|off)$/i.test(value)) return false;
    throw new ConfigError(`${name} must be true or false, got "${value}"`);
  };

  const httpUrl = (name: string): string | undefined => {
    observe?.({ name, accepted: 'http(s) URL' });
    const value = raw(name);
    if (value === undefined) return undefined;
    if (!/^https?:\/\/[^\s]+$/.test(value)) throw new ConfigError(`${name} must be an http(s) URL, got "${value}"`);
    return value;
  };

  const dataDir = path.resolve(cwd, raw('PROVISOR_DATA_DIR') ?? 'data');
  const databaseUrl = raw('DATABASE_URL');
  if (databaseUrl !== undefined && !/^(mysql|mariadb):\/\//.test(databaseUrl)) {
    throw new ConfigError(`DATABASE_URL must be a mysql:// or mariadb:// URL (got scheme "${databaseUrl.split(':')[0] ?? ''}")`);
  }
  const logLevel = raw('LOG_LEVEL') ?? 'info';
  if (!['error', 'warn', 'info', 'debug'].includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of error, warn, info, debug; got "${logLevel}"`);
  }
  const minMs = int('PROVISOR_SIMULATED_MIN_MS', 50, 0, 3_600_000);
  const maxMs = int('PROVISOR_SIMULATED_MAX_MS', 200, 0, 3_600_000);
  if (maxMs < minMs) throw new ConfigError('PROVISOR_SIMULATED_MAX_MS must not be below PROVISOR_SIMULATED_MIN_MS');

  const intakeAddresses = (raw('PROVISOR_SMTP_ADDRESS') ?? 'orders@provisor.local').split(',').map((a) => a.trim().toLowerCase()).filter((a) => a !== '');
  for (const address of intakeAddresses) {
    if (!EMAIL_ADDRESS.test(address)) throw new ConfigError(`PROVISOR_SMTP_ADDRESS must be e-mail addresses separated by commas, got "${address}"`);
  }
  if (intakeAddresses.length === 0) throw new ConfigError('PROVISOR_SMTP_ADDRESS must name at least one address');
  const relayUrl = raw('PROVISOR_MAIL_RELAY');
  if (relayUrl !== undefined && !/^smtps?:\/\/[^\s/]+/.test(relayUrl)) throw new ConfigError(`PROVISOR_MAIL_RELAY must be an smtp:// or smtps:// URL, got "${relayUrl}"`);
  const mailFrom = raw('PROVISOR_MAIL_FROM') ?? `Provisor <${intakeAddresses[0] ?? ''}>`;
  if (!/^(?:[^<>]*<[^\s@<>]+@[^\s@<>]+>|[^\s@<>]+@[^\s@<>]+)$/.test(mailFrom.trim())) {
    throw new ConfigError(`PROVISOR_MAIL_FROM must be an address or "Name <address>", got "${mailFrom}"`);
  }
  const smtpPort = int('PROVISOR_SMTP_PORT', 0, 0, 65535);
  const networks = (name: string): string[] => {
    const list = (raw(name) ?? '').split(',').map((n) => n.trim()).filter((n) => n !== '');
    for (const network of list) {
      try {
        parseNetwork(network);
      } catch (err) {
        throw new ConfigError(`${name} must be networks in CIDR notation separated by commas: ${(err as Error).message}`);
      }
    }
    return list;
  };
  const loginDelayMs = int('PROVISOR_LOGIN_DELAY_MS', 1000, 1, 3_600_000);
  const loginMaxDelayMs = int('PROVISOR_LOGIN_MAX_DELAY_MS', 900_000, 1, 86_400_000);
  if (loginMaxDelayMs < loginDelayMs) throw new ConfigError('PROVISOR_LOGIN_MAX_DELAY_MS must not be below PROVISOR_LOGIN_DELAY_MS');
  const pruneBatchSize = int('PROVISOR_PLAN_PRUNE_BATCH', 100, 1, 10_000);
  if (int('PROVISOR_PLAN_PRUNE_MAX_PER_RUN', 2000, 1, 1_000_000) < pruneBatchSize) throw new ConfigError('PROVISOR_PLAN_PRUNE_MAX_PER_RUN must not be below PROVISOR_PLAN_PRUNE_BATCH');
  const metricsToken = raw('PROVISOR_METRICS_TOKEN');
  if (metricsToken !== undefined && !/^[\x21-\x7e]{16,512}$/.test(metricsToken)) {
    throw new ConfigError('PROVISOR_METRICS_TOKEN must be 16 to 512 printable characters without spaces');
  }

  const config: Config = {
    host: raw('HOST') ?? '127.0.0.1',
    port: int('PORT', 8080, 0, 65535),
    databaseUrl,
    dataDir,
    logLevel: logLevel as Config['logLevel'],
    secretKeyFile: path.resolve(dataDir, raw('PROVISOR_SECRET_KEY_FILE') ?? 'secret.key'),
    secretKey: raw('PROVISOR_SECRET_KEY'),
    soap: {
      maxBodyBytes: int('PROVISOR_MAX_BODY_BYTES', 1024 * 1024, 1024, 1024 * 1024 * 1024),
      maxTokenAgeSeconds: int('PROVISOR_TOKEN_MAX_AGE_SECONDS', 300, 1, 86_400),
      maxClockSkewSeconds: int('PROVISOR_TOKEN_MAX_SKEW_SECONDS', 60, 0, 3_600),
      bodyTimeoutMs: int('PROVISOR_BODY_TIMEOUT_MS', 10_000, 100, 600_000),
    },
    http: {
      maxConnections: int('PROVISOR_HTTP_MAX_CONNECTIONS', 4096, 0, 1_000_000),
      maxConnectionsPerAddress: int('PROVISOR_HTTP_MAX_CONNECTIONS_PER_ADDRESS', 64, 0, 1_000_000),
      acceptHandles: int('PROVISOR_HTTP_ACCEPT_HANDLES', 15, 0, 255),
    },
    xml: {
      maxDepth: int('PROVISOR_XML_MAX_DEPTH', 64, 8, 10_000),
      maxElements: int('PROVISOR_XML_MAX_ELEMENTS', 200_000, 100, 10_000_000),
      maxAttributes: int('PROVISOR_XML_MAX_ATTRIBUTES', 64, 8, 100_000),
      maxNamespaceDeclarations: int('PROVISOR_XML_MAX_NAMESPACE_DECLARATIONS', 10_000, 16, 10_000_000),
    },
    nodes: {
      leaseMs: int('PROVISOR_NODE_LEASE_MS', 15_000, 300, 3_600_000),
    },
    engine: {
      enabled: bool('PROVISOR_ENGINE', true),
      concurrency: int('PROVISOR_ENGINE_CONCURRENCY', 16, 1, 1024),
      pollMs: int('PROVISOR_POLL_MS', 500, 10, 60_000),
      affinityMs: int('PROVISOR_ENGINE_AFFINITY_MS', 0, 0, 600_000),
    },
    workflow: {
      enabled: bool('PROVISOR_WORKFLOW', true),
      maxInstances: int('PROVISOR_WORKFLOW_MAX_INSTANCES', 5000, 1, 1_000_000),
      pollMs: int('PROVISOR_WORKFLOW_POLL_MS', 500, 10, 60_000),
      notifyUrl: httpUrl('PROVISOR_WORKFLOW_NOTIFY_URL'),
      replyTimeoutMs: int('PROVISOR_WORKFLOW_REPLY_TIMEOUT_MS', 60_000, 100, 3_600_000),
      messageKeepMs: int('PROVISOR_WORKFLOW_MESSAGE_KEEP_MS', 30_000, 0, 86_400_000),
    },
    planLimits: {
      maxNestingDepth: int('PROVISOR_PLAN_MAX_DEPTH', PLAN.maxNestingDepth, 10, 1000),
      maxParallelBranches: int('PROVISOR_PLAN_MAX_PARALLEL_BRANCHES', PLAN.maxParallelBranches, 1, 1_000_000),
      maxLoopIterations: int('PROVISOR_PLAN_MAX_ITERATIONS', PLAN.maxLoopIterations, 1, 100_000_000),
      maxActivities: int('PROVISOR_PLAN_MAX_ACTIVITIES', PLAN.maxActivities, 10, 1_000_000_000),
      maxVariableBytes: int('PROVISOR_PLAN_MAX_VARIABLE_BYTES', PLAN.maxVariableBytes, 1024, 1024 * 1024 * 1024),
      crashLoopLimit: int('PROVISOR_PLAN_CRASH_LOOP_LIMIT', 3, 1, 1000),
      retentionDays: int('PROVISOR_PLAN_RETENTION_DAYS', 90, 0, 36_500),
      pruneIntervalMs: int('PROVISOR_PLAN_PRUNE_INTERVAL_MS', 3_600_000, 1000, 7 * 86_400_000),
      pruneBatchSize,
      pruneMaxPerRun: int('PROVISOR_PLAN_PRUNE_MAX_PER_RUN', 2000, 1, 1_000_000),
    },
    workOrders: {
      automation: bool('PROVISOR_WORKORDER_AUTOMATION', true),
      pollMs: int('PROVISOR_WORKORDER_POLL_MS', 500, 10, 600_000),
      batchSize: int('PROVISOR_WORKORDER_BATCH', 100, 1, 10_000),
      restartAfterMs: int('PROVISOR_WORKORDER_RESTART_MS', 30_000, 100, 86_400_000),
      catalogFile: raw('PROVISOR_CATALOG') === undefined ? undefined : path.resolve(cwd, raw('PROVISOR_CATALOG') ?? ''),
      loadCatalogOnStart: bool('PROVISOR_CATALOG_LOAD', true),
    },
    changes: {
      enabled: bool('PROVISOR_CHANGES', true),
      pollMs: int('PROVISOR_CHANGES_POLL_MS', 1000, 10, 600_000),
      planTimeBudgetMs: int('PROVISOR_CHANGES_PLAN_BUDGET_MS', 1000, 10, 60_000),
      leaseMs: int('PROVISOR_CHANGES_LEASE_MS', 60_000, 1000, 3_600_000),
      maxPlanAttempts: int('PROVISOR_CHANGES_MAX_PLAN_ATTEMPTS', 3, 1, 100),
      statusPollInterval: ((): string => {
        const value = raw('PROVISOR_CHANGES_STATUS_POLL') ?? 'PT5S';
        if (!/^PT\d{1,5}(\.\d{1,3})?S$/.test(value)) throw new ConfigError(`PROVISOR_CHANGES_STATUS_POLL must be a duration in seconds like PT5S or PT0.5S, got "${value}"`);
        return value;
      })(),
    },
    callbacks: {
      maxAttempts: int('PROVISOR_CALLBACK_MAX_ATTEMPTS', 10, 1, 1000),
      initialBackoffMs: int('PROVISOR_CALLBACK_BACKOFF_MS', 1000, 1, 3_600_000),
      maxBackoffMs: int('PROVISOR_CALLBACK_MAX_BACKOFF_MS', 300_000, 1, 86_400_000),
      timeoutMs: int('PROVISOR_CALLBACK_TIMEOUT_MS', 10_000, 100, 600_000),
    },
    portal: {
      secureCookies: bool('PROVISOR_PORTAL_SECURE_COOKIES', false),
      idleTimeoutMs: int('PROVISOR_PORTAL_IDLE_MINUTES', 30, 1, 24 * 60) * 60_000,
      maxSessionMs: int('PROVISOR_PORTAL_SESSION_HOURS', 12, 1, 24 * 30) * 3_600_000,
    },
    login: {
      lockAfterFailures: int('PROVISOR_LOGIN_LOCK_AFTER', 10, 0, 1000),
      freeFailures: int('PROVISOR_LOGIN_FREE_FAILURES', 5, 0, 1000),
      initialDelayMs: loginDelayMs,
      maxDelayMs: loginMaxDelayMs,
      addressFreeFailures: int('PROVISOR_LOGIN_ADDRESS_FREE_FAILURES', 20, 0, 100_000),
      resetAfterMs: int('PROVISOR_LOGIN_RESET_MINUTES', 1440, 1, 525_600) * 60_000,
    },
    drivers: {
      systemsDir: path.resolve(dataDir, raw('PROVISOR_SYSTEMS_DIR') ?? 'systems'),
      hookTimeoutMs: int('PROVISOR_HOOK_TIMEOUT_MS', 600_000, 100, 86_400_000),
      simulated: { minMs, maxMs, failureRate: num('PROVISOR_SIMULATED_FAILURE_RATE', 0, 0, 1) },
      ssh: {
        connectTimeoutMs: int('PROVISOR_SSH_CONNECT_TIMEOUT_MS', 10_000, 100, 600_000),
        keepAliveMs: int('PROVISOR_SSH_KEEPALIVE_MS', 15_000, 1000, 3_600_000),
        maxChannels: int('PROVISOR_SSH_MAX_CHANNELS', 8, 2, 64),
      },
    },
    metrics: { token: metricsToken },
    mail: {
      smtpPort: smtpPort === 0 ? null : smtpPort,
      smtpHost: raw('PROVISOR_SMTP_HOST') ?? '127.0.0.1',
      intakeAddresses,
      maxMessageBytes: int('PROVISOR_SMTP_MAX_BYTES', 256 * 1024, 1024, 64 * 1024 * 1024),
      relayUrl,
      from: mailFrom.trim(),
      sendAttempts: int('PROVISOR_MAIL_SEND_ATTEMPTS', 4, 1, 100),
      sendBackoffMs: int('PROVISOR_MAIL_BACKOFF_MS', 2000, 1, 3_600_000),
    },
    outbound: {
      maxResponseBytes: int('PROVISOR_OUTBOUND_MAX_RESPONSE_BYTES', 4 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
      timeoutMs: int('PROVISOR_OUTBOUND_TIMEOUT_MS', 10_000, 100, 600_000),
      allowNetworks: networks('PROVISOR_OUTBOUND_ALLOW'),
      denyNetworks: networks('PROVISOR_OUTBOUND_DENY'),
      allowOwnPorts: bool('PROVISOR_OUTBOUND_ALLOW_OWN_PORTS', false),
      smtpMaxConnections: int('PROVISOR_SMTP_MAX_CONNECTIONS', 100, 1, 100_000),
      smtpMaxConnectionsPerAddress: int('PROVISOR_SMTP_MAX_CONNECTIONS_PER_ADDRESS', 10, 1, 100_000),
      smtpMaxSessionMs: int('PROVISOR_SMTP_MAX_SESSION_MS', 600_000, 1000, 86_400_000),
      smtpIdleTimeoutMs: int('PROVISOR_SMTP_IDLE_TIMEOUT_MS', 60_000, 1000, 3_600_000),
    },
    scheduler: {
      timeLimitMs: int('PROVISOR_SCHEDULER_TIME_LIMIT_MS', 1000, 1, 3_600_000),
      seed: int('PROVISOR_SCHEDULER_SEED', 1, 0, 0xffff_ffff),
    },
  };
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** Database kind named for /health and logs. */
export function databaseKind(config: Config): 'sqlite' | 'mysql' {
  return config.databaseUrl === undefined ? 'sqlite' : 'mysql';
}
