/**
 * The policies admins define (`change_policy`) and the saved graph fragments
 * (`change_fragment`): stored, listed, removed. What a policy kind means and
 * which parameters it takes is the planner's; this module keeps the rows and
 * their limits.
 */
import type { DataSource } from 'typeorm';
import { execute, fromSqlDate, isUniqueViolation, toSqlDate } from '../db/sql';
import { clipInput, ProvisorError } from '../errors';

export const POLICY_SCOPE_KINDS = ['role', 'cluster'] as const;
export type PolicyScopeKind = (typeof POLICY_SCOPE_KINDS)[number];

/** Where a policy applies: the systems of a role, or the members of a cluster. */
export interface PolicyScope {
  readonly kind: PolicyScopeKind;
  readonly name: string;
}

/** A policy as an admin defined it. No scopes: everywhere. */
export interface StoredPolicy {
  readonly name: string;
  readonly kind: string;
  readonly parameters: Readonly<Record<string, string>>;
  readonly scopes: readonly PolicyScope[];
  readonly enabled: boolean;
  readonly createdBy: string;
  readonly createdAt: Date;
}

export type NewPolicy = Omit<StoredPolicy, 'createdAt' | 'createdBy'>;

/** A saved graph fragment; `definition` is the planner's fragment shape. */
export interface StoredFragment {
  readonly name: string;
  readonly description: string | null;
  readonly definition: unknown;
  readonly createdBy: string;
  readonly createdAt: Date;
}

export const POLICY_LIMITS = { maxPolicies: 1000, maxParameters: 50, maxScopes: 50, maxNameLength: 100, maxValueLength: 1000, maxFragments: 1000, maxFragmentBytes: 60_000 } as const;

const NAME = /^[A-Za-z][A-Za-z0-9._-]*$/;

function checkName(value: string, field: string): void {
  if (value.length === 0) throw new ProvisorError('MissingField', `${field} must not be empty`, field);
  if (value.length > POLICY_LIMITS.maxNameLength || !NAME.test(value)) {
    throw new ProvisorError('InvalidField', `${field} "${clipInput(value)}" must be 1 to ${POLICY_LIMITS.maxNameLength} letters, digits, '.', '_' or '-', starting with a letter`, field);
  }
}

/** Throws a ProvisorError naming the field when a policy breaks a limit. */
export function checkPolicyShape(policy: NewPolicy): void {
  checkName(policy.name, 'name');
  checkName(policy.kind, 'kind');
  const parameters = Object.entries(policy.parameters);
  if (parameters.length > POLICY_LIMITS.maxParameters) throw new ProvisorError('InvalidField', `parameters has ${parameters.length} entries, more than the ${POLICY_LIMITS.maxParameters} allowed`, 'parameters');
  for (const [name, value] of parameters) {
    if (name.length === 0 || name.length > POLICY_LIMITS.maxNameLength) throw new ProvisorError('InvalidField', `parameters: a name has ${name.length} characters (1 to ${POLICY_LIMITS.maxNameLength})`, 'parameters');
    if (value.length > POLICY_LIMITS.maxValueLength) throw new ProvisorError('InvalidField', `parameters: "${clipInput(name)}" has ${value.length} characters, more than the ${POLICY_LIMITS.maxValueLength} allowed`, 'parameters');
  }
  if (policy.scopes.length > POLICY_LIMITS.maxScopes) throw new ProvisorError('InvalidField', `scopes has ${policy.scopes.length} entries, more than the ${POLICY_LIMITS.maxScopes} allowed`, 'scopes');
  for (const scope of policy.scopes) {
    if (!(POLICY_SCOPE_KINDS as readonly string[]).includes(scope.kind)) throw new ProvisorError('InvalidField', `a scope's kind must be role or cluster, got "${clipInput(scope.kind)}"`, 'scopes');
    if (scope.name.length === 0 || scope.name.length > 200) throw new ProvisorError('InvalidField', `a ${scope.kind} scope needs a name of 1 to 200 characters`, 'scopes');
  }
}

type Row = Record<string, unknown>;

function policyOf(row: Row): StoredPolicy {
  return {
    name: String(row.name),
    kind: String(row.kind),
    parameters: JSON.parse(String(row.parameters)) as Record<string, string>,
    scopes: JSON.parse(String(row.scopes)) as PolicyScope[],
    enabled: Number(row.enabled) === 1 || row.enabled === true,
    createdBy: String(row.createdBy),
    createdAt: fromSqlDate(row.createdAt) ?? new Date(0),
  };
}

export class PolicyStore {
  constructor(private readonly dataSource: DataSource) {}

  /** Adds a policy; a name already taken is refused (PolicyExists). */
  async add(policy: NewPolicy, createdBy: string, now: Date): Promise<StoredPolicy> {
    checkPolicyShape(policy);
    const [count] = (await this.dataSource.query('SELECT COUNT(*) AS n FROM change_policy')) as Row[];
    if (Number(count?.n ?? 0) >= POLICY_LIMITS.maxPolicies) throw new ProvisorError('InvalidField', `there are already ${POLICY_LIMITS.maxPolicies} policies, the most allowed: remove one first`, 'name');
    try {
      await execute(this.dataSource, 'INSERT INTO change_policy (name, kind, parameters, scopes, enabled, createdBy, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
        policy.name,
        policy.kind,
        JSON.stringify(policy.parameters),
        JSON.stringify(policy.scopes),
        policy.enabled ? 1 : 0,
        createdBy,
        toSqlDate(now),
        toSqlDate(now),
      ]);
    } catch (err) {
      if (isUniqueViolation(err)) throw new ProvisorError('PolicyExists', `a policy named "${policy.name}" exists already (remove it first to replace it)`, 'name');
      throw err;
    }
    return { ...policy, createdBy, createdAt: now };
  }

  async list(): Promise<StoredPolicy[]> {
    const rows = (await this.dataSource.query('SELECT name, kind, parameters, scopes, enabled, createdBy, createdAt FROM change_policy ORDER BY name')) as Row[];
    return rows.map(policyOf);
  }

  /** Removes a policy; UnknownPolicy when none has the name. */
  async remove(name: string): Promise<void> {
    const removed = await execute(this.dataSource, 'DELETE FROM change_policy WHERE name = ?', [name]);
    if (removed === 0) throw new ProvisorError('UnknownPolicy', `there is no policy named "${clipInput(name)}"`, 'name');
  }

  /** Saves (or replaces) a fragment by name. */
  async saveFragment(name: string, description: string | null, definition: unknown, createdBy: string, now: Date): Promise<void> {
    checkName(name, 'name');
    const text = JSON.stringify(definition);
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > POLICY_LIMITS.maxFragmentBytes) throw new ProvisorError('InvalidField', `the fragment is ${bytes} bytes, more than the ${POLICY_LIMITS.maxFragmentBytes} allowed`, 'definition');
    const updated = await execute(this.dataSource, 'UPDATE change_fragment SET description = ?, definition = ?, updatedAt = ? WHERE name = ?', [description, text, toSqlDate(now), name]);
    if (updated === 1) return;
    const [count] = (await this.dataSource.query('SELECT COUNT(*) AS n FROM change_fragment')) as Row[];
    if (Number(count?.n ?? 0) >= POLICY_LIMITS.maxFragments) throw new ProvisorError('InvalidField', `there are already ${POLICY_LIMITS.maxFragments} fragments, the most allowed`, 'name');
    await execute(this.dataSource, 'INSERT INTO change_fragment (name, description, definition, createdBy, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?, ?)', [name, description, text, createdBy, toSqlDate(now), toSqlDate(now)]);
  }

  async fragments(): Promise<StoredFragment[]> {
    const rows = (await this.dataSource.query('SELECT name, description, definition, createdBy, createdAt FROM change_fragment ORDER BY name')) as Row[];
    return rows.map((row) => ({
      name: String(row.name),
      description: row.description === null || row.description === undefined ? null : String(row.description),
      definition: JSON.parse(String(row.definition)) as unknown,
      createdBy: String(row.createdBy),
      createdAt: fromSqlDate(row.createdAt) ?? new Date(0),
    }));
  }
}
