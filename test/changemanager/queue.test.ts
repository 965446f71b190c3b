import { expect } from 'chai';
import { buildApp, type App } from '../../src/app';
import { loadConfig } from '../../src/config';
import { toSqlDate } from '../../src/db/sql';
import { createLogger } from '../../src/log';
import { eventually, type TestServer } from '../support/harness';
import { changeServer, changeXml, cmCall, OPERATOR, textOf } from './support';

async function stateOf(app: App, id: string, wanted: (state: string) => boolean, what: string): Promise<string> {
  return eventually(async () => {
    const change = await app.changes.get(id);
    return wanted(change.state) ? change.state : undefined;
  }, what);
}

describe('the change queue', function () {
  this.timeout(120_000);

  describe('when the server stops with changes still to plan', () => {
    let server: TestServer;
    let second: App | undefined;
    before(async () => {
      // A server that takes requests but plans none of them.
      server = await changeServer(1, { PROVISOR_CHANGES: 'false' });
    });
    after(async () => {
      await second?.close();
      await server.close();
    });

    it('plans them when the next server starts, a dead planner\'s lease included, and runs the ones that are not dry runs', async () => {
      const waiting = textOf((await cmCall(server, OPERATOR, 'SubmitChangeRequest', changeXml('Install', 'demo-httpd', { system: 'sim1' }, '1.0.0'))).body, 'changeId') as string;
      const leased = textOf((await cmCall(server, OPERATOR, 'SubmitChangeRequest', `${changeXml('Install', 'demo-site', { system: 'sim1' })}<c:dryRun>true</c:dryRun>`)).body, 'changeId') as string;
      // The second one was being planned by a server that died: its lease ran out a minute ago.
      await server.dataSource.query('UPDATE change_request SET leaseOwner = ?, leaseExpiresAt = ?, planAttempts = 1 WHERE id = ?', ['cm:gone/1/dead', toSqlDate(new Date(Date.now() - 60_000)), leased]);
      expect((await server.app.changes.get(waiting)).state).to.equal('PLANNING');
      await server.app.close();

      const config = loadConfig({ ...server.env, PROVISOR_CHANGES: 'true' });
      second = await buildApp({ config, logger: createLogger('error'), dataSource: server.dataSource });
      await second.listen(0, '127.0.0.1');
      expect(await stateOf(second, waiting, (s) => s === 'COMPLETED' || s === 'FAILED' || s === 'REJECTED', 'the waiting change to end')).to.equal('COMPLETED');
      expect(await stateOf(second, leased, (s) => s !== 'PLANNING', 'the leased change to be planned')).to.equal('PLANNED');
      const rows = (await server.dataSource.query('SELECT planAttempts, leaseOwner FROM change_request WHERE id = ?', [leased])) as Array<{ planAttempts: unknown; leaseOwner: unknown }>;
      expect(Number(rows[0]?.planAttempts)).to.equal(2);
      expect(rows[0]?.leaseOwner).to.equal(null);
    });
  });

  describe('while a change runs', () => {
    let server: TestServer;
    before(async () => {
      server = await changeServer(1);
    });
    after(async () => {
      await server.close();
    });

    it('cancels it: the change is CANCELLED and its instance TERMINATED, and nothing of it is provisioned', async () => {
      // Its first task may not start for an hour, so the instance waits in the plan.
      const later = new Date(Date.now() + 3_600_000).toISOString();
      const id = textOf((await cmCall(server, OPERATOR, 'SubmitChangeRequest', `${changeXml('Install', 'demo-httpd', { system: 'sim1' })}<c:earliestStart>${later}</c:earliestStart>`)).body, 'changeId') as string;
      await stateOf(server.app, id, (s) => s === 'RUNNING', 'the change to run');
      const decided = await cmCall(server, OPERATOR, 'DecideChangePlan', `<c:changeId>${id}</c:changeId><c:decision>cancel</c:decision>`);
      expect(textOf(decided.body, 'state')).to.equal('CANCELLED');
      const change = await server.app.changes.get(id);
      const instance = await eventually(async () => {
        const view = await server.app.workflow.status(change.instanceId as string);
        return view.status === 'RUNNING' ? undefined : view;
      }, 'the instance to end');
      expect(instance.status).to.equal('TERMINATED');
      const requests = (await server.dataSource.query('SELECT COUNT(*) AS n FROM provisioning_request')) as Array<{ n: unknown }>;
      expect(Number(requests[0]?.n)).to.equal(0);
      // A later pass of the queue leaves it CANCELLED (the instance's end is not taken for a failure).
      const other = textOf((await cmCall(server, OPERATOR, 'SubmitChangeRequest', `${changeXml('Install', 'demo-site', { system: 'sim1' })}<c:dryRun>true</c:dryRun>`)).body, 'changeId') as string;
      await stateOf(server.app, other, (s) => s === 'PLANNED', 'another change to be planned');
      expect((await server.app.changes.get(id)).state).to.equal('CANCELLED');
    });

    it('plans a deadline that cannot be met all the same, with how late it would be', async () => {
      const start = new Date(Date.now() + 3_600_000);
      const deadline = new Date(start.getTime() + 1000);
      const inner = `${changeXml('Install', 'demo-httpd', { system: 'sim1' })}<c:earliestStart>${start.toISOString()}</c:earliestStart><c:deadline>${deadline.toISOString()}</c:deadline><c:dryRun>true</c:dryRun>`;
      const id = textOf((await cmCall(server, OPERATOR, 'SubmitChangeRequest', inner)).body, 'changeId') as string;
      await stateOf(server.app, id, (s) => s !== 'PLANNING', 'the change to be planned');
      const view = await server.app.changes.get(id);
      expect(view.state).to.equal('PLANNED');
      const plan = view.plan;
      if (plan?.state !== 'PLANNED') throw new Error('no plan');
      expect(plan.schedule.lateness).to.be.greaterThan(0);
      const answer = await cmCall(server, OPERATOR, 'GetChangePlan', `<c:changeId>${id}</c:changeId>`);
      expect(Number(textOf(answer.body, 'lateness'))).to.equal(plan.schedule.lateness);
    });
  });
});
