import fs from 'node:fs';
import { expect } from 'chai';
import { chromium, type Browser } from 'playwright-core';
import { eventually, type TestServer } from '../support/harness';
import { PortalClient } from '../support/portal-client';
import { ADMIN, changeServer, CUSTOMER, PASSWORD } from './support';

const CHROMIUM = '/usr/bin/chromium';

describe('the portal\'s change pages', function () {
  this.timeout(120_000);
  let server: TestServer;
  let planned: string;
  let rejected: string;

  async function settled(id: string): Promise<void> {
    await eventually(async () => ((await server.app.changes.get(id)).state === 'PLANNING' ? undefined : true), `change ${id} to be planned`);
  }

  before(async () => {
    server = await changeServer(2);
    const start = new Date(Date.now() + 3_600_000);
    planned = await server.app.changes.submit(
      {
        changes: [
          { operation: 'Install', component: 'demo-httpd', version: '1.1.0', target: { kind: 'system', system: 'sim1' } },
          { operation: 'Install', component: 'demo-httpd', version: '1.0.0', target: { kind: 'system', system: 'sim2' } },
        ],
        earliestStart: start,
        deadline: new Date(start.getTime() + 2000),
        dryRun: true,
      },
      'cm-operator',
    );
    rejected = await server.app.changes.submit({ changes: [{ operation: 'Install', component: 'demo-httpd', target: { kind: 'system', system: 'nowhere' } }], dryRun: true }, 'cm-operator');
    await settled(planned);
    await settled(rejected);
  });
  after(async () => {
    await server.close();
  });

  it('lists the changes for an admin, filtered by state', async () => {
    const client = new PortalClient(server.baseUrl);
    await client.logIn(ADMIN.username, PASSWORD);
    const all = await client.get('/portal/admin/changes');
    expect(all.status).to.equal(200);
    expect(all.body).to.contain(`data-change="${planned}"`);
    expect(all.body).to.contain(`data-change="${rejected}"`);
    const only = await client.get('/portal/admin/changes?state=REJECTED');
    expect(only.body).to.contain(`data-change="${rejected}"`);
    expect(only.body).to.not.contain(`data-change="${planned}"`);
    expect((await client.get('/portal/admin/changes?state=NONSENSE')).status).to.equal(400);
    expect((await client.get('/portal/admin/changes/not-an-id')).status).to.equal(404);
    expect((await client.get('/portal/admin/changes/00000000-0000-4000-8000-000000000000')).status).to.equal(404);
  });

  it('shows a plan as an SVG Gantt chart: a bar per task by system, the critical path marked, the deadline line, and the checks', async () => {
    const client = new PortalClient(server.baseUrl);
    await client.logIn(ADMIN.username, PASSWORD);
    const view = await server.app.changes.get(planned);
    if (view.plan?.state !== 'PLANNED') throw new Error('not planned');
    const r = await client.get(`/portal/admin/changes/${planned}`);
    expect(r.status).to.equal(200);
    const bars = [...r.body.matchAll(/<g class="task[^"]*" data-task="([^"]+)" data-system="([^"]+)" data-start="(\d+)" data-finish="(\d+)" data-critical="(true|false)">/g)];
    expect(bars.map((b) => b[1]).sort()).to.deep.equal(view.plan.schedule.tasks.map((t) => t.id).sort());
    expect(new Set(bars.map((b) => b[2]))).to.deep.equal(new Set(['sim1', 'sim2']));
    const critical = bars.filter((b) => b[5] === 'true').map((b) => b[1]);
    expect(critical.sort()).to.deep.equal(view.plan.schedule.tasks.filter((t) => t.critical).map((t) => t.id).sort());
    expect(critical.length).to.be.greaterThan(0);
    const deadlineAt = Math.round(((view.request.deadline?.getTime() ?? 0) - view.plan.schedule.plannedStart.getTime()) / 1000);
    expect(r.body).to.contain(`<g class="deadline" data-deadline="${deadlineAt}">`);
    for (const check of view.plan.checks) expect(r.body).to.contain(`data-policy="${check.policy}"`);
    expect(r.body).to.contain('late');
  });

  it('shows a rejection with its code and message', async () => {
    const client = new PortalClient(server.baseUrl);
    await client.logIn(ADMIN.username, PASSWORD);
    const r = await client.get(`/portal/admin/changes/${rejected}`);
    expect(r.body).to.match(/id="rejection">Rejected: <strong>UnknownSystem<\/strong>/);
    expect(r.body).to.not.contain('<svg xmlns="http://www.w3.org/2000/svg" class="gantt"');
  });

  it('cancels a change from its page, with the reason escaped', async () => {
    const client = new PortalClient(server.baseUrl);
    await client.logIn(ADMIN.username, PASSWORD);
    const other = await server.app.changes.submit({ changes: [{ operation: 'Install', component: 'demo-site', target: { kind: 'system', system: 'sim1' } }], dryRun: true }, 'cm-operator');
    await settled(other);
    const r = await client.submitForm(`/portal/admin/changes/${other}`, `/portal/admin/changes/${other}/cancel`, { reason: '<script>alert(1)</script>' });
    expect(r.status).to.equal(303);
    const page = await client.get(`/portal/admin/changes/${other}`);
    expect(page.body).to.contain('id="change-state">CANCELLED');
    expect(page.body).to.contain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page.body).to.not.contain('<script>alert(1)');
    // Without the form's token nothing happens.
    const again = await client.post(`/portal/admin/changes/${planned}/cancel`, { reason: 'no token' });
    expect(again.status).to.equal(403);
    expect((await server.app.changes.get(planned)).state).to.equal('PLANNED');
  });

  it('is for admins only', async () => {
    const client = new PortalClient(server.baseUrl);
    await client.logIn(CUSTOMER.username, PASSWORD);
    expect((await client.get('/portal/admin/changes')).status).to.equal(403);
    expect((await client.get(`/portal/admin/changes/${planned}`)).status).to.equal(403);
  });

  it('draws the chart in a real browser, within the content security policy', async () => {
    if (!fs.existsSync(CHROMIUM)) throw new Error(`the browser test needs Chromium at ${CHROMIUM}; it is missing, so it fails rather than skips`);
    const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const page = await (await browser.newContext()).newPage();
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      await page.goto(`${server.baseUrl}/portal/login`);
      await page.fill('input[name=name]', ADMIN.username);
      await page.fill('input[name=password]', PASSWORD);
      await page.click('button[type=submit]');
      await page.goto(`${server.baseUrl}/portal/admin/changes/${planned}`);
      const bars = await page.locator('svg#gantt g.task rect').count();
      const view = await server.app.changes.get(planned);
      expect(bars).to.equal(view.plan?.state === 'PLANNED' ? view.plan.schedule.tasks.length : -1);
      const box = await page.locator('svg#gantt').boundingBox();
      expect(box?.width ?? 0).to.be.greaterThan(100);
      expect(errors).to.deep.equal([]);
    } finally {
      await browser.close();
    }
  });
});
