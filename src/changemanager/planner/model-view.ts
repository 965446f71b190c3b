/**
 * The planning model, indexed, and the state of the systems as a plan would
 * leave them: what the task graph builder and the policy checks read.
 */
import type { ComponentState } from '../../../entities/installed-component';
import { compareVersions } from '../../packaging/versions';
import type { PackageVersionFacts, PlanningModel, SystemFacts } from '../planning-model';

/** A component on a system, in some state of the plan. */
export interface Placed {
  readonly version: string;
  readonly state: ComponentState;
  readonly parameters: Readonly<Record<string, string>>;
}

/** What is on each system: system → component → placement. */
export type SystemsState = Map<string, Map<string, Placed>>;

export class ModelView {
  readonly systems = new Map<string, SystemFacts>();
  /** Versions of each package, highest first. */
  readonly packages = new Map<string, PackageVersionFacts[]>();
  private readonly facts = new Map<string, PackageVersionFacts>();
  readonly clusters = new Map<string, string[]>();
  /** Roles per system, per state: reading them is frequent, changing a state rare (`forget` after each change). */
  private readonly roleCache = new WeakMap<SystemsState, Map<string, ReadonlySet<string>>>();

  constructor(readonly model: PlanningModel) {
    for (const s of model.systems) {
      this.systems.set(s.name, s);
      if (s.cluster !== null) this.clusters.set(s.cluster, [...(this.clusters.get(s.cluster) ?? []), s.name]);
    }
    for (const p of model.packages) {
      this.facts.set(`${p.name}@${p.version}`, p);
      this.packages.set(p.name, [...(this.packages.get(p.name) ?? []), p]);
    }
    for (const list of this.packages.values()) list.sort((a, b) => compareVersions(b.version, a.version));
  }

  factsOf(component: string, version: string): PackageVersionFacts | undefined {
    return this.facts.get(`${component}@${version}`);
  }

  /** The state the snapshot records. */
  initialState(): SystemsState {
    const state: SystemsState = new Map();
    for (const s of this.model.systems) state.set(s.name, new Map());
    for (const i of this.model.installed) {
      let on = state.get(i.system);
      if (on === undefined) state.set(i.system, (on = new Map()));
      on.set(i.component, { version: i.version, state: i.state, parameters: i.parameters });
    }
    return state;
  }

  /** The roles a system has in a state: declared, and provided by what is installed on it. */
  rolesIn(state: SystemsState, system: string): ReadonlySet<string> {
    let cache = this.roleCache.get(state);
    if (cache === undefined) this.roleCache.set(state, (cache = new Map()));
    let roles = cache.get(system);
    if (roles === undefined) {
      const found = new Set(this.systems.get(system)?.roles ?? []);
      for (const [component, placed] of state.get(system) ?? []) for (const r of this.factsOf(component, placed.version)?.provides ?? []) found.add(r);
      cache.set(system, (roles = found));
    }
    return roles;
  }

  /** Call after changing what is on `system` in `state`. */
  forget(state: SystemsState, system: string): void {
    this.roleCache.get(state)?.delete(system);
  }

  /** Systems that have the role in a state, in model order. */
  systemsWithRole(state: SystemsState, role: string): string[] {
    return this.model.systems.filter((s) => this.rolesIn(state, s.name).has(role)).map((s) => s.name);
  }
}

export function copyState(state: SystemsState): SystemsState {
  return new Map([...state].map(([system, on]) => [system, new Map(on)]));
}
