// The operator web console (issue #7) in headless Chromium against a real gateway: sign-in with password and
// TOTP (a wrong code is refused), the live vendors table and flow chart while the Mixpanel Node SDK sends
// events, the kill switch from the console (the cut vendor gets nothing more, the other keeps receiving),
// session restore, logout, a recovery code, a viewer who sees no kill switch, the other pages, no CSP
// violations; and full-page screenshots of each page (also at a phone's 390 px) into
// $VG_ARTIFACTS_DIR (default build/artifacts/console/).

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, test } from 'node:test';

import {
  SOURCE_DIR, TEST_POLICY, adminPort, harness, holdsFor, launchChromium, mixpanelVendor, runCliWithInput, waitFor,
} from './helpers.mjs';

const require = createRequire(import.meta.url);
const Mixpanel = require('mixpanel');

const ARTIFACTS = process.env.VG_ARTIFACTS_DIR || path.join(SOURCE_DIR, 'build', 'artifacts', 'console');
const TOKEN = 'e2e-console-token';
const OPERATOR = { name: 'alice', role: 'operator', password: 'alice: correct horse battery staple 42' };
const VIEWER = { name: 'victor', role: 'viewer', password: 'victor: tr0ub4dor & three, and more' };

// --- TOTP (RFC 6238: HMAC-SHA1, 30 s steps, 6 digits) ---------------------------------------------------

function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const clean = text.toUpperCase().replace(/[\s=-]/g, '');
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of clean) {
    const idx = alphabet.indexOf(ch);
    if (idx < 0) throw new Error(`not base32: ${JSON.stringify(text)}`);
    value = (value << 5) | idx;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

function totp(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = crypto.createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const n = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(n).padStart(6, '0');
}
const currentStep = () => Math.floor(Date.now() / 1000 / 30);

// A code for the current step, waiting for the next step when this one ends within 3 s (so the code is
// still current when the server checks it) or when `usedStep` (the step of this account's last code, which
// the server accepts only once) is the current one.
async function freshCode(secret, usedStep = -1) {
  for (;;) {
    const now = Date.now() / 1000;
    const step = Math.floor(now / 30);
    const left = (step + 1) * 30 - now;
    if (step > usedStep && left > 3) return { code: totp(secret, step), step };
    await new Promise((resolve) => setTimeout(resolve, Math.ceil(left * 1000) + 200));
  }
}

// --- fixtures ----------------------------------------------------------------------------------------------

let browser;
before(async () => {
  await fs.mkdir(ARTIFACTS, { recursive: true });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

// `vendorguard admin user add NAME --role ROLE --password-stdin --format json`: {totp_secret, recovery_codes}.
async function addUser(gw, { name, role, password }) {
  const r = await runCliWithInput(
      ['admin', 'user', 'add', name, '--role', role, '--password-stdin', '--config', gw.configPath, '--format', 'json'],
      `${password}\n`);
  assert.equal(r.code, 0, `admin user add ${name}: exit ${r.code}\n${r.stderr}\n${r.stdout}`);
  let out;
  try {
    out = JSON.parse(r.stdout);
  } catch (e) {
    assert.fail(`admin user add ${name} --format json printed no JSON: ${e}\n${r.stdout}\n${r.stderr}`);
  }
  assert.match(out.totp_secret ?? '', /^[A-Z2-7]+=*$/i, `totp_secret: ${r.stdout}`);
  assert.ok(Array.isArray(out.recovery_codes) && out.recovery_codes.length > 0, `recovery_codes: ${r.stdout}`);
  return { ...out, name, role, password, usedStep: -1 };
}

// A browser page on the console that records what would make the console broken or unsafe: uncaught
// errors, CSP violations (Chromium reports them as console errors "Refused to ..."), failed requests, and
// static files (the page, its script and styles, uPlot) not served.
async function openConsole(h, base, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
  h.defer(() => context.close());
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e}`));
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !new URL(r.url()).pathname.startsWith('/api/')) problems.push(`${r.status()} for ${r.url()}`);
  });
  page.on('requestfailed', (r) => {
    const err = r.failure()?.errorText || '';
    if (!/ERR_ABORTED/.test(err)) problems.push(`request failed: ${r.method()} ${r.url()}: ${err}`);
  });
  await page.goto(base);
  await page.getByRole('heading', { name: 'Sign in to the console' }).waitFor();
  return { context, page, problems };
}

async function fillLogin(page, user, password, code) {
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.locator('#login-form input[name="code"]').fill(code);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

// Signs `account` in with a fresh TOTP code and waits for the vendors page.
async function signIn(page, account) {
  const { code, step } = await freshCode(account.totp_secret, account.usedStep);
  account.usedStep = step;
  await fillLogin(page, account.name, account.password, code);
  await page.locator('#vendors-table tbody tr').first().waitFor({ timeout: 15_000 });
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

const vendorRow = (page, name) => page.locator(`#vendors-table tbody tr[data-vendor="${name}"]`);
const toInt = (text) => Number.parseInt(String(text || '').replace(/[^\d]/g, ''), 10);

async function cellCount(page, vendor, col) {
  return toInt(await vendorRow(page, vendor).locator(`td[data-col="${col}"]`).textContent());
}

// The SDK's track_batch as a promise.
function trackBatch(mp, events) {
  return new Promise((resolve, reject) =>
    mp.track_batch(events, (errors) => (errors ? reject(new AggregateError(errors, 'track_batch failed')) : resolve())));
}
function batch(prefix, n) {
  return Array.from({ length: n }, (_, i) => ({
    event: 'Viewed Page',
    properties: { distinct_id: `user-${i % 7}`, $insert_id: `${prefix}-${i}`, time: Math.floor(Date.now() / 1000),
                  plan: 'pro', $email: 'jane@example.com' },
  }));
}
const insertIds = (sink) => new Set(sink.events('/track').map((e) => e?.properties?.$insert_id));

// --- the test ----------------------------------------------------------------------------------------------

test('operator console: sign-in with TOTP, live flow, kill switch, roles, pages', { timeout: 240_000 }, async (t) => {
  const h = harness(t);
  const sinkA = await h.sink();
  const sinkB = await h.sink();
  const gw = await h.gateway({
    vendors: [mixpanelVendor({ name: 'vendor-a', sink: sinkA, policy: TEST_POLICY }),
              mixpanelVendor({ name: 'vendor-b', sink: sinkB, policy: TEST_POLICY })],
    admin: { listen: '127.0.0.1:0' },
  });
  const port = await adminPort(gw);
  // localhost, not 127.0.0.1: Chromium keeps Secure cookies on plain http only for localhost.
  const base = `http://localhost:${port}/`;
  const operator = await addUser(gw, OPERATOR);
  const viewer = await addUser(gw, VIEWER);
  const mp = Mixpanel.init(TOKEN, { host: gw.host, protocol: 'http' });

  const { page, problems } = await openConsole(h, base);

  await t.test('the page is served with the strict CSP', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(res.status, 200);
    const csp = res.headers.get('content-security-policy') || '';
    for (const directive of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"]) {
      assert.ok(csp.includes(directive), `CSP has ${directive}: ${csp}`);
    }
  });

  await t.test('a wrong code is refused: an error is shown and the login page stays', async () => {
    await shot(page, 'login');
    const now = currentStep();
    const valid = new Set([-1, 0, 1].map((d) => totp(operator.totp_secret, now + d)));
    let wrong = 0;
    while (valid.has(String(wrong).padStart(6, '0'))) wrong++;
    await fillLogin(page, operator.name, operator.password, String(wrong).padStart(6, '0'));
    const error = page.locator('#login-error');
    await waitFor(async () => (await error.textContent()).trim().length > 0, 10_000, 'a sign-in error message');
    assert.equal(await error.getAttribute('role'), 'alert');
    assert.ok(await page.getByRole('heading', { name: 'Sign in to the console' }).isVisible());
    assert.ok(await page.locator('#nav').isHidden(), 'no navigation before sign-in');
    assert.equal(await page.locator('#vendors-table').count(), 0);
    await shot(page, 'login-error');
  });

  await t.test('the operator signs in and sees events flow', async () => {
    await signIn(page, operator);
    assert.ok(await page.getByRole('navigation', { name: 'Main' }).isVisible());
    assert.match(await page.locator('#whoami-text').textContent(), /alice \(operator\)/);
    for (const name of ['vendor-a', 'vendor-b']) {
      assert.match(await vendorRow(page, name).locator('td[data-col="state"]').textContent(), /Active/);
    }
    // Admin-only navigation is hidden from an operator.
    assert.ok(await page.getByRole('link', { name: 'Users' }).isHidden());

    await trackBatch(mp, batch('flow', 40));
    await trackBatch(mp, batch('flow2', 30));
    await waitFor(() => insertIds(sinkA).size >= 70 && insertIds(sinkB).size >= 70, 20_000,
                  () => `both sinks got the 70 events (A ${insertIds(sinkA).size}, B ${insertIds(sinkB).size})`);
    // The table (polled every 2 s) and the flow readout under the chart catch up.
    await waitFor(async () => (await cellCount(page, 'vendor-a', 'delivered')) >= 70 &&
                              (await cellCount(page, 'vendor-b', 'delivered')) >= 70,
                  15_000, 'the vendors table to show 70 delivered for both vendors');
    await waitFor(async () => {
      const text = await page.locator('#flow-readout li[data-vendor="vendor-a"]').textContent().catch(() => '');
      return /([\d,]+) delivered/.test(text) && toInt(/([\d,]+) delivered/.exec(text)[1]) >= 70;
    }, 15_000, 'the flow readout to count the delivered events');
    assert.ok(await page.locator('#flow-chart canvas').count() >= 1, 'the uPlot chart is drawn');
    await shot(page, 'vendors');
  });

  await t.test('the other pages render', async () => {
    await page.getByRole('link', { name: 'Categories' }).click();
    await page.locator('#categories-table tbody tr[data-vendor="vendor-a"]').waitFor({ timeout: 10_000 });
    await shot(page, 'categories');
    await page.getByRole('button', { name: 'Last 30 days' }).click();
    await waitFor(async () => (await page.getByRole('button', { name: 'Last 30 days' }).getAttribute('aria-pressed')) === 'true',
                  5_000, 'the 30-day toggle');
    await page.locator('#categories-table tbody tr[data-vendor="vendor-a"]').waitFor({ timeout: 10_000 });

    await page.getByRole('link', { name: 'Playground' }).click();
    const sample = await page.getByLabel('Event JSON').inputValue();
    assert.match(sample, /jane@example\.com/, 'the sample event has an email in free text');
    await page.getByRole('button', { name: 'Explain' }).click();
    const sends = page.locator('#pg-results section[data-vendor="vendor-a"] pre.sends');
    await sends.first().waitFor({ timeout: 10_000 });
    await page.locator('#pg-results section[data-vendor="vendor-b"]').waitFor();
    for (const text of await page.locator('#pg-results pre.sends').allTextContents()) {
      assert.ok(!text.includes('jane@example.com'), `the minimized copy has no email: ${text}`);
      JSON.parse(text);
    }
    assert.ok(await page.locator('#pg-results table.rules tbody tr').count() > 0, 'a rules table');
    await shot(page, 'playground');

    await page.getByRole('link', { name: 'Incidents' }).click();
    await page.getByRole('heading', { name: 'Incidents', level: 1 }).waitFor();
    await waitFor(async () => !(await page.locator('#view').textContent()).includes('Loading…'), 10_000, 'the incidents list');
    await shot(page, 'incidents');

    await page.getByRole('link', { name: 'Ledger' }).click();
    await page.locator('#verify-state').waitFor({ timeout: 10_000 });
    await page.getByRole('button', { name: 'Verify now' }).click();
    await waitFor(async () => /Verified|Failed/.test(await page.locator('#verify-state').textContent()), 60_000,
                  'the ledger verification to finish');
    assert.match(await page.locator('#verify-state').textContent(), /Verified/, 'the ledger verifies');
    await page.locator('#who-vendor').fill('vendor-a');
    await page.getByRole('form', { name: 'Vendor recipients lookup' }).getByRole('button', { name: 'Look up' }).click();
    await waitFor(async () => /received data about/.test(await page.locator('#who-result').textContent()), 10_000,
                  'the who-lookup result');
    await page.locator('#subject-input').fill('user-1');
    await page.getByRole('form', { name: 'Subject lookup' }).getByRole('button', { name: 'Look up' }).click();
    await waitFor(async () => /vendor|received/i.test(await page.locator('#subject-result').textContent()), 10_000,
                  'the subject-lookup result');
    await shot(page, 'ledger');
  });

  await t.test('the kill switch from the console: vendor-a gets nothing more, vendor-b keeps receiving', async () => {
    await page.getByRole('link', { name: 'Vendors' }).click();
    await vendorRow(page, 'vendor-a').waitFor();
    await page.getByRole('button', { name: 'Cut vendor-a' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    assert.match(await dialog.textContent(), /stops all sending/);
    assert.match(await dialog.textContent(), /discards/);
    const confirm = dialog.getByRole('button', { name: 'Cut vendor-a' });
    assert.ok(await confirm.isDisabled(), 'confirm is disabled until the name is typed');
    const input = dialog.getByLabel(/Type vendor-a to confirm/);
    await input.fill('vendor-b');
    assert.ok(await confirm.isDisabled(), 'another vendor\'s name does not enable it');
    await input.fill('vendor-a');
    assert.ok(await confirm.isEnabled(), 'the vendor\'s name enables it');
    await shot(page, 'cut-dialog');
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/v1/vendors/vendor-a/cut') && r.request().method() === 'POST'),
      confirm.click(),
    ]);
    const cutReturn = Date.now();
    assert.equal(response.status(), 200, await response.text());
    const body = await response.json();
    assert.equal(body.state, 'cut');
    assert.equal(typeof body.discarded, 'number');
    assert.deepEqual(JSON.parse(response.request().postData()), { confirm: 'vendor-a' });
    await waitFor(async () => /Cut/.test(await vendorRow(page, 'vendor-a').locator('td[data-col="state"]').textContent()),
                  10_000, 'the cut badge');
    assert.match(await page.locator('#status').textContent(), /vendor-a is cut off/);
    assert.equal(await page.getByRole('button', { name: 'Cut vendor-a' }).count(), 0, 'no cut button on a cut vendor');
    assert.match(await vendorRow(page, 'vendor-b').locator('td[data-col="state"]').textContent(), /Active/);

    const ids = batch('after-cut', 30);
    await trackBatch(mp, ids);
    await waitFor(() => ids.every((e) => insertIds(sinkB).has(e.properties.$insert_id)), 20_000,
                  () => `vendor-b gets the events sent after the cut (${insertIds(sinkB).size} ids)\n${sinkB.summary()}`);
    const nothingNewAtA = () => sinkA.requests.every((r) => r.at <= cutReturn + 1000) &&
        ids.every((e) => !insertIds(sinkA).has(e.properties.$insert_id));
    await holdsFor(nothingNewAtA, 1_500, () => `vendor-a, cut, received after the cut:\n${sinkA.summary()}`);
    await waitFor(async () => (await cellCount(page, 'vendor-b', 'delivered')) >= 100, 15_000,
                  'the vendors table to show vendor-b still delivering');
    await shot(page, 'vendors-after-cut');
  });

  await t.test('the audit log records the sign-ins and the cut', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click();
    const rows = page.locator('#audit-table tbody tr');
    await waitFor(async () => {
      const texts = await rows.allTextContents();
      return texts.some((r) => r.includes('vendor-a') && /cut/i.test(r)) && texts.some((r) => r.includes('alice') && /fail/i.test(r));
    }, 15_000, 'audit entries for the cut of vendor-a and the failed sign-in');
    await shot(page, 'audit');
  });

  await t.test('on a 390 px phone the page does not overflow (tables scroll inside their box)', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('link', { name: 'Vendors' }).click();
    await vendorRow(page, 'vendor-a').waitFor();
    await page.waitForTimeout(500);  // the chart resizes
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `the page is ${overflow} px wider than the phone`);
    await shot(page, 'vendors-390');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  await t.test('a reload keeps the session; logout ends it; a recovery code signs in', async () => {
    await page.reload();
    await vendorRow(page, 'vendor-b').waitFor({ timeout: 10_000 });
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Sign in to the console' }).waitFor();
    const res = await page.evaluate(async () => (await fetch('/api/v1/vendors')).status);
    assert.equal(res, 401, 'the API refuses the old session after logout');
    await page.getByRole('button', { name: 'Use a recovery code instead' }).click();
    await page.getByLabel('Recovery code').waitFor();
    await fillLogin(page, operator.name, operator.password, operator.recovery_codes[0]);
    await vendorRow(page, 'vendor-a').waitFor({ timeout: 10_000 });
  });

  await t.test('a viewer sees no kill switch, and the server refuses one anyway', async () => {
    const v = await openConsole(h, base);
    await signIn(v.page, viewer);
    await vendorRow(v.page, 'vendor-b').waitFor();
    assert.match(await v.page.locator('#whoami-text').textContent(), /victor \(viewer\)/);
    assert.equal(await v.page.getByRole('button', { name: /^(Cut|Pause|Resume)\b/ }).count(), 0,
                 'no cut, pause or resume buttons for a viewer');
    await shot(v.page, 'vendors-viewer');
    const status = await v.page.evaluate(async () => {
      const s = await (await fetch('/api/v1/session')).json();
      const r = await fetch('/api/v1/vendors/vendor-b/cut', {
        method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf_token },
        body: JSON.stringify({ confirm: 'vendor-b' }),
      });
      return r.status;
    });
    assert.equal(status, 403, 'a viewer cannot cut a vendor');
    await v.page.getByRole('link', { name: 'Ledger' }).click();
    await v.page.locator('#verify-state').waitFor({ timeout: 10_000 });
    assert.equal(await v.page.getByRole('button', { name: 'Verify now' }).count(), 0);
    assert.deepEqual(v.problems, [], 'no page errors or CSP violations for the viewer');
  });

  await t.test('no page errors, CSP violations or failed requests', () => {
    assert.deepEqual(problems, []);
  });
  t.diagnostic(`screenshots in ${ARTIFACTS}`);
});
