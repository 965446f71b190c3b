/**
 * The task graph builder: expands a request for change into elementary
 * provisioning tasks linked by precedences, from the planning model.
 *
 * 1. Each desired change is resolved on its target systems (a system, every
 *    system of a role, every member of a cluster) into actions, at concrete
 *    versions; shaping policies may add actions (cluster-same-version).
 * 2. The actions are applied to the state of the systems, giving the end
 *    state the plan produces.
 * 3. Each action becomes a chain of tasks (Install → InitialConfigure →
 *    Start; Stop → Update → Start, with dependents stopped before and
 *    started after); actions on the same component of a system run in the
 *    request's order.
 * 4. Requirements of what is installed or updated are met: by the end state
 *    (ordered after the task that brings it there), or by installing the
 *    missing component first, transitively, at the highest version every
 *    range on that system allows; otherwise the request is rejected.
 * 5. The end state is checked: every requirement that held before (or of a
 *    component the plan touches) holds after, no conflict is placed.
 */
import { highestSatisfying } from '../../packaging/versions';
import { satisfies } from './ranges';
import type { DesiredChange, PlannedPrecedence, PlannedTask, TaskReason } from '../change-plan';
import type { PackageVersionFacts, SoftwareOperation } from '../planning-model';
import type { PrecedenceType } from '../scheduler/model';
import { PLANNER_LIMITS } from './limits';
import { copyState, type ModelView, type Placed, type SystemsState } from './model-view';
import { appliesTo, type PolicyDefinition } from './policy-definition';
import { PlanRejection } from './rejection';

/** Estimated duration in seconds of an operation a manifest gives none for. */
export const DEFAULT_DURATIONS: Readonly<Record<SoftwareOperation, number>> = {
  Install: 120,
  Uninstall: 60,
  Update: 120,
  Rollback: 120,
  InitialConfigure: 30,
  Configure: 30,
  Start: 20,
  Stop: 20,
};

/** A change resolved on one system. */
export interface Action {
  readonly operation: SoftwareOperation;
  readonly system: string;
  readonly component: string;
  /** Install, Update, Rollback: the version it brings. */
  readonly version?: string;
  readonly parameters?: Readonly<Record<string, string>>;
  readonly reason: TaskReason;
  readonly policy?: string;
  /** Where it came from: `changes[2]`, `fragments[0].upgrade`, a policy name. */
  readonly origin: string;
}

/** A precedence asked for between two actions (by origin), from a fragment. */
export interface ActionPrecedence {
  readonly from: string;
  readonly to: string;
  readonly type: PrecedenceType;
  readonly lag: number;
}

/** The tasks of a cluster member that keep it down: from the first one's start to the last one's finish, contiguous. */
export interface MemberDownBlock {
  readonly cluster: string;
  readonly system: string;
  readonly tasks: readonly string[];
}

/** What a policy did while the graph was built. */
export interface ShapingRecord {
  readonly policy: string;
  readonly message: string;
  readonly objects: readonly string[];
}

export interface TaskGraph {
  readonly tasks: PlannedTask[];
  readonly precedences: PlannedPrecedence[];
  readonly blocks: MemberDownBlock[];
  readonly initial: SystemsState;
  readonly end: SystemsState;
  readonly shaped: ShapingRecord[];
}

interface Draft {
  id: string;
  operation: SoftwareOperation;
  system: string;
  component: string;
  version?: string;
  parameters?: Readonly<Record<string, string>>;
  duration: number;
  reason: TaskReason;
  policy?: string;
  quiesce?: boolean;
  undo: PlannedTask['undo'];
}

/** The tasks one action became. */
interface Chain {
  readonly action: Action;
  /** The task that performs the action itself. */
  readonly main: string;
  readonly first: string;
  readonly last: string;
}

const key = (system: string, component: string): string => `${system}\u0000${component}`;

export class GraphBuilder {
  private readonly tasks = new Map<string, Draft>();
  private readonly precedences: PlannedPrecedence[] = [];
  private readonly precedenceKeys = new Set<string>();
  private readonly blocks: MemberDownBlock[] = [];
  private readonly shaped: ShapingRecord[] = [];
  private readonly initial: SystemsState;
  private end: SystemsState;
  /** The last task of the plan on each (system, component): after it, the component is as the end state says. */
  private readonly lastOf = new Map<string, string>();
  /** Stop and Start tasks of dependents, shared between the changes that need them. */
  private readonly dependentStop = new Map<string, string>();
  private readonly dependentStart = new Map<string, string>();
  /** Stop and Start of components the plan updates or rolls back, which also serve when they are dependents. */
  private readonly ownStopStart = new Map<string, { stop: string; start: string }>();
  /** Updates and rollbacks, whose dependents are stopped around them once every chain is built. */
  private readonly changed: Array<{ system: string; component: string; operation: SoftwareOperation; first: string; last: string; cluster: string | null }> = [];

  constructor(
    private readonly view: ModelView,
    private readonly policies: readonly PolicyDefinition[],
  ) {
    this.initial = view.initialState();
    this.end = copyState(this.initial);
  }

  build(changes: readonly { readonly origin: string; readonly change: DesiredChange }[], explicit: readonly ActionPrecedence[]): TaskGraph {
    let actions = changes.flatMap(({ origin, change }) => this.resolve(origin, change));
    actions = this.clusterSameVersion(actions);
    // The end state, as the requested actions leave it (requirements installed later add to it).
    const during = copyState(this.initial);
    for (const a of actions) this.apply(during, a);
    this.end = during;

    const state = copyState(this.initial);
    const chains: Chain[] = [];
    const previousOnComponent = new Map<string, string>();
    for (const action of actions) {
      const chain = this.chainFor(action, state);
      chains.push(chain);
      this.apply(state, action);
      const k = key(action.system, action.component);
      const before = previousOnComponent.get(k);
      if (before !== undefined) this.link(before, chain.first, 'FS', 0, `same component ${action.component} on ${action.system}, in request order`);
      previousOnComponent.set(k, chain.last);
      this.lastOf.set(k, chain.last);
    }
    for (const c of this.changed) this.stopDependents(c);
    for (const chain of chains) {
      const a = chain.action;
      if ((a.operation === 'Install' || a.operation === 'Update' || a.operation === 'Rollback') && a.version !== undefined) {
        this.ensureRequirements(a.system, a.component, a.version, chain.main, 0);
      }
    }
    const byOrigin = new Map<string, Chain>();
    for (const c of chains) if (!byOrigin.has(c.action.origin)) byOrigin.set(c.action.origin, c);
    for (const p of explicit) {
      const from = byOrigin.get(p.from);
      const to = byOrigin.get(p.to);
      if (from === undefined || to === undefined) throw new PlanRejection('InvalidFragment', `precedence ${p.from} → ${p.to} names a task that is not in the plan`, [p.from, p.to]);
      const fromTask = p.type === 'SS' || p.type === 'SF' ? from.main : from.last;
      const toTask = p.type === 'FS' || p.type === 'SS' ? to.first : to.main;
      this.link(fromTask, toTask, p.type, p.lag, `requested: ${p.from} ${p.type} ${p.to}${p.lag > 0 ? ` lag ${p.lag}s` : ''}`);
    }
    this.checkEndState();
    return {
      tasks: [...this.tasks.values()].map((d) => this.freeze(d)),
      precedences: this.precedences,
      blocks: this.blocks,
      initial: this.initial,
      end: this.end,
      shaped: this.shaped,
    };
  }

  // ---- 1. targets and versions ------------------------------------------------

  private resolve(origin: string, change: DesiredChange): Action[] {
    const systems = this.targetSystems(change, origin);
    const versions = this.view.packages.get(change.component);
    const needsPackage = change.operation === 'Install' || change.operation === 'Update' || change.operation === 'Rollback';
    if (needsPackage && versions === undefined) throw new PlanRejection('UnknownComponent', `${origin}: no repository offers component "${change.component}"`, [change.component]);
    let version: string | undefined;
    if (needsPackage) {
      if (change.operation === 'Rollback' && change.version === undefined) {
        throw new PlanRejection('UnknownVersion', `${origin}: Rollback of "${change.component}" must name the version to go back to (the model does not record previous versions)`, [change.component]);
      }
      version = highestSatisfying((versions ?? []).map((v) => v.version), change.version ?? '*');
      if (version === undefined) throw new PlanRejection('UnknownVersion', `${origin}: no version of "${change.component}" lies in "${change.version ?? '*'}"`, [change.component, change.version ?? '*']);
    }
    const out: Action[] = [];
    for (const system of systems) {
      const placed = this.initial.get(system)?.get(change.component);
      if (change.operation === 'Install') {
        if (placed !== undefined) {
          if (placed.version === version) continue; // already there: nothing to do
          throw new PlanRejection('AlreadyInstalled', `${origin}: "${change.component}" is already installed on "${system}" at ${placed.version}; ask for an Update to ${version ?? ''}`, [system, change.component]);
        }
      } else if (placed === undefined) {
        // Every other operation works on an installed component (one the request itself installs counts).
        if (!this.installedByRequestBefore(system, change.component)) {
          throw new PlanRejection('NotInstalled', `${origin}: "${change.component}" is not installed on "${system}", so it cannot ${change.operation}`, [system, change.component]);
        }
      }
      if ((change.operation === 'Update' || change.operation === 'Rollback') && placed?.version === version) continue;
      out.push({ operation: change.operation, system, component: change.component, version, parameters: change.parameters, reason: 'requested', origin });
    }
    this.resolvedSoFar.push(...out);
    return out;
  }

  private readonly resolvedSoFar: Action[] = [];

  private installedByRequestBefore(system: string, component: string): boolean {
    return this.resolvedSoFar.some((a) => a.operation === 'Install' && a.system === system && a.component === component);
  }

  private targetSystems(change: DesiredChange, origin: string): string[] {
    const t = change.target;
    if (t.kind === 'system') {
      if (!this.view.systems.has(t.system)) throw new PlanRejection('UnknownSystem', `${origin}: no system is named "${t.system}"`, [t.system]);
      return [t.system];
    }
    if (t.kind === 'role') {
      const systems = this.view.systemsWithRole(this.initial, t.role);
      if (systems.length === 0) throw new PlanRejection('UnknownRole', `${origin}: no system has the role "${t.role}"`, [t.role]);
      return systems;
    }
    const members = this.view.clusters.get(t.cluster);
    if (members === undefined) throw new PlanRejection('UnknownCluster', `${origin}: no cluster is named "${t.cluster}"`, [t.cluster]);
    return members;
  }

  /** cluster-same-version: an Update of a component on a member of a cluster updates it on every member with the role. */
  private clusterSameVersion(actions: Action[]): Action[] {
    const out = [...actions];
    for (const policy of this.policies.filter((p) => p.kind === 'cluster-same-version')) {
      const role = policy.parameters.role ?? 'app-server';
      for (const a of actions) {
        if (a.operation !== 'Update' && a.operation !== 'Rollback') continue;
        const cluster = this.view.systems.get(a.system)?.cluster ?? null;
        if (cluster === null) continue;
        const scoped = (s: string): boolean => appliesTo(policy, { roles: this.view.rolesIn(this.initial, s), cluster });
        if (!this.view.rolesIn(this.initial, a.system).has(role) || !scoped(a.system)) continue;
        for (const member of this.view.clusters.get(cluster) ?? []) {
          if (member === a.system || !this.view.rolesIn(this.initial, member).has(role) || !scoped(member)) continue;
          const placed = this.initial.get(member)?.get(a.component);
          if (placed === undefined || placed.version === a.version) continue;
          if (out.some((b) => b.system === member && b.component === a.component && (b.operation === 'Update' || b.operation === 'Rollback'))) continue;
          out.push({ ...a, system: member, reason: 'policy', policy: policy.name, origin: `${a.origin}+${policy.name}` });
          this.shaped.push({
            policy: policy.name,
            message: `${a.component} is changed to ${a.version ?? ''} on "${a.system}" of cluster "${cluster}", so "${member}" (${role}) is changed too`,
            objects: [cluster, member, a.component],
          });
        }
      }
    }
    return out;
  }

  // ---- 2. states ------------------------------------------------------------

  private apply(state: SystemsState, a: Action): void {
    this.view.forget(state, a.system);
    let on = state.get(a.system);
    if (on === undefined) state.set(a.system, (on = new Map()));
    const placed = on.get(a.component);
    const facts = a.version === undefined ? undefined : this.view.factsOf(a.component, a.version);
    const set = (p: Placed): void => void on.set(a.component, p);
    switch (a.operation) {
      case 'Install':
        set({ version: a.version ?? '', state: facts?.startable === true ? 'RUNNING' : 'CONFIGURED', parameters: a.parameters ?? {} });
        return;
      case 'Uninstall':
        on.delete(a.component);
        return;
      case 'Update':
      case 'Rollback':
        if (placed !== undefined) set({ ...placed, version: a.version ?? placed.version });
        return;
      case 'InitialConfigure':
      case 'Configure':
        if (placed !== undefined) set({ ...placed, state: placed.state === 'INSTALLED' ? 'CONFIGURED' : placed.state, parameters: { ...placed.parameters, ...(a.parameters ?? {}) } });
        return;
      case 'Start':
        if (placed !== undefined) set({ ...placed, state: 'RUNNING' });
        return;
      case 'Stop':
        if (placed !== undefined) set({ ...placed, state: 'STOPPED' });
        return;
    }
  }

  // ---- 3. chains ------------------------------------------------------------

  private chainFor(a: Action, state: SystemsState): Chain {
    const placed = state.get(a.system)?.get(a.component);
    const facts = a.version !== undefined ? this.view.factsOf(a.component, a.version) : placed !== undefined ? this.view.factsOf(a.component, placed.version) : undefined;
    const base = { system: a.system, component: a.component, reason: a.reason, policy: a.policy };
    switch (a.operation) {
      case 'Install':
        return this.installChain(a, facts, a.reason, a.policy);
      case 'Uninstall': {
        const ids: string[] = [];
        if (placed?.state === 'RUNNING') ids.push(this.add({ ...base, operation: 'Stop', duration: this.duration(facts, 'Stop'), undo: { operation: 'Start' } }));
        const main = this.add({ ...base, operation: 'Uninstall', version: placed?.version, duration: this.duration(facts, 'Uninstall'), undo: { operation: 'Install', version: placed?.version, parameters: placed?.parameters } });
        ids.push(main);
        this.chain(ids, `Uninstall ${a.component} on ${a.system}`);
        return { action: a, main, first: ids[0] ?? main, last: main };
      }
      case 'Update':
      case 'Rollback':
        return this.updateChain(a, placed, facts);
      case 'InitialConfigure':
      case 'Configure':
      case 'Start':
      case 'Stop': {
        const undo: PlannedTask['undo'] =
          a.operation === 'Start' ? { operation: 'Stop' } : a.operation === 'Stop' ? { operation: 'Start' } : a.operation === 'Configure' ? { operation: 'Configure', parameters: placed?.parameters ?? {} } : null;
        const quiesce = a.operation === 'Stop' && facts?.quiesce != null ? true : undefined;
        const main = this.add({ ...base, operation: a.operation, parameters: a.parameters, duration: this.duration(facts, a.operation, quiesce === true), quiesce, undo });
        return { action: a, main, first: main, last: main };
      }
    }
  }

  private installChain(a: Action, facts: PackageVersionFacts | undefined, reason: TaskReason, policy: string | undefined): Chain {
    const base = { system: a.system, component: a.component, reason, policy };
    const main = this.add({ ...base, operation: 'Install', version: a.version, parameters: a.parameters, duration: this.duration(facts, 'Install'), undo: { operation: 'Uninstall', version: a.version } });
    const ids = [main];
    ids.push(this.add({ ...base, reason: reason === 'requested' ? 'lifecycle' : reason, operation: 'InitialConfigure', parameters: a.parameters, duration: this.duration(facts, 'InitialConfigure'), undo: null }));
    if (facts?.startable === true) ids.push(this.add({ ...base, reason: reason === 'requested' ? 'lifecycle' : reason, operation: 'Start', duration: this.duration(facts, 'Start'), undo: { operation: 'Stop' } }));
    this.chain(ids, `lifecycle of ${a.component} on ${a.system}`);
    return { action: a, main, first: main, last: ids[ids.length - 1] ?? main };
  }

  private updateChain(a: Action, placed: Placed | undefined, facts: PackageVersionFacts | undefined): Chain {
    const current = placed === undefined ? undefined : this.view.factsOf(a.component, placed.version);
    const running = placed?.state === 'RUNNING' && current?.startable !== false;
    const system = this.view.systems.get(a.system);
    const cluster = system?.cluster ?? null;
    const base = { system: a.system, component: a.component, reason: a.reason, policy: a.policy };
    const ids: string[] = [];
    let stop: string | undefined;
    if (running) {
      const quiescePolicy = this.quiescePolicyFor(a, current, cluster);
      const quiesce = quiescePolicy !== undefined ? true : undefined;
      stop = this.add({ ...base, operation: 'Stop', duration: this.duration(current, 'Stop', quiesce === true), quiesce, policy: quiescePolicy ?? a.policy, undo: { operation: 'Start' } });
      if (quiescePolicy !== undefined) {
        this.shaped.push({ policy: quiescePolicy, message: `"${a.component}" on "${a.system}" is quiesced (drained) before its ${a.operation}`, objects: [a.system, a.component, stop] });
      }
      ids.push(stop);
    }
    const undoOp: SoftwareOperation = a.operation === 'Update' ? 'Rollback' : 'Update';
    const main = this.add({ ...base, operation: a.operation, version: a.version, parameters: a.parameters, duration: this.duration(facts, a.operation), undo: { operation: undoOp, version: placed?.version } });
    ids.push(main);
    if (running) ids.push(this.add({ ...base, operation: 'Start', duration: this.duration(facts, 'Start'), undo: { operation: 'Stop' } }));
    this.chain(ids, `${a.operation} of ${a.component} on ${a.system}`);
    const first = ids[0] ?? main;
    const last = ids[ids.length - 1] ?? main;
    if (cluster !== null) this.blocks.push({ cluster, system: a.system, tasks: ids });

    if (running && stop !== undefined) this.ownStopStart.set(key(a.system, a.component), { stop, start: last });
    this.changed.push({ system: a.system, component: a.component, operation: a.operation, first, last, cluster });
    return { action: a, main, first, last };
  }

  /**
   * Dependents of a changed component are stopped (quiesced when they can be)
   * before its change and started after. A dependent the plan updates itself
   * uses its own Stop and Start. Through a role, clusters change this: a
   * member of a cluster keeps running while what it uses through a role
   * changes (a cluster is there to ride out such changes, and stopping every
   * member at once would take it down against cluster-unavailability), and
   * nothing is stopped for a change of a cluster member (the other members
   * keep serving the role while it is updated, wave by wave).
   */
  private stopDependents(c: { system: string; component: string; operation: SoftwareOperation; first: string; last: string; cluster: string | null }): void {
    for (const dep of this.dependentsOf(c.system, c.component)) {
      if (dep.throughRole && (c.cluster !== null || this.view.systems.get(dep.system)?.cluster != null)) continue;
      const k = key(dep.system, dep.component);
      const own = this.ownStopStart.get(k);
      let depStop = own?.stop ?? this.dependentStop.get(k);
      let depStart = own?.start ?? this.dependentStart.get(k);
      const depFacts = this.view.factsOf(dep.component, dep.placed.version);
      if (depStop === undefined) {
        const quiesce = depFacts?.quiesce != null ? true : undefined;
        depStop = this.add({ system: dep.system, component: dep.component, reason: 'dependent', operation: 'Stop', quiesce, duration: this.duration(depFacts, 'Stop', quiesce === true), undo: { operation: 'Start' } });
        this.dependentStop.set(k, depStop);
      }
      if (depStart === undefined) {
        depStart = this.add({ system: dep.system, component: dep.component, reason: 'dependent', operation: 'Start', duration: this.duration(depFacts, 'Start'), undo: { operation: 'Stop' } });
        this.dependentStart.set(k, depStart);
        this.link(depStop, depStart, 'FS', 0, `${dep.component} on ${dep.system} is down while what it depends on changes`);
      }
      this.link(depStop, c.first, 'FS', 0, `${dep.component} on ${dep.system} depends on ${c.component} on ${c.system}: stopped before its ${c.operation}`);
      this.link(c.last, depStart, 'FS', 0, `${dep.component} on ${dep.system} depends on ${c.component} on ${c.system}: started after its ${c.operation}`);
      const k2 = key(dep.system, dep.component);
      if (!this.lastOf.has(k2)) this.lastOf.set(k2, depStart);
    }
  }

  private quiescePolicyFor(a: Action, current: PackageVersionFacts | undefined, cluster: string | null): string | undefined {
    if (current?.quiesce == null || cluster === null) return undefined;
    const roles = this.view.rolesIn(this.initial, a.system);
    const policy = this.policies.find(
      (p) => p.kind === 'quiesce-before-upgrade' && (p.parameters.component === undefined || p.parameters.component === '' || p.parameters.component === a.component) && appliesTo(p, { roles, cluster }),
    );
    return policy?.name;
  }

  /** Running components whose requirements name `component` on `system` (same system, or through a role the system has). */
  private dependentsOf(system: string, component: string): Array<{ system: string; component: string; placed: Placed; throughRole: boolean }> {
    const roles = this.view.rolesIn(this.initial, system);
    const out: Array<{ system: string; component: string; placed: Placed; throughRole: boolean }> = [];
    for (const [other, on] of this.initial) {
      for (const [name, placed] of on) {
        if (placed.state !== 'RUNNING' || (other === system && name === component)) continue;
        const facts = this.view.factsOf(name, placed.version);
        if (facts === undefined || !facts.startable) continue;
        const sameSystem = other === system && facts.requires.some((r) => r.component === component && r.placement.kind === 'same-system');
        const throughRole = facts.requires.some((r) => r.component === component && r.placement.kind === 'role' && roles.has(r.placement.role));
        if (sameSystem || throughRole) out.push({ system: other, component: name, placed, throughRole: !sameSystem });
      }
    }
    return out;
  }

  // ---- 4. requirements ------------------------------------------------------

  private ensureRequirements(system: string, component: string, version: string, requiringTask: string, depth: number): void {
    const facts = this.view.factsOf(component, version);
    if (facts === undefined) return;
    if (depth > PLANNER_LIMITS.maxRequirementDepth) {
      throw new PlanRejection('UnsatisfiableRequirement', `requirements of ${component} ${version} on "${system}" nest deeper than ${PLANNER_LIMITS.maxRequirementDepth}`, [system, component]);
    }
    for (const req of facts.requires) {
      const what = `${component} ${version} requires ${req.component} ${req.range} ${req.placement.kind === 'same-system' ? 'on the same system' : `on a system with role ${req.placement.role}`}`;
      if (req.placement.kind === 'same-system') {
        const there = this.end.get(system)?.get(req.component);
        if (there !== undefined) {
          if (!satisfies(there.version, req.range)) {
            throw new PlanRejection('UnsatisfiableRequirement', `${what}, but "${system}" would have ${req.component} ${there.version}`, [system, req.component, req.range]);
          }
          const last = this.lastOf.get(key(system, req.component));
          if (last !== undefined && last !== requiringTask) this.link(last, requiringTask, 'FS', 0, `requirement ${req.component} ${req.range} of ${component}`);
          continue;
        }
        // Missing: install it first, with whatever it needs in turn, at the highest versions every range on that system allows.
        const chosen = this.chooseMissing(system, facts);
        for (const [name, v] of chosen) {
          if (this.end.get(system)?.has(name) === true) continue;
          const action: Action = { operation: 'Install', system, component: name, version: v, reason: 'requirement', origin: `requirement of ${component} on ${system}` };
          this.apply(this.end, action);
          const chain = this.installChain(action, this.view.factsOf(name, v), 'requirement', undefined);
          this.lastOf.set(key(system, name), chain.last);
          this.pendingRequirements.push({ system, component: name, version: v, task: chain.main });
        }
        while (this.pendingRequirements.length > 0) {
          const next = this.pendingRequirements.shift() as { system: string; component: string; version: string; task: string };
          this.ensureRequirements(next.system, next.component, next.version, next.task, depth + 1);
        }
        const last = this.lastOf.get(key(system, req.component));
        if (last !== undefined) this.link(last, requiringTask, 'FS', 0, `requirement ${req.component} ${req.range} of ${component}`);
      } else {
        const role = req.placement.role;
        const holders = this.view.systemsWithRole(this.end, role).filter((s) => {
          const there = this.end.get(s)?.get(req.component);
          return there !== undefined && satisfies(there.version, req.range);
        });
        if (holders.length === 0) {
          // A role requirement a policy watches over is that policy's to report (it names itself and the systems).
          if (this.roleRequirementPolicy(system) !== undefined) continue;
          throw new PlanRejection('UnsatisfiableRequirement', `${what}: no system with role "${role}" would have it`, [req.component, req.range, role]);
        }
        // Prefer a holder the plan leaves alone; otherwise wait for the change that brings it into range.
        const untouched = holders.find((s) => this.lastOf.get(key(s, req.component)) === undefined);
        if (untouched === undefined) {
          for (const s of holders) {
            const last = this.lastOf.get(key(s, req.component));
            if (last !== undefined && last !== requiringTask) this.link(last, requiringTask, 'FS', 0, `requirement ${req.component} ${req.range} (role ${role}) of ${component}`);
          }
        }
      }
    }
  }

  /** The role-requirements policy in force on the system (in the end state), if any. */
  private roleRequirementPolicy(system: string): string | undefined {
    const roles = this.view.rolesIn(this.end, system);
    const cluster = this.view.systems.get(system)?.cluster ?? null;
    return this.policies.find((p) => p.kind === 'role-requirements' && roles.has(p.parameters.role ?? '') && appliesTo(p, { roles, cluster }))?.name;
  }

  private readonly pendingRequirements: Array<{ system: string; component: string; version: string; task: string }> = [];

  /**
   * The components missing on `system` for `root` to work, transitively
   * through same-system requirements, each at the highest version that
   * satisfies every range asked of it (by the end state's components, by
   * `root`, and by the versions chosen for the others). Rejects naming the
   * component no version fits.
   */
  private chooseMissing(system: string, root: PackageVersionFacts): Map<string, string> {
    let chosen = new Map<string, string>();
    for (let round = 0; round < PLANNER_LIMITS.maxRequirementDepth; round++) {
      const ranges = new Map<string, string[]>();
      const ask = (facts: PackageVersionFacts): void => {
        for (const r of facts.requires) {
          if (r.placement.kind !== 'same-system' || this.end.get(system)?.has(r.component) === true) continue;
          ranges.set(r.component, [...(ranges.get(r.component) ?? []), r.range]);
        }
      };
      ask(root);
      for (const [name, v] of chosen) {
        const f = this.view.factsOf(name, v);
        if (f !== undefined) ask(f);
      }
      const next = new Map<string, string>();
      for (const [name, asked] of ranges) {
        const all = [...asked, ...this.rangesOnSystem(system, name)];
        const v = (this.view.packages.get(name) ?? []).map((p) => p.version).find((candidate) => all.every((r) => satisfies(candidate, r)));
        if (v === undefined) {
          throw new PlanRejection('UnsatisfiableRequirement', `${root.name} ${root.version} on "${system}" needs ${name}, and no available version satisfies ${[...new Set(all)].join(' and ')}`, [system, name, ...new Set(all)]);
        }
        next.set(name, v);
      }
      if (next.size === chosen.size && [...next].every(([n, v]) => chosen.get(n) === v)) return next;
      chosen = next;
    }
    throw new PlanRejection('UnsatisfiableRequirement', `the requirements of ${root.name} ${root.version} on "${system}" do not settle on versions`, [system, root.name]);
  }

  /** The ranges the end state's components on `system` ask of `component` there. */
  private rangesOnSystem(system: string, component: string): string[] {
    const out: string[] = [];
    for (const [name, placed] of this.end.get(system) ?? []) {
      for (const r of this.view.factsOf(name, placed.version)?.requires ?? []) if (r.component === component && r.placement.kind === 'same-system') out.push(r.range);
    }
    return out;
  }

  // ---- 5. the end state --------------------------------------------------------

  private checkEndState(): void {
    for (const [system, on] of this.end) {
      for (const [name, placed] of on) {
        const facts = this.view.factsOf(name, placed.version);
        if (facts === undefined) continue;
        const touched = this.lastOf.has(key(system, name));
        for (const req of facts.requires) {
          if (!touched && !this.holds(this.initial, system, req)) continue; // broken before the change: not this plan's doing
          if (!this.holds(this.end, system, req) && !(req.placement.kind === 'role' && this.roleRequirementPolicy(system) !== undefined)) {
            const where = req.placement.kind === 'same-system' ? `on "${system}"` : `on a system with role "${req.placement.role}"`;
            throw new PlanRejection('UnsatisfiableRequirement', `after the change, ${name} ${placed.version} on "${system}" would lack ${req.component} ${req.range} ${where}`, [system, name, req.component, req.range]);
          }
        }
        for (const c of facts.conflicts) {
          const other = on.get(c.component);
          if (other !== undefined && satisfies(other.version, c.range)) {
            throw new PlanRejection('Conflict', `${name} ${placed.version} conflicts with ${c.component} ${c.range}, and "${system}" would have ${c.component} ${other.version}`, [system, name, c.component]);
          }
        }
      }
    }
  }

  private holds(state: SystemsState, system: string, req: PackageVersionFacts['requires'][number]): boolean {
    if (req.placement.kind === 'same-system') {
      const there = state.get(system)?.get(req.component);
      return there !== undefined && satisfies(there.version, req.range);
    }
    return this.view.systemsWithRole(state, req.placement.role).some((s) => {
      const there = state.get(s)?.get(req.component);
      return there !== undefined && satisfies(there.version, req.range);
    });
  }

  // ---- tasks and precedences ---------------------------------------------------

  private duration(facts: PackageVersionFacts | undefined, operation: SoftwareOperation, quiesce = false): number {
    const base = Math.max(1, Math.round(facts?.durations[operation] ?? DEFAULT_DURATIONS[operation]));
    return quiesce && facts?.quiesce != null ? base + Math.max(0, Math.round(facts.quiesce.timeoutSeconds)) : base;
  }

  private add(d: Omit<Draft, 'id'>): string {
    let id = `${d.system}.${d.component}.${d.operation}`;
    for (let n = 2; this.tasks.has(id); n++) id = `${d.system}.${d.component}.${d.operation}.${n}`;
    if (this.tasks.size >= PLANNER_LIMITS.maxTasks) {
      throw new PlanRejection('RequestTooLarge', `the request expands to more than ${PLANNER_LIMITS.maxTasks} tasks`, []);
    }
    this.tasks.set(id, { ...d, id });
    return id;
  }

  private chain(ids: readonly string[], reason: string): void {
    for (let i = 1; i < ids.length; i++) this.link(ids[i - 1] as string, ids[i] as string, 'FS', 0, reason);
  }

  private link(from: string, to: string, type: PrecedenceType, lag: number, reason: string): void {
    if (from === to) return;
    const k = `${from}\u0000${to}\u0000${type}`;
    if (this.precedenceKeys.has(k)) return;
    if (this.precedences.length >= PLANNER_LIMITS.maxPrecedences) {
      throw new PlanRejection('RequestTooLarge', `the request expands to more than ${PLANNER_LIMITS.maxPrecedences} precedences`, []);
    }
    this.precedenceKeys.add(k);
    this.precedences.push({ from, to, type, lag, reason });
  }

  private freeze(d: Draft): PlannedTask {
    const t: { -readonly [K in keyof PlannedTask]: PlannedTask[K] } = { id: d.id, operation: d.operation, system: d.system, component: d.component, duration: d.duration, reason: d.reason, undo: d.undo };
    if (d.version !== undefined) t.version = d.version;
    if (d.parameters !== undefined) t.parameters = d.parameters;
    if (d.policy !== undefined) t.policy = d.policy;
    if (d.quiesce !== undefined) t.quiesce = d.quiesce;
    return t;
  }
}

/**
 * A cycle among the precedences, as task ids in order, or undefined. The
 * scheduler rejects a cyclic graph too; finding it here names the tasks in
 * the planner's own rejection.
 */
export function findCycle(tasks: readonly { readonly id: string }[], precedences: readonly { readonly from: string; readonly to: string }[]): string[] | undefined {
  const next = new Map<string, string[]>();
  for (const p of precedences) next.set(p.from, [...(next.get(p.from) ?? []), p.to]);
  const color = new Map<string, 1 | 2>();
  for (const t of tasks) {
    if (color.has(t.id)) continue;
    // Iterative depth-first search: a graph of thousands of tasks must not exhaust the stack.
    const stack: Array<{ id: string; i: number }> = [{ id: t.id, i: 0 }];
    color.set(t.id, 1);
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as { id: string; i: number };
      const succ = next.get(top.id) ?? [];
      if (top.i >= succ.length) {
        color.set(top.id, 2);
        stack.pop();
        continue;
      }
      const s = succ[top.i++] as string;
      const c = color.get(s);
      if (c === 1) {
        const from = stack.findIndex((f) => f.id === s);
        return stack.slice(from).map((f) => f.id);
      }
      if (c === undefined) {
        color.set(s, 1);
        stack.push({ id: s, i: 0 });
      }
    }
  }
  return undefined;
}
