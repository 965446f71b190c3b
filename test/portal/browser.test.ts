import fs from 'node:fs';
import { expect } from 'chai';
import { chromium, type Browser, type Page } from 'playwright-core';
import { waitForOrderState } from '../support/browser-pages';
import { eventually, startTestServer, type TestServer } from '../support/harness';
import { countRows, portalCatalog } from '../support/portal-client';
import { PASSWORD, seedCast, type Cast } from '../support/workorders';

/** Debian's chromium package; CI installs it with apt. */
const CHROMIUM = '/usr/bin/chromium';

describe('portal in a browser (headless Chromium)', function () {
  this.timeout(120_000);
  let server: TestServer;
  let cast: Cast;
  let browser: Browser;
  /** Console errors of every page (a CSP violation shows up here). */
  const consoleErrors: string[] = [];

  before(async () => {
    if (!fs.existsSync(CHROMIUM)) {
      throw new Error(`the browser tests need Chromium at ${CHROMIUM} (Debian/Ubuntu: apt-get install chromium); it is missing, so they fail rather than skip`);
    }
    server = await startTestServer();
    await server.app.loadCatalog(portalCatalog(server.dataDir));
    cast = await seedCast(server);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });
  afterEach(() => {
    expect(consoleErrors, 'console errors in the pages').to.deep.equal([]);
  });

  async function logIn(name: string): Promise<Page> {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    await page.goto(`${server.baseUrl}/portal/`);
    expect(new URL(page.url()).pathname).to.equal('/portal/login');
    await page.fill('#name', name);
    await page.fill('#password', PASSWORD);
    // admins land on the admin desk, customers among the types they may order
    await Promise.all([page.waitForURL(name === 'admin' ? '**/portal/admin' : '**/portal/types'), page.click('#login-form button[type=submit]')]);
    return page;
  }

  it('lets a customer order: client-side validation blocks an out-of-range value, a valid order shows its id, the row is channel portal', async () => {
    const page = await logIn('alice');
    const posts: string[] = [];
    page.on('request', (r) => {
      if (r.method() === 'POST') posts.push(r.url());
    });

    await Promise.all([page.waitForURL('**/portal/types/Echo'), page.click('text=Echo an order')]);
    expect(await page.inputValue('[name=tier]')).to.equal('standard'); // the default, pre-filled

    // the catalog's pattern reaches the browser in a form it accepts (a rejected one would be a console error)
    await page.fill('[name=volume]', 'Bad Name');
    await page.fill('[name=sizeGiB]', '5');
    await page.click('#submit');
    expect(await page.$eval('[name=volume]', (el) => (el as unknown as { validity: { patternMismatch: boolean } }).validity.patternMismatch)).to.equal(true);
    await page.fill('[name=volume]', 'browser-vol');
    await page.fill('[name=sizeGiB]', '500');
    const before = await countRows(server.dataSource, 'work_order');
    await page.click('#submit');
    const overflow = await page.$eval('[name=sizeGiB]', (el) => {
      const { validity } = el as unknown as { validity: { rangeOverflow: boolean; valid: boolean } };
      return { rangeOverflow: validity.rangeOverflow, valid: validity.valid };
    });
    expect(overflow).to.deep.include({ rangeOverflow: true, valid: false });
    expect(posts, 'the browser must not send the invalid form').to.deep.equal([]);
    expect(new URL(page.url()).pathname).to.equal('/portal/types/Echo');

    await page.fill('[name=sizeGiB]', '20');
    await page.selectOption('[name=tier]', 'performance');
    await page.click('#submit');
    const idText = (await page.locator('#work-order-id').textContent()) ?? '';
    expect(posts).to.have.length(1);
    const id = Number(idText);
    expect(Number.isInteger(id) && id > 0, `work order id "${idText}"`).to.equal(true);

    expect(await countRows(server.dataSource, 'work_order')).to.equal(before + 1);
    const rows = (await server.dataSource.query('SELECT channel, typeName, customerId, parameters FROM work_order WHERE id = ?', [id])) as Array<{ channel: string; typeName: string; customerId: number; parameters: string }>;
    expect(rows).to.have.length(1);
    expect(rows[0]).to.deep.include({ channel: 'portal', typeName: 'Echo', customerId: cast.alice.userId });
    expect(JSON.parse(rows[0]?.parameters ?? '{}')).to.deep.include({ volume: 'browser-vol', sizeGiB: '20', tier: 'performance' });

    await Promise.all([page.waitForURL(`**/portal/orders/${id}`), page.click('#order-link')]);
    await waitForOrderState(page, 'CLOSED', 30_000);
    expect(await page.textContent('#order-billing')).to.include('12.50 EUR');
  });

  it('shows the server\'s problem next to the field when only the server can tell (an ill-formed duration)', async () => {
    const page = await logIn('alice');
    await page.goto(`${server.baseUrl}/portal/types/Echo`);
    await page.fill('[name=volume]', 'v2');
    await page.fill('[name=sizeGiB]', '3');
    await page.fill('[name=delay]', 'soon');
    await page.click('#submit');
    await page.waitForSelector('#error-message');
    // the re-rendered form comes with 400, which Chromium reports on the console
    expect(consoleErrors.splice(0)).to.deep.equal(['Failed to load resource: the server responded with a status of 400 (Bad Request)']);
    const problem = await page.locator('[data-parameter=delay] .field-error').textContent();
    expect(problem).to.be.a('string').and.not.equal('');
    expect(await page.inputValue('[name=delay]')).to.equal('soon');
    expect(await page.inputValue('[name=volume]')).to.equal('v2');
  });

  it('lets an admin retry, close and fail orders with a reason and see it in the history', async () => {
    const failing = await server.app.workOrders.submit(cast.alice, {
      type: 'Echo',
      parameters: [
        { name: 'volume', value: 'doomed' },
        { name: 'sizeGiB', value: '1' },
        { name: 'fail', value: 'true' },
      ],
      channel: 'soap',
    });
    const manual = await server.app.workOrders.submit(cast.alice, { type: 'Manual', parameters: [], channel: 'soap' });
    await eventually(async () => ((await server.app.workOrders.get(cast.admin, failing.workOrderId)).state === 'FAILED' ? true : undefined), 'the order to fail');

    const page = await logIn('admin');
    const failedRow = page.locator(`#failed-orders tr[data-order="${failing.workOrderId}"]`);
    await failedRow.locator('[name=reason]').fill('retrying after the fix');
    await Promise.all([page.waitForURL(`**/portal/orders/${failing.workOrderId}?done=retry`), failedRow.locator('button[value=retry]').click()]);
    expect(await page.textContent('#notice')).to.include('retry');
    expect(await page.textContent('#history')).to.include('retrying after the fix');
    await waitForOrderState(page, 'FAILED', 30_000); // it fails again: fail=true

    await page.fill('form.actions [name=reason]', 'closed by hand after a call');
    await Promise.all([page.waitForURL('**?done=close'), page.click('form.actions button[value=close]')]);
    expect(await page.textContent('#order-state')).to.equal('CLOSED');
    expect(await page.textContent('#order-billing')).to.include('12.50 EUR');
    const history = (await page.locator('#history tbody tr').allTextContents()).join('\n');
    expect(history).to.include('retrying after the fix').and.include('closed by hand after a call').and.include('admin');

    await page.goto(`${server.baseUrl}/portal/admin`);
    const manualRow = page.locator(`#manual-orders tr[data-order="${manual.workOrderId}"]`);
    await manualRow.locator('button[value=fail]').click(); // no reason: the browser refuses
    expect(new URL(page.url()).pathname).to.equal('/portal/admin');
    await manualRow.locator('[name=reason]').fill('cannot be done for this account');
    await Promise.all([page.waitForURL(`**/portal/orders/${manual.workOrderId}?done=fail`), manualRow.locator('button[value=fail]').click()]);
    expect(await page.textContent('#order-state')).to.equal('FAILED');
    expect(await page.textContent('#history')).to.include('cannot be done for this account');
  });
});
