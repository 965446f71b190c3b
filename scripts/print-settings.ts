/**
 * Prints the settings as the Markdown table of docs/operations.md
 * ("Settings"): every variable `loadConfig` reads, its default and accepted
 * values as it checks them, and what it is for. A test compares the table
 * in the docs with this output.
 */
import { describeSettings } from '../src/config';

/** What each setting is for; settings of one family share the family's line below. */
const MEANINGS: Readonly<Record<string, string>> = {
  PROVISOR_CONFIG: 'a JSON file of settings (keys are these names); the environment wins over it',
  HOST: 'the address the HTTP server binds (default 127.0.0.1; 0.0.0.0 for every interface)',
  PORT: 'the HTTP port of SOAP, the portal, /health and /metrics (default 8080)',
  DATABASE_URL: 'mysql://user:pass@host:3306/db (or mariadb://) for MySQL/MariaDB; absent: SQLite under the data folder',
  PROVISOR_DATA_DIR: 'the data folder: SQLite file, managed systems, secret key, demo repository (default data/)',
  LOG_LEVEL: 'error, warn, info (default) or debug; JSON lines on standard output',
  PROVISOR_SECRET_KEY_FILE: 'file of the key sealing the copies of passwords PasswordDigest needs (created on first start)',
  PROVISOR_SECRET_KEY: 'the same key given directly, instead of the file',
  PROVISOR_METRICS_TOKEN: 'when set, GET /metrics needs Authorization: Bearer with it',
  PROVISOR_SYSTEMS_DIR: 'where local systems\' roots are created (default data/systems)',
  PROVISOR_HOOK_TIMEOUT_MS: 'longest a package hook may run',
  PROVISOR_CATALOG: 'the work-order catalog file (default scripts/catalog/storage.json)',
  PROVISOR_CATALOG_LOAD: 'load the catalog at start',
  PROVISOR_SMTP_PORT: 'port of the SMTP intake of work orders (off when unset)',
  PROVISOR_SMTP_HOST: 'address the SMTP intake binds',
  PROVISOR_SMTP_ADDRESS: 'the intake\'s addresses (comma-separated)',
  PROVISOR_MAIL_RELAY: 'smtp:// relay for replies and notifications',
  PROVISOR_MAIL_FROM: 'sender address of Provisor\'s mails',
  PROVISOR_WORKFLOW_NOTIFY_URL: 'the change manager endpoint that receives workflow status reports',
  PROVISOR_PORTAL_SECURE_COOKIES: 'mark portal cookies Secure (behind HTTPS)',
};

const FAMILIES: ReadonlyArray<readonly [string, string]> = [
  ['PROVISOR_SIMULATED_', 'the simulated driver\'s task durations and failure rate'],
  ['PROVISOR_LOGIN_', 'log-in throttling and lockout (Security)'],
  ['PROVISOR_PLAN_', 'plan limits and retention (Security)'],
  ['PROVISOR_XML_', 'SOAP parser limits (Security)'],
  ['PROVISOR_HTTP_', 'HTTP connection caps and accept handles (Security)'],
  ['PROVISOR_TOKEN_', 'WS-Security token age and clock skew'],
  ['PROVISOR_MAX_BODY_BYTES', 'largest SOAP request body'],
  ['PROVISOR_BODY_TIMEOUT_MS', 'longest a request body may take to arrive'],
  ['PROVISOR_ENGINE', 'the deployment engine: on/off, workers, affinity (Leases and recovery)'],
  ['PROVISOR_NODE_LEASE_MS', 'how long a process\'s node lease lasts without renewal; the requests, instances and work orders it claimed are recovered or adopted by others after it (Node leases)'],
  ['PROVISOR_POLL_MS', 'how often the deployment engine looks for queued requests'],
  ['PROVISOR_WORKFLOW_MESSAGE_KEEP_MS', 'how long a message no running instance holds the correlation values of is kept for one to come; 0 refuses it (NoMatchingInstance)'],
  ['PROVISOR_WORKFLOW', 'the workflow runner: on/off, instances, polling, reply wait'],
  ['PROVISOR_WORKORDER_', 'the work-order automation: on/off, polling, batch, restart'],
  ['PROVISOR_CHANGES', 'the change manager: on/off, polling, planning budget, leases'],
  ['PROVISOR_CALLBACK_', 'RequestCompleted callback delivery (Callbacks)'],
  ['PROVISOR_PORTAL_', 'portal sessions'],
  ['PROVISOR_SMTP_', 'SMTP intake limits (Outbound calls and SMTP limits)'],
  ['PROVISOR_SSH_', 'the ssh driver\'s connections: connect timeout, keep-alive, channels per host (Remote systems over SSH)'],
  ['PROVISOR_MAIL_', 'outgoing mail retries'],
  ['PROVISOR_OUTBOUND_', 'outbound call policy and limits (Outbound calls and SMTP limits)'],
  ['PROVISOR_SCHEDULER_', 'the change manager\'s scheduler'],
];

/** The table's rows: setting, default, accepted values, meaning. */
export function settingsRows(): string[][] {
  const settings = [{ name: 'PROVISOR_CONFIG', accepted: 'path of a JSON file' }, ...describeSettings()];
  return settings.map((s) => [
    `\`${s.name}\``,
    s.default === undefined ? '' : `\`${s.default}\``,
    s.accepted ?? '',
    MEANINGS[s.name] ?? FAMILIES.find(([prefix]) => s.name.startsWith(prefix))?.[1] ?? '',
  ]);
}

export function settingsTable(): string {
  return ['| setting | default | accepted | for |', '|---|---|---|---|', ...settingsRows().map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

if (require.main === module) console.log(settingsTable());
