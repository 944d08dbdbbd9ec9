/**
 * A real Chromium for the browser tests: Debian's package (installed by .ci/run), driven by
 * playwright-core through its executablePath. playwright-core downloads no browser of its own.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO_ROOT } from './cli-process.js';

/** Env CHROMIUM_PATH when set, else Debian's /usr/bin/chromium. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can. */
export const chromiumSkipReason: string | undefined = existsSync(CHROMIUM_PATH)
  ? undefined
  : `${CHROMIUM_PATH} is not installed (apt-get install chromium, or set CHROMIUM_PATH)`;

/** Where the browser tests save screenshots: test-artifacts/ at the repository root, never committed. */
export const ARTIFACTS_DIR = join(REPO_ROOT, 'test-artifacts');

export interface TestBrowser {
  readonly browser: Browser;
  close(): Promise<void>;
}

/** Launches Chromium headless; without the sandbox only when running as root, where it cannot start. */
export async function launchChromium(): Promise<TestBrowser> {
  if (chromiumSkipReason !== undefined) throw new Error(chromiumSkipReason);
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    chromiumSandbox: process.getuid?.() !== 0,
  });
  return { browser, close: () => browser.close() };
}

/** Saves a full-page screenshot of `page` as test-artifacts/<name>.png; returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
