/**
 * The workflow engine as the rest of Provisor sees it: a thin facade over
 * its parts, each with one job and built here from its dependencies:
 * - `definitions.ts`: deploy, versions, digests, lookup and compilation;
 * - `instances.ts`: start, reply, status, list, cancel, resume;
 * - `runner.ts`: claim, the fence on every write, run, resume after a crash, crash-loop suspension;
 * - `retention.ts`: pruning finished instances.
 */
import type { DataSource } from 'typeorm';
import type { InstanceStatus } from '../../entities';
import type { Process } from '../bpel/model';
import type { VariableValue } from '../bpel/values';
import type { Clock } from '../clock';
import type { LeaseKeeper } from '../leases/keeper';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import { ProcessDefinitions, type DeployRequest, type PartnerAccess } from './definitions';
import { ProcessInstances, type InstanceView } from './instances';
import type { WorkflowObserver } from './interpreter';
import type { PartnerInvokers } from './partners';
import { InstancePruner } from './retention';
import { MessageBox, type StoredReply } from './message-box';
import { InstanceRunner, type WorkflowSettings } from './runner';
import type { WsdlCatalog } from './wsdl-catalog';

/** Instance statuses, declared and documented with the entity. */
export type { InstanceStatus } from '../../entities';
export type { QName } from '../bpel/model';
export type { DeployRequest, PartnerAccess } from './definitions';
export { WorkflowError } from './errors';
export type { InstanceView } from './instances';
export type { WorkflowSettings } from './runner';

/**
 * Deploys WS-BPEL processes and runs their instances durably. Instances are
 * rows claimed under this process's node lease, like provisioning requests
 * and work orders, and every write of an instance is fenced by it: several
 * processes sharing one MySQL database never run one instance in two
 * places, and a crashed process's instances are resumed by whoever claims
 * them next.
 */
export class WorkflowRuntime {
  private readonly processes: ProcessDefinitions;
  private readonly instances: ProcessInstances;
  private readonly runner: InstanceRunner;
  private readonly messages: MessageBox;
  /** The retention job (runs with the runner; `pruneOnce` runs one pass at once). */
  readonly pruner: InstancePruner;

  constructor(
    dataSource: DataSource,
    /** Reaches the partners each instance invokes. */
    invokers: PartnerInvokers,
    wsdlDir: string,
    settings: WorkflowSettings,
    clock: Clock,
    /** This process's node lease (src/leases/keeper.ts): the runner's instances are its own while it holds. */
    lease: LeaseKeeper,
    log: Logger,
    observer: WorkflowObserver,
    partners: PartnerAccess,
    /** Filled with instance id → process name for the instances this process runs (the notifier reads it). */
    processNames: Map<string, string> = new Map(),
    metrics?: Metrics,
  ) {
    this.processes = new ProcessDefinitions(dataSource, wsdlDir, settings.planLimits, partners, clock, log);
    this.messages = new MessageBox(dataSource, clock, { keepMs: settings.messageKeepMs ?? 30_000, pollMs: settings.pollMs }, log.child({ part: 'messages' }));
    this.runner = new InstanceRunner(dataSource, this.processes, invokers, settings, clock, lease, log, observer, processNames, this.messages, metrics);
    this.instances = new ProcessInstances(dataSource, this.processes, this.runner, clock, log, observer, this.messages.signals);
    this.pruner = new InstancePruner(dataSource, settings.planLimits, clock, log.child({ job: 'retention' }));
  }

  /** The lease owner this process's runner writes into the instances it runs. */
  get owner(): string {
    return this.runner.owner;
  }

  // ---- definitions --------------------------------------------------------

  /** Parses, resolves and validates a process, then stores it as the next version of its name. */
  deploy(request: DeployRequest): Promise<{ name: string; version: number }> {
    return this.processes.deploy(request);
  }

  /** The latest version of a deployed process, compiled, or undefined when none has this name. */
  describe(name: string): Promise<{ process: Process; catalog: WsdlCatalog; documents: ReadonlyMap<string, string> } | undefined> {
    return this.processes.describe(name);
  }

  /** The names of the deployed processes (any version). */
  deployedNames(): Promise<Set<string>> {
    return this.processes.names();
  }

  /** Every deployed version, by name then version. */
  definitions(): Promise<Array<{ name: string; version: number; deployedAt: Date }>> {
    return this.processes.list();
  }

  // ---- instances ----------------------------------------------------------

  /** Creates an instance of the latest version of a process; returns its id (the first one's, when `idempotencyKey` was used before). */
  start(processName: string, input: VariableValue | undefined, startedBy: string, idempotencyKey?: string, operation?: string): Promise<string> {
    return this.instances.start(processName, input, startedBy, idempotencyKey, operation);
  }

  /** Starts an instance for a message of one of several start activities, or names the running instance holding its values (ProcessInstances.startJoining). */
  startJoining(...args: Parameters<ProcessInstances['startJoining']>): ReturnType<ProcessInstances['startJoining']> {
    return this.instances.startJoining(...args);
  }

  /**
   * Stores a message for the running instance holding its correlation
   * values (or for one to come, within the keep time), committed before
   * this returns. `operation` is `partnerLink/operation`.
   *
   * @throws WorkflowError `NoMatchingInstance` when no instance holds the values and such messages are not kept
   */
  deliver(message: Parameters<MessageBox['deliver']>[0]): Promise<{ readonly id: number; readonly held: boolean }> {
    return this.messages.deliver(message);
  }

  /** Whether a running instance of the process holds these correlation values. */
  async holdsCorrelation(processName: string, correlationKey: string): Promise<boolean> {
    return this.messages.holds(processName, correlationKey);
  }

  /** Waits for the instance's reply to a delivered message, for its end, or for the timeout. */
  awaitMessageReply(id: number, timeoutMs: number): Promise<{ status: 'REPLIED'; reply: StoredReply } | { status: 'ENDED'; message: string } | { status: 'TIMEOUT' }> {
    return this.messages.awaitReply(id, timeoutMs);
  }

  /** Waits for an instance's `reply`, for its end, or for the timeout. */
  awaitReply(instanceId: string, timeoutMs: number): ReturnType<ProcessInstances['awaitReply']> {
    return this.instances.awaitReply(instanceId, timeoutMs);
  }

  /** The instance and its activities (all, or the page asked for). */
  status(instanceId: string, page?: { readonly offset: number; readonly limit: number }, options?: { readonly includeVariables?: boolean }): Promise<InstanceView> {
    return this.instances.status(instanceId, page, options);
  }

  list(filter: { processName?: string; status?: InstanceStatus; limit?: number } = {}): ReturnType<ProcessInstances['list']> {
    return this.instances.list(filter);
  }

  /** Asks a running instance to stop (and compensate its completed scopes when asked). Returns the status afterwards. */
  cancel(instanceId: string, compensate: boolean): Promise<InstanceStatus> {
    return this.instances.cancel(instanceId, compensate);
  }

  /** Lets a SUSPENDED instance run again. Returns the status afterwards. */
  resume(instanceId: string): Promise<InstanceStatus> {
    return this.instances.resume(instanceId);
  }

  // ---- the runner ---------------------------------------------------------

  startRunner(): void {
    this.runner.start();
    this.pruner.start();
  }

  /** Stops claiming instances and stops running ones (they stay RUNNING and are resumed later). */
  async stopRunner(): Promise<void> {
    const halted = this.runner.stop();
    await this.pruner.stopJob();
    await halted;
  }

  wake(): void {
    this.runner.wake();
  }

  /** Number of instances this process is executing now. */
  get activeCount(): number {
    return this.runner.activeCount;
  }
}
