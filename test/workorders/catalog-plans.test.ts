import { expect } from 'chai';
import type * as soap from 'soap';
import { eventually, startTestServer, type TestServer } from '../support/harness';
import { call, soapClient } from '../support/soap-client';
import { PASSWORD, seedCast, TEST_CATALOG, type Cast } from '../support/workorders';

/** A process under the test catalog's plan name that does nothing: an order run with it delivers nothing. */
const EMPTY_TEST_ECHO = `<bpel:process name="TestEcho" targetNamespace="urn:provisor:test:replaced"
    xmlns:bpel="http://docs.oasis-open.org/wsbpel/2.0/process/executable">
  <bpel:empty/>
</bpel:process>`;

const operator = { username: 'op', password: 'operator-secret-1' };
const engine = { username: 'eng', password: 'engine-secret-1' };

function fault(err: unknown): { faultcode: string; code: string; reason: string } {
  const body = String((err as { body?: unknown }).body ?? '');
  return {
    faultcode: /<faultcode>([^<]*)<\/faultcode>/.exec(body)?.[1] ?? '',
    code: /<p:code>([^<]*)<\/p:code>/.exec(body)?.[1] ?? '',
    reason: /<faultstring[^>]*>([^<]*)<\/faultstring>/.exec(body)?.[1] ?? '',
  };
}

describe('catalog plans belong to the catalog', function () {
  this.timeout(60_000);
  let server: TestServer;
  let cast: Cast;

  async function versions(): Promise<Array<{ version: number; deployedBy: string }>> {
    const rows = (await server.dataSource.query("SELECT version, deployedBy FROM process_definition WHERE name = 'TestEcho' ORDER BY version")) as Array<{ version: unknown; deployedBy: string }>;
    return rows.map((r) => ({ version: Number(r.version), deployedBy: r.deployedBy }));
  }

  async function billed(workOrderId: number): Promise<number> {
    const rows = (await server.dataSource.query('SELECT COUNT(*) AS n FROM billable_event WHERE workOrderId = ?', [workOrderId])) as Array<{ n: unknown }>;
    return Number(rows[0]?.n);
  }

  async function settled(id: number): Promise<{ state: string; outcome: string | null }> {
    return eventually(async () => {
      const order = await server.app.workOrders.get(cast.admin, id);
      return order.state === 'NEW' || order.state === 'IN_PROGRESS' ? undefined : order;
    }, `work order ${id} to end`);
  }

  async function submitEcho(volume: string): Promise<number> {
    const customer = await soapClient(server.baseUrl, 'WorkOrder', { username: 'alice', password: PASSWORD });
    const { workOrderId } = await call<{ workOrderId: number }>(customer, 'SubmitWorkOrder', { type: 'Echo', parameter: [{ name: 'volume', value: volume }, { name: 'sizeGiB', value: '1' }] });
    return Number(workOrderId);
  }

  before(async () => {
    server = await startTestServer();
    await server.app.loadCatalog(TEST_CATALOG);
    cast = await seedCast(server);
    await server.addUser(operator.username, 'operator', operator.password);
    await server.addUser(engine.username, 'engine', engine.password);
  });
  after(() => server.close());

  describe('when an operator or the engine deploys a process under a catalog plan\'s name', () => {
    for (const who of [operator, engine]) {
      it(`refuses ${who.username}'s DeployProcess with a Client fault naming the rule, and deploys nothing`, async () => {
        const before = await versions();
        const workflow = await soapClient(server.baseUrl, 'Workflow', who);
        try {
          await call(workflow, 'DeployProcess', { bpel: EMPTY_TEST_ECHO });
          expect.fail('the deployment was accepted');
        } catch (err) {
          const f = fault(err);
          expect(f.faultcode).to.match(/Client$/);
          expect(f.code).to.equal('Forbidden');
          expect(f.reason).to.contain('TestEcho').and.contain('only an admin may deploy under a catalog plan');
        }
        expect(await versions()).to.deep.equal(before);
      });
    }

    it('still lets an operator deploy a process of any other name', async () => {
      const workflow = await soapClient(server.baseUrl, 'Workflow', operator);
      const deployed = await call<{ processName: string }>(workflow, 'DeployProcess', { bpel: EMPTY_TEST_ECHO.replace('name="TestEcho"', 'name="OperatorsOwn"') });
      expect(deployed.processName).to.equal('OperatorsOwn');
    });
  });

  describe('when an admin replaces a catalog plan', () => {
    let replacedVersion: number;
    let orderId: number;

    it('accepts the admin\'s DeployProcess', async () => {
      const workflow = await soapClient(server.baseUrl, 'Workflow', { username: 'admin', password: PASSWORD });
      const deployed = await call<{ processName: string; version: number }>(workflow, 'DeployProcess', { bpel: EMPTY_TEST_ECHO });
      replacedVersion = Number(deployed.version);
      expect((await versions()).at(-1)).to.deep.equal({ version: replacedVersion, deployedBy: 'admin' });
    });

    it('fails an order run against the replaced plan, records the version it ran, and bills nothing', async () => {
      orderId = await submitEcho('v-replaced');
      const order = await settled(orderId);
      expect(order.state).to.equal('FAILED');
      expect(order.outcome).to.contain(`version it ran (${replacedVersion}, deployed by admin) is not the catalog's plan`).and.contain('not billed');
      expect(await billed(orderId)).to.equal(0);
      const [row] = (await server.dataSource.query('SELECT planVersion, planDigest FROM work_order WHERE id = ?', [orderId])) as Array<{ planVersion: unknown; planDigest: string | null }>;
      expect(Number(row?.planVersion)).to.equal(replacedVersion);
      expect(row?.planDigest).to.match(/^[0-9a-f]{64}$/);
    });

    it('is detected at the next catalog load, which redeploys the catalog\'s plan', async () => {
      const summary = await server.app.loadCatalog(TEST_CATALOG);
      expect(summary.repaired.map((r) => r.type)).to.include('Echo');
      expect(summary.repaired.find((r) => r.type === 'Echo')).to.deep.include({ plan: 'TestEcho', version: replacedVersion, deployedBy: 'admin' });
      const latest = (await versions()).at(-1);
      expect(latest).to.deep.equal({ version: replacedVersion + 1, deployedBy: 'catalog' });
      // A second load finds the catalog's own plan in place: nothing to repair, nothing deployed.
      const again = await server.app.loadCatalog(TEST_CATALOG);
      expect(again.repaired).to.deep.equal([]);
      expect(again.deployed).to.deep.equal([]);
    });

    it('bills an order once the catalog\'s plan is back, and the failed one when an admin retries it', async () => {
      const fresh = await submitEcho('v-fresh');
      expect((await settled(fresh)).state).to.equal('CLOSED');
      expect(await billed(fresh)).to.equal(1);
      await server.app.workOrders.act(cast.admin, orderId, 'retry', 'the catalog plan was repaired');
      expect((await settled(orderId)).state).to.equal('CLOSED');
      expect(await billed(orderId)).to.equal(1);
    });
  });
});
