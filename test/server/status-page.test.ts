// The admin port's status page in a real browser (Debian's chromium driven by playwright-core),
// over a real gateway under traffic: it shows each model's targets with weights, readiness,
// breaker and rates, and when the canary starts failing and is rolled back, the page shows the
// rollback and the canary's weight at 0 without a reload. The page needs the admin token for its
// data: without it the page asks for it and shows nothing. Set INFERGATE_SCREENSHOT=docs/status-page.png
// to save the screenshot the README shows.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { startFaultBackend, type FaultBackend } from '../support/fault-backend.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';

const executablePath = '/usr/bin/chromium';
const token = 'status-page-s3cret';

describe('status page', () => {
  let gw: RunningGateway;
  let stable: FaultBackend;
  let canary: FaultBackend;
  let spare: FaultBackend;
  let browser: Browser;
  let sending = true;
  let traffic: Promise<void>;
  before(async () => {
    if (!existsSync(executablePath)) throw new Error(`${executablePath} is missing: the browser test needs Debian's chromium (apt-get install -y chromium)`);
    [stable, canary, spare] = await Promise.all([startFaultBackend(), startFaultBackend(), startFaultBackend()]);
    gw = await startGateway(`
server: { adminToken: ${token} }
frontends: { vertex: { model: m, predictRoute: /predict, healthRoute: /health } }
backends:
  stable: { type: http, urls: ["${stable.url}", "${spare.url}"] }
  canary: { type: http, url: "${canary.url}" }
models:
  m:
    targets: [ { backend: stable, name: stable, weight: 80 }, { backend: canary, name: canary, weight: 20 } ]
    batching: { maxBatchSize: 8 }
    breaker: {}
    shadow: { backend: canary, percent: 10 }
    # Only errors roll it back here: latency on a shared test machine is noise.
    rollback: { minRequests: 20, windowMs: 60s, maxP99Ratio: 1000, latencyFloorMs: 10s }
`);
    // Traffic all along, a few calls at a time, as a gateway in service gets.
    traffic = (async () => {
      while (sending) {
        await Promise.all(Array.from({ length: 4 }, async () => {
          const res = await fetch(`${gw.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"instances":[[1,2]]}' });
          await res.arrayBuffer();
        }));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    browser = await chromium.launch({
      executablePath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });
  after(async () => {
    sending = false;
    await traffic;
    await browser?.close();
    await gw?.stop();
    await Promise.all([stable?.close(), canary?.close(), spare?.close()]);
  });

  it('is served at / of the admin port without data, with a policy that allows no outside asset', async () => {
    const page = await fetch(`${gw.adminUrl}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'sha256-[^']+'; style-src 'sha256-[^']+'; connect-src 'self'/);
    const html = await page.text();
    assert.doesNotMatch(html, /https?:\/\/|src=/, 'no external asset');
    assert.equal((await fetch(`${gw.adminUrl}/admin`)).status, 200);
    assert.equal((await fetch(`${gw.adminUrl}/admin/status`)).status, 401);
    assert.equal((await fetch(`${gw.url}/`)).status, 404, 'the main port does not serve it at /');
  });

  it('asks for the token and shows nothing without it', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${gw.adminUrl}/`);
      await page.locator('#auth').waitFor({ state: 'visible' });
      assert.equal(await page.locator('section[data-model]').count(), 0);
    } finally {
      await context.close();
    }
  });

  it('shows the targets, their rates, and the canary\'s rollback as it happens', async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 560 } });
    try {
      const page = await context.newPage();
      const asked: string[] = [];
      page.on('request', (r) => asked.push(r.url()));
      const problems: string[] = [];
      page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
      page.on('pageerror', (e) => problems.push(e.message));
      await page.goto(`${gw.adminUrl}/#token=${token}`);
      const model = page.locator('section[data-model="m"]');
      await model.waitFor();
      const row = (name: string) => model.locator(`tr[data-target="${name}"]`);
      assert.match(await row('stable').innerText(), /stable[\s\S]*80[\s\S]*80[\s\S]*ready[\s\S]*closed[\s\S]*2 up/);
      assert.match(await row('canary').innerText(), /canary[\s\S]*20[\s\S]*20[\s\S]*ready/);
      assert.match(await model.locator('[data-rollback]').innerText(), /watching/i);
      assert.match(await model.innerText(), /shadow[\s\S]*10% to canary/i);
      // After the second refresh, rates and latencies are figures.
      // (Playwright's locators, not page functions: the page's policy forbids eval.)
      await row('stable').locator('td:nth-child(9)', { hasText: /^\d+\.\d\d$/ }).waitFor();
      assert.match(await row('stable').locator('td').nth(10).innerText(), /ms$/);

      await canary.setMode({ kind: 'status', status: 500 });
      await model.locator('[data-rollback="rolledBack"]').waitFor({ timeout: 30_000 });
      assert.match(await model.locator('[data-rollback]').innerText(), /rolledBack[\s\S]*canary canary vs stable[\s\S]*error rate/i);
      await row('canary').locator('text=rolled back').waitFor();
      assert.equal(await row('canary').locator('td').nth(2).evaluate((td) => td.firstChild?.textContent), '0');
      if (process.env.INFERGATE_SCREENSHOT !== undefined) await page.screenshot({ path: process.env.INFERGATE_SCREENSHOT, fullPage: true });

      assert.deepEqual(problems, []);
      assert.ok(asked.length > 2);
      for (const url of asked) assert.ok(url.startsWith(`${gw.adminUrl}/`), `the page asked for ${url}`);
    } finally {
      await context.close();
    }
  });
});
