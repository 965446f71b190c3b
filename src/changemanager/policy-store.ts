/**
 * The policies admins define (`change_policy`) and the saved graph fragments
 * (`change_fragment`): stored, listed, removed. What a policy kind means and
 * which parameters it takes is the planner's; this module keeps the rows and
 * their limits.
 */
import type { DataSource } from 'typeorm';
import { execute, fromSqlDate, isUniqueViolation, toSqlDate } from '../db/sql';
import { clipInput, ProvisorError } from '../errors';
import type { GraphFragment } from './change-plan';
import { validateFragment } from './planner/validate-request';
import { validatePolicy, type PolicyDefinition } from './planner/policy-definition';
import { CHANGE_SQL } from './sql';

/** A policy as an admin defined it, with who added it and whether it is in force. */
export interface StoredPolicy extends PolicyDefinition {
  readonly enabled: boolean;
  readonly createdBy: string;
  readonly createdAt: Date;
}

export type NewPolicy = PolicyDefinition & { readonly enabled: boolean };

/** A saved graph fragment, as requests name it. */
export interface StoredFragment {
  readonly fragment: GraphFragment;
  readonly createdBy: string;
  readonly createdAt: Date;
}

export const POLICY_LIMITS = { maxPolicies: 1000, maxParameters: 50, maxScopes: 50, maxFragments: 1000, maxFragmentBytes: 60_000 } as const;

/** Throws a ProvisorError naming the field when a policy is not one the planner can apply or breaks a limit. */
export function checkPolicyShape(policy: NewPolicy): void {
  if (Object.keys(policy.parameters).length > POLICY_LIMITS.maxParameters) throw new ProvisorError('InvalidField', `parameters has ${Object.keys(policy.parameters).length} entries, more than the ${POLICY_LIMITS.maxParameters} allowed`, 'parameters');
  if (policy.scopes.length > POLICY_LIMITS.maxScopes) throw new ProvisorError('InvalidField', `scopes has ${policy.scopes.length} entries, more than the ${POLICY_LIMITS.maxScopes} allowed`, 'scopes');
  for (const scope of policy.scopes) {
    const name = scope.kind === 'role' ? scope.role : scope.kind === 'cluster' ? scope.cluster : '';
    if (name.length > 200) throw new ProvisorError('InvalidField', `a ${scope.kind} scope has a name of ${name.length} characters, more than 200`, 'scopes');
  }
  const problems = validatePolicy(policy);
  if (problems.length > 0) {
    const first = problems[0] ?? '';
    throw new ProvisorError('InvalidField', `policy "${clipInput(String(policy.name))}": ${problems.map((p) => clipInput(p, 300)).join('; ')}`, first.slice(0, first.indexOf(':')).replace(/[.[].*$/, '') || 'policy');
  }
}

type Row = Record<string, unknown>;

function policyOf(row: Row): StoredPolicy {
  return {
    name: String(row.name),
    kind: String(row.kind) as PolicyDefinition['kind'],
    parameters: JSON.parse(String(row.parameters)) as Record<string, string>,
    scopes: JSON.parse(String(row.scopes)) as PolicyDefinition['scopes'],
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
    const [count] = (await this.dataSource.query(CHANGE_SQL.countPolicies)) as Row[];
    if (Number(count?.n ?? 0) >= POLICY_LIMITS.maxPolicies) throw new ProvisorError('InvalidField', `there are already ${POLICY_LIMITS.maxPolicies} policies, the most allowed: remove one first`, 'name');
    try {
      await execute(this.dataSource, CHANGE_SQL.insertPolicy, [
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
    const rows = (await this.dataSource.query(CHANGE_SQL.listPolicies)) as Row[];
    return rows.map(policyOf);
  }

  /** Removes a policy; UnknownPolicy when none has the name. */
  async remove(name: string): Promise<void> {
    const removed = await execute(this.dataSource, CHANGE_SQL.deletePolicy, [name]);
    if (removed === 0) throw new ProvisorError('UnknownPolicy', `there is no policy named "${clipInput(name)}"`, 'name');
  }

  /** Saves (or replaces) a fragment by its name; InvalidField naming the problem when the planner could not use it. */
  async saveFragment(fragment: GraphFragment, createdBy: string, now: Date): Promise<void> {
    const issues = validateFragment(fragment);
    if (issues.length > 0) throw new ProvisorError('InvalidField', `the fragment is not usable: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues[0]?.path);
    const text = JSON.stringify(fragment);
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > POLICY_LIMITS.maxFragmentBytes) throw new ProvisorError('InvalidField', `the fragment is ${bytes} bytes, more than the ${POLICY_LIMITS.maxFragmentBytes} allowed`, 'fragment');
    const updated = await execute(this.dataSource, CHANGE_SQL.updateFragment, [fragment.description ?? null, text, toSqlDate(now), fragment.name]);
    if (updated === 1) return;
    const [count] = (await this.dataSource.query(CHANGE_SQL.countFragments)) as Row[];
    if (Number(count?.n ?? 0) >= POLICY_LIMITS.maxFragments) throw new ProvisorError('InvalidField', `there are already ${POLICY_LIMITS.maxFragments} fragments, the most allowed`, 'fragment');
    await execute(this.dataSource, CHANGE_SQL.insertFragment, [fragment.name, fragment.description ?? null, text, createdBy, toSqlDate(now), toSqlDate(now)]);
  }

  /** A saved fragment by name, or undefined. */
  async fragment(name: string): Promise<StoredFragment | undefined> {
    const rows = (await this.dataSource.query(CHANGE_SQL.fragmentByName, [name])) as Row[];
    const row = rows[0];
    if (row === undefined) return undefined;
    return { fragment: JSON.parse(String(row.definition)) as GraphFragment, createdBy: String(row.createdBy), createdAt: fromSqlDate(row.createdAt) ?? new Date(0) };
  }

  async fragments(): Promise<StoredFragment[]> {
    const rows = (await this.dataSource.query(CHANGE_SQL.listFragments)) as Row[];
    return rows.map((row) => ({ fragment: JSON.parse(String(row.definition)) as GraphFragment, createdBy: String(row.createdBy), createdAt: fromSqlDate(row.createdAt) ?? new Date(0) }));
  }
}
