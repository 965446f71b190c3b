import crypto from 'node:crypto';
import { expect } from 'chai';
import type * as soap from 'soap';
import { eventually, startTestServer, type TestServer } from './support/harness';
import { call, soapClient } from './support/soap-client';
import { csvRecordCount, xsdDecimal } from '../src/wrappers/workorder-service';
import { escapeXml } from '../src/xml/escape';
import { bodyElement, HAVE_XMLLINT, validateAgainstWsdl } from './support/wsdl-schema';
import { PASSWORD, seedCast, TEST_CATALOG, type Cast } from './support/workorders';

const WO = 'urn:provisor:workorder:1';
const ENVELOPE = { '1.1': 'http://schemas.xmlsoap.org/soap/envelope/', '1.2': 'http://www.w3.org/2003/05/soap-envelope' } as const;

type Fields = Record<string, unknown>;

interface Fault {
  readonly code: string | undefined;
  readonly field: string | undefined;
  /** The parameters the detail's problem elements name, in order. */
  readonly problems: string[];
  readonly body: string;
}

/** node-soap gives one object for a single repeated element, an array for several, nothing for none. */
function many<T = Fields>(value: unknown): T[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]) as T[];
}

function text(xml: string, name: string): string | undefined {
  return new RegExp(`<p:${name}>([^<]*)</p:${name}>`).exec(xml)?.[1];
}

async function countOrders(server: TestServer): Promise<number> {
  const rows = (await server.dataSource.query('SELECT COUNT(*) AS n FROM work_order')) as Array<{ n: unknown }>;
  return Number(rows[0]?.n);
}

describe('WorkOrderService wrapper helpers', () => {
  it('counts CSV records, not lines: quoted fields may hold line breaks', () => {
    expect(csvRecordCount('a,b\r\n1,"x\r\ny"\r\n2,z\r\n')).to.equal(3);
    expect(csvRecordCount('a,b\r\n')).to.equal(1);
    expect(csvRecordCount('a,b\n1,2')).to.equal(2);
    expect(csvRecordCount('')).to.equal(0);
  });

  it('writes numbers in xsd:decimal form, never with an exponent', () => {
    expect([xsdDecimal(100), xsdDecimal(-0.5), xsdDecimal(1.5e21), xsdDecimal(-2.5e-7), xsdDecimal(undefined)]).to.deep.equal(['100', '-0.5', '1500000000000000000000', '-0.00000025', undefined]);
  });

  it('keeps a carriage return through XML as a character reference (CSV line ends)', () => {
    expect(escapeXml('a\r\nb & c')).to.equal('a&#13;\nb &amp; c');
  });
});

describe('WorkOrderService over SOAP', function () {
  this.timeout(120_000);
  let server: TestServer;
  let cast: Cast;
  const echo = (volume: string, extra: Array<{ name: string; value: string }> = []) => ({ type: 'Echo', parameter: [{ name: 'volume', value: volume }, { name: 'sizeGiB', value: '5' }, ...extra] });

  before(async () => {
    server = await startTestServer();
    await server.app.loadCatalog(TEST_CATALOG);
    cast = await seedCast(server);
    await server.addUser('ops', 'operator', PASSWORD);
  });
  after(() => server.close());

  for (const version of ['1.1', '1.2'] as const) {
    describe(`over SOAP ${version}`, () => {
      const clients: Record<'alice' | 'carol' | 'bob' | 'admin' | 'ops', soap.Client> = {} as never;

      before(async () => {
        for (const name of ['alice', 'carol', 'bob', 'admin', 'ops'] as const) {
          clients[name] = await soapClient(server.baseUrl, 'WorkOrder', { username: name, password: PASSWORD }, { soap12: version === '1.2' });
        }
      });

      /** Calls an operation; the response must be in the request's SOAP version and valid against the WSDL schema. */
      async function ok<T = Fields>(who: keyof typeof clients, operation: string, args: Fields): Promise<T> {
        const client = clients[who];
        const result = await call<T>(client, operation, args);
        const raw = String(client.lastResponse);
        expect(raw).to.contain(ENVELOPE[version]);
        if (HAVE_XMLLINT) validateAgainstWsdl('workorder', bodyElement(raw));
        return result;
      }

      /** Calls an operation that must fault; the fault is in the request's SOAP version with a detail valid against the WSDL schema. */
      async function fault(who: keyof typeof clients, operation: string, args: Fields): Promise<Fault> {
        try {
          await call(clients[who], operation, args);
        } catch (err) {
          const body = String((err as { body?: unknown }).body ?? '');
          expect(body, String(err)).to.contain(ENVELOPE[version]);
          const detail = /<p:ProvisorFault[\s\S]*<\/p:ProvisorFault>/.exec(body)?.[0];
          expect(detail, body).to.be.a('string');
          if (HAVE_XMLLINT) validateAgainstWsdl('workorder', detail ?? '');
          const code = text(body, 'code');
          if (version === '1.2') expect(body).to.contain(`<soap:Subcode><soap:Value xmlns:f="${WO}">f:${code ?? ''}</soap:Value></soap:Subcode>`);
          const problems = [...(detail ?? '').matchAll(/<p:problem><p:parameter>([^<]*)<\/p:parameter>/g)].map((m) => m[1] ?? '');
          return { code, field: text(body, 'field'), problems, body };
        }
        throw new Error(`${operation} succeeded; a fault was expected`);
      }

      async function settled(workOrderId: number): Promise<Fields> {
        return eventually(async () => {
          const { workOrder } = await ok<{ workOrder: Fields }>('admin', 'GetWorkOrder', { workOrderId });
          return workOrder.state === 'NEW' || workOrder.state === 'IN_PROGRESS' ? undefined : workOrder;
        }, `work order ${workOrderId} to end`);
      }

      describe('ListWorkOrderTypes', () => {
        it('lists only the types the customer\'s level allows, each with its full parameter definitions', async () => {
          const low = many((await ok('alice', 'ListWorkOrderTypes', {})).workOrderType);
          expect(low.map((t) => t.name)).to.have.members(['Echo', 'Manual']);
          // node-soap reads xsd:decimal as a number; on the wire the price keeps its two decimals.
          expect(String(clients.alice.lastResponse)).to.contain('<p:price>12.50</p:price>');
          const typeEcho = low.find((t) => t.name === 'Echo') ?? {};
          expect(typeEcho).to.deep.include({ title: 'Echo an order', currency: 'EUR' });
          expect(Number(typeEcho.price)).to.equal(12.5);
          expect(String(typeEcho.minLevel)).to.equal('1');
          expect(String(typeEcho.manual)).to.equal('false');
          const parameters = many(typeEcho.parameter);
          expect(parameters.map((p) => p.name)).to.deep.equal(['volume', 'sizeGiB', 'tier', 'fail', 'note', 'delay']);
          const [volume, size, tier, fail] = parameters;
          expect(volume).to.deep.include({ type: 'xsd:string', pattern: '[a-z0-9][a-z0-9._-]{0,62}', help: 'A volume name' });
          expect(String(volume?.required)).to.equal('true');
          expect(String(volume?.maxLength)).to.equal('63');
          expect(size).to.deep.include({ type: 'xsd:int' });
          expect([String(size?.min), String(size?.max)]).to.deep.equal(['1', '100']);
          expect(tier).to.deep.include({ default: 'standard' });
          expect(String(tier?.required)).to.equal('false');
          expect(many(tier?.allowedValue).map(String)).to.deep.equal(['standard', 'performance']);
          expect(fail).to.deep.include({ type: 'xsd:boolean', default: 'false' });
          expect(String(many(low.find((t) => t.name === 'Manual')).at(0)?.manual)).to.equal('true');

          const high = many((await ok('carol', 'ListWorkOrderTypes', {})).workOrderType);
          expect(high.map((t) => t.name)).to.include('Premium');
          const all = many((await ok('admin', 'ListWorkOrderTypes', {})).workOrderType);
          expect(all.map((t) => t.name)).to.have.members(['Echo', 'Manual', 'Premium']);
        });

        it('refuses a type above the caller\'s level as UnknownWorkOrderType, creating no row', async () => {
          const before = await countOrders(server);
          const above = await fault('alice', 'SubmitWorkOrder', { type: 'Premium', parameter: [{ name: 'volume', value: 'v1' }] });
          expect(above).to.deep.include({ code: 'UnknownWorkOrderType', field: 'type' });
          const unknown = await fault('alice', 'SubmitWorkOrder', { type: 'Nope', parameter: [] });
          expect(unknown.code).to.equal('UnknownWorkOrderType');
          expect(await countOrders(server)).to.equal(before);
        });
      });

      describe('SubmitWorkOrder and GetWorkOrder', () => {
        it('returns the new order\'s id; the order has the normalised parameters, defaults filled in', async () => {
          const { workOrderId } = await ok<{ workOrderId: unknown }>('alice', 'SubmitWorkOrder', { type: 'Echo', parameter: [{ name: 'sizeGiB', value: '+007' }, { name: 'volume', value: 'data1' }] });
          const id = Number(workOrderId);
          expect(Number.isInteger(id) && id > 0, String(workOrderId)).to.equal(true);
          const { workOrder } = await ok<{ workOrder: Fields }>('alice', 'GetWorkOrder', { workOrderId: id });
          expect(workOrder).to.deep.include({ type: 'Echo', customer: 'alice', account: 'acme', channel: 'soap' });
          expect(many(workOrder.parameter)).to.deep.equal([
            { name: 'volume', value: 'data1' },
            { name: 'sizeGiB', value: '7' },
            { name: 'tier', value: 'standard' },
            { name: 'fail', value: 'false' },
            { name: 'delay', value: 'PT0S' },
          ]);
          expect(many(workOrder.history).at(0)).to.deep.include({ toState: 'NEW', actor: 'alice' });
          const closed = await settled(id);
          expect(closed.state).to.equal('CLOSED');
          const billing = closed.billing as Fields;
          expect([Number(billing.amount), billing.currency]).to.deep.equal([12.5, 'EUR']);
        });

        it('uses the WS-Addressing MessageID as the idempotency key: a retried call returns the first order', async () => {
          const client = clients.alice;
          const messageId = `urn:uuid:${crypto.randomUUID()}`;
          client.addSoapHeader(`<wsa:MessageID xmlns:wsa="http://www.w3.org/2005/08/addressing">${messageId}</wsa:MessageID>`);
          try {
            const before = await countOrders(server);
            const first = await ok<{ workOrderId: unknown }>('alice', 'SubmitWorkOrder', { type: 'Manual' });
            const again = await ok<{ workOrderId: unknown }>('alice', 'SubmitWorkOrder', { type: 'Manual' });
            expect(String(again.workOrderId)).to.equal(String(first.workOrderId));
            expect(await countOrders(server)).to.equal(before + 1);
            // An explicit key wins over the MessageID.
            const keyed = await ok<{ workOrderId: unknown }>('alice', 'SubmitWorkOrder', { type: 'Manual', idempotencyKey: `key-${messageId}` });
            expect(String(keyed.workOrderId)).to.not.equal(String(first.workOrderId));
          } finally {
            client.clearSoapHeaders();
          }
        });

        describe('refuses bad parameters with InvalidParameter naming each one, creating no row', () => {
          const cases: Array<[string, Fields, string[]]> = [
            ['a missing required parameter', { type: 'Echo', parameter: [{ name: 'sizeGiB', value: '5' }] }, ['volume']],
            ['an unknown parameter', echo('v1', [{ name: 'colour', value: 'red' }]), ['colour']],
            ['an ill-typed value', { type: 'Echo', parameter: [{ name: 'volume', value: 'v1' }, { name: 'sizeGiB', value: 'ten' }] }, ['sizeGiB']],
            ['a value out of range', { type: 'Echo', parameter: [{ name: 'volume', value: 'v1' }, { name: 'sizeGiB', value: '101' }] }, ['sizeGiB']],
            ['a value not allowed', echo('v1', [{ name: 'tier', value: 'gold' }]), ['tier']],
            ['a value not matching the pattern', echo('Bad Name'), ['volume']],
            ['several problems at once', { type: 'Echo', parameter: [{ name: 'sizeGiB', value: '0' }, { name: 'fail', value: 'maybe' }, { name: 'colour', value: 'red' }] }, ['colour', 'volume', 'sizeGiB', 'fail']],
          ];
          for (const [what, args, names] of cases) {
            it(what, async () => {
              const before = await countOrders(server);
              const f = await fault('alice', 'SubmitWorkOrder', args);
              expect(f.code).to.equal('InvalidParameter');
              expect(f.problems).to.have.members(names);
              expect(f.field).to.equal(f.problems[0]);
              for (const name of names) expect(text(f.body, 'message') ?? '').to.contain(name);
              expect(await countOrders(server)).to.equal(before);
            });
          }

          it('a parameter given twice', async () => {
            const f = await fault('alice', 'SubmitWorkOrder', echo('v1', [{ name: 'volume', value: 'v2' }]));
            expect(f).to.deep.include({ code: 'InvalidParameter', field: 'volume' });
          });
        });

        it('hides another account\'s order as UnknownWorkOrder, and an ill-typed id is an InvalidField', async () => {
          const { workOrderId } = await ok<{ workOrderId: unknown }>('bob', 'SubmitWorkOrder', { type: 'Manual' });
          expect(await fault('alice', 'GetWorkOrder', { workOrderId })).to.deep.include({ code: 'UnknownWorkOrder', field: 'workOrderId' });
          expect((await ok<{ workOrder: Fields }>('bob', 'GetWorkOrder', { workOrderId })).workOrder.account).to.equal('globex');
          expect(await fault('alice', 'GetWorkOrder', { workOrderId: 999_999 })).to.deep.include({ code: 'UnknownWorkOrder' });
          expect(await fault('alice', 'GetWorkOrder', { workOrderId: 'abc' })).to.deep.include({ code: 'InvalidField', field: 'workOrderId' });
        });
      });

      describe('ListWorkOrders', () => {
        it('pages the caller\'s own orders, newest first, filtered by state, without their history', async () => {
          const ids: number[] = [];
          for (let i = 0; i < 3; i++) ids.push(Number((await ok<{ workOrderId: unknown }>('bob', 'SubmitWorkOrder', { type: 'Manual' })).workOrderId));
          const page = await ok<Fields>('bob', 'ListWorkOrders', { state: 'NEW', offset: 0, limit: 2 });
          const expected = await server.app.workOrders.list(cast.bob, { state: 'NEW', offset: 0, limit: 2 });
          expect(Number(page.total)).to.equal(expected.total);
          expect([Number(page.offset), Number(page.limit)]).to.deep.equal([0, 2]);
          const orders = many(page.workOrder);
          expect(orders.map((o) => Number(o.workOrderId))).to.deep.equal([ids[2], ids[1]]);
          expect(orders.every((o) => o.state === 'NEW' && o.account === 'globex' && o.history === undefined)).to.equal(true);
          const next = many((await ok<Fields>('bob', 'ListWorkOrders', { state: 'NEW', offset: 2, limit: 1 })).workOrder);
          expect(next.map((o) => Number(o.workOrderId))).to.deep.equal([ids[0]]);
          const closed = await ok<Fields>('bob', 'ListWorkOrders', { state: 'CLOSED' });
          expect(many(closed.workOrder).every((o) => o.state === 'CLOSED')).to.equal(true);
          // A customer's account filter cannot widen what it sees.
          const widened = many((await ok<Fields>('alice', 'ListWorkOrders', { account: 'globex', limit: 1000 })).workOrder);
          expect(widened.every((o) => o.account === 'acme')).to.equal(true);
          const asAdmin = many((await ok<Fields>('admin', 'ListWorkOrders', { account: 'globex', limit: 1000 })).workOrder);
          expect(asAdmin.length).to.be.greaterThan(0);
          expect(asAdmin.every((o) => o.account === 'globex')).to.equal(true);
          expect(await fault('bob', 'ListWorkOrders', { limit: 5000 })).to.deep.include({ code: 'InvalidField', field: 'limit' });
          expect(await fault('bob', 'ListWorkOrders', { state: 'DONE' })).to.deep.include({ code: 'InvalidField', field: 'state' });
        });
      });

      describe('admin operations', () => {
        it('are Forbidden to a customer, and the customer operations to an operator', async () => {
          const { workOrderId } = await ok<{ workOrderId: unknown }>('alice', 'SubmitWorkOrder', { type: 'Manual' });
          for (const operation of ['ProcessWorkOrder', 'RetryWorkOrder', 'CloseWorkOrder', 'FailWorkOrder', 'HoldWorkOrder']) {
            expect(await fault('alice', operation, { workOrderId, reason: 'me' }), operation).to.deep.include({ code: 'Forbidden' });
          }
          expect((await fault('alice', 'ListFailedWorkOrders', {})).code).to.equal('Forbidden');
          expect((await fault('alice', 'ExportBillableEvents', { from: '2025-01-01T00:00:00Z', to: '2025-02-01T00:00:00Z' })).code).to.equal('Forbidden');
          expect((await fault('ops', 'ListWorkOrderTypes', {})).code).to.equal('Forbidden');
          const { workOrder } = await ok<{ workOrder: Fields }>('alice', 'GetWorkOrder', { workOrderId });
          expect(workOrder.state).to.equal('NEW');
          expect(many(workOrder.history)).to.have.length(1);
        });

        it('hold, process, fail, retry and close orders, each recording the reason with the admin\'s name', async () => {
          const lastEntry = (order: Fields): Fields => many(order.history).at(-1) ?? {};

          // A manual order: held, then processed by hand; its plan closes it.
          const manual = Number((await ok<{ workOrderId: unknown }>('alice', 'SubmitWorkOrder', { type: 'Manual' })).workOrderId);
          const held = (await ok<{ workOrder: Fields }>('admin', 'HoldWorkOrder', { workOrderId: manual, reason: 'waiting for the customer' })).workOrder;
          expect(held).to.deep.include({ state: 'NEW' });
          expect(String(held.manual)).to.equal('true');
          expect(lastEntry(held)).to.deep.include({ actor: 'admin', toState: 'NEW' });
          expect(String(lastEntry(held).reason)).to.contain('waiting for the customer');
          const processed = (await ok<{ workOrder: Fields }>('admin', 'ProcessWorkOrder', { workOrderId: manual, reason: 'checked by hand' })).workOrder;
          const processedEntry = many(processed.history).find((h) => h.fromState === 'NEW' && h.toState === 'IN_PROGRESS') ?? {};
          expect(processedEntry).to.deep.include({ actor: 'admin' });
          expect(String(processedEntry.reason)).to.contain('checked by hand');
          expect((await settled(manual)).state).to.equal('CLOSED');

          // An order whose plan fails: listed as failed, retried (fails again), then closed by hand and billed.
          const failing = Number((await ok<{ workOrderId: unknown }>('alice', 'SubmitWorkOrder', echo('v2', [{ name: 'fail', value: 'true' }]))).workOrderId);
          expect((await settled(failing)).state).to.equal('FAILED');
          const failedList = await ok<Fields>('admin', 'ListFailedWorkOrders', { limit: 1000 });
          expect(many(failedList.workOrder).map((o) => Number(o.workOrderId))).to.include(failing);
          expect(many(failedList.workOrder).every((o) => o.state === 'FAILED')).to.equal(true);
          const retried = (await ok<{ workOrder: Fields }>('admin', 'RetryWorkOrder', { workOrderId: failing, reason: 'try again' })).workOrder;
          expect(String(retried.attempt)).to.equal('2');
          expect(many(retried.history).some((h) => h.actor === 'admin' && h.fromState === 'FAILED' && String(h.reason).includes('try again'))).to.equal(true);
          expect((await settled(failing)).state).to.equal('FAILED');
          const closed = (await ok<{ workOrder: Fields }>('admin', 'CloseWorkOrder', { workOrderId: failing, reason: 'done by the storage team' })).workOrder;
          expect(closed.state).to.equal('CLOSED');
          expect(lastEntry(closed)).to.deep.include({ actor: 'admin', toState: 'CLOSED' });
          expect(String(lastEntry(closed).reason)).to.contain('done by the storage team');
          expect(Number((closed.billing as Fields | undefined)?.amount)).to.equal(12.5);
          expect(await fault('admin', 'CloseWorkOrder', { workOrderId: failing, reason: 'twice' })).to.deep.include({ code: 'InvalidState', field: 'workOrderId' });

          // Failed by hand: the reason becomes the outcome.
          const cancelled = Number((await ok<{ workOrderId: unknown }>('alice', 'SubmitWorkOrder', { type: 'Manual' })).workOrderId);
          const failedByHand = (await ok<{ workOrder: Fields }>('admin', 'FailWorkOrder', { workOrderId: cancelled, reason: 'customer cancelled' })).workOrder;
          expect(failedByHand.state).to.equal('FAILED');
          expect(String(failedByHand.outcome)).to.contain('customer cancelled');
          expect(lastEntry(failedByHand)).to.deep.include({ actor: 'admin', fromState: 'NEW', toState: 'FAILED' });

          // A reason is required; an unknown order is a fault.
          expect(await fault('admin', 'RetryWorkOrder', { workOrderId: cancelled })).to.deep.include({ code: 'MissingField', field: 'reason' });
          expect(await fault('admin', 'RetryWorkOrder', { workOrderId: cancelled, reason: '   ' })).to.deep.include({ code: 'MissingField', field: 'reason' });
          expect(await fault('admin', 'ProcessWorkOrder', { workOrderId: 999_999, reason: 'x' })).to.deep.include({ code: 'UnknownWorkOrder', field: 'workOrderId' });

          // The customer sees the admin's reason in its own order's history.
          const seen = (await ok<{ workOrder: Fields }>('alice', 'GetWorkOrder', { workOrderId: failing })).workOrder;
          expect(many(seen.history).map((h) => h.actor)).to.include('admin');
        });

        it('export the period\'s billable events as CSV, the billed order included', async () => {
          const billed = Number((await ok<{ workOrderId: unknown }>('alice', 'SubmitWorkOrder', echo('bill1'))).workOrderId);
          expect((await settled(billed)).state).to.equal('CLOSED');
          const from = new Date(Date.now() - 3_600_000).toISOString();
          const to = new Date(Date.now() + 60_000).toISOString();
          const result = await ok<{ events: unknown; csv: string }>('admin', 'ExportBillableEvents', { from, to });
          const lines = result.csv.split('\r\n').filter((l) => l !== '');
          expect(lines[0]).to.equal('eventId,workOrderId,time,customerId,customer,accountId,account,type,amount,currency');
          expect(Number(result.events)).to.equal(lines.length - 1);
          expect(lines.some((l) => l.split(',')[1] === String(billed) && /,alice,\d+,acme,Echo,12\.50,EUR$/.test(l)), result.csv).to.equal(true);
          const empty = await ok<{ events: unknown; csv: string }>('admin', 'ExportBillableEvents', { from: '2000-01-01T00:00:00Z', to: '2000-01-02T00:00:00Z' });
          expect(Number(empty.events)).to.equal(0);
          expect(await fault('admin', 'ExportBillableEvents', { from: to, to: from })).to.deep.include({ code: 'InvalidField', field: 'to' });
          expect(await fault('admin', 'ExportBillableEvents', { from: 'yesterday', to })).to.deep.include({ code: 'InvalidField', field: 'from' });
        });
      });
    });
  }

});
