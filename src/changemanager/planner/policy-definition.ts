/**
 * Operational policies: named rules every plan is checked against. Built-in
 * ones are always present under fixed names (an admin may re-scope or
 * re-parameterise one by defining a policy of the same name); admins add
 * their own of the kinds below. A policy either shapes the plan (adds or
 * converts tasks) or, when it cannot, rejects the request naming itself and
 * the objects involved.
 */

/** Where a policy applies: every system, the systems of a role, or the members of a cluster. */
export type PolicyScope = { readonly kind: 'all' } | { readonly kind: 'role'; readonly role: string } | { readonly kind: 'cluster'; readonly cluster: string };

/** The kinds of policy, each with the parameters it reads. */
export const POLICY_KINDS = [
  /** Two roles never on one system. Parameters `roleA`, `roleB`. Rejects. */
  'forbid-colocation',
  /** Every role-placed requirement of a component on a system of `role` is met at the end. Parameter `role`. Rejects. */
  'role-requirements',
  /** Every system of `role` ends with `component` at a version in `range`. Parameters `role`, `component`, `range`. Rejects. */
  'require-component-range',
  /** A quiesce-capable component is drained before it is upgraded. Parameter `component` (optional: any). Shapes. */
  'quiesce-before-upgrade',
  /** Every member of a cluster with `role` ends with the same version of each component. Parameter `role`. Shapes (upgrades the others). */
  'cluster-same-version',
  /** No system runs more tasks at once than its capacity. Checked on the schedule. */
  'system-capacity',
  /** Tasks on a system with maintenance windows run inside them. Checked on the schedule. */
  'maintenance-windows',
  /** No more members of a cluster down at once than the request allows. Checked on the schedule. */
  'cluster-unavailability',
  /** At most `limit` tasks at once on the systems of the scope (each role or cluster of the scope counted apart). Parameter `limit`. Shapes the schedule. */
  'max-concurrent',
] as const;
export type PolicyKind = (typeof POLICY_KINDS)[number];

export interface PolicyDefinition {
  readonly name: string;
  readonly kind: PolicyKind;
  readonly parameters: Readonly<Record<string, string>>;
  /** Where it applies; empty: nowhere (disabled). */
  readonly scopes: readonly PolicyScope[];
  readonly description?: string;
}

const ALL: readonly PolicyScope[] = [{ kind: 'all' }];

/** The built-in policies, always present. */
export const BUILT_IN_POLICIES: readonly PolicyDefinition[] = [
  {
    name: 'separate-app-and-db',
    kind: 'forbid-colocation',
    parameters: { roleA: 'app-server', roleB: 'db-server' },
    scopes: ALL,
    description: 'An application server is never on the same system as a database server.',
  },
  {
    name: 'app-server-requires-db-version',
    kind: 'role-requirements',
    parameters: { role: 'app-server' },
    scopes: ALL,
    description: 'The database version an application server requires (its manifest’s role requirements) is present.',
  },
  {
    name: 'quiesce-before-upgrade',
    kind: 'quiesce-before-upgrade',
    parameters: {},
    scopes: ALL,
    description: 'A quiesce-capable component in a cluster is quiesced (drained) before it is upgraded.',
  },
  {
    name: 'cluster-same-version',
    kind: 'cluster-same-version',
    parameters: { role: 'app-server' },
    scopes: ALL,
    description: 'All application servers of a cluster end at the same version: upgrading one upgrades the others.',
  },
  { name: 'system-capacity', kind: 'system-capacity', parameters: {}, scopes: ALL, description: 'No system runs more tasks at once than its capacity.' },
  { name: 'maintenance-windows', kind: 'maintenance-windows', parameters: {}, scopes: ALL, description: 'Tasks run inside their system’s maintenance windows.' },
  { name: 'cluster-unavailability', kind: 'cluster-unavailability', parameters: {}, scopes: ALL, description: 'No more members of a cluster are down at once than the request allows.' },
];

/** What each kind requires among its parameters. */
const REQUIRED_PARAMETERS: Readonly<Record<PolicyKind, readonly string[]>> = {
  'forbid-colocation': ['roleA', 'roleB'],
  'role-requirements': ['role'],
  'require-component-range': ['role', 'component', 'range'],
  'quiesce-before-upgrade': [],
  'cluster-same-version': ['role'],
  'system-capacity': [],
  'maintenance-windows': [],
  'cluster-unavailability': [],
  'max-concurrent': ['limit'],
};

/** Problems of an admin's policy definition (empty when usable), each naming the field. */
export function validatePolicy(value: unknown): string[] {
  const out: string[] = [];
  if (typeof value !== 'object' || value === null) return ['policy: must be an object'];
  const p = value as Partial<Record<keyof PolicyDefinition, unknown>>;
  if (typeof p.name !== 'string' || !/^[a-z0-9][a-z0-9-]{0,63}$/.test(p.name)) out.push('name: must be 1 to 64 lower-case letters, digits and -');
  if (!(POLICY_KINDS as readonly unknown[]).includes(p.kind)) out.push(`kind: must be one of ${POLICY_KINDS.join(', ')}, got ${JSON.stringify(p.kind)}`);
  const params = p.parameters;
  if (typeof params !== 'object' || params === null || Array.isArray(params)) out.push('parameters: must be an object of name → text');
  else {
    for (const [k, v] of Object.entries(params)) if (typeof v !== 'string' || v.length > 256) out.push(`parameters.${k}: must be text of at most 256 characters`);
    if ((POLICY_KINDS as readonly unknown[]).includes(p.kind)) {
      for (const needed of REQUIRED_PARAMETERS[p.kind as PolicyKind]) if (typeof (params as Record<string, unknown>)[needed] !== 'string' || (params as Record<string, string>)[needed] === '') out.push(`parameters.${needed}: required by kind ${String(p.kind)}`);
      if (p.kind === 'max-concurrent') {
        const limit = Number((params as Record<string, unknown>).limit);
        if (!Number.isSafeInteger(limit) || limit < 1) out.push('parameters.limit: must be a whole number ≥ 1');
      }
    }
  }
  if (!Array.isArray(p.scopes)) out.push('scopes: must be a list of { kind: all | role | cluster }');
  else
    p.scopes.forEach((s: unknown, i) => {
      const scope = s as { kind?: unknown; role?: unknown; cluster?: unknown } | null;
      const ok = scope !== null && typeof scope === 'object' && (scope.kind === 'all' || (scope.kind === 'role' && typeof scope.role === 'string' && scope.role !== '') || (scope.kind === 'cluster' && typeof scope.cluster === 'string' && scope.cluster !== ''));
      if (!ok) out.push(`scopes[${i}]: must be { kind: all }, { kind: role, role } or { kind: cluster, cluster }`);
    });
  return out;
}

/**
 * The policies in force: the built-ins, each replaced by a given definition
 * of the same name, then the others given, in order. Throws naming the
 * first invalid definition.
 */
export function policiesInForce(given: readonly PolicyDefinition[]): PolicyDefinition[] {
  const byName = new Map<string, PolicyDefinition>();
  for (const p of given) {
    const problems = validatePolicy(p);
    if (problems.length > 0) throw new InvalidPolicyError(String((p as { name?: unknown }).name), problems);
    byName.set(p.name, p);
  }
  const out: PolicyDefinition[] = BUILT_IN_POLICIES.map((b) => byName.get(b.name) ?? b);
  for (const p of given) if (!BUILT_IN_POLICIES.some((b) => b.name === p.name)) out.push(p);
  return out;
}

export class InvalidPolicyError extends Error {
  override readonly name = 'InvalidPolicyError';
  constructor(
    readonly policy: string,
    readonly problems: readonly string[],
  ) {
    super(`policy "${policy}": ${problems.join('; ')}`);
  }
}

/** The facts of a system a scope looks at. */
export interface ScopedSystem {
  readonly roles: ReadonlySet<string>;
  readonly cluster: string | null;
}

/** True when the policy applies to the system. */
export function appliesTo(policy: PolicyDefinition, system: ScopedSystem): boolean {
  return policy.scopes.some((s) => s.kind === 'all' || (s.kind === 'role' && system.roles.has(s.role)) || (s.kind === 'cluster' && system.cluster === s.cluster));
}
