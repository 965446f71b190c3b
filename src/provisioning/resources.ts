import type { EntityManager } from 'typeorm';
import { ComponentEvent, InstalledComponent } from '../../entities';
import type { ComponentRecord, ComponentState, SoftwareOperation, TaskResult } from '../drivers/driver';

/** The component's record as a driver receives it. */
export function componentRecord(row: InstalledComponent | null): ComponentRecord | undefined {
  if (row === null) return undefined;
  return { name: row.name, version: row.version, state: row.state as ComponentState, history: JSON.parse(row.history) as string[], pid: row.pid };
}

export async function loadComponent(manager: EntityManager, systemId: number, name: string): Promise<InstalledComponent | null> {
  return manager.getRepository(InstalledComponent).findOneBy({ systemId, name });
}

/**
 * Records a successful software task in the managed-resource model: the
 * component's version, state and rollback history, plus an event row.
 */
export async function applySoftwareResult(
  manager: EntityManager,
  args: { systemId: number; component: string; operation: SoftwareOperation; requestedVersion?: string; result: TaskResult; requestId: string; at: Date },
): Promise<void> {
  const repo = manager.getRepository(InstalledComponent);
  const existing = await repo.findOneBy({ systemId: args.systemId, name: args.component });
  const history: string[] = existing === null ? [] : (JSON.parse(existing.history) as string[]);
  let version = existing?.version ?? args.result.version ?? args.requestedVersion ?? 'unknown';
  let state: ComponentState = (existing?.state as ComponentState | undefined) ?? 'INSTALLED';
  let pid = existing?.pid ?? null;
  switch (args.operation) {
    case 'Install':
      if (existing === null) {
        version = args.result.version ?? args.requestedVersion ?? version;
        state = 'INSTALLED';
      }
      break;
    case 'Update': {
      const next = args.result.version ?? args.requestedVersion ?? version;
      if (existing !== null && next !== existing.version) history.unshift(existing.version);
      version = next;
      if (state === 'RUNNING' && args.result.pid === undefined) state = 'STOPPED';
      break;
    }
    case 'Rollback': {
      const previous = args.result.version ?? history[0] ?? version;
      const index = history.indexOf(previous);
      if (index >= 0) history.splice(index, 1);
      version = previous;
      if (state === 'RUNNING' && args.result.pid === undefined) state = 'STOPPED';
      break;
    }
    case 'InitialConfigure':
    case 'Configure':
      if (state !== 'RUNNING') state = 'CONFIGURED';
      break;
    case 'Start':
      state = 'RUNNING';
      break;
    case 'Stop':
      state = 'STOPPED';
      pid = null;
      break;
    case 'Uninstall':
      if (existing !== null) await repo.delete({ id: existing.id });
      await manager.getRepository(ComponentEvent).insert({
        systemId: args.systemId,
        component: args.component,
        operation: args.operation,
        version: null,
        state: 'UNINSTALLED',
        requestId: args.requestId,
        at: args.at,
      });
      return;
  }
  if (args.result.pid !== undefined) pid = args.result.pid;
  if (existing === null) {
    await repo.insert({ systemId: args.systemId, name: args.component, version, state, history: JSON.stringify(history), pid, updatedAt: args.at });
  } else {
    await repo.update({ id: existing.id }, { version, state, history: JSON.stringify(history.slice(0, 20)), pid, updatedAt: args.at });
  }
  await manager.getRepository(ComponentEvent).insert({
    systemId: args.systemId,
    component: args.component,
    operation: args.operation,
    version,
    state,
    requestId: args.requestId,
    at: args.at,
  });
}
