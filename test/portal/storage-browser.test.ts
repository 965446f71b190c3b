import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildDemoRepository } from '../../src/drivers/local';
import { adminActionsFor } from '../../src/workorders/states';
import { waitForOrderState } from '../support/browser-pages';
import { startTestServer, type TestServer } from '../support/harness';
import { CATALOG_FILE } from '../storage/catalog';

/** Debian's chromium package; CI installs it with apt. */
const CHROMIUM = '/usr/bin/chromium';
const PASSWORD = 'correct-horse-1';
/** The portal's error colour (`#a4161a`) as the browser computes it. */
const ERROR_COLOUR = 'rgb(164, 22, 26)';
/** A phone held upright. */
const PHONE = { width: 360, height: 740 };

/**
 * Run in the page: every visible control that does not fit the viewport,
 * described, and the page's width when it is wider than the viewport.
 * (Browser code as text: the tests are compiled without the DOM's types.)
 */
const OFF_SCREEN_CONTROLS = `(() => {
  const width = document.documentElement.clientWidth;
  const problems = [];
  if (document.documentElement.scrollWidth > width) problems.push('the page is ' + document.documentElement.scrollWidth + 'px wide in a ' + width + 'px viewport');
  for (const element of document.querySelectorAll('a, button, input, select, textarea')) {
    const box = element.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (box.left < 0 || box.right > width + 0.5) problems.push(element.outerHTML.slice(0, 80) + ' spans ' + Math.round(box.left) + '-' + Math.round(box.right) + 'px');
  }
  return problems;
})()`;

async function offScreenControls(page: Page): Promise<string[]> {
  return (await page.evaluate(OFF_SCREEN_CONTROLS)) as string[];
}

describe('portal on the shipped storage catalog, in a browser', function () {
  this.timeout(180_000);
  let server: TestServer;
  let browser: Browser;
  const consoleErrors: string[] = [];

  before(async () => {
    if (!fs.existsSync(CHROMIUM)) {
      throw new Error(`the browser tests need Chromium at ${CHROMIUM} (Debian/Ubuntu: apt-get install chromium); it is missing, so they fail rather than skip`);
    }
    server = await startTestServer();
    await server.app.systems.addRepository(await buildDemoRepository(path.join(server.dataDir, 'demo-repo')));
    await server.app.systems.add('pool1', 'local');
    const installed = await server.app.api.submitSoftware('Install', { system: 'pool1', component: 'storage-pool', parameters: [] }, { name: 'setup' });
    expect((await server.app.api.getRequest(installed, 60_000)).status).to.equal('COMPLETED_SUCCESS');
    await server.app.loadCatalog(CATALOG_FILE);
    await server.app.users.addAccount('acme', 'billing@acme.example', 'pool1');
    await server.app.users.addUser({ name: 'alice', role: 'customer', password: PASSWORD, account: 'acme', level: 2, email: 'alice@acme.example' });
    await server.app.users.addUser({ name: 'admin', role: 'admin', password: PASSWORD });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });
  afterEach(() => {
    expect(consoleErrors.splice(0), 'console errors in the pages').to.deep.equal([]);
  });

  async function logIn(name: string, viewport?: { width: number; height: number }): Promise<Page> {
    const context = await browser.newContext(viewport === undefined ? {} : { viewport });
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().includes('status of 400')) consoleErrors.push(m.text());
    });
    await page.goto(`${server.baseUrl}/portal/`);
    await page.fill('#name', name);
    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForURL(/\/portal\/(types|admin)$/), page.click('#login-form button[type=submit]')]);
    return page;
  }

  async function borderColour(page: Page, selector: string): Promise<string> {
    return (await page.evaluate(`getComputedStyle(document.querySelector(${JSON.stringify(selector)})).borderTopColor`)) as string;
  }

  let orderId = 0;

  it('shows a customer the type titles and the catalog\'s labels, without error colour on fields not touched yet', async () => {
    const page = await logIn('alice');
    expect(new URL(page.url()).pathname).to.equal('/portal/types');
    expect(await page.locator('#types tr[data-type] td a').allTextContents()).to.include.members(['Create a volume', 'Expand a volume']).and.not.include('CreateVolume');
    await Promise.all([page.waitForURL('**/portal/types/CreateVolume'), page.click('text=Create a volume')]);
    const labels = (await page.locator('#task-form label').allTextContents()).map((l) => l.replace('*', '').trim());
    expect(labels).to.deep.equal(['Volume name', 'Size (GiB)', 'Performance tier']);

    // a required field left empty is not marked before the customer touched it
    expect(await borderColour(page, '[name=volume]')).to.not.equal(ERROR_COLOUR);
    expect(await borderColour(page, '[name=sizeGiB]')).to.not.equal(ERROR_COLOUR);
    await page.fill('[name=volume]', 'Bad Name');
    await page.press('[name=volume]', 'Tab');
    expect(await borderColour(page, '[name=volume]')).to.equal(ERROR_COLOUR);
    expect(await borderColour(page, '[name=sizeGiB]')).to.not.equal(ERROR_COLOUR);

    await page.fill('[name=volume]', 'vol1');
    await page.fill('[name=sizeGiB]', '10');
    await page.click('#submit');
    orderId = Number(await page.locator('#work-order-id').textContent());
    expect(orderId).to.be.greaterThan(0);
    await Promise.all([page.waitForURL(`**/portal/orders/${orderId}`), page.click('#order-link')]);
    await waitForOrderState(page, 'CLOSED', 60_000);
    expect(await page.textContent('#order-type')).to.equal('Create a volume');
    expect(await page.locator('#parameters th').allTextContents()).to.deep.equal(['Volume name', 'Size (GiB)', 'Performance tier']);
    await page.context().close();
  });

  it('lists each order with its main parameter, and shows the customer its volumes', async () => {
    const page = await logIn('alice');
    await page.goto(`${server.baseUrl}/portal/orders`);
    const row = page.locator(`#orders tr[data-order="${orderId}"]`);
    expect(await row.locator('td.main').textContent()).to.equal('vol1');
    expect(await row.textContent()).to.include('Create a volume');
    await Promise.all([page.waitForURL('**/portal/volumes'), page.click('nav >> text=My volumes')]);
    const volume = page.locator('#volumes tr[data-volume="vol1"]');
    expect(await volume.textContent()).to.include('10 GiB').and.include('standard');
    await page.context().close();
  });

  it('lands an admin on the admin desk, and lists the systems with driver, facts, components and their state, and the recent requests', async () => {
    const page = await logIn('admin');
    expect(new URL(page.url()).pathname).to.equal('/portal/admin');
    expect(await page.textContent('h1')).to.equal('Admin desk');
    expect(await page.locator('nav a').allTextContents()).to.not.include('Order');
    await Promise.all([page.waitForURL('**/portal/admin/systems'), page.click('nav >> text=Systems')]);
    const pool = page.locator('section.system[data-system="pool1"]');
    expect(await pool.locator('h3').textContent()).to.include('driver local');
    expect(await pool.locator('dl.facts').textContent()).to.include('Capacity').and.include('Hardware');
    const [component] = await server.app.api.listInstalled('pool1');
    expect(await pool.locator('tr[data-component="storage-pool"] td.state').textContent()).to.equal(component?.state);
    const requests = await page.locator('#requests tbody tr').allTextContents();
    expect(requests.some((r) => r.includes('Install') && r.includes('pool1') && r.includes('storage-pool') && r.includes('COMPLETED_SUCCESS')), requests.join('\n')).to.equal(true);
    expect(requests.some((r) => r.includes('Configure') && r.includes('pool1')), requests.join('\n')).to.equal(true);
    await page.context().close();
  });

  it('offers no action the state forbids: nothing on a closed order, only the table\'s actions on a failed one, no ordering for an admin', async () => {
    const customer = await logIn('alice');
    // the same volume again: the pool refuses it, so the order fails
    await customer.goto(`${server.baseUrl}/portal/types/CreateVolume`);
    await customer.fill('[name=volume]', 'vol1');
    await customer.fill('[name=sizeGiB]', '5');
    await customer.click('#submit');
    const failedId = Number(await customer.locator('#work-order-id').textContent());
    await Promise.all([customer.waitForURL(`**/portal/orders/${failedId}`), customer.click('#order-link')]);
    await waitForOrderState(customer, 'FAILED', 60_000);
    expect(await customer.locator('form.actions').count()).to.equal(0);
    await customer.context().close();

    const admin = await logIn('admin');
    await admin.goto(`${server.baseUrl}/portal/orders/${orderId}`);
    expect(await admin.textContent('#order-state')).to.equal('CLOSED');
    expect(await admin.locator('form.actions button').count()).to.equal(adminActionsFor('CLOSED', false).length);
    await admin.goto(`${server.baseUrl}/portal/admin`);
    const offered = await admin.locator(`#failed-orders tr[data-order="${failedId}"] form.actions button`).evaluateAll((buttons) => buttons.map((b) => (b as unknown as { value: string }).value));
    expect(offered).to.deep.equal(adminActionsFor('FAILED', false));
    await admin.goto(`${server.baseUrl}/portal/types/CreateVolume`);
    expect(await admin.locator('#submit').count()).to.equal(0);
    expect(await admin.locator('#task-fields').getAttribute('disabled')).to.not.equal(null);
    await admin.context().close();
  });

  it('keeps every control on screen at phone width, for customers and admins', async () => {
    const pages: Array<[string, string[]]> = [
      ['alice', ['/portal/types', '/portal/types/CreateVolume', '/portal/types/SetSnapshotSchedule', '/portal/orders', `/portal/orders/${orderId}`, '/portal/volumes']],
      ['admin', ['/portal/admin', '/portal/orders', `/portal/orders/${orderId}`, '/portal/admin/systems', '/portal/admin/changes', '/portal/types']],
    ];
    for (const [user, paths] of pages) {
      const page = await logIn(user, PHONE);
      for (const pathname of paths) {
        await page.goto(`${server.baseUrl}${pathname}`);
        expect(await offScreenControls(page), `${user} on ${pathname}`).to.deep.equal([]);
      }
      await page.context().close();
    }
  });
});
