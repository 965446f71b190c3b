/**
 * The limits a request for change must keep, checked the same way whichever
 * door it came in by (SOAP, the CLI, a file), and its stored form: JSON with
 * dates as ISO text, and a digest that tells a retried submission from a
 * different one under the same idempotency key.
 */
import crypto from 'node:crypto';
import { clipInput, ProvisorError } from '../errors';
import { parseVersionRange, VersionRangeError } from '../packaging/versions';
import { CHANGE_OBJECTIVES, type ChangeRequest, type ChangeTarget, type DesiredChange } from './change-plan';
import { SOFTWARE_OPERATIONS } from './planning-model';

export const CHANGE_LIMITS = {
  /** Desired changes in one request. */
  maxChanges: 200,
  /** Saved fragments one request instantiates. */
  maxFragments: 20,
  /** Parameters of one desired change. */
  maxParameters: 50,
  /** A component, system, role, cluster or parameter name. */
  maxNameLength: 200,
  maxVersionLength: 256,
  maxParameterValueLength: 4096,
  /** The stored request (JSON, UTF-8); the whole must fit a TEXT column. */
  maxRequestBytes: 60_000,
  minPriority: -1000,
  maxPriority: 1000,
  /** Dates outside these years are refused (a typo, not a plan). */
  minYear: 2000,
  maxYear: 9999,
} as const;

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@+:-]*$/;

function invalid(field: string, message: string): ProvisorError {
  return new ProvisorError('InvalidField', `${field} ${message}`, field);
}

function checkName(value: string, field: string): void {
  if (value.length === 0) throw new ProvisorError('MissingField', `${field} must not be empty`, field);
  if (value.length > CHANGE_LIMITS.maxNameLength) throw invalid(field, `has ${value.length} characters, more than the ${CHANGE_LIMITS.maxNameLength} allowed`);
  if (!NAME_PATTERN.test(value)) throw invalid(field, `"${clipInput(value)}" is not a name (letters, digits and . _ @ + : -, starting with a letter or digit)`);
}

function checkDate(value: Date, field: string): void {
  const year = value.getUTCFullYear();
  if (Number.isNaN(value.getTime()) || year < CHANGE_LIMITS.minYear || year > CHANGE_LIMITS.maxYear) {
    throw invalid(field, `must be a date between the years ${CHANGE_LIMITS.minYear} and ${CHANGE_LIMITS.maxYear}`);
  }
}

function checkTarget(target: ChangeTarget, field: string): void {
  switch (target.kind) {
    case 'system':
      return checkName(target.system, `${field}/system`);
    case 'role':
      return checkName(target.role, `${field}/role`);
    case 'cluster':
      return checkName(target.cluster, `${field}/cluster`);
  }
}

function checkChange(change: DesiredChange, field: string): void {
  if (!(SOFTWARE_OPERATIONS as readonly string[]).includes(change.operation)) throw invalid(`${field}/operation`, `"${clipInput(change.operation)}" is not one of ${SOFTWARE_OPERATIONS.join(', ')}`);
  checkName(change.component, `${field}/component`);
  if (change.version !== undefined) {
    if (change.version.length === 0 || change.version.length > CHANGE_LIMITS.maxVersionLength) throw invalid(`${field}/version`, `must have 1 to ${CHANGE_LIMITS.maxVersionLength} characters`);
    try {
      parseVersionRange(change.version);
    } catch (err) {
      if (err instanceof VersionRangeError) throw invalid(`${field}/version`, `"${clipInput(change.version)}" is neither a version nor a version range: ${err.message}`);
      throw err;
    }
  }
  const parameters = Object.entries(change.parameters ?? {});
  if (parameters.length > CHANGE_LIMITS.maxParameters) throw invalid(`${field}/parameters`, `has ${parameters.length} parameters, more than the ${CHANGE_LIMITS.maxParameters} allowed`);
  for (const [name, value] of parameters) {
    if (name.length === 0 || name.length > CHANGE_LIMITS.maxNameLength) throw invalid(`${field}/parameters`, `has a parameter name of ${name.length} characters (1 to ${CHANGE_LIMITS.maxNameLength})`);
    if (value.length > CHANGE_LIMITS.maxParameterValueLength) throw invalid(`${field}/parameters`, `parameter "${clipInput(name)}" has ${value.length} characters, more than the ${CHANGE_LIMITS.maxParameterValueLength} allowed`);
  }
  checkTarget(change.target, `${field}/target`);
}

/**
 * Throws a ProvisorError naming the field when the request breaks a limit or
 * a rule that needs no model to check (what refers to the model — systems,
 * components, versions — is the planner's to judge).
 */
export function checkChangeRequest(request: ChangeRequest): void {
  if (request.changes.length === 0 && (request.fragments ?? []).length === 0) throw new ProvisorError('MissingField', 'changes must hold at least one change (or the request must name a fragment)', 'changes');
  if ((request.fragments ?? []).length > CHANGE_LIMITS.maxFragments) throw invalid('fragments', `names ${(request.fragments ?? []).length} fragments, more than the ${CHANGE_LIMITS.maxFragments} allowed`);
  if (request.changes.length > CHANGE_LIMITS.maxChanges) throw invalid('changes', `has ${request.changes.length} changes, more than the ${CHANGE_LIMITS.maxChanges} allowed`);
  request.changes.forEach((change, i) => checkChange(change, `changes/change[${i + 1}]`));
  if (request.earliestStart !== undefined) checkDate(request.earliestStart, 'earliestStart');
  if (request.deadline !== undefined) {
    checkDate(request.deadline, 'deadline');
    if (request.earliestStart !== undefined && request.deadline.getTime() <= request.earliestStart.getTime()) {
      throw invalid('deadline', `${request.deadline.toISOString()} is not after earliestStart ${request.earliestStart.toISOString()}`);
    }
  }
  const share = request.maxUnavailableShare;
  if (share !== undefined && !(Number.isFinite(share) && share > 0 && share <= 1)) throw invalid('maxUnavailableShare', `must be more than 0 and at most 1, got ${share}`);
  const priority = request.priority;
  if (priority !== undefined && !(Number.isInteger(priority) && priority >= CHANGE_LIMITS.minPriority && priority <= CHANGE_LIMITS.maxPriority)) {
    throw invalid('priority', `must be a whole number from ${CHANGE_LIMITS.minPriority} to ${CHANGE_LIMITS.maxPriority}, got ${priority}`);
  }
  if (request.objective !== undefined && !(CHANGE_OBJECTIVES as readonly string[]).includes(request.objective)) throw invalid('objective', `must be one of ${CHANGE_OBJECTIVES.join(', ')}`);
  if (request.objective === 'lateness' && request.deadline === undefined) throw new ProvisorError('MissingField', 'objective lateness needs a deadline', 'deadline');
}

/** The stored form: JSON, dates as ISO text, keys in a fixed order (so that equal requests have equal digests). */
export function encodeChangeRequest(request: ChangeRequest): string {
  const text = JSON.stringify({
    changes: request.changes.map((c) => ({
      operation: c.operation,
      component: c.component,
      version: c.version,
      parameters: c.parameters === undefined ? undefined : Object.fromEntries(Object.entries(c.parameters)),
      target: c.target,
    })),
    earliestStart: request.earliestStart?.toISOString(),
    deadline: request.deadline?.toISOString(),
    maxUnavailableShare: request.maxUnavailableShare,
    priority: request.priority,
    dryRun: request.dryRun,
    objective: request.objective,
    fragments: request.fragments,
  });
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > CHANGE_LIMITS.maxRequestBytes) throw invalid('changes', `make a request of ${bytes} bytes, more than the ${CHANGE_LIMITS.maxRequestBytes} allowed: split it into several requests`);
  return text;
}

interface StoredRequest {
  changes: DesiredChange[];
  earliestStart?: string;
  deadline?: string;
  maxUnavailableShare?: number;
  priority?: number;
  dryRun?: boolean;
  objective?: ChangeRequest['objective'];
  fragments?: ChangeRequest['fragments'];
}

/** The request back from its stored form. */
export function decodeChangeRequest(text: string): ChangeRequest {
  const stored = JSON.parse(text) as StoredRequest;
  return {
    changes: stored.changes,
    earliestStart: stored.earliestStart === undefined ? undefined : new Date(stored.earliestStart),
    deadline: stored.deadline === undefined ? undefined : new Date(stored.deadline),
    maxUnavailableShare: stored.maxUnavailableShare,
    priority: stored.priority,
    dryRun: stored.dryRun,
    objective: stored.objective,
    fragments: stored.fragments,
  };
}

export function requestDigest(encoded: string): string {
  return crypto.createHash('sha256').update(encoded).digest('hex');
}
