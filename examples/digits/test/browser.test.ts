import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { APP, startServer } from './helpers.js';

/**
 * The drawing page in a real headless Chromium (Debian's package, driven by playwright-core):
 * draw strokes with the mouse, see the prediction and the probabilities. A screenshot is kept
 * in test-artifacts/ for a person to look at.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(APP, 'test-artifacts');

let browser: BrowserContext;
let page: Page;
let url: string;
let close: () => Promise<void>;
const profile = mkdtempSync(join(tmpdir(), 'digits-chromium-'));

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  }
  ({ url, close } = await startServer(inject('modelDir')));
  // A fresh profile per run (playwright passes it as --user-data-dir).
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    viewport: { width: 900, height: 700 },
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  page = browser.pages()[0] ?? (await browser.newPage());
  await page.goto(url);
});

afterAll(async () => {
  await browser?.close();
  await close?.();
  rmSync(profile, { recursive: true, force: true });
});

/** Draws a polyline on the pad; points are in the pad's 280×280 coordinates. */
async function draw(points: Array<[number, number]>): Promise<void> {
  const box = await page.locator('#pad').boundingBox();
  if (!box) throw new Error('drawing pad not visible');
  const at = ([x, y]: [number, number]) =>
    [box.x + (x * box.width) / 280, box.y + (y * box.height) / 280] as const;
  const [first, ...rest] = points;
  await page.mouse.move(...at(first!));
  await page.mouse.down();
  for (const p of rest) await page.mouse.move(...at(p), { steps: 8 });
  await page.mouse.up();
}

async function prediction(): Promise<{ label: string; rows: string[] }> {
  await page.locator('#probabilities li').first().waitFor({ timeout: 10_000 });
  const label = (await page.locator('#prediction').textContent()) ?? '';
  const rows = await page.locator('#probabilities li').allTextContents();
  return { label, rows };
}

describe('drawing page', () => {
  it('shows the app and model identity', async () => {
    await expect.poll(() => page.locator('#version').textContent()).toContain('onnxruntime 1.30.0');
    expect(await page.title()).toBe('Digits: draw a digit');
  });

  it('predicts a drawn 1 and lists ten probabilities', async () => {
    await draw([
      [140, 40],
      [140, 240],
    ]);
    const { label, rows } = await prediction();
    expect(label).toBe('1');
    expect(rows).toHaveLength(10);
    const best = await page.locator('#probabilities li.best').getAttribute('data-label');
    expect(best).toBe('1');
    const percents = rows.map((r) => Number(/([\d.]+)%$/.exec(r)?.[1]));
    expect(percents.reduce((a, b) => a + b, 0)).toBeGreaterThan(99);
    expect(Math.max(...percents)).toBe(percents[1]);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'draw-1.png') });
  });

  it('predicts a drawn 7 after clearing the pad', async () => {
    await page.click('#clear');
    expect(await page.locator('#prediction').textContent()).toBe('');
    await draw([
      [70, 60],
      [210, 60],
      [120, 240],
    ]);
    const { label } = await prediction();
    expect(label).toBe('7');
    await page.screenshot({ path: join(ARTIFACTS, 'draw-7.png') });
  });
});
