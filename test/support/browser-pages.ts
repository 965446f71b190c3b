/** What the portal's browser tests share. */
import type { Page } from 'playwright-core';
import { eventually } from './harness';

/** Reloads an order's page until its state line shows `state` (within `timeoutMs`). */
export async function waitForOrderState(page: Page, state: string, timeoutMs: number): Promise<void> {
  await eventually(
    async () => {
      if ((await page.textContent('#order-state'))?.startsWith(state) === true) return true;
      await page.reload();
      return undefined;
    },
    `the order page to show ${state}`,
    timeoutMs,
    250,
  );
}
