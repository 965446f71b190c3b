/**
 * Each policy's verdict on a plan: on the end state the plan produces (what
 * is installed where, at which version), on what shaping did while the graph
 * was built, and on the schedule (capacities, windows, unavailability).
 */
import { satisfies } from './ranges';
import type { PlannedTask, PolicyCheck } from '../change-plan';
import type { ShapingRecord } from './graph';
import type { ModelView, SystemsState } from './model-view';
import { appliesTo, type PolicyDefinition } from './policy-definition';
import type { Adapted } from './schedule-adapter';

const check = (policy: PolicyDefinition, outcome: PolicyCheck['outcome'], message: string, objects: readonly string[] = []): PolicyCheck => ({ policy: policy.name, outcome, message, objects });

/** The checks that read the end state and the shaping done (all but the schedule's). */
export function checkPlanPolicies(policies: readonly PolicyDefinition[], view: ModelView, end: SystemsState, shaped: readonly ShapingRecord[], tasks: readonly PlannedTask[]): PolicyCheck[] {
  const out: PolicyCheck[] = [];
  const scoped = (p: PolicyDefinition, system: string): boolean => appliesTo(p, { roles: view.rolesIn(end, system), cluster: view.systems.get(system)?.cluster ?? null });
  const touched = new Set(tasks.map((t) => t.system));
  for (const p of policies) {
    switch (p.kind) {
      case 'forbid-colocation': {
        const a = p.parameters.roleA ?? '';
        const b = p.parameters.roleB ?? '';
        const bad = view.model.systems.filter((s) => scoped(p, s.name) && touched.has(s.name)).filter((s) => {
          const roles = view.rolesIn(end, s.name);
          return roles.has(a) && roles.has(b);
        });
        const relevant = view.model.systems.some((s) => touched.has(s.name) && scoped(p, s.name));
        if (bad.length > 0) out.push(check(p, 'violated', `${bad.map((s) => `"${s.name}"`).join(', ')} would have both roles ${a} and ${b}`, [...bad.map((s) => s.name), a, b]));
        else out.push(check(p, relevant ? 'satisfied' : 'not-applicable', relevant ? `no changed system has both roles ${a} and ${b}` : 'the plan changes no system in its scope'));
        break;
      }
      case 'role-requirements': {
        const role = p.parameters.role ?? '';
        const missing: string[] = [];
        let any = false;
        for (const s of view.systemsWithRole(end, role)) {
          if (!scoped(p, s) || !touched.has(s)) continue;
          for (const [name, placed] of end.get(s) ?? []) {
            for (const r of view.factsOf(name, placed.version)?.requires ?? []) {
              if (r.placement.kind !== 'role') continue;
              any = true;
              const placement = r.placement;
              const met = view.systemsWithRole(end, placement.role).some((h) => {
                const there = end.get(h)?.get(r.component);
                return there !== undefined && satisfies(there.version, r.range);
              });
              if (!met) missing.push(`${s}: ${name} ${placed.version} requires ${r.component} ${r.range} on a ${placement.role}`);
            }
          }
        }
        if (missing.length > 0) out.push(check(p, 'violated', missing.join('; '), missing));
        else out.push(check(p, any ? 'satisfied' : 'not-applicable', any ? `every ${role} the plan changes has what its role requirements name` : `no ${role} the plan changes has role requirements`));
        break;
      }
      case 'require-component-range': {
        const { role = '', component = '', range = '*' } = p.parameters;
        const systems = view.systemsWithRole(end, role).filter((s) => scoped(p, s) && touched.has(s));
        const bad = systems.filter((s) => {
          const there = end.get(s)?.get(component);
          return there === undefined || !satisfies(there.version, range);
        });
        if (bad.length > 0) out.push(check(p, 'violated', `${bad.map((s) => `"${s}"`).join(', ')} (${role}) would not have ${component} ${range}`, [...bad, component]));
        else out.push(check(p, systems.length > 0 ? 'satisfied' : 'not-applicable', systems.length > 0 ? `every changed ${role} has ${component} ${range}` : `the plan changes no ${role}`));
        break;
      }
      case 'quiesce-before-upgrade':
      case 'cluster-same-version': {
        const mine = shaped.filter((s) => s.policy === p.name);
        if (mine.length > 0) {
          out.push(check(p, 'shaped', mine.map((s) => s.message).join('; '), [...new Set(mine.flatMap((s) => s.objects))]));
          break;
        }
        if (p.kind === 'cluster-same-version') out.push(sameVersion(p, view, end, touched));
        else out.push(quiesced(p, view, tasks));
        break;
      }
      default:
        break; // checked on the schedule
    }
  }
  return out;
}

function sameVersion(p: PolicyDefinition, view: ModelView, end: SystemsState, touched: ReadonlySet<string>): PolicyCheck {
  const role = p.parameters.role ?? 'app-server';
  const differing: string[] = [];
  let any = false;
  for (const [cluster, members] of view.clusters) {
    const withRole = members.filter((m) => view.rolesIn(end, m).has(role) && appliesTo(p, { roles: view.rolesIn(end, m), cluster }));
    if (!withRole.some((m) => touched.has(m))) continue;
    any = true;
    const components = new Set(withRole.flatMap((m) => [...(end.get(m)?.keys() ?? [])]));
    for (const c of components) {
      const versions = new Set(withRole.map((m) => end.get(m)?.get(c)?.version).filter((v) => v !== undefined));
      if (versions.size > 1) differing.push(`${cluster}: ${c} at ${[...versions].join(', ')}`);
    }
  }
  if (differing.length > 0) return check(p, 'violated', `members would end at different versions: ${differing.join('; ')}`, differing);
  return check(p, any ? 'satisfied' : 'not-applicable', any ? `every changed cluster's ${role} members end at the same versions` : `the plan changes no ${role} in a cluster`);
}

function quiesced(p: PolicyDefinition, view: ModelView, tasks: readonly PlannedTask[]): PolicyCheck {
  const upgraded = tasks.filter((t) => {
    const cluster = view.systems.get(t.system)?.cluster ?? null;
    const component = p.parameters.component;
    return (t.operation === 'Update' || t.operation === 'Rollback') && cluster !== null && (component === undefined || component === '' || component === t.component) && appliesTo(p, { roles: new Set(view.systems.get(t.system)?.roles ?? []), cluster });
  });
  if (upgraded.length === 0) return check(p, 'not-applicable', 'the plan upgrades nothing in a cluster');
  const plainStops = tasks.filter((t) => t.operation === 'Stop' && t.quiesce !== true && upgraded.some((u) => u.system === t.system && u.component === t.component) && quiesceCapable(view, t));
  if (plainStops.length > 0) return check(p, 'violated', `stopped without quiescing before an upgrade: ${plainStops.map((t) => t.id).join(', ')}`, plainStops.map((t) => t.id));
  return check(p, 'satisfied', 'every quiesce-capable component upgraded in a cluster is quiesced first');
}

function quiesceCapable(view: ModelView, t: PlannedTask): boolean {
  return (view.packages.get(t.component) ?? []).some((v) => v.quiesce !== null);
}

/** The checks that read the schedule: capacity, windows, cluster unavailability, max-concurrent. */
export function checkSchedulePolicies(
  policies: readonly PolicyDefinition[],
  view: ModelView,
  tasks: readonly PlannedTask[],
  starts: ReadonlyMap<string, number>,
  adapted: Adapted,
  blocks: readonly { readonly cluster: string; readonly system: string; readonly tasks: readonly string[] }[],
): PolicyCheck[] {
  const out: PolicyCheck[] = [];
  const span = (t: PlannedTask): [number, number] => [starts.get(t.id) ?? 0, (starts.get(t.id) ?? 0) + t.duration];
  for (const p of policies) {
    if (p.kind === 'system-capacity') {
      const over: string[] = [];
      for (const s of view.model.systems) {
        const on = tasks.filter((t) => t.system === s.name);
        const peak = peakOverlap(on.map(span));
        if (peak.count > s.capacity) over.push(`${s.name}: ${peak.count} tasks at ${peak.at}s, capacity ${s.capacity}`);
      }
      out.push(check(p, over.length > 0 ? 'violated' : 'satisfied', over.length > 0 ? over.join('; ') : 'no system runs more tasks at once than its capacity', over));
    } else if (p.kind === 'maintenance-windows') {
      const outside: string[] = [];
      let any = false;
      for (const t of tasks) {
        const open = adapted.open.get(t.system);
        if (open === undefined) continue;
        any = true;
        const [a, b] = span(t);
        if (!open.some((i) => i.from <= a && b <= i.to)) outside.push(t.id);
      }
      if (outside.length > 0) out.push(check(p, 'violated', `outside their systems' maintenance windows: ${outside.join(', ')}`, outside));
      else out.push(check(p, any ? 'satisfied' : 'not-applicable', any ? 'every task on a system with windows runs inside one' : 'no task is on a system with maintenance windows'));
    } else if (p.kind === 'cluster-unavailability') {
      const over: string[] = [];
      let any = false;
      for (const [cluster, capacity] of adapted.clusterCapacity) {
        const down = blocks
          .filter((b) => b.cluster === cluster)
          .map((b): [number, number] => {
            const inBlock = tasks.filter((t) => b.tasks.includes(t.id)).map(span);
            return [Math.min(...inBlock.map((s) => s[0])), Math.max(...inBlock.map((s) => s[1]))];
          });
        if (down.length === 0) continue;
        any = true;
        const peak = peakOverlap(down);
        if (peak.count > capacity) over.push(`${cluster}: ${peak.count} members down at ${peak.at}s, at most ${capacity} allowed`);
      }
      if (over.length > 0) out.push(check(p, 'violated', over.join('; '), over));
      else out.push(check(p, any ? 'satisfied' : 'not-applicable', any ? 'no cluster has more members down at once than allowed' : 'the plan takes no cluster member down'));
    } else if (p.kind === 'max-concurrent') {
      const limit = Number(p.parameters.limit);
      const over: string[] = [];
      p.scopes.forEach((scope) => {
        const inScope = tasks.filter((t) => appliesTo({ ...p, scopes: [scope] }, { roles: new Set(view.systems.get(t.system)?.roles ?? []), cluster: view.systems.get(t.system)?.cluster ?? null }));
        const peak = peakOverlap(inScope.map(span));
        if (peak.count > limit) over.push(`${JSON.stringify(scope)}: ${peak.count} tasks at ${peak.at}s`);
      });
      out.push(check(p, over.length > 0 ? 'violated' : 'shaped', over.length > 0 ? over.join('; ') : `at most ${limit} tasks at once in its scope`, over));
    }
  }
  return out;
}

/** The most intervals `[from, to)` overlapping at one time, and when. */
export function peakOverlap(spans: readonly (readonly [number, number])[]): { count: number; at: number } {
  const events = spans.flatMap(([a, b]) => (b > a ? [[a, 1] as const, [b, -1] as const] : [])).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let count = 0;
  let best = { count: 0, at: 0 };
  for (const [at, d] of events) {
    count += d;
    if (count > best.count) best = { count, at };
  }
  return best;
}
