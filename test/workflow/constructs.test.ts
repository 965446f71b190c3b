import { expect } from 'chai';
import { DateTime } from 'luxon';
import { deserializeValue } from '../../src/bpel/xpath';
import { startTestServer, type TestServer } from '../support/harness';
import { activity, finished, plan, runPlan } from './support';

async function simple(server: TestServer, instanceId: string, name: string): Promise<unknown> {
  const rows = (await server.dataSource.query("SELECT value FROM process_variable WHERE instanceId = ? AND scopeKey = '/process' AND name = ?", [instanceId, name])) as Array<{ value: string }>;
  const text = rows[0]?.value;
  if (text === undefined) return undefined;
  const value = deserializeValue(text);
  return value.kind === 'simple' ? value.value : value.kind;
}

const installAndWait = (system: string, component: string, prefix = 'step'): string => `
    <bpel:assign name="${prefix}Prepare">
      <bpel:copy>
        <bpel:from><bpel:literal><sw:Install><sw:system>${system}</sw:system><sw:component>${component}</sw:component></sw:Install></bpel:literal></bpel:from>
        <bpel:to variable="${prefix}Request" part="parameters"/>
      </bpel:copy>
    </bpel:assign>
    <bpel:invoke name="${prefix}Install" partnerLink="software" operation="Install" inputVariable="${prefix}Request" outputVariable="${prefix}Response"/>
    <bpel:assign name="${prefix}KeepId">
      <bpel:copy>
        <bpel:from><bpel:literal><rq:GetStatus><rq:requestId/></rq:GetStatus></bpel:literal></bpel:from>
        <bpel:to variable="${prefix}StatusRequest" part="parameters"/>
      </bpel:copy>
      <bpel:copy>
        <bpel:from>$${prefix}Response.parameters/sw:requestId</bpel:from>
        <bpel:to>$${prefix}StatusRequest.parameters/rq:requestId</bpel:to>
      </bpel:copy>
      <bpel:copy><bpel:from>'QUEUED'</bpel:from><bpel:to variable="${prefix}Status"/></bpel:copy>
    </bpel:assign>
    <bpel:while name="${prefix}Monitor">
      <bpel:condition>not(starts-with($${prefix}Status, 'COMPLETED'))</bpel:condition>
      <bpel:sequence>
        <bpel:invoke name="${prefix}GetStatus" partnerLink="requests" operation="GetStatus" inputVariable="${prefix}StatusRequest" outputVariable="${prefix}StatusResponse"/>
        <bpel:assign><bpel:copy><bpel:from>$${prefix}StatusResponse.parameters/rq:status</bpel:from><bpel:to variable="${prefix}Status"/></bpel:copy></bpel:assign>
        <bpel:wait><bpel:for>'PT0.05S'</bpel:for></bpel:wait>
      </bpel:sequence>
    </bpel:while>`;

const installVariables = (prefix = 'step'): string => `
    <bpel:variable name="${prefix}Request" messageType="sw:InstallRequest"/>
    <bpel:variable name="${prefix}Response" messageType="sw:InstallResponse"/>
    <bpel:variable name="${prefix}StatusRequest" messageType="rq:GetStatusRequest"/>
    <bpel:variable name="${prefix}StatusResponse" messageType="rq:GetStatusResponse"/>
    <bpel:variable name="${prefix}Status" type="xsd:string"/>`;

describe('the workflow engine runs WS-BPEL constructs', function () {
  this.timeout(60_000);
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ PROVISOR_SIMULATED_MIN_MS: '100', PROVISOR_SIMULATED_MAX_MS: '100', PROVISOR_WORKFLOW_POLL_MS: '50' });
    for (const name of ['sim1', 'sim2', 'sim3']) await server.app.systems.add(name, 'simulated');
  });
  after(() => server.close());

  describe('when a plan invokes Install and polls GetStatus until it completes', () => {
    it('completes, with the provisioning request done exactly once', async () => {
      const view = await runPlan(
        server,
        plan('Monitor', `<bpel:variables>${installVariables()}</bpel:variables><bpel:sequence>${installAndWait('sim1', 'db')}</bpel:sequence>`),
      );
      expect(view.status, JSON.stringify(view.fault)).to.equal('COMPLETED');
      expect(await simple(server, view.instanceId, 'stepStatus')).to.equal('COMPLETED_SUCCESS');
      expect(activity(view, 'stepInstall').state).to.equal('COMPLETED');
      expect(view.activities.filter((a) => a.name === 'stepGetStatus').length).to.be.at.least(1);
      const rows = (await server.dataSource.query("SELECT COUNT(*) AS n FROM provisioning_request WHERE systemName = 'sim1' AND component = 'db'")) as Array<{ n: unknown }>;
      expect(Number(rows[0]?.n)).to.equal(1);
    });
  });

  describe('when an instance is resumed after the invoke was sent but before its end was recorded', () => {
    it('sends the same idempotency key again and gets the first requestId: the task runs once', async () => {
      const view = await runPlan(server, plan('Replay', `<bpel:variables>${installVariables()}</bpel:variables><bpel:sequence>${installAndWait('sim2', 'replayed')}</bpel:sequence>`));
      expect(view.status).to.equal('COMPLETED');
      const id = view.instanceId;
      const invokeKey = view.activities.find((a) => a.name === 'stepInstall')?.key ?? '';
      const before = (await server.dataSource.query("SELECT id FROM provisioning_request WHERE component = 'replayed'")) as Array<{ id: string }>;
      expect(before.length).to.equal(1);
      // Roll the instance back to "invoke started, outcome not recorded", as a crash would leave it.
      await server.dataSource.query("DELETE FROM activity_instance WHERE instanceId = ? AND id > (SELECT id FROM (SELECT id FROM activity_instance WHERE instanceId = ? AND `key` = ?) AS k)", [id, id, invokeKey]);
      await server.dataSource.query("UPDATE activity_instance SET state = 'RUNNING', endedAt = NULL, completionSeq = NULL WHERE instanceId = ? AND (`key` = ? OR kind IN ('sequence', 'scope'))", [id, invokeKey]);
      await server.dataSource.query("DELETE FROM process_variable WHERE instanceId = ? AND name <> 'stepRequest'", [id]);
      await server.dataSource.query("UPDATE process_instance SET status = 'RUNNING', endedAt = NULL WHERE id = ?", [id]);
      server.app.workflow.wake();
      const resumed = await finished(server, id);
      expect(resumed.status, JSON.stringify(resumed.fault)).to.equal('COMPLETED');
      const after = (await server.dataSource.query("SELECT id FROM provisioning_request WHERE component = 'replayed'")) as Array<{ id: string }>;
      expect(after).to.deep.equal(before);
    });
  });

  describe('when activities are linked inside a flow', () => {
    it('follows transition conditions and eliminates dead paths', async () => {
      const view = await runPlan(
        server,
        plan(
          'Links',
          `<bpel:variables><bpel:variable name="log" type="xsd:string"><bpel:from>''</bpel:from></bpel:variable></bpel:variables>
  <bpel:flow suppressJoinFailure="yes">
    <bpel:links><bpel:link name="aToB"/><bpel:link name="aToC"/><bpel:link name="cToD"/><bpel:link name="bToE"/><bpel:link name="dToE"/></bpel:links>
    <bpel:assign name="A"><bpel:sources><bpel:source linkName="aToB"/><bpel:source linkName="aToC"><bpel:transitionCondition>false()</bpel:transitionCondition></bpel:source></bpel:sources>
      <bpel:copy><bpel:from>concat($log, 'A')</bpel:from><bpel:to variable="log"/></bpel:copy></bpel:assign>
    <bpel:assign name="B"><bpel:targets><bpel:target linkName="aToB"/></bpel:targets><bpel:sources><bpel:source linkName="bToE"/></bpel:sources>
      <bpel:copy><bpel:from>concat($log, 'B')</bpel:from><bpel:to variable="log"/></bpel:copy></bpel:assign>
    <bpel:assign name="C"><bpel:targets><bpel:target linkName="aToC"/></bpel:targets><bpel:sources><bpel:source linkName="cToD"/></bpel:sources>
      <bpel:copy><bpel:from>concat($log, 'C')</bpel:from><bpel:to variable="log"/></bpel:copy></bpel:assign>
    <bpel:assign name="D"><bpel:targets><bpel:target linkName="cToD"/></bpel:targets><bpel:sources><bpel:source linkName="dToE"/></bpel:sources>
      <bpel:copy><bpel:from>concat($log, 'D')</bpel:from><bpel:to variable="log"/></bpel:copy></bpel:assign>
    <bpel:assign name="E"><bpel:targets><bpel:joinCondition>$bToE and not($dToE)</bpel:joinCondition><bpel:target linkName="bToE"/><bpel:target linkName="dToE"/></bpel:targets>
      <bpel:copy><bpel:from>concat($log, 'E')</bpel:from><bpel:to variable="log"/></bpel:copy></bpel:assign>
  </bpel:flow>`,
        ),
      );
      expect(view.status, JSON.stringify(view.fault)).to.equal('COMPLETED');
      expect(await simple(server, view.instanceId, 'log')).to.equal('ABE');
      expect(activity(view, 'C').state).to.equal('SKIPPED');
      expect(activity(view, 'D').state).to.equal('SKIPPED');
      const links = (await server.dataSource.query('SELECT `key`, value FROM link_state WHERE instanceId = ? ORDER BY `key`', [view.instanceId])) as Array<{ key: string; value: unknown }>;
      expect(links.map((l) => [l.key.split('~')[1], Number(l.value) === 1 || l.value === true])).to.deep.equal([
        ['aToB', true],
        ['aToC', false],
        ['bToE', true],
        ['cToD', false],
        ['dToE', false],
      ]);
    });

    it('faults with joinFailure when the join condition is false and failures are not suppressed', async () => {
      const view = await runPlan(
        server,
        plan(
          'JoinFailure',
          `<bpel:flow suppressJoinFailure="no">
    <bpel:links><bpel:link name="l"/></bpel:links>
    <bpel:empty name="first"><bpel:sources><bpel:source linkName="l"><bpel:transitionCondition>false()</bpel:transitionCondition></bpel:source></bpel:sources></bpel:empty>
    <bpel:empty name="second"><bpel:targets><bpel:target linkName="l"/></bpel:targets></bpel:empty>
  </bpel:flow>`,
        ),
      );
      expect(view.status).to.equal('FAULTED');
      expect(view.fault?.name).to.contain('joinFailure');
      expect(view.fault?.activityPath).to.match(/empty\[2\]$/);
    });
  });

  describe('when a plan branches and loops', () => {
    it('takes the first true branch of if/elseif/else, and loops with while, repeatUntil and serial forEach', async () => {
      const view = await runPlan(
        server,
        plan(
          'Control',
          `<bpel:variables>
    <bpel:variable name="n" type="xsd:int"><bpel:from>0</bpel:from></bpel:variable>
    <bpel:variable name="m" type="xsd:int"><bpel:from>0</bpel:from></bpel:variable>
    <bpel:variable name="sum" type="xsd:int"><bpel:from>0</bpel:from></bpel:variable>
    <bpel:variable name="branch" type="xsd:string"><bpel:from>''</bpel:from></bpel:variable>
  </bpel:variables>
  <bpel:sequence>
    <bpel:while><bpel:condition>$n &lt; 3</bpel:condition><bpel:assign><bpel:copy><bpel:from>$n + 1</bpel:from><bpel:to variable="n"/></bpel:copy></bpel:assign></bpel:while>
    <bpel:repeatUntil><bpel:assign><bpel:copy><bpel:from>$m + 1</bpel:from><bpel:to variable="m"/></bpel:copy></bpel:assign><bpel:condition>$m &gt;= 2</bpel:condition></bpel:repeatUntil>
    <bpel:forEach counterName="i" parallel="no">
      <bpel:startCounterValue>1</bpel:startCounterValue><bpel:finalCounterValue>4</bpel:finalCounterValue>
      <bpel:scope><bpel:assign><bpel:copy><bpel:from>$sum + $i</bpel:from><bpel:to variable="sum"/></bpel:copy></bpel:assign></bpel:scope>
    </bpel:forEach>
    <bpel:if>
      <bpel:condition>$n = 2</bpel:condition><bpel:assign><bpel:copy><bpel:from>'if'</bpel:from><bpel:to variable="branch"/></bpel:copy></bpel:assign>
      <bpel:elseif><bpel:condition>$n = 3</bpel:condition><bpel:assign><bpel:copy><bpel:from>'elseif'</bpel:from><bpel:to variable="branch"/></bpel:copy></bpel:assign></bpel:elseif>
      <bpel:else><bpel:assign><bpel:copy><bpel:from>'else'</bpel:from><bpel:to variable="branch"/></bpel:copy></bpel:assign></bpel:else>
    </bpel:if>
  </bpel:sequence>`,
        ),
      );
      expect(view.status, JSON.stringify(view.fault)).to.equal('COMPLETED');
      expect(await simple(server, view.instanceId, 'n')).to.equal(3);
      expect(await simple(server, view.instanceId, 'm')).to.equal(2);
      expect(await simple(server, view.instanceId, 'sum')).to.equal(10);
      expect(await simple(server, view.instanceId, 'branch')).to.equal('elseif');
    });

    it('fans out with a parallel forEach: the branches run at the same time', async () => {
      const view = await runPlan(
        server,
        plan(
          'FanOut',
          `<bpel:forEach counterName="i" parallel="yes">
    <bpel:startCounterValue>1</bpel:startCounterValue><bpel:finalCounterValue>3</bpel:finalCounterValue>
    <bpel:scope>
      <bpel:variables>${installVariables('b')}</bpel:variables>
      <bpel:sequence>
        <bpel:assign name="pick">
          <bpel:copy>
            <bpel:from><bpel:literal><sw:Install><sw:system>sim1</sw:system><sw:component>x</sw:component></sw:Install></bpel:literal></bpel:from>
            <bpel:to variable="bRequest" part="parameters"/>
          </bpel:copy>
          <bpel:copy><bpel:from>concat('sim', $i)</bpel:from><bpel:to>$bRequest.parameters/sw:system</bpel:to></bpel:copy>
          <bpel:copy><bpel:from>concat('fan-', $i)</bpel:from><bpel:to>$bRequest.parameters/sw:component</bpel:to></bpel:copy>
        </bpel:assign>
        <bpel:invoke name="fanInstall" partnerLink="software" operation="Install" inputVariable="bRequest" outputVariable="bResponse"/>
        <bpel:wait><bpel:for>'PT0.5S'</bpel:for></bpel:wait>
      </bpel:sequence>
    </bpel:scope>
  </bpel:forEach>`,
        ),
      );
      expect(view.status, JSON.stringify(view.fault)).to.equal('COMPLETED');
      const waits = view.activities.filter((a) => a.kind === 'wait');
      expect(waits.length).to.equal(3);
      const latestStart = Math.max(...waits.map((w) => w.startTime.getTime()));
      const earliestEnd = Math.min(...waits.map((w) => w.endTime?.getTime() ?? 0));
      expect(latestStart, 'the three waits overlapped in time').to.be.below(earliestEnd);
      const rows = (await server.dataSource.query("SELECT systemName, component FROM provisioning_request WHERE component LIKE 'fan-%' ORDER BY component")) as Array<{ systemName: string; component: string }>;
      expect(rows.map((r) => `${r.systemName}/${r.component}`)).to.deep.equal(['sim1/fan-1', 'sim2/fan-2', 'sim3/fan-3']);
    });
  });

  describe('when faults are thrown', () => {
    it('goes to the innermost matching handler: a catch by name before catchAll, outer scopes when inner ones do not match', async () => {
      const view = await runPlan(
        server,
        plan(
          'Faults',
          `<bpel:variables><bpel:variable name="log" type="xsd:string"><bpel:from>''</bpel:from></bpel:variable></bpel:variables>
  <bpel:scope name="outer">
    <bpel:faultHandlers>
      <bpel:catch faultName="t:second"><bpel:assign><bpel:copy><bpel:from>concat($log, 'outer-second;')</bpel:from><bpel:to variable="log"/></bpel:copy></bpel:assign></bpel:catch>
      <bpel:catchAll><bpel:assign><bpel:copy><bpel:from>concat($log, 'outer-all;')</bpel:from><bpel:to variable="log"/></bpel:copy></bpel:assign></bpel:catchAll>
    </bpel:faultHandlers>
    <bpel:sequence>
      <bpel:scope name="first">
        <bpel:faultHandlers>
          <bpel:catch faultName="t:first"><bpel:assign><bpel:copy><bpel:from>concat($log, 'first;')</bpel:from><bpel:to variable="log"/></bpel:copy></bpel:assign></bpel:catch>
          <bpel:catchAll><bpel:assign><bpel:copy><bpel:from>concat($log, 'first-all;')</bpel:from><bpel:to variable="log"/></bpel:copy></bpel:assign></bpel:catchAll>
        </bpel:faultHandlers>
        <bpel:throw faultName="t:first"/>
      </bpel:scope>
      <bpel:scope name="second">
        <bpel:faultHandlers>
          <bpel:catch faultName="t:other"><bpel:empty/></bpel:catch>
        </bpel:faultHandlers>
        <bpel:throw faultName="t:second"/>
      </bpel:scope>
      <bpel:assign name="notReached"><bpel:copy><bpel:from>concat($log, 'not-reached;')</bpel:from><bpel:to variable="log"/></bpel:copy></bpel:assign>
    </bpel:sequence>
  </bpel:scope>`,
        ),
      );
      expect(view.status, JSON.stringify(view.fault)).to.equal('COMPLETED');
      expect(await simple(server, view.instanceId, 'log')).to.equal('first;outer-second;');
    });

    it('compensates completed scopes in reverse completion order', async () => {
      const scope = (name: string): string => `
      <bpel:scope name="${name}">
        <bpel:compensationHandler><bpel:assign><bpel:copy><bpel:from>concat($log, 'undo-${name};')</bpel:from><bpel:to variable="log"/></bpel:copy></bpel:assign></bpel:compensationHandler>
        <bpel:assign><bpel:copy><bpel:from>concat($log, 'do-${name};')</bpel:from><bpel:to variable="log"/></bpel:copy></bpel:assign>
      </bpel:scope>`;
      const view = await runPlan(
        server,
        plan(
          'Compensation',
          `<bpel:variables><bpel:variable name="log" type="xsd:string"><bpel:from>''</bpel:from></bpel:variable></bpel:variables>
  <bpel:scope name="work">
    <bpel:faultHandlers><bpel:catchAll><bpel:compensate/></bpel:catchAll></bpel:faultHandlers>
    <bpel:sequence>${scope('a')}${scope('b')}${scope('c')}
      <bpel:throw faultName="t:failed"/>
    </bpel:sequence>
  </bpel:scope>`,
        ),
      );
      expect(view.status, JSON.stringify(view.fault)).to.equal('COMPLETED');
      expect(await simple(server, view.instanceId, 'log')).to.equal('do-a;do-b;do-c;undo-c;undo-b;undo-a;');
      expect(activity(view, 'b').state).to.equal('COMPENSATED');
    });

    it('an uncaught fault fails the instance with the activity path and cause', async () => {
      const view = await runPlan(server, plan('Uncaught', `<bpel:sequence><bpel:empty/><bpel:throw name="boom" faultName="t:broken"/></bpel:sequence>`));
      expect(view.status).to.equal('FAULTED');
      expect(view.fault?.name).to.equal('{urn:test}broken');
      expect(view.fault?.activityPath).to.equal('/process/sequence/throw');
      expect(activity(view, 'boom').state).to.equal('FAULTED');
    });

    it('a throw whose faultVariable is simple-typed carries its value in the fault message', async () => {
      const view = await runPlan(
        server,
        plan(
          'ThrowWithReason',
          `<bpel:variables><bpel:variable name="reason" type="xsd:string"/></bpel:variables>
  <bpel:sequence>
    <bpel:assign><bpel:copy><bpel:from>concat('volume ', '"vol1"', ' does not exist')</bpel:from><bpel:to variable="reason"/></bpel:copy></bpel:assign>
    <bpel:throw name="boom" faultName="t:broken" faultVariable="reason"/>
  </bpel:sequence>`,
        ),
      );
      expect(view.status).to.equal('FAULTED');
      expect(view.fault?.name).to.equal('{urn:test}broken');
      expect(view.fault?.message).to.equal('activity /process/sequence/throw "boom" threw {urn:test}broken: volume "vol1" does not exist');
      expect(view.fault?.activityPath).to.equal('/process/sequence/throw');
    });

    it('an XPath error at run time faults the instance, naming the activity', async () => {
      const view = await runPlan(
        server,
        plan('XPathError', `<bpel:variables><bpel:variable name="x" type="xsd:string"/></bpel:variables><bpel:assign name="bad"><bpel:copy><bpel:from>$x</bpel:from><bpel:to variable="x"/></bpel:copy></bpel:assign>`),
      );
      expect(view.status).to.equal('FAULTED');
      expect(view.fault?.name).to.contain('uninitializedVariable');
      expect(view.fault?.activityPath).to.equal('/process/assign');
    });

    it('exit ends the instance at once', async () => {
      const view = await runPlan(server, plan('Exit', `<bpel:sequence><bpel:exit/><bpel:empty name="after"/></bpel:sequence>`));
      expect(view.status).to.equal('TERMINATED');
      expect(view.activities.some((a) => a.name === 'after')).to.equal(false);
    });
  });

  describe('when handlers name what to compensate or rethrow', () => {
    it('compensateScope compensates only the named scope; rethrow passes the fault to the enclosing scope', async () => {
      const scope = (name: string): string => `
      <bpel:scope name="${name}">
        <bpel:compensationHandler><bpel:assign><bpel:copy><bpel:from>concat($log, 'undo-${name};')</bpel:from><bpel:to variable="log"/></bpel:copy></bpel:assign></bpel:compensationHandler>
        <bpel:empty/>
      </bpel:scope>`;
      const view = await runPlan(
        server,
        plan(
          'Targeted',
          `<bpel:variables><bpel:variable name="log" type="xsd:string"><bpel:from>''</bpel:from></bpel:variable></bpel:variables>
  <bpel:scope name="outer">
    <bpel:faultHandlers><bpel:catch faultName="t:failed"><bpel:assign><bpel:copy><bpel:from>concat($log, 'outer-caught;')</bpel:from><bpel:to variable="log"/></bpel:copy></bpel:assign></bpel:catch></bpel:faultHandlers>
    <bpel:scope name="inner">
      <bpel:faultHandlers>
        <bpel:catchAll>
          <bpel:sequence>
            <bpel:compensateScope target="y"/>
            <bpel:rethrow/>
          </bpel:sequence>
        </bpel:catchAll>
      </bpel:faultHandlers>
      <bpel:sequence>${scope('x')}${scope('y')}${scope('z')}
        <bpel:throw faultName="t:failed"/>
      </bpel:sequence>
    </bpel:scope>
  </bpel:scope>`,
        ),
      );
      expect(view.status, JSON.stringify(view.fault)).to.equal('COMPLETED');
      expect(await simple(server, view.instanceId, 'log')).to.equal('undo-y;outer-caught;');
      expect(activity(view, 'x').state).to.equal('COMPLETED');
      expect(activity(view, 'y').state).to.equal('COMPENSATED');
    });

    it('an onAlarm with repeatEvery fires again until the scope ends; a completion condition ends a parallel forEach early', async () => {
      const view = await runPlan(
        server,
        plan(
          'Repeat',
          `<bpel:variables>
    <bpel:variable name="ticks" type="xsd:int"><bpel:from>0</bpel:from></bpel:variable>
    <bpel:variable name="done" type="xsd:int"><bpel:from>0</bpel:from></bpel:variable>
  </bpel:variables>
  <bpel:sequence>
    <bpel:scope name="ticking">
      <bpel:eventHandlers>
        <bpel:onAlarm><bpel:for>'PT0.1S'</bpel:for><bpel:repeatEvery>'PT0.5S'</bpel:repeatEvery>
          <bpel:scope><bpel:assign><bpel:copy><bpel:from>$ticks + 1</bpel:from><bpel:to variable="ticks"/></bpel:copy></bpel:assign></bpel:scope>
        </bpel:onAlarm>
      </bpel:eventHandlers>
      <bpel:wait><bpel:for>'PT1.35S'</bpel:for></bpel:wait>
    </bpel:scope>
    <bpel:forEach counterName="i" parallel="yes">
      <bpel:startCounterValue>1</bpel:startCounterValue><bpel:finalCounterValue>4</bpel:finalCounterValue>
      <bpel:completionCondition><bpel:branches>2</bpel:branches></bpel:completionCondition>
      <bpel:scope>
        <bpel:sequence>
          <bpel:wait><bpel:for>concat('PT', $i * 0.3, 'S')</bpel:for></bpel:wait>
          <bpel:assign><bpel:copy><bpel:from>$done + 1</bpel:from><bpel:to variable="done"/></bpel:copy></bpel:assign>
        </bpel:sequence>
      </bpel:scope>
    </bpel:forEach>
  </bpel:sequence>`,
        ),
      );
      expect(view.status, JSON.stringify(view.fault)).to.equal('COMPLETED');
      expect(await simple(server, view.instanceId, 'ticks')).to.equal(3);
      expect(await simple(server, view.instanceId, 'done')).to.equal(2);
    });
  });

  describe('when a deadline is given with a time zone', () => {
    it('waits until it, and fires an onAlarm until-deadline at it, reporting a DEADLINE violation', async () => {
      const zoned = (ms: number): string => DateTime.fromMillis(Date.now() + ms, { zone: 'UTC+2' }).toISO() ?? '';
      const kinds: string[] = [];
      const stopListening = server.app.notifier.listen({ alarm: (event) => void kinds.push(event.kind) });
      const started = Date.now();
      const view = await runPlan(
        server,
        plan(
          'Deadline',
          `<bpel:scope name="byDeadline">
    <bpel:eventHandlers><bpel:onAlarm><bpel:until>'${zoned(200)}'</bpel:until><bpel:scope><bpel:empty name="missed"/></bpel:scope></bpel:onAlarm></bpel:eventHandlers>
    <bpel:wait name="untilLater"><bpel:until>'${zoned(700)}'</bpel:until></bpel:wait>
  </bpel:scope>`,
        ),
      );
      stopListening();
      expect(view.status, JSON.stringify(view.fault)).to.equal('COMPLETED');
      expect(Date.now() - started).to.be.at.least(650);
      expect(activity(view, 'missed').state).to.equal('COMPLETED');
      expect(kinds).to.deep.equal(['DEADLINE']);
    });
  });

  describe('when a scope has an onAlarm', () => {
    it('fires the alarm at its duration, reports the violation, and lets the scope go on', async () => {
      const alarms: string[] = [];
      const stopListening = server.app.notifier.listen({ alarm: (event) => void alarms.push(event.alarmPath) });
      const view = await runPlan(
        server,
        plan(
          'Alarm',
          `<bpel:variables><bpel:variable name="log" type="xsd:string"><bpel:from>''</bpel:from></bpel:variable></bpel:variables>
  <bpel:scope name="limited">
    <bpel:eventHandlers>
      <bpel:onAlarm><bpel:for>'PT0.2S'</bpel:for>
        <bpel:scope><bpel:assign name="late"><bpel:copy><bpel:from>concat($log, 'alarm;')</bpel:from><bpel:to variable="log"/></bpel:copy></bpel:assign></bpel:scope>
      </bpel:onAlarm>
    </bpel:eventHandlers>
    <bpel:sequence>
      <bpel:wait><bpel:for>'PT0.6S'</bpel:for></bpel:wait>
      <bpel:assign><bpel:copy><bpel:from>concat($log, 'done;')</bpel:from><bpel:to variable="log"/></bpel:copy></bpel:assign>
    </bpel:sequence>
  </bpel:scope>`,
        ),
      );
      stopListening();
      expect(view.status, JSON.stringify(view.fault)).to.equal('COMPLETED');
      expect(await simple(server, view.instanceId, 'log')).to.equal('alarm;done;');
      expect(alarms).to.deep.equal(['/process/scope/eventHandlers/onAlarm[1]']);
    });
  });
});
