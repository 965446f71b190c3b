import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics of one app instance (its own registry, so tests can build several). */
export class Metrics {
  readonly registry = new Registry();
  readonly soapRequests = new Counter({
    name: 'provisor_soap_requests_total',
    help: 'SOAP requests by service, operation and outcome (ok or the fault code).',
    labelNames: ['service', 'operation', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly soapDuration = new Histogram({
    name: 'provisor_soap_request_duration_seconds',
    help: 'Time from the first byte of a SOAP request to its response.',
    labelNames: ['service'] as const,
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'provisor_queue_depth',
    help: 'Provisioning requests by status (QUEUED, IN_PROGRESS), read at scrape time.',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  readonly taskDuration = new Histogram({
    name: 'provisor_task_duration_seconds',
    help: 'Duration of provisioning tasks performed by this process, by operation and outcome.',
    labelNames: ['operation', 'outcome'] as const,
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800],
    registers: [this.registry],
  });
  readonly loginFailures = new Counter({
    name: 'provisor_login_failures_total',
    help: 'Failed log-ins (unknown user, disabled user or wrong password) by channel (soap, portal).',
    labelNames: ['channel'] as const,
    registers: [this.registry],
  });
  readonly loginRefusals = new Counter({
    name: 'provisor_login_throttled_total',
    help: 'Log-in attempts refused unchecked, by channel and reason (user: the name must wait; address: the client address must wait; locked: the account is locked).',
    labelNames: ['channel', 'reason'] as const,
    registers: [this.registry],
  });
  readonly loginLockouts = new Counter({
    name: 'provisor_login_lockouts_total',
    help: 'Accounts locked after too many failed log-ins, by the channel of the last one.',
    labelNames: ['channel'] as const,
    registers: [this.registry],
  });
  readonly workflowSuspended = new Counter({
    name: 'provisor_workflow_instances_suspended_total',
    help: 'Process instances suspended because their server died while running them too many times in a row.',
    registers: [this.registry],
  });
  readonly connectionsRefused = new Counter({
    name: 'provisor_http_connections_refused_total',
    help: 'HTTP connections closed as they were accepted, by the cap they were over (total: all addresses; address: one client address).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly tasksRunning = new Gauge({
    name: 'provisor_engine_tasks_running',
    help: 'Tasks this process is performing now.',
    registers: [this.registry],
  });
}
