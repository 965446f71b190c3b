import { expect } from 'chai';
import { eventually, type TestServer } from '../support/harness';
import { bodyElement, HAVE_XMLLINT, validateAgainstWsdl } from '../support/wsdl-schema';
import { ADMIN, changeServer, changeXml, CM, cmCall, CUSTOMER, OPERATOR, textOf, textsOf } from './support';

/** Waits until the change is out of PLANNING (or in `state`) and answers GetChangePlan's body. */
async function planOf(server: TestServer, changeId: string, state?: string): Promise<string> {
  return eventually(async () => {
    const answer = await cmCall(server, OPERATOR, 'GetChangePlan', `<c:changeId>${changeId}</c:changeId>`);
    expect(answer.fault, answer.body).to.equal(undefined);
    const now = textOf(answer.body, 'state');
    if (state === undefined ? now === 'PLANNING' : now !== state) return undefined;
    return answer.body;
  }, `change ${changeId} to be ${state ?? 'planned'}`);
}

async function submit(server: TestServer, inner: string, headers = ''): Promise<string> {
  const answer = await cmCall(server, OPERATOR, 'SubmitChangeRequest', inner, headers);
  expect(answer.fault, answer.body).to.equal(undefined);
  const id = textOf(answer.body, 'changeId');
  expect(id, answer.body).to.match(/^[0-9a-f-]{36}$/);
  return id as string;
}

async function installedVersion(server: TestServer, system: string, component: string): Promise<string | undefined> {
  const rows = (await server.dataSource.query('SELECT c.version FROM installed_component c JOIN managed_system s ON s.id = c.systemId WHERE s.name = ? AND c.name = ?', [system, component])) as Array<{ version: string }>;
  return rows[0]?.version;
}

async function requestCount(server: TestServer): Promise<number> {
  const rows = (await server.dataSource.query('SELECT COUNT(*) AS n FROM provisioning_request')) as Array<{ n: unknown }>;
  return Number(rows[0]?.n);
}

describe('ChangeManagerService over SOAP', function () {
  this.timeout(120_000);
  let server: TestServer;

  before(async () => {
    server = await changeServer(2);
  });
  after(async () => {
    await server.close();
  });

  describe('when a small change runs on the simulated driver', () => {
    it('goes PLANNING → PLANNED → RUNNING → COMPLETED and leaves the component at the new version', async () => {
      const id = await submit(server, changeXml('Install', 'demo-httpd', { system: 'sim1' }, '1.1.0'));
      const done = await planOf(server, id, 'COMPLETED');
      expect(textsOf(done, 'operation')).to.include.members(['Install']);
      expect(textOf(done, 'bpel')).to.contain('process');
      expect(textOf(done, 'instanceId')).to.match(/^[0-9a-f-]{36}$/);
      expect(textOf(done, 'makespan')).to.match(/^\d+$/);
      expect(await installedVersion(server, 'sim1', 'demo-httpd')).to.equal('1.1.0');
      // The answer is what the WSDL declares, plan and all.
      if (HAVE_XMLLINT) validateAgainstWsdl('changemanager', bodyElement(done));
      const listed = await cmCall(server, OPERATOR, 'ListChangeRequests', '<c:state>COMPLETED</c:state>');
      if (HAVE_XMLLINT) validateAgainstWsdl('changemanager', bodyElement(listed.body));
      expect(textsOf(listed.body, 'changeId')).to.include(id);
      const instance = await server.app.workflow.status(textOf(done, 'instanceId') as string);
      expect(instance.status).to.equal('COMPLETED');
    });
  });

  describe('when the request is a dry run', () => {
    it('answers the plan and its checks and runs nothing; continue then runs it', async () => {
      const before = await requestCount(server);
      const id = await submit(server, `${changeXml('Install', 'demo-site', { system: 'sim2' })}<c:dryRun>true</c:dryRun>`);
      const planned = await planOf(server, id);
      expect(textOf(planned, 'state')).to.equal('PLANNED');
      expect(textOf(planned, 'dryRun')).to.equal('true');
      expect(textsOf(planned, 'policy').length).to.be.greaterThan(0);
      expect(textOf(planned, 'instanceId')).to.equal(undefined);
      // Another change's full pass of the queue has run meanwhile: the dry run stays planned and nothing was provisioned for it.
      const other = await submit(server, `${changeXml('Install', 'demo-httpd', { system: 'sim2' }, '1.0.0')}<c:dryRun>true</c:dryRun>`);
      await planOf(server, other);
      expect(textOf((await cmCall(server, OPERATOR, 'GetChangePlan', `<c:changeId>${id}</c:changeId>`)).body, 'state')).to.equal('PLANNED');
      expect(await requestCount(server)).to.equal(before);

      const decided = await cmCall(server, OPERATOR, 'DecideChangePlan', `<c:changeId>${id}</c:changeId><c:decision>continue</c:decision>`);
      expect(decided.fault, decided.body).to.equal(undefined);
      await planOf(server, id, 'COMPLETED');
      expect(await installedVersion(server, 'sim2', 'demo-site')).to.not.equal(undefined);
    });
  });

  describe('idempotency', () => {
    it('answers the first changeId to a retry with the same idempotencyKey, and refuses the key with another request', async () => {
      const inner = `${changeXml('Install', 'demo-site', { system: 'sim1' })}<c:dryRun>true</c:dryRun><c:idempotencyKey>same-key</c:idempotencyKey>`;
      const first = await submit(server, inner);
      expect(await submit(server, inner)).to.equal(first);
      const other = await cmCall(server, OPERATOR, 'SubmitChangeRequest', `${changeXml('Install', 'demo-httpd', { system: 'sim1' })}<c:dryRun>true</c:dryRun><c:idempotencyKey>same-key</c:idempotencyKey>`);
      expect(other.fault).to.equal('IdempotencyConflict');
      expect(other.status).to.equal(500);
    });

    it('uses the WS-Addressing MessageID as the key', async () => {
      const header = '<wsa:MessageID xmlns:wsa="http://www.w3.org/2005/08/addressing">urn:uuid:6a3c1d52-0000-4000-8000-000000000001</wsa:MessageID>';
      const inner = `${changeXml('Install', 'demo-site', { system: 'sim2' })}<c:dryRun>true</c:dryRun>`;
      const first = await submit(server, inner, header);
      expect(await submit(server, inner, header)).to.equal(first);
      expect(await submit(server, inner)).to.not.equal(first);
    });
  });

  describe('when planning rejects the request', () => {
    for (const [what, inner, code] of [
      ['an unknown system', changeXml('Install', 'demo-httpd', { system: 'nowhere' }), 'UnknownSystem'],
      ['an unknown component', changeXml('Install', 'no-such-package', { system: 'sim1' }), 'UnknownComponent'],
      ['an unknown version', changeXml('Install', 'demo-httpd', { system: 'sim1' }, '9.9.9'), 'UnknownVersion'],
      ['an unknown role', changeXml('Install', 'demo-httpd', { role: 'mainframe' }), 'UnknownRole'],
    ] as const) {
      it(`answers REJECTED with ${code} for ${what}, naming it`, async () => {
        const id = await submit(server, `${inner}<c:dryRun>true</c:dryRun>`);
        const rejected = await planOf(server, id);
        expect(textOf(rejected, 'state')).to.equal('REJECTED');
        expect(textOf(rejected, 'code'), rejected).to.equal(code);
        expect(textOf(rejected, 'bpel')).to.equal(undefined);
      });
    }

    it('rejects a cycle brought in by a saved fragment, naming the tasks on it', async () => {
      await server.app.changes.policies.saveFragment(
        {
          name: 'loop',
          parameters: ['system'],
          tasks: [
            { key: 'a', operation: 'Install', system: '${system}', component: 'demo-slow' },
            { key: 'b', operation: 'Install', system: '${system}', component: 'demo-broken' },
          ],
          precedences: [
            { from: 'a', to: 'b', type: 'FS' },
            { from: 'b', to: 'a', type: 'FS' },
          ],
        },
        'tester',
        new Date(),
      );
      const id = await submit(server, '<c:fragment><c:name>loop</c:name><c:argument><c:name>system</c:name><c:value>sim2</c:value></c:argument></c:fragment><c:dryRun>true</c:dryRun>');
      const rejected = await planOf(server, id);
      expect(textOf(rejected, 'code'), rejected).to.equal('Cycle');
      expect(textsOf(rejected, 'object').join(' ')).to.match(/demo-slow/).and.to.match(/demo-broken/);
    });

    it('replans a rejected change from the model as it is now', async () => {
      const id = await submit(server, `${changeXml('Install', 'demo-httpd', { system: 'sim9' })}<c:dryRun>true</c:dryRun>`);
      expect(textOf(await planOf(server, id), 'code')).to.equal('UnknownSystem');
      await server.app.systems.add('sim9', 'simulated', {});
      const replanned = await cmCall(server, OPERATOR, 'DecideChangePlan', `<c:changeId>${id}</c:changeId><c:decision>replan</c:decision>`);
      expect(textOf(replanned.body, 'state')).to.equal('PLANNING');
      const planned = await planOf(server, id);
      expect(textOf(planned, 'state')).to.equal('PLANNED');
      expect(textOf(planned, 'rejection')).to.equal(undefined);
    });
  });

  describe('bad input gets a fault naming the field, and nothing is stored', () => {
    const cases: Array<[string, string, string, string | RegExp]> = [
      ['no change at all', '<c:dryRun>true</c:dryRun>', 'MissingField', 'changes'],
      ['a target with two kinds', changeXml('Install', 'demo-httpd', { system: 'sim1', role: 'web' }), 'InvalidField', 'change[1]/target'],
      ['a target with none', '<c:change><c:operation>Install</c:operation><c:component>x</c:component><c:target/></c:change>', 'MissingField', 'change[1]/target'],
      ['an unknown operation', '<c:change><c:operation>Explode</c:operation><c:component>x</c:component><c:target><c:system>sim1</c:system></c:target></c:change>', 'InvalidField', /operation/],
      ['a malformed deadline', `${changeXml('Install', 'demo-httpd', { system: 'sim1' })}<c:deadline>next tuesday</c:deadline>`, 'InvalidField', 'deadline'],
      ['a deadline before the earliest start', `${changeXml('Install', 'demo-httpd', { system: 'sim1' })}<c:earliestStart>2030-01-02T00:00:00Z</c:earliestStart><c:deadline>2030-01-01T00:00:00Z</c:deadline>`, 'InvalidField', 'deadline'],
      ['a share above 1', `${changeXml('Install', 'demo-httpd', { system: 'sim1' })}<c:maxUnavailableShare>1.5</c:maxUnavailableShare>`, 'InvalidField', 'maxUnavailableShare'],
      ['a bad version range', changeXml('Install', 'demo-httpd', { system: 'sim1' }, '>>1'), 'InvalidField', /version/],
      ['a field the request does not have', `${changeXml('Install', 'demo-httpd', { system: 'sim1' })}<c:colour>red</c:colour>`, 'InvalidField', 'colour'],
      ['a fragment that is not saved', '<c:fragment><c:name>nothing-saved</c:name></c:fragment>', 'InvalidField', /fragment/],
    ];
    for (const [what, inner, code, field] of cases) {
      it(`refuses ${what}`, async () => {
        const count = (await server.app.changes.list({ limit: 1 })).total;
        const answer = await cmCall(server, OPERATOR, 'SubmitChangeRequest', inner);
        expect(answer.fault, answer.body).to.equal(code);
        if (typeof field === 'string') expect(answer.field).to.equal(field);
        else expect(answer.field ?? answer.reason).to.match(field);
        expect((await server.app.changes.list({ limit: 1 })).total).to.equal(count);
      });
    }

    it('refuses a request over the size limit', async () => {
      const big = 'x'.repeat(250);
      const parameters = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`p${i}`, big]));
      const inner = Array.from({ length: 25 }, () => changeXml('Configure', 'demo-httpd', { system: 'sim1' }, undefined, parameters)).join('');
      const answer = await cmCall(server, OPERATOR, 'SubmitChangeRequest', inner);
      expect(answer.fault).to.equal('InvalidField');
      expect(answer.reason).to.match(/bytes, more than the 60000 allowed/);
    });

    it('refuses more than 200 changes', async () => {
      const inner = changeXml('Start', 'demo-httpd', { system: 'sim1' }).repeat(201);
      const answer = await cmCall(server, OPERATOR, 'SubmitChangeRequest', inner);
      expect(answer.fault).to.equal('InvalidField');
      expect(answer.reason).to.match(/201 times, more than the 200/);
    });

    it('answers UnknownChange for an id nobody was given', async () => {
      const answer = await cmCall(server, OPERATOR, 'GetChangePlan', '<c:changeId>00000000-0000-4000-8000-000000000000</c:changeId>');
      expect(answer.fault).to.equal('UnknownChange');
      if (HAVE_XMLLINT) validateAgainstWsdl('changemanager', /<(\w+:)?ProvisorFault[\s\S]*<\/(\w+:)?ProvisorFault>/.exec(answer.body)?.[0] ?? '');
      expect(answer.field).to.equal('changeId');
    });
  });

  describe('roles', () => {
    it('refuses a customer every operation', async () => {
      for (const [op, inner] of [
        ['SubmitChangeRequest', changeXml('Install', 'demo-httpd', { system: 'sim1' })],
        ['ListChangeRequests', ''],
        ['ListPolicies', ''],
      ] as const) {
        expect((await cmCall(server, CUSTOMER, op, inner)).fault, op).to.equal('Forbidden');
      }
    });

    it('lets only admins add and remove policies', async () => {
      const inner = '<c:name>ops-limit</c:name><c:kind>max-concurrent</c:kind><c:parameter><c:name>limit</c:name><c:value>2</c:value></c:parameter>';
      expect((await cmCall(server, OPERATOR, 'AddPolicy', inner)).fault).to.equal('Forbidden');
      expect((await cmCall(server, OPERATOR, 'RemovePolicy', '<c:name>ops-limit</c:name>')).fault).to.equal('Forbidden');
    });
  });

  describe('policies', () => {
    it('adds, lists and removes an admin policy; the built-in ones are always listed', async () => {
      const added = await cmCall(server, ADMIN, 'AddPolicy', '<c:name>web-limit</c:name><c:kind>max-concurrent</c:kind><c:parameter><c:name>limit</c:name><c:value>1</c:value></c:parameter><c:scope><c:kind>role</c:kind><c:name>web</c:name></c:scope>');
      expect(added.fault, added.body).to.equal(undefined);
      const listed = await cmCall(server, OPERATOR, 'ListPolicies', '');
      if (HAVE_XMLLINT) validateAgainstWsdl('changemanager', bodyElement(listed.body));
      const names = textsOf(listed.body, 'name');
      expect(names).to.include.members(['web-limit', 'separate-app-and-db', 'app-server-requires-db-version', 'quiesce-before-upgrade', 'cluster-same-version']);
      expect((await cmCall(server, ADMIN, 'AddPolicy', '<c:name>web-limit</c:name><c:kind>max-concurrent</c:kind><c:parameter><c:name>limit</c:name><c:value>1</c:value></c:parameter>')).fault).to.equal('PolicyExists');
      expect((await cmCall(server, ADMIN, 'RemovePolicy', '<c:name>web-limit</c:name>')).fault).to.equal(undefined);
      expect(textsOf((await cmCall(server, OPERATOR, 'ListPolicies', '')).body, 'name')).to.not.include('web-limit');
      expect((await cmCall(server, ADMIN, 'RemovePolicy', '<c:name>web-limit</c:name>')).fault).to.equal('UnknownPolicy');
    });

    it('refuses a policy without the parameters its kind needs, naming them', async () => {
      const answer = await cmCall(server, ADMIN, 'AddPolicy', '<c:name>half</c:name><c:kind>forbid-colocation</c:kind><c:parameter><c:name>roleA</c:name><c:value>x</c:value></c:parameter>');
      expect(answer.fault).to.equal('InvalidField');
      expect(answer.reason).to.contain('roleB');
      expect((await server.app.changes.listPolicies()).map((p) => p.name)).to.not.include('half');
    });

    it('refuses an unknown kind', async () => {
      const answer = await cmCall(server, ADMIN, 'AddPolicy', '<c:name>odd</c:name><c:kind>no-such-kind</c:kind>');
      expect(answer.fault).to.equal('InvalidField');
      expect(answer.field).to.equal('kind');
    });
  });

  describe('listing and cancelling', () => {
    it('pages changes newest first and filters them by state', async () => {
      const answer = await cmCall(server, OPERATOR, 'ListChangeRequests', '<c:state>REJECTED</c:state><c:limit>2</c:limit>');
      expect(answer.fault, answer.body).to.equal(undefined);
      const states = textsOf(answer.body, 'state');
      expect(states.length).to.be.within(1, 2);
      expect(new Set(states)).to.deep.equal(new Set(['REJECTED']));
      expect(Number(textOf(answer.body, 'total'))).to.be.at.least(4);
      expect((await cmCall(server, OPERATOR, 'ListChangeRequests', '<c:limit>0</c:limit>')).fault).to.equal('InvalidField');
    });

    it('cancels a planned change; a second cancel is refused naming the state', async () => {
      const id = await submit(server, `${changeXml('Install', 'demo-site', { system: 'sim1' })}<c:dryRun>true</c:dryRun>`);
      await planOf(server, id);
      const cancelled = await cmCall(server, OPERATOR, 'DecideChangePlan', `<c:changeId>${id}</c:changeId><c:decision>cancel</c:decision><c:reason>not today</c:reason>`);
      expect(textOf(cancelled.body, 'state')).to.equal('CANCELLED');
      const again = await cmCall(server, OPERATOR, 'DecideChangePlan', `<c:changeId>${id}</c:changeId><c:decision>cancel</c:decision>`);
      expect(again.fault).to.equal('InvalidState');
      expect(again.reason).to.contain('CANCELLED');
      const view = await cmCall(server, OPERATOR, 'GetChangePlan', `<c:changeId>${id}</c:changeId>`);
      expect(textsOf(view.body, 'outcome').at(-1)).to.equal(`cancelled by ${OPERATOR.username}: not today`);
    });
  });

  describe('system facts', () => {
    it('sets roles, cluster, capacity, hardware and windows in one call, and reads them back', async () => {
      const set = await cmCall(
        server,
        ADMIN,
        'SetSystemFacts',
        '<c:system>sim2</c:system><c:addRole>app-server</c:addRole><c:addRole>web</c:addRole><c:cluster>blue</c:cluster><c:capacity>3</c:capacity><c:cpus>8</c:cpus><c:memoryMb>16384</c:memoryMb>' +
          '<c:window><c:day>7</c:day><c:day>6</c:day><c:start>22:00</c:start><c:durationMinutes>240</c:durationMinutes><c:timeZone>Europe/Berlin</c:timeZone></c:window>',
      );
      expect(set.fault, set.body).to.equal(undefined);
      if (HAVE_XMLLINT) validateAgainstWsdl('changemanager', bodyElement(set.body));
      const got = await cmCall(server, OPERATOR, 'GetSystem', '<c:system>sim2</c:system>');
      expect(textsOf(got.body, 'role')).to.deep.equal(['app-server', 'web']);
      expect(textOf(got.body, 'cluster')).to.equal('blue');
      expect(textOf(got.body, 'capacity')).to.equal('3');
      expect(textsOf(got.body, 'day')).to.deep.equal(['6', '7']);
      expect(textOf(got.body, 'timeZone')).to.equal('Europe/Berlin');
      const cleared = await cmCall(server, ADMIN, 'SetSystemFacts', '<c:system>sim2</c:system><c:removeRole>app-server</c:removeRole><c:removeRole>web</c:removeRole><c:leaveCluster>true</c:leaveCluster><c:clearWindows>true</c:clearWindows><c:capacity>1</c:capacity>');
      expect(cleared.fault, cleared.body).to.equal(undefined);
      expect(textOf(cleared.body, 'cluster')).to.equal(undefined);
      expect(textsOf(cleared.body, 'day')).to.deep.equal([]);
      const listed = await cmCall(server, OPERATOR, 'ListSystems', '');
      expect(textsOf(listed.body, 'name')).to.include.members(['sim1', 'sim2']);
    });

    it('refuses bad facts naming them, and writes nothing', async () => {
      const cases: Array<[string, string, string]> = [
        ['<c:system>nowhere</c:system><c:capacity>2</c:capacity>', 'UnknownSystem', 'system'],
        ['<c:system>sim1</c:system><c:capacity>0</c:capacity>', 'InvalidField', 'capacity'],
        ['<c:system>sim1</c:system><c:cluster>x</c:cluster><c:leaveCluster>true</c:leaveCluster>', 'InvalidField', 'leaveCluster'],
        ['<c:system>sim1</c:system><c:capacity>2</c:capacity><c:window><c:day>8</c:day><c:start>22:00</c:start><c:durationMinutes>60</c:durationMinutes></c:window>', 'InvalidField', 'window[1]/day'],
        ['<c:system>sim1</c:system><c:window><c:day>1</c:day><c:start>25:00</c:start><c:durationMinutes>60</c:durationMinutes></c:window>', 'InvalidField', 'window[1]/start'],
        ['<c:system>sim1</c:system><c:window><c:day>1</c:day><c:start>22:00</c:start><c:durationMinutes>60</c:durationMinutes><c:timeZone>Mars/Olympus</c:timeZone></c:window>', 'InvalidField', 'window[1]'],
      ];
      for (const [inner, code, field] of cases) {
        const answer = await cmCall(server, ADMIN, 'SetSystemFacts', inner);
        expect(answer.fault, inner).to.equal(code);
        expect(answer.field, inner).to.equal(field);
      }
      expect(textOf((await cmCall(server, OPERATOR, 'GetSystem', '<c:system>sim1</c:system>')).body, 'capacity')).to.equal('1');
      expect((await cmCall(server, OPERATOR, 'SetSystemFacts', '<c:system>sim1</c:system><c:capacity>2</c:capacity>')).fault).to.equal('Forbidden');
      expect((await cmCall(server, OPERATOR, 'GetSystem', '<c:system>nowhere</c:system>')).fault).to.equal('UnknownSystem');
    });
  });

  it('serves its WSDL with every operation', async () => {
    const wsdl = await (await fetch(`${server.baseUrl}/soap/ChangeManager?wsdl`)).text();
    for (const op of ['SubmitChangeRequest', 'GetChangePlan', 'ListChangeRequests', 'DecideChangePlan', 'AddPolicy', 'ListPolicies', 'RemovePolicy', 'SetSystemFacts', 'GetSystem', 'ListSystems', 'ReportWorkflowStatus']) expect(wsdl).to.contain(`<wsdl:operation name="${op}">`);
    expect(wsdl).to.contain(CM);
  });
});
