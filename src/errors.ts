/**
 * The catalogue of Provisor's error codes. Every fault a client can receive is
 * listed here with its fault class (a caller's mistake or the server's) and
 * HTTP status; `docs/faults.md` documents the same list and a test keeps the
 * two in step.
 */
export const ERROR_CATALOGUE = {
  MalformedXml: { sender: true, http: 400, summary: 'The request is not well-formed XML or not a SOAP envelope.' },
  DtdForbidden: { sender: true, http: 400, summary: 'The request carries a DTD, entity declaration or processing instruction.' },
  BodyTooLarge: { sender: true, http: 413, summary: 'The request body is over the configured limit.' },
  BodyTimeout: { sender: true, http: 408, summary: 'The request body did not arrive in time.' },
  UnsupportedMediaType: { sender: true, http: 415, summary: 'The content type or content encoding is not a SOAP one.' },
  VersionMismatch: { sender: true, http: 400, summary: 'The envelope namespace is neither SOAP 1.1 nor SOAP 1.2.' },
  MustUnderstand: { sender: true, http: 400, summary: 'A header marked mustUnderstand is not one Provisor processes.' },
  UnknownOperation: { sender: true, http: 400, summary: 'The body element names no operation of this service.' },
  MissingField: { sender: true, http: 400, summary: 'A required request field is absent or empty.' },
  InvalidField: { sender: true, http: 400, summary: 'A request field has the wrong type, format or value, or is not part of the request.' },
  AuthenticationFailed: { sender: true, http: 401, summary: 'No WS-Security UsernameToken, a malformed one (e.g. a Nonce that is not canonical base64), an unknown or disabled user, or a wrong password.' },
  LoginThrottled: { sender: true, http: 429, summary: 'Too many failed log-ins for this user name or from this address: the attempt was not checked; the reason says when to try again.' },
  AccountLocked: { sender: true, http: 403, summary: 'The account is locked after too many failed log-ins; every log-in is refused until an administrator unlocks it.' },
  TokenExpired: { sender: true, http: 401, summary: 'The token\'s Created time is outside the accepted window.' },
  NonceReplayed: { sender: true, http: 401, summary: 'The token\'s Nonce was already seen within the window.' },
  Forbidden: { sender: true, http: 403, summary: 'The caller\'s role does not allow the operation.' },
  UnknownSystem: { sender: true, http: 400, summary: 'The named managed system is not registered.' },
  UnknownPackage: { sender: true, http: 400, summary: 'No package repository holds the named component (and version).' },
  PathOutsideRoot: { sender: true, http: 400, summary: 'A path escapes the managed system\'s root.' },
  UnknownRequest: { sender: true, http: 400, summary: 'No provisioning request has this id.' },
  InvalidProcess: { sender: true, http: 400, summary: 'The WS-BPEL process (or a document it imports) is invalid; the reason lists each problem with its line.' },
  UnknownProcess: { sender: true, http: 400, summary: 'No process of this name is deployed.' },
  UnknownInstance: { sender: true, http: 400, summary: 'No process instance has this id.' },
  NoMatchingInstance: { sender: true, http: 400, summary: 'A message sent to a process endpoint carries correlation values no running instance holds, and such messages are not kept; the reason names the correlation set.' },
  UnknownWorkOrderType: { sender: true, http: 400, summary: 'No work-order type of this name exists for the caller\'s permission level.' },
  InvalidParameter: { sender: true, http: 400, summary: 'A work-order parameter is missing, unknown, of the wrong type or out of range; the reason names each one.' },
  UnknownWorkOrder: { sender: true, http: 400, summary: 'No work order with this id exists in the caller\'s account.' },
  InvalidState: { sender: true, http: 409, summary: 'The work order\'s or change\'s state does not allow the action; the reason names the state.' },
  UnknownChange: { sender: true, http: 400, summary: 'No change request has this id.' },
  UnknownPolicy: { sender: true, http: 400, summary: 'No change policy has this name.' },
  PolicyExists: { sender: true, http: 409, summary: 'A change policy of this name exists already.' },
  IdempotencyConflict: { sender: true, http: 400, summary: 'The idempotency key or MessageID was used before for a different request.' },
  DestinationDenied: { sender: true, http: 400, summary: 'A callback or partner address is one the outbound policy refuses; the reason names the address and the rule.' },
  ProcessFaulted: { sender: false, http: 500, summary: 'The process instance started by this call faulted before it replied.' },
  ReplyTimeout: { sender: false, http: 504, summary: 'The process instance started by this call did not reply in time (it goes on running).' },
  Unavailable: { sender: false, http: 503, summary: 'The database or another dependency is unavailable; retry later.' },
  Internal: { sender: false, http: 500, summary: 'An unexpected server error; the log has the details.' },
} as const satisfies Record<string, { sender: boolean; http: number; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/**
 * An error meant for the caller: it becomes a SOAP Fault (or an HTTP error)
 * with its code, message and, when it concerns a request field, the field.
 */
export class ProvisorError extends Error {
  override readonly name = 'ProvisorError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
  /** True when the caller is at fault (SOAP 1.1 Client / SOAP 1.2 Sender). */
  get sender(): boolean {
    return ERROR_CATALOGUE[this.code].sender;
  }
  get httpStatus(): number {
    return ERROR_CATALOGUE[this.code].http;
  }
}

/** One problem with one named parameter of a request. */
export interface ParameterProblem {
  /** The parameter's name as submitted. */
  readonly parameter: string;
  readonly message: string;
}

/**
 * A request whose parameters are wrong: every problem, the first one's name as
 * the field. The SOAP fault lists the problems (an `InvalidParameter` fault).
 */
export class InvalidParametersError extends ProvisorError {
  constructor(readonly problems: readonly ParameterProblem[]) {
    super('InvalidParameter', problems.map((p) => `${p.parameter}: ${p.message}`).join('; '), problems[0]?.parameter);
  }
}

export function isProvisorError(err: unknown): err is ProvisorError {
  return err instanceof ProvisorError;
}

/** The longest piece of a caller's input that a fault quotes. */
export const MAX_QUOTED_INPUT = 200;

/**
 * A caller's input as a fault (or a log line) may quote it: at most `max`
 * characters, and when cut, an ellipsis and the original length, so a
 * 500,000-character name comes back as a short reason that still says what
 * was sent.
 */
export function clipInput(text: string, max: number = MAX_QUOTED_INPUT): string {
  if (text.length <= max) return text;
  // Do not cut a surrogate pair in two.
  const end = (text.charCodeAt(max - 1) & 0xfc00) === 0xd800 ? max - 1 : max;
  return `${text.slice(0, end)}… (${text.length} characters)`;
}
