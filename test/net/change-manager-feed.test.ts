import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { DestinationPolicy } from '../../src/net/destination-policy';
import { OutboundHttp } from '../../src/net/outbound-http';
import { systemClock } from '../../src/clock';
import { createLogger } from '../../src/log';
import { SoapClient } from '../../src/soap/client';
import { ChangeManagerNotifier } from '../../src/wrappers/change-manager-feed';
import { captureLogger } from '../mail/support';

const CAP = 16 * 1024;

function sender(ownPorts: number[] = []): SoapClient {
  return new SoapClient(new OutboundHttp(new DestinationPolicy({ allowNetworks: [], denyNetworks: [], allowOwnPorts: false }, () => ownPorts), { maxResponseBytes: CAP, timeoutMs: 5000 }), systemClock);
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/changemanager`;
}

describe('the change-manager feed goes through the policed, capped sender', function () {
  this.timeout(30_000);

  it('gives up on a change manager that answers without end, logging the cap', async () => {
    let calls = 0;
    const server = http.createServer((req, res) => {
      calls++;
      req.resume();
      res.writeHead(200);
      const pump = (): void => {
        while (!res.destroyed && res.write(Buffer.alloc(8192, ' ')));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    });
    const url = await listen(server);
    const { logger, records } = captureLogger();
    try {
      const notifier = new ChangeManagerNotifier(url, sender(), systemClock, logger, () => 'P');
      notifier.instance({ instanceId: 'i-1', status: 'COMPLETED', at: new Date() });
      await notifier.flush();
      const failed = records.find((r) => r.message === 'change manager notification failed');
      expect(failed?.err).to.contain(`the limit of ${CAP} bytes (PROVISOR_OUTBOUND_MAX_RESPONSE_BYTES)`);
      expect(calls).to.equal(3);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('does not call a change manager URL that is Provisor\'s own port', async () => {
    let calls = 0;
    const server = http.createServer((_req, res) => {
      calls++;
      res.writeHead(202).end();
    });
    const url = await listen(server);
    const { logger, records } = captureLogger();
    try {
      const notifier = new ChangeManagerNotifier(url, sender([Number(new URL(url).port)]), systemClock, logger, () => 'P');
      notifier.instance({ instanceId: 'i-2', status: 'COMPLETED', at: new Date() });
      await notifier.flush();
      expect(records.find((r) => r.message === 'change manager notification failed')?.err).to.contain("one of Provisor's own listening ports");
      expect(calls).to.equal(0);
    } finally {
      server.close();
    }
  });
});

describe('listeners of the change-manager feed in this process', () => {
  it('asks the engine for activity transitions only while something sends, logs or listens to them, and tells each listener', () => {
    // Below debug: the transitions are not logged.
    const notifier = new ChangeManagerNotifier(undefined, sender(), systemClock, createLogger('error'), () => 'P');
    expect(notifier.activitiesWanted(), 'no endpoint, no listener').to.equal(false);
    const heard: string[] = [];
    const stopAlarms = notifier.listen({ alarm: (e) => void heard.push(`alarm ${e.alarmPath}`) });
    expect(notifier.activitiesWanted(), 'an alarm listener wants no transitions').to.equal(false);
    const stop = notifier.listen({ activity: (e) => void heard.push(`${e.state} ${e.key}`), instance: (e) => void heard.push(`instance ${e.status}`) });
    expect(notifier.activitiesWanted()).to.equal(true);
    const at = new Date();
    notifier.activity({ instanceId: 'i-1', key: '/process', kind: 'process', name: undefined, state: 'RUNNING', at });
    notifier.alarm({ instanceId: 'i-1', scopeKey: '/process', scopeName: undefined, alarmPath: '/process/onAlarm', kind: 'DURATION', dueAt: at, firedAt: at });
    notifier.instance({ instanceId: 'i-1', status: 'COMPLETED', at });
    stop();
    stopAlarms();
    notifier.activity({ instanceId: 'i-1', key: '/process', kind: 'process', name: undefined, state: 'COMPLETED', at });
    expect(notifier.activitiesWanted(), 'every listener gone').to.equal(false);
    expect(heard).to.deep.equal(['RUNNING /process', 'alarm /process/onAlarm', 'instance COMPLETED']);
  });
});
