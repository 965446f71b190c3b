import type { RequestStatus } from '../../entities';
import type { Parameter, SoftwareOperation, TaskOperation } from '../drivers/driver';

/** Who submits: idempotency keys are scoped to this name. */
export interface Caller {
  readonly name: string;
}

/** Fields common to every task submission. */
export interface Submission {
  /** Explicit key; wins over the WS-Addressing MessageID. */
  readonly idempotencyKey?: string;
  /** The WS-Addressing MessageID of the call, if any. */
  readonly messageId?: string;
  /** Where to send RequestCompleted. */
  readonly callback?: string;
}

export interface SoftwareSubmission extends Submission {
  readonly system: string;
  readonly component: string;
  readonly version?: string;
  readonly parameters: readonly Parameter[];
}

export interface CopySubmission extends Submission {
  readonly sourceSystem?: string;
  readonly sourcePath: string;
  readonly targetSystem: string;
  readonly targetPath: string;
}

export interface DeleteSubmission extends Submission {
  readonly system: string;
  readonly path: string;
}

/** A queued software task and the version it will use. */
export interface SubmittedSoftware {
  readonly requestId: string;
  readonly version: string | null;
}

/** Which requests {@link ProvisioningApi.listRequests} returns. */
export interface RequestFilter {
  readonly system?: string;
  readonly status?: RequestStatus;
  /** 1 to {@link MAX_REQUEST_LIST}. */
  readonly limit: number;
}

/** The most requests one list returns. */
export const MAX_REQUEST_LIST = 500;

export interface RequestView {
  readonly requestId: string;
  readonly operation: TaskOperation;
  readonly system: string;
  readonly component: string | null;
  readonly version: string | null;
  readonly status: RequestStatus;
  readonly message: string | null;
  readonly output: string | null;
  readonly submittedBy: string;
  readonly submittedAt: Date;
  readonly startTime: Date | null;
  readonly endTime: Date | null;
  /** Elapsed so far while running, total once ended, null while queued. */
  readonly milliseconds: number | null;
}

export interface ComponentView {
  readonly name: string;
  readonly version: string;
  readonly state: 'INSTALLED' | 'CONFIGURED' | 'RUNNING' | 'STOPPED';
  readonly previousVersion: string | null;
  readonly updatedAt: Date;
}

/** A request running in this process, followed until it ends (see ProvisioningApi.whileRunningHere). */
export interface RunningRequest {
  holds(): boolean;
  changed(ms: number): Promise<void>;
}

/**
 * The provisioning API: the one door used by the SOAP wrappers and by the
 * in-process workflow engine. Task submissions are non-blocking: they return
 * the requestId once the request is durable; the deployment engine performs
 * the task afterwards. Errors are ProvisorErrors naming the field at fault.
 */
export interface ProvisioningApi {
  submitSoftware(operation: SoftwareOperation, submission: SoftwareSubmission, caller: Caller): Promise<string>;
  /** As {@link submitSoftware}, also saying which exact version the request uses (null when the driver does not resolve versions). */
  submitSoftwareRequest(operation: SoftwareOperation, submission: SoftwareSubmission, caller: Caller): Promise<SubmittedSoftware>;
  copy(submission: CopySubmission, caller: Caller): Promise<string>;
  delete(submission: DeleteSubmission, caller: Caller): Promise<string>;
  /** The request; with `waitMs`, not before it has ended or that time has passed (a long poll). */
  getRequest(requestId: string, waitMs?: number): Promise<RequestView>;
  /**
   * While this process performs the request, how long its status stands:
   * `holds()` is true until the request ends here, and `changed(ms)`
   * resolves at its end (or after `ms`). Undefined when the request does not
   * run here, since its status may then change without this process
   * knowing.
   */
  whileRunningHere?(requestId: string): RunningRequest | undefined;
  /** The latest requests, newest first (at most `limit`), of one system and in one status when given. */
  listRequests(filter: RequestFilter): Promise<RequestView[]>;
  /** Cancels a queued request or aborts a running one; returns the status afterwards. */
  cancel(requestId: string, caller: Caller): Promise<RequestStatus>;
  listInstalled(system: string): Promise<ComponentView[]>;
}
