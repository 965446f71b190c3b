/**
 * Shape checks of a request for change, before anything is planned: the
 * service calls `validateChangeRequest` on what it received and refuses a
 * request with issues (a Client fault naming each), and `planChange` calls it
 * again so that a plan is never made of a malformed request.
 */
import { CHANGE_OBJECTIVES, type ChangeRequest, type GraphFragment } from '../change-plan';
import { SOFTWARE_OPERATIONS } from '../planning-model';
import { PRECEDENCE_TYPES } from '../scheduler/model';
import { parseVersionRange, VersionRangeError } from '../../packaging/versions';
import { PLANNER_LIMITS } from './limits';

export interface RequestIssue {
  /** Where, e.g. `changes[2].target.system`. */
  readonly path: string;
  readonly message: string;
}

type Add = (path: string, message: string) => void;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkText(value: unknown, path: string, add: Add, required = true): void {
  if (value === undefined && !required) return;
  if (typeof value !== 'string' || value === '') add(path, 'must be a non-empty string');
  else if (value.length > PLANNER_LIMITS.maxTextLength) add(path, `must be at most ${PLANNER_LIMITS.maxTextLength} characters, got ${value.length}`);
}

function checkVersion(value: unknown, path: string, add: Add): void {
  if (value === undefined) return;
  checkText(value, path, add);
  if (typeof value !== 'string') return;
  try {
    parseVersionRange(value);
  } catch (err) {
    if (err instanceof VersionRangeError) add(path, err.message);
    else throw err;
  }
}

function checkParameters(value: unknown, path: string, add: Add): void {
  if (value === undefined) return;
  if (!isRecord(value)) return add(path, 'must be an object of name → text');
  const entries = Object.entries(value);
  if (entries.length > PLANNER_LIMITS.maxParameters) add(path, `must hold at most ${PLANNER_LIMITS.maxParameters} parameters, got ${entries.length}`);
  for (const [name, text] of entries.slice(0, PLANNER_LIMITS.maxParameters)) {
    if (name === '' || name.length > PLANNER_LIMITS.maxTextLength) add(`${path}`, `parameter name "${name.slice(0, 40)}" must be 1 to ${PLANNER_LIMITS.maxTextLength} characters`);
    if (typeof text !== 'string') add(`${path}.${name}`, 'must be a string');
    else if (text.length > PLANNER_LIMITS.maxTextLength) add(`${path}.${name}`, `must be at most ${PLANNER_LIMITS.maxTextLength} characters`);
  }
}

function checkOperation(value: unknown, path: string, add: Add): void {
  if (!(SOFTWARE_OPERATIONS as readonly unknown[]).includes(value)) add(path, `must be one of ${SOFTWARE_OPERATIONS.join(', ')}, got ${JSON.stringify(value)}`);
}

function checkDate(value: unknown, path: string, add: Add): void {
  if (value === undefined) return;
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) add(path, 'must be a valid date');
}

/** Checks a fragment's own shape: keys unique, precedences naming its tasks, placeholders declared. */
export function validateFragment(value: unknown, path = 'fragment'): RequestIssue[] {
  const issues: RequestIssue[] = [];
  const add: Add = (p, message) => void issues.push({ path: p, message });
  if (!isRecord(value)) return [{ path, message: 'must be an object' }];
  checkText(value.name, `${path}.name`, add);
  const declared = new Set<string>();
  if (!Array.isArray(value.parameters)) add(`${path}.parameters`, 'must be a list of names');
  else
    value.parameters.forEach((p: unknown, i) => {
      if (typeof p !== 'string' || !/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/.test(p)) add(`${path}.parameters[${i}]`, 'must be a name of letters, digits, _ and - (at most 64)');
      else declared.add(p);
    });
  const keys = new Set<string>();
  if (!Array.isArray(value.tasks) || value.tasks.length === 0) add(`${path}.tasks`, 'must be a non-empty list');
  else if (value.tasks.length > PLANNER_LIMITS.maxFragmentTasks) add(`${path}.tasks`, `must hold at most ${PLANNER_LIMITS.maxFragmentTasks} tasks, got ${value.tasks.length}`);
  else
    value.tasks.forEach((t: unknown, i) => {
      const at = `${path}.tasks[${i}]`;
      if (!isRecord(t)) return add(at, 'must be an object');
      checkText(t.key, `${at}.key`, add);
      if (typeof t.key === 'string') {
        if (keys.has(t.key)) add(`${at}.key`, `key "${t.key}" is used twice`);
        keys.add(t.key);
      }
      checkOperation(t.operation, `${at}.operation`, add);
      checkText(t.system, `${at}.system`, add);
      checkText(t.component, `${at}.component`, add);
      if (t.version !== undefined) checkText(t.version, `${at}.version`, add);
      checkParameters(t.parameters, `${at}.parameters`, add);
      const texts = [t.system, t.component, t.version, ...(isRecord(t.parameters) ? Object.values(t.parameters) : [])];
      for (const text of texts) {
        if (typeof text !== 'string') continue;
        for (const m of text.matchAll(/\$\{([^}]*)\}/g)) if (!declared.has(m[1] ?? '')) add(at, `placeholder "\${${m[1] ?? ''}}" is not a declared parameter`);
      }
    });
  if (!Array.isArray(value.precedences)) add(`${path}.precedences`, 'must be a list');
  else if (value.precedences.length > PLANNER_LIMITS.maxFragmentTasks * 4) add(`${path}.precedences`, `must hold at most ${PLANNER_LIMITS.maxFragmentTasks * 4} precedences`);
  else
    value.precedences.forEach((p: unknown, i) => {
      const at = `${path}.precedences[${i}]`;
      if (!isRecord(p)) return add(at, 'must be an object');
      if (typeof p.from !== 'string' || !keys.has(p.from)) add(`${at}.from`, `must name a task of the fragment, got ${JSON.stringify(p.from)}`);
      if (typeof p.to !== 'string' || !keys.has(p.to)) add(`${at}.to`, `must name a task of the fragment, got ${JSON.stringify(p.to)}`);
      if (p.type !== undefined && !(PRECEDENCE_TYPES as readonly unknown[]).includes(p.type)) add(`${at}.type`, `must be one of ${PRECEDENCE_TYPES.join(', ')}, got ${JSON.stringify(p.type)}`);
      if (p.lag !== undefined && (typeof p.lag !== 'number' || !Number.isSafeInteger(p.lag) || p.lag < 0 || p.lag > PLANNER_LIMITS.maxLagSeconds)) {
        add(`${at}.lag`, `must be a whole number of seconds between 0 and ${PLANNER_LIMITS.maxLagSeconds}, got ${JSON.stringify(p.lag)}`);
      }
    });
  return issues;
}

/**
 * Checks the shape of a request for change: every field of the right type
 * and in range, within the size limits. Returns the issues, empty when the
 * request may be planned. Whether the systems, components and versions it
 * names exist is the planner's question, not this one's.
 */
export function validateChangeRequest(value: unknown): RequestIssue[] {
  const issues: RequestIssue[] = [];
  const add: Add = (p, message) => void issues.push({ path: p, message });
  if (!isRecord(value)) return [{ path: 'request', message: 'must be an object' }];
  const fragments = value.fragments;
  const hasFragments = Array.isArray(fragments) && fragments.length > 0;
  if (!Array.isArray(value.changes)) add('changes', 'must be a list');
  else if (value.changes.length === 0 && !hasFragments) add('changes', 'must hold at least one change (or the request must name a fragment)');
  else if (value.changes.length > PLANNER_LIMITS.maxChanges) add('changes', `must hold at most ${PLANNER_LIMITS.maxChanges} changes, got ${value.changes.length}`);
  else
    value.changes.forEach((c: unknown, i) => {
      const at = `changes[${i}]`;
      if (!isRecord(c)) return add(at, 'must be an object');
      checkOperation(c.operation, `${at}.operation`, add);
      checkText(c.component, `${at}.component`, add);
      checkVersion(c.version, `${at}.version`, add);
      checkParameters(c.parameters, `${at}.parameters`, add);
      const target = c.target;
      if (!isRecord(target)) return add(`${at}.target`, 'must be an object with kind system, role or cluster');
      if (target.kind === 'system') checkText(target.system, `${at}.target.system`, add);
      else if (target.kind === 'role') checkText(target.role, `${at}.target.role`, add);
      else if (target.kind === 'cluster') checkText(target.cluster, `${at}.target.cluster`, add);
      else add(`${at}.target.kind`, `must be system, role or cluster, got ${JSON.stringify(target.kind)}`);
    });
  checkDate(value.earliestStart, 'earliestStart', add);
  checkDate(value.deadline, 'deadline', add);
  if (value.earliestStart instanceof Date && value.deadline instanceof Date && value.deadline.getTime() <= value.earliestStart.getTime()) {
    add('deadline', 'must be later than earliestStart');
  }
  const share = value.maxUnavailableShare;
  if (share !== undefined && (typeof share !== 'number' || !(share > 0 && share <= 1))) add('maxUnavailableShare', `must be a number with 0 < share ≤ 1, got ${JSON.stringify(share)}`);
  if (value.priority !== undefined && (typeof value.priority !== 'number' || !Number.isSafeInteger(value.priority))) add('priority', 'must be a whole number');
  if (value.dryRun !== undefined && typeof value.dryRun !== 'boolean') add('dryRun', 'must be true or false');
  if (value.objective !== undefined && !(CHANGE_OBJECTIVES as readonly unknown[]).includes(value.objective)) add('objective', `must be one of ${CHANGE_OBJECTIVES.join(', ')}, got ${JSON.stringify(value.objective)}`);
  if (fragments !== undefined) {
    if (!Array.isArray(fragments)) add('fragments', 'must be a list');
    else if (fragments.length > PLANNER_LIMITS.maxChanges) add('fragments', `must hold at most ${PLANNER_LIMITS.maxChanges} fragments, got ${fragments.length}`);
    else
      fragments.forEach((use: unknown, i) => {
        const at = `fragments[${i}]`;
        if (!isRecord(use)) return add(at, 'must be an object with fragment and arguments');
        issues.push(...validateFragment(use.fragment, `${at}.fragment`));
        if (!isRecord(use.arguments)) add(`${at}.arguments`, 'must be an object of parameter → value');
        else checkParameters(use.arguments, `${at}.arguments`, add);
      });
  }
  return issues;
}

/** True when `value` is a ChangeRequest of a valid shape. */
export function isValidChangeRequest(value: unknown): value is ChangeRequest {
  return validateChangeRequest(value).length === 0;
}

/** True when `value` is a GraphFragment of a valid shape. */
export function isValidFragment(value: unknown): value is GraphFragment {
  return validateFragment(value).length === 0;
}
