import { expect } from 'chai';
import type * as soap from 'soap';
import { partnersWsdl, PARTNERS_WSDL_NAME } from '../../scripts/demo/two-websites';
import { ConfigError, loadConfig } from '../../src/config';
import { startTestServer, type TestServer } from '../support/harness';
import { call, soapClient } from '../support/soap-client';
import { deploy, finished, plan, runPlan } from './support';

const engine = { username: 'planner', password: 'planner-secret-1' };
const PV = 'urn:provisor:workflow:1';

function faultOf(err: unknown): { faultcode: string; code: string | undefined; body: string } {
  const body = String((err as { body?: unknown }).body ?? '');
  return { faultcode: /<faultcode>([^<]*)<\/faultcode>/.exec(body)?.[1] ?? '', code: /<p:code>([^<]*)<\/p:code>/.exec(body)?.[1], body };
}

/** A sequence nested `depth` deep around an empty. */
function nested(depth: number): string {
  return `${'<bpel:sequence>'.repeat(depth)}<bpel:empty/>${'</bpel:sequence>'.repeat(depth)}`;
}

/** A counter the deploy-time check cannot read: it comes from a variable. */
function parallelForEach(branches: number): string {
  return `<bpel:variables><bpel:variable name="n" type="xsd:unsignedInt"/></bpel:variables>
    <bpel:sequence>
      <bpel:assign name="count"><bpel:copy><bpel:from>${branches}</bpel:from><bpel:to variable="n"/></bpel:copy></bpel:assign>
      <bpel:forEach name="fanOut" counterName="i" parallel="yes">
        <bpel:startCounterValue>1</bpel:startCounterValue><bpel:finalCounterValue>$n</bpel:finalCounterValue>
        <bpel:scope><bpel:empty/></bpel:scope>
      </bpel:forEach>
    </bpel:sequence>`;
}

describe('plan limits: no plan can take the workflow engine or the server down', function () {
  this.timeout(60_000);
  let server: TestServer;
  let workflow: soap.Client;

  before(async () => {
    server = await startTestServer({
      PROVISOR_WORKFLOW_POLL_MS: '50',
      PROVISOR_PLAN_MAX_DEPTH: '60',
      PROVISOR_PLAN_MAX_PARALLEL_BRANCHES: '50',
      PROVISOR_PLAN_MAX_ITERATIONS: '40',
      PROVISOR_PLAN_MAX_ACTIVITIES: '200',
      PROVISOR_PLAN_MAX_VARIABLE_BYTES: '4096',
    });
    await server.addUser(engine.username, 'engine', engine.password);
    workflow = await soapClient(server.baseUrl, 'Workflow', engine);
  });
  after(() => server.close());

  async function healthy(): Promise<void> {
    expect((await fetch(`${server.baseUrl}/health`)).status).to.equal(200);
  }

  async function refusedDeploy(bpel: string): Promise<{ faultcode: string; code: string | undefined; body: string }> {
    try {
      await call(workflow, 'DeployProcess', { bpel, document: [{ name: PARTNERS_WSDL_NAME, content: partnersWsdl() }] });
    } catch (err) {
      return faultOf(err);
    }
    return expect.fail('the deploy was accepted');
  }

  describe('at deploy', () => {
    it('refuses BPEL nested thousands deep as a client fault naming the nesting limit, not a stack overflow', async () => {
      const fault = await refusedDeploy(plan('Deep', nested(5000)));
      expect(fault.faultcode).to.match(/Client$/);
      expect(fault.code).to.equal('InvalidProcess');
      expect(fault.body, fault.body.slice(0, 1500)).to.match(/nesting limit of 60 \(PROVISOR_PLAN_MAX_DEPTH\)/);
      await healthy();
    });

    it('accepts a plan nested within the limit', async () => {
      expect(await deploy(server, plan('Shallow', nested(40)))).to.equal('Shallow');
    });

    it('refuses a parallel forEach whose literal counters ask for more branches than allowed', async () => {
      const fault = await refusedDeploy(
        plan('WideFanOut', `<bpel:forEach name="fanOut" counterName="i" parallel="yes"><bpel:startCounterValue>1</bpel:startCounterValue><bpel:finalCounterValue>3000000</bpel:finalCounterValue><bpel:scope><bpel:empty/></bpel:scope></bpel:forEach>`),
      );
      expect(fault.faultcode).to.match(/Client$/);
      expect(fault.code).to.equal('InvalidProcess');
      expect(fault.body).to.match(/fanOut.*3000000 parallel branches.*limit of 50 \(PROVISOR_PLAN_MAX_PARALLEL_BRANCHES\)/);
    });

    it('refuses a sequential forEach whose literal counters ask for more iterations than allowed', async () => {
      const fault = await refusedDeploy(
        plan('LongLoop', `<bpel:forEach name="steps" counterName="i" parallel="no"><bpel:startCounterValue>'1'</bpel:startCounterValue><bpel:finalCounterValue>'41'</bpel:finalCounterValue><bpel:scope><bpel:empty/></bpel:scope></bpel:forEach>`),
      );
      expect(fault.code).to.equal('InvalidProcess');
      expect(fault.body).to.match(/steps.*41 iterations.*limit of 40 \(PROVISOR_PLAN_MAX_ITERATIONS\)/);
    });
  });

  describe('at run time, the instance faults with a named fault and the server keeps answering', () => {
    it('a parallel forEach over a counter from a variable: provisor:branchLimitExceeded, before any branch is allocated', async () => {
      const view = await runPlan(server, plan('FanOutAtRunTime', parallelForEach(3_000_000)));
      expect(view.status).to.equal('FAULTED');
      expect(view.fault?.name).to.equal(`{${PV}}branchLimitExceeded`);
      expect(view.fault?.message).to.match(/fanOut.*3000000 parallel branches/);
      expect(view.activities.filter((a) => a.key.includes('forEach#'))).to.have.length(0);
      await healthy();
    });

    it('while(true()) of empty: provisor:iterationLimitExceeded at the iteration over the limit', async () => {
      const view = await runPlan(server, plan('Forever', `<bpel:while name="spin"><bpel:condition>true()</bpel:condition><bpel:empty/></bpel:while>`));
      expect(view.status).to.equal('FAULTED');
      expect(view.fault?.name).to.equal(`{${PV}}iterationLimitExceeded`);
      expect(view.fault?.message).to.match(/while .* "spin": iteration 41: over the limit of 40 \(PROVISOR_PLAN_MAX_ITERATIONS\)/);
      expect(view.activities.filter((a) => a.kind === 'empty')).to.have.length(40);
      await healthy();
    });

    it('a repeatUntil that never ends: provisor:iterationLimitExceeded', async () => {
      const view = await runPlan(server, plan('Again', `<bpel:repeatUntil name="again"><bpel:empty/><bpel:condition>false()</bpel:condition></bpel:repeatUntil>`));
      expect(view.fault?.name).to.equal(`{${PV}}iterationLimitExceeded`);
    });

    it('too many activities in one instance: provisor:activityLimitExceeded, which the plan\'s fault handler may catch', async () => {
      // Nested loops each within the iteration limit, 30 × 30 executions in all.
      const loops = `<bpel:forEach name="outer" counterName="i" parallel="no"><bpel:startCounterValue>1</bpel:startCounterValue><bpel:finalCounterValue>30</bpel:finalCounterValue>
        <bpel:scope><bpel:forEach name="inner" counterName="j" parallel="no"><bpel:startCounterValue>1</bpel:startCounterValue><bpel:finalCounterValue>30</bpel:finalCounterValue>
          <bpel:scope><bpel:empty/></bpel:scope></bpel:forEach></bpel:scope></bpel:forEach>`;
      const uncaught = await runPlan(server, plan('Busy', loops));
      expect(uncaught.status).to.equal('FAULTED');
      expect(uncaught.fault?.name).to.equal(`{${PV}}activityLimitExceeded`);
      expect(uncaught.fault?.message).to.match(/over the limit of 200 \(PROVISOR_PLAN_MAX_ACTIVITIES\)/);
      expect(uncaught.activities.length).to.be.within(200, 205);

      const caught = await runPlan(
        server,
        plan(
          'BusyButCareful',
          `<bpel:variables><bpel:variable name="outcome" type="xsd:string"/></bpel:variables>
          <bpel:faultHandlers>
            <bpel:catch xmlns:pv="${PV}" faultName="pv:activityLimitExceeded">
              <bpel:assign name="note"><bpel:copy><bpel:from>'stopped at the limit'</bpel:from><bpel:to variable="outcome"/></bpel:copy></bpel:assign>
            </bpel:catch>
          </bpel:faultHandlers>
          ${loops}`,
        ),
      );
      expect(caught.status).to.equal('COMPLETED');
      expect(caught.activities.find((a) => a.name === 'note')?.state).to.equal('COMPLETED');
    });

    it('variables growing without bound: provisor:variableLimitExceeded at the write that would pass the budget', async () => {
      const view = await runPlan(
        server,
        plan(
          'Doubling',
          `<bpel:variables><bpel:variable name="s" type="xsd:string"><bpel:from>'0123456789abcdef'</bpel:from></bpel:variable></bpel:variables>
          <bpel:while name="grow"><bpel:condition>true()</bpel:condition>
            <bpel:assign name="double"><bpel:copy><bpel:from>concat($s, $s)</bpel:from><bpel:to variable="s"/></bpel:copy></bpel:assign>
          </bpel:while>`,
        ),
      );
      expect(view.status).to.equal('FAULTED');
      expect(view.fault?.name).to.equal(`{${PV}}variableLimitExceeded`);
      expect(view.fault?.message).to.match(/"double".*over the limit of 4096 \(PROVISOR_PLAN_MAX_VARIABLE_BYTES\)/);
      const stored = (await server.dataSource.query("SELECT value FROM process_variable WHERE instanceId = ? AND name = 's'", [view.instanceId])) as Array<{ value: string }>;
      expect(stored[0]?.value.length ?? 0).to.be.below(4096);
      await healthy();
    });

    it('a limit fault reaches a SOAP caller as the instance status, and other instances still run', async () => {
      const name = await deploy(server, plan('FanOutOverSoap', parallelForEach(51)));
      const { instanceId } = await call<{ instanceId: string }>(workflow, 'StartProcess', { processName: name });
      await finished(server, instanceId);
      const status = await call<{ status: string; fault?: { name: string } }>(workflow, 'GetProcessStatus', { instanceId });
      expect(status.status).to.equal('FAULTED');
      expect(status.fault?.name).to.equal(`{${PV}}branchLimitExceeded`);
      expect((await runPlan(server, plan('FanOutWithin', parallelForEach(50)))).status).to.equal('COMPLETED');
    });
  });
});

describe('the planLimits settings', () => {
  it('have defaults, take the environment, and refuse bad values naming the setting', () => {
    const defaults = loadConfig({}).planLimits;
    expect(defaults).to.include({ maxNestingDepth: 200, maxParallelBranches: 1000, maxLoopIterations: 10_000, crashLoopLimit: 3, retentionDays: 90 });
    expect(Object.isFrozen(defaults)).to.equal(true);
    expect(loadConfig({ PROVISOR_PLAN_RETENTION_DAYS: '0', PROVISOR_PLAN_CRASH_LOOP_LIMIT: '5' }).planLimits).to.include({ retentionDays: 0, crashLoopLimit: 5 });
    expect(() => loadConfig({ PROVISOR_PLAN_MAX_DEPTH: '5000' })).to.throw(ConfigError, /PROVISOR_PLAN_MAX_DEPTH must be between 10 and 1000/);
    expect(() => loadConfig({ PROVISOR_PLAN_MAX_ITERATIONS: 'many' })).to.throw(ConfigError, /PROVISOR_PLAN_MAX_ITERATIONS must be an integer/);
    expect(() => loadConfig({ PROVISOR_PLAN_PRUNE_BATCH: '500', PROVISOR_PLAN_PRUNE_MAX_PER_RUN: '100' })).to.throw(ConfigError, /PROVISOR_PLAN_PRUNE_MAX_PER_RUN must not be below PROVISOR_PLAN_PRUNE_BATCH/);
  });
});
