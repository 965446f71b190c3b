/**
 * Traversal of a parsed process: the children of each activity and every
 * activity of a process, handlers included.
 */
import type { Activity, CorrelationSet, OnAlarm, OnEvent, Process, Scope } from './model';

/** Where a child activity stands in its parent. */
export type ChildRole =
  | 'body'
  | 'branch'
  | 'else'
  | 'catch'
  | 'catchAll'
  | 'compensationHandler'
  | 'terminationHandler'
  | 'onAlarm'
  | 'onEvent'
  | 'onMessage';

export interface ChildActivity {
  readonly activity: Activity;
  readonly role: ChildRole;
}

/** The handler-held activities of a scope or process (fault handlers, alarms, and for a scope its compensation and termination handlers). */
export function handlerChildren(owner: Pick<Scope, 'faultHandlers' | 'alarms' | 'events'> & Partial<Pick<Scope, 'compensationHandler' | 'terminationHandler'>>): ChildActivity[] {
  const out: ChildActivity[] = [];
  for (const c of owner.faultHandlers?.catches ?? []) out.push({ activity: c.activity, role: 'catch' });
  if (owner.faultHandlers?.catchAll) out.push({ activity: owner.faultHandlers.catchAll, role: 'catchAll' });
  if (owner.compensationHandler) out.push({ activity: owner.compensationHandler, role: 'compensationHandler' });
  if (owner.terminationHandler) out.push({ activity: owner.terminationHandler, role: 'terminationHandler' });
  for (const alarm of owner.alarms as readonly OnAlarm[]) out.push({ activity: alarm.scope, role: 'onAlarm' });
  for (const event of owner.events as readonly OnEvent[]) out.push({ activity: event.scope, role: 'onEvent' });
  return out;
}

/** The direct children of an activity, in document order of their meaning: handlers of a scope first, then its body. */
export function childActivities(activity: Activity): ChildActivity[] {
  switch (activity.kind) {
    case 'sequence':
    case 'flow':
      return activity.activities.map((a) => ({ activity: a, role: 'body' }));
    case 'if':
      return [
        ...activity.branches.map((b): ChildActivity => ({ activity: b.activity, role: 'branch' })),
        ...(activity.else ? [{ activity: activity.else, role: 'else' as const }] : []),
      ];
    case 'while':
    case 'repeatUntil':
      return [{ activity: activity.activity, role: 'body' }];
    case 'forEach':
      return [{ activity: activity.scope, role: 'body' }];
    case 'scope':
      return [...handlerChildren(activity), { activity: activity.activity, role: 'body' }];
    case 'pick':
      return [
        ...activity.messages.map((m): ChildActivity => ({ activity: m.activity, role: 'onMessage' })),
        ...activity.alarms.map((a): ChildActivity => ({ activity: a.activity, role: 'onAlarm' })),
      ];
    case 'invoke':
    case 'receive':
    case 'reply':
    case 'assign':
    case 'wait':
    case 'empty':
    case 'throw':
    case 'rethrow':
    case 'exit':
    case 'compensate':
    case 'compensateScope':
      return [];
  }
}

/** Every activity of the process, depth first: process handlers, then the main activity. */
export function allActivities(process: Process): Activity[] {
  const out: Activity[] = [];
  const visit = (a: Activity): void => {
    out.push(a);
    for (const child of childActivities(a)) visit(child.activity);
  };
  for (const child of handlerChildren(process)) visit(child.activity);
  visit(process.activity);
  return out;
}

/** A correlation set as an activity sees it: its declaration, and the path of the scope declaring it (`/process` for the process). */
export interface VisibleCorrelationSet {
  readonly set: CorrelationSet;
  readonly owner: string;
}

/**
 * The correlation sets each activity, `<onMessage>` and `<onEvent>` sees,
 * by its path: those of the process and of its enclosing scopes, the
 * innermost declaration of a name hiding the others (WS-BPEL 2.0 §9.2). An
 * event handler sees the sets of the scope it belongs to.
 */
export function visibleCorrelationSets(process: Process): ReadonlyMap<string, ReadonlyMap<string, VisibleCorrelationSet>> {
  const out = new Map<string, ReadonlyMap<string, VisibleCorrelationSet>>();
  const declare = (outer: ReadonlyMap<string, VisibleCorrelationSet>, sets: readonly CorrelationSet[], owner: string): ReadonlyMap<string, VisibleCorrelationSet> => {
    if (sets.length === 0) return outer;
    const inner = new Map(outer);
    for (const set of sets) if (!inner.has(set.name) || inner.get(set.name)?.owner !== owner) inner.set(set.name, { set, owner });
    return inner;
  };
  const handlers = (owner: Pick<Scope, 'events'>, visible: ReadonlyMap<string, VisibleCorrelationSet>): void => {
    for (const event of owner.events) out.set(event.path, visible);
  };
  const visit = (a: Activity, visible: ReadonlyMap<string, VisibleCorrelationSet>): void => {
    const here = a.kind === 'scope' ? declare(visible, a.correlationSets, a.path) : visible;
    out.set(a.path, here);
    if (a.kind === 'scope') handlers(a, here);
    if (a.kind === 'pick') for (const m of a.messages) out.set(m.path, here);
    for (const child of childActivities(a)) visit(child.activity, here);
  };
  const top = declare(new Map(), process.correlationSets, '/process');
  handlers(process, top);
  for (const child of handlerChildren(process)) visit(child.activity, top);
  visit(process.activity, top);
  return out;
}

/** The activity with the given path, if any. */
export function findActivity(process: Process, path: string): Activity | undefined {
  return allActivities(process).find((a) => a.path === path);
}
