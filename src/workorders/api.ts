/**
 * The work-order API: the one door every intake channel (SOAP, the HTML
 * portal, e-mail) and the admin tools go through, so each channel creates
 * the same row and obeys the same rules.
 */
import type { IntakeChannel, WorkOrderState } from '../../entities';
import type { Principal } from '../auth/principal';

export const PARAMETER_TYPES = ['xsd:string', 'xsd:int', 'xsd:long', 'xsd:boolean', 'xsd:decimal', 'xsd:duration', 'xsd:dateTime'] as const;
export type ParameterType = (typeof PARAMETER_TYPES)[number];

/** One parameter of a work-order type, as the catalog declares it; enough to build a screen from. */
export interface ParameterDefinition {
  readonly name: string;
  /** What forms call the field ("Size (GiB)"); absent: the name, spelt out. */
  readonly label?: string;
  readonly type: ParameterType;
  readonly required: boolean;
  /** The only values accepted, when set. */
  readonly allowed?: readonly string[];
  /** Inclusive bounds for the numeric types. */
  readonly min?: number;
  readonly max?: number;
  /** A regular expression the whole value must match (strings). */
  readonly pattern?: string;
  readonly maxLength?: number;
  /** Used when an optional parameter is left out. */
  readonly default?: string;
  readonly help: string;
}

export interface WorkOrderTypeView {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly minLevel: number;
  /** A decimal string in major units, e.g. "25.00". */
  readonly price: string;
  readonly currency: string;
  /** Orders of this type wait for an admin. */
  readonly manual: boolean;
  readonly parameters: readonly ParameterDefinition[];
}

export interface ParameterInput {
  readonly name: string;
  readonly value: string;
}

export type { ParameterProblem } from '../errors';

export interface SubmitRequest {
  readonly type: string;
  readonly parameters: readonly ParameterInput[];
  readonly channel: IntakeChannel;
  /** A retried submission with the same key (per customer) returns the first order. */
  readonly idempotencyKey?: string;
}

export interface HistoryEntry {
  readonly at: Date;
  readonly fromState: WorkOrderState | null;
  readonly toState: WorkOrderState;
  /** A user name, or `automation`. */
  readonly actor: string;
  readonly reason: string | null;
}

export interface WorkOrderView {
  readonly workOrderId: number;
  readonly type: string;
  readonly state: WorkOrderState;
  readonly customerId: number;
  readonly customer: string;
  readonly accountId: number;
  readonly account: string;
  readonly channel: IntakeChannel;
  readonly manual: boolean;
  /** Normalised values in the type's parameter order, defaults filled in. */
  readonly parameters: readonly ParameterInput[];
  readonly attempt: number;
  readonly processInstanceId: string | null;
  /** Why it failed, or how it was closed. */
  readonly outcome: string | null;
  readonly failedActivity: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly closedAt: Date | null;
  readonly history: readonly HistoryEntry[];
  /** The billable event, once closed. */
  readonly billing: { readonly amount: string; readonly currency: string; readonly at: Date } | null;
}

export interface WorkOrderFilter {
  readonly state?: WorkOrderState;
  /** Only the orders left for manual processing (true), or only the others (false). */
  readonly manual?: boolean;
  /** Admins only: one account's orders. */
  readonly account?: string;
  readonly offset?: number;
  /** 1–1000, default 50. */
  readonly limit?: number;
}

export interface WorkOrderPage {
  /** Newest first; `history` is left empty here (GetWorkOrder has it). */
  readonly orders: readonly WorkOrderView[];
  readonly total: number;
  readonly offset: number;
  readonly limit: number;
}

/**
 * Admin actions, each with a reason that is recorded with who did it:
 * - process: start the plan of a NEW (or manual) order now;
 * - retry: start a FAILED order's plan again;
 * - close: close by hand (bills it);
 * - fail: fail by hand;
 * - hold: leave a NEW order for manual processing.
 */
export const ADMIN_ACTIONS = ['process', 'retry', 'close', 'fail', 'hold'] as const;
export type AdminAction = (typeof ADMIN_ACTIONS)[number];

/** What the notifier hears when an order ends. */
export interface OrderOutcome {
  readonly order: WorkOrderView;
  /** The customer's address, when one is registered. */
  readonly email: string | null;
}

export interface WorkOrders {
  /** The active types the caller's level allows (admins: all). */
  listTypes(caller: Principal): Promise<WorkOrderTypeView[]>;
  /** One type; UnknownWorkOrderType when it does not exist or the caller's level does not allow it. */
  getType(caller: Principal, name: string): Promise<WorkOrderTypeView>;
  /** Checks every parameter and creates the NEW order; InvalidParameter lists every problem. */
  submit(caller: Principal, request: SubmitRequest): Promise<{ workOrderId: number }>;
  /** UnknownWorkOrder when it does not exist or belongs to another account. */
  get(caller: Principal, workOrderId: number): Promise<WorkOrderView>;
  list(caller: Principal, filter: WorkOrderFilter): Promise<WorkOrderPage>;
  /** Admins only. InvalidState when the order's state does not allow the action. */
  act(caller: Principal, workOrderId: number, action: AdminAction, reason: string): Promise<WorkOrderView>;
  /** Admins only: billable events created in [from, to) as CSV with a header line. */
  exportBilling(caller: Principal, from: Date, to: Date): Promise<string>;
  /** Called after an order is CLOSED or FAILED (after the commit); a listener's failure is logged, never thrown. */
  onOutcome(listener: (outcome: OrderOutcome) => void | Promise<void>): void;
}

/** A submission whose parameters are wrong (the error lives with the fault layer's errors). */
export { InvalidParametersError } from '../errors';
