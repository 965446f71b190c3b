import { expect } from 'chai';
import type { WorkOrderView } from '../../src/workorders/api';
import { volumesOf } from '../../src/workorders/volumes';

let next = 1;
function order(type: string, parameters: Record<string, string>, state: WorkOrderView['state'] = 'CLOSED'): WorkOrderView {
  const id = next++;
  const at = new Date(Date.UTC(2030, 0, 1, 0, 0, id));
  return {
    workOrderId: id,
    type,
    state,
    customerId: 1,
    customer: 'alice',
    accountId: 1,
    account: 'acme',
    channel: 'portal',
    manual: false,
    parameters: Object.entries(parameters).map(([name, value]) => ({ name, value })),
    attempt: 1,
    processInstanceId: null,
    outcome: null,
    failedActivity: null,
    createdAt: at,
    updatedAt: at,
    closedAt: state === 'CLOSED' ? at : null,
    history: [],
    billing: null,
  };
}

describe('an account\'s volumes from its closed storage orders', () => {
  it('replays creation, expansion, snapshots, mappings and schedules in the order the orders closed', () => {
    const orders = [
      order('CreateVolume', { volume: 'vol1', sizeGiB: '10', tier: 'standard' }),
      order('CreateVolume', { volume: 'vol2', sizeGiB: '5', tier: 'performance' }),
      order('ExpandVolume', { volume: 'vol1', sizeGiB: '20' }),
      order('TakeSnapshot', { volume: 'vol1', snapshot: 's1' }),
      order('TakeSnapshot', { volume: 'vol1', snapshot: 's2' }),
      order('DeleteSnapshot', { volume: 'vol1', snapshot: 's1' }),
      order('MapVolume', { volume: 'vol1', host: 'h1', access: 'ro' }),
      order('MapVolume', { volume: 'vol1', host: 'h2', access: 'rw' }),
      order('UnmapVolume', { volume: 'vol1', host: 'h2' }),
      order('SetSnapshotSchedule', { volume: 'vol1', interval: 'PT6H', retain: '3' }),
      order('DeleteVolume', { volume: 'vol2', force: 'false' }),
    ];
    const volumes = volumesOf([...orders].reverse());
    expect(volumes).to.have.length(1);
    expect(volumes[0]).to.deep.include({ name: 'vol1', sizeGiB: 20, tier: 'standard', snapshots: ['s2'], hosts: [{ host: 'h1', access: 'ro' }], schedule: { interval: 'PT6H', retain: '3' }, createdBy: orders[0]?.workOrderId });
  });

  it('ignores orders that did not close, and orders about a volume it never saw created', () => {
    const volumes = volumesOf([
      order('CreateVolume', { volume: 'failed', sizeGiB: '1', tier: 'standard' }, 'FAILED'),
      order('ExpandVolume', { volume: 'ghost', sizeGiB: '9' }),
      order('CreateVolume', { volume: 'ok', sizeGiB: '2', tier: 'standard' }),
      order('ExpandVolume', { volume: 'ok', sizeGiB: '4' }, 'IN_PROGRESS'),
    ]);
    expect(volumes.map((v) => [v.name, v.sizeGiB])).to.deep.equal([['ok', 2]]);
  });
});
