import { expect } from 'chai';
import type * as soap from 'soap';
import { startTestServer, type TestServer } from '../support/harness';
import { call, soapClient } from '../support/soap-client';
import { deploy, finished, plan } from './support';

const engine = { username: 'pager', password: 'pager-secret-1' };

interface StatusReply {
  status: string;
  activity?: Array<{ path: string }>;
  activityCount?: number;
}

/**
 * GetProcessStatus of an instance that looped answered every activity row at
 * once: 10,000 of them held the process's event loop for some 60 ms per call
 * (a hundred thousand, the activity limit, for most of a second).
 */
describe('GetProcessStatus pages the activities of a large instance', function () {
  this.timeout(60_000);
  let server: TestServer;
  let workflow: soap.Client;
  let big: string;
  let small: string;

  before(async () => {
    server = await startTestServer({ PROVISOR_WORKFLOW_POLL_MS: '50' });
    await server.addUser(engine.username, 'engine', engine.password);
    workflow = await soapClient(server.baseUrl, 'Workflow', engine);
    const loop = await deploy(
      server,
      plan(
        'Loop1200',
        `<bpel:variables><bpel:variable name="i" type="xsd:int"/></bpel:variables>
         <bpel:sequence>
           <bpel:assign><bpel:copy><bpel:from>0</bpel:from><bpel:to variable="i"/></bpel:copy></bpel:assign>
           <bpel:while><bpel:condition>$i &lt; 1200</bpel:condition>
             <bpel:assign><bpel:copy><bpel:from>$i + 1</bpel:from><bpel:to variable="i"/></bpel:copy></bpel:assign>
           </bpel:while>
         </bpel:sequence>`,
      ),
    );
    big = await server.app.workflow.start(loop, undefined, 'tester');
    const one = await deploy(server, plan('JustOne', '<bpel:empty name="only"/>'));
    small = await server.app.workflow.start(one, undefined, 'tester');
    expect((await finished(server, big, 50_000)).status).to.equal('COMPLETED');
    expect((await finished(server, small)).status).to.equal('COMPLETED');
  });
  after(() => server.close());

  it('answers at most 1000 activities by default, with the count of all of them', async () => {
    const all = (await server.app.workflow.status(big)).activities.map((a) => a.key);
    expect(all.length).to.be.greaterThan(1200);
    const reply = await call<StatusReply>(workflow, 'GetProcessStatus', { instanceId: big });
    expect(reply.activity?.map((a) => a.path)).to.deep.equal(all.slice(0, 1000));
    expect(Number(reply.activityCount)).to.equal(all.length);
  });

  it('pages with activityOffset and activityLimit, in the order the activities started', async () => {
    const all = (await server.app.workflow.status(big)).activities.map((a) => a.key);
    const seen: string[] = [];
    for (let offset = 0; offset < all.length; offset += 500) {
      const page = await call<StatusReply>(workflow, 'GetProcessStatus', { instanceId: big, activityOffset: offset, activityLimit: 500 });
      expect(Number(page.activityCount)).to.equal(all.length);
      seen.push(...(page.activity ?? []).map((a) => a.path));
    }
    expect(seen).to.deep.equal(all);
    const beyond = await call<StatusReply>(workflow, 'GetProcessStatus', { instanceId: big, activityOffset: all.length + 10 });
    expect(beyond.activity ?? []).to.deep.equal([]);
    expect(Number(beyond.activityCount)).to.equal(all.length);
  });

  it('answers an instance whose activities fit as before, without activityCount', async () => {
    const reply = await call<StatusReply>(workflow, 'GetProcessStatus', { instanceId: small });
    expect(reply.activity?.map((a) => a.path)).to.deep.equal(['/process', '/process/empty']);
    expect(reply.activityCount).to.equal(undefined);
  });

  for (const [what, args] of [
    ['an activityLimit of 0', { activityLimit: 0 }],
    ['an activityLimit over 1000', { activityLimit: 1001 }],
    ['a negative activityOffset', { activityOffset: -1 }],
  ] as const) {
    it(`refuses ${what} as the caller's fault naming the field`, async () => {
      try {
        await call(workflow, 'GetProcessStatus', { instanceId: small, ...args });
        expect.fail('accepted');
      } catch (err) {
        const body = String((err as { body?: unknown }).body ?? '');
        expect(body).to.match(/<faultcode>[^<]*Client<\/faultcode>/);
        expect(body).to.match(/activity(Limit|Offset)/);
      }
    });
  }
});
