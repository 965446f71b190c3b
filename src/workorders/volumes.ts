/**
 * An account's volumes as its closed storage orders left them: the shipped
 * storage catalog's types (CreateVolume, ExpandVolume, DeleteVolume,
 * TakeSnapshot, DeleteSnapshot, MapVolume, UnmapVolume, SetSnapshotSchedule)
 * replayed in the order they closed. What the customer ordered and got, read
 * from the database alone, whatever driver the pool has; snapshots the pool
 * takes by itself on a schedule are not orders and are not listed.
 */
import type { WorkOrderView } from './api';

export interface VolumeView {
  readonly name: string;
  readonly sizeGiB: number;
  readonly tier: string;
  /** Snapshots taken by order, oldest first. */
  readonly snapshots: readonly string[];
  /** Hosts it is mapped to, with the access mode. */
  readonly hosts: readonly { readonly host: string; readonly access: string }[];
  /** The snapshot schedule, when one is set. */
  readonly schedule: { readonly interval: string; readonly retain: string } | null;
  /** The order that created it. */
  readonly createdBy: number;
  /** When an order last changed it. */
  readonly changedAt: Date;
}

interface Volume {
  name: string;
  sizeGiB: number;
  tier: string;
  snapshots: string[];
  hosts: Map<string, string>;
  schedule: { interval: string; retain: string } | null;
  createdBy: number;
  changedAt: Date;
}

/** The volumes of the closed orders given (any order, any state: only CLOSED ones count), by name. */
export function volumesOf(orders: readonly WorkOrderView[]): VolumeView[] {
  const closed = orders.filter((o) => o.state === 'CLOSED').sort((a, b) => (a.closedAt ?? a.updatedAt).getTime() - (b.closedAt ?? b.updatedAt).getTime() || a.workOrderId - b.workOrderId);
  const volumes = new Map<string, Volume>();
  for (const order of closed) {
    const p = new Map(order.parameters.map((x) => [x.name, x.value]));
    const name = p.get('volume');
    if (name === undefined) continue;
    const at = order.closedAt ?? order.updatedAt;
    const volume = volumes.get(name);
    if (order.type === 'CreateVolume') {
      volumes.set(name, { name, sizeGiB: Number(p.get('sizeGiB') ?? 0), tier: p.get('tier') ?? 'standard', snapshots: [], hosts: new Map(), schedule: null, createdBy: order.workOrderId, changedAt: at });
      continue;
    }
    if (volume === undefined) continue;
    volume.changedAt = at;
    const snapshot = p.get('snapshot');
    const host = p.get('host');
    switch (order.type) {
      case 'ExpandVolume':
        volume.sizeGiB = Number(p.get('sizeGiB') ?? volume.sizeGiB);
        break;
      case 'DeleteVolume':
        volumes.delete(name);
        break;
      case 'TakeSnapshot':
        if (snapshot !== undefined && !volume.snapshots.includes(snapshot)) volume.snapshots.push(snapshot);
        break;
      case 'DeleteSnapshot':
        volume.snapshots = volume.snapshots.filter((s) => s !== snapshot);
        break;
      case 'MapVolume':
        if (host !== undefined) volume.hosts.set(host, p.get('access') ?? 'rw');
        break;
      case 'UnmapVolume':
        if (host !== undefined) volume.hosts.delete(host);
        break;
      case 'SetSnapshotSchedule':
        volume.schedule = { interval: p.get('interval') ?? 'PT24H', retain: p.get('retain') ?? '7' };
        break;
      default:
        break;
    }
  }
  return [...volumes.values()]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((v) => ({ ...v, hosts: [...v.hosts].map(([host, access]) => ({ host, access })) }));
}
