import http from 'node:http';
import { expect } from 'chai';
import { parseXml } from '../../src/xml/parser';
import { eventually, startTestServer, type TestServer } from '../support/harness';
import { plan, runPlan } from './support';

describe('the change manager feed', function () {
  this.timeout(30_000);
  let server: TestServer;
  let receiver: http.Server;
  const messages: Array<{ operation: string; fields: Record<string, string>; activity?: Record<string, string> }> = [];

  before(async () => {
    receiver = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const root = parseXml(Buffer.concat(chunks).toString('utf8'));
        const body = root.children.find((c) => c.name === 'Body')?.children[0];
        if (body !== undefined && body.ns === 'urn:provisor:changemanager:1') {
          const activity = body.children.find((c) => c.name === 'activity');
          messages.push({
            operation: body.name,
            fields: Object.fromEntries(body.children.filter((c) => c.children.length === 0).map((c) => [c.name, c.text])),
            activity: activity === undefined ? undefined : Object.fromEntries(activity.children.map((c) => [c.name, c.text])),
          });
        }
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const address = receiver.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    server = await startTestServer({ PROVISOR_WORKFLOW_NOTIFY_URL: `http://127.0.0.1:${port}/changes`, PROVISOR_WORKFLOW_POLL_MS: '50' });
  });

  after(async () => {
    await server.close();
    receiver.close();
  });

  it('receives ReportWorkflowStatus as the plan advances and ReportViolation when an alarm fires', async () => {
    const view = await runPlan(
      server,
      plan(
        'Watched',
        `<bpel:scope name="limited">
    <bpel:eventHandlers><bpel:onAlarm><bpel:for>'PT0.1S'</bpel:for><bpel:scope><bpel:empty/></bpel:scope></bpel:onAlarm></bpel:eventHandlers>
    <bpel:wait name="slowStep"><bpel:for>'PT0.3S'</bpel:for></bpel:wait>
  </bpel:scope>`,
      ),
    );
    expect(view.status).to.equal('COMPLETED');
    await server.app.notifier.flush();
    const violation = await eventually(async () => messages.find((m) => m.operation === 'ReportViolation'), 'a violation');
    expect(violation.fields).to.include({ instanceId: view.instanceId, processName: 'Watched', scope: '/process/scope', scopeName: 'limited', kind: 'DURATION' });
    const waits = messages.filter((m) => m.operation === 'ReportWorkflowStatus' && m.activity?.name === 'slowStep').map((m) => m.activity?.state);
    expect(waits).to.deep.equal(['RUNNING', 'COMPLETED']);
    // The end is reported once its commit returns to the runner, which may be just after a reader sees it.
    const final = await eventually(async () => {
      await server.app.notifier.flush();
      const ends = messages.filter((m) => m.operation === 'ReportWorkflowStatus' && m.activity === undefined).map((m) => m.fields.status);
      return ends.length > 0 ? ends : undefined;
    }, 'the instance end to be reported');
    expect(final).to.deep.equal(['COMPLETED']);
  });
});
