// Mixpanel's browser SDK (npm `mixpanel-browser`) in headless Chromium, pointed at the gateway with its
// api_host option: the vendor gets the minimized copy, and the browser gets CORS-correct answers.

import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { GEOIP_DB, PSEUDONYM_RE, SOURCE_DIR, TEST_POLICY, harness, launchChromium, mixpanelVendor, waitFor } from './helpers.mjs';

const TOKEN = 'e2e-browser-token';
const USER = 'user-42';
const EMAIL = 'jane@example.com';
const NAME = 'Jane Doe';
const LANDING = '/landing/from-newsletter?uid=jane%40example.com&token=REFTOKEN';
const SHOP = '/shop/checkout?coupon=SECRET';
// The browser SDK's UMD build: defines the global `mixpanel` when loaded with a script tag (the
// dist/mixpanel.min.js build is the snippet loader's target and expects the snippet's stub).
const SDK_FILE = path.join(SOURCE_DIR, 'node_modules', 'mixpanel-browser', 'dist', 'mixpanel.umd.js');

const MUST_NOT_LEAK = [EMAIL, NAME, 'jane%40example.com', USER, '/shop', 'checkout', 'coupon', 'SECRET', '/landing',
                       'REFTOKEN', 'newsletter', '8.8.8.8', 'call me'];

let browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

// A tiny web shop on its own origin: a landing page linking to the checkout page, which runs the SDK.
async function startShop(h, sdkConfig) {
  const sdk = await fs.readFile(SDK_FILE);
  const landing = `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<title>Newsletter</title></head><body><a id="go" href="${SHOP}">Check out</a></body></html>`;
  const shop = `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<title>Checkout</title><script src="/mixpanel.js"></script></head><body>
<script>
  window.vgCallbacks = [];
  mixpanel.init(${JSON.stringify(TOKEN)}, ${JSON.stringify(sdkConfig)});
  mixpanel.identify(${JSON.stringify(USER)});
  mixpanel.people.set({ $email: ${JSON.stringify(EMAIL)}, $name: ${JSON.stringify(NAME)} },
                      function (r) { window.vgCallbacks.push(['people.set', r]); });
  mixpanel.track('Checkout', { plan: 'pro', note: 'call me: ' + ${JSON.stringify(NAME + ' <' + EMAIL + '>')} },
                 function (r) { window.vgCallbacks.push(['track', r]); });
</script></body></html>`;
  const server = http.createServer((req, res) => {
    const { pathname } = new URL(req.url, 'http://shop');
    if (pathname === '/mixpanel.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(sdk);
    } else if (pathname === '/landing/from-newsletter') {
      res.writeHead(200, { 'Content-Type': 'text/html' }).end(landing);
    } else if (pathname === '/shop/checkout') {
      res.writeHead(200, { 'Content-Type': 'text/html' }).end(shop);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  h.defer(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return `http://127.0.0.1:${server.address().port}`;
}

// Decodes the SDK's request body (`data=<base64 JSON>`), to know what the browser sent the gateway.
function decodeSdkBody(postData) {
  const data = new URLSearchParams(postData || '').get('data');
  if (!data) return undefined;
  return JSON.parse(Buffer.from(data, 'base64').toString('utf8'));
}

async function runCheckout(t, { batchRequests }) {
  const h = harness(t);
  const sink = await h.sink();
  const gw = await h.gateway({
    geoip_db: GEOIP_DB,
    trusted_proxies: ['127.0.0.1/32'],
    vendors: [mixpanelVendor({ name: 'mixpanel', sink, policy: TEST_POLICY })],
  });
  const sdkConfig = {
    api_host: gw.url,
    debug: true,
    batch_flush_interval_ms: 100,
    xhr_headers: { 'X-Forwarded-For': '8.8.8.8' },
  };
  if (batchRequests !== undefined) sdkConfig.batch_requests = batchRequests;
  const origin = await startShop(h, sdkConfig);

  const context = await browser.newContext();
  h.defer(() => context.close());
  const page = await context.newPage();

  const consoleMessages = [];
  const pageErrors = [];
  const failed = [];
  const sent = [];       // requests the browser made to the gateway, with the payload it sent
  const answered = [];   // the gateway's answers as the browser saw them
  page.on('console', (m) => consoleMessages.push({ type: m.type(), text: m.text() }));
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('requestfailed', (r) => failed.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
  page.on('request', (r) => {
    if (r.url().startsWith(gw.url)) {
      sent.push({ method: r.method(), url: r.url(), payload: decodeSdkBody(r.postData()) });
    }
  });
  page.on('response', async (r) => {
    if (!r.url().startsWith(gw.url)) return;
    const entry = { url: r.url(), status: r.status(), headers: await r.allHeaders(), body: null };
    entry.body = await r.text().catch((e) => `(body unavailable: ${e})`);
    answered.push(entry);
  });
  const diagnostics = () => [
    `console:\n${consoleMessages.map((m) => `  [${m.type}] ${m.text}`).join('\n')}`,
    `page errors: ${JSON.stringify(pageErrors)}`,
    `failed requests: ${JSON.stringify(failed)}`,
    `answers: ${JSON.stringify(answered.map(({ url, status, body }) => ({ url, status, body })))}`,
    `sink:\n${sink.summary()}`,
    gw.logs(),
  ].join('\n');

  await page.goto(origin + LANDING);
  await Promise.all([page.waitForURL('**/shop/checkout?**'), page.click('#go')]);
  assert.equal(await page.evaluate(() => document.referrer), origin + LANDING,
               'test setup: the checkout page has the landing page as its full referrer');

  const checkoutAtSink = () => sink.events('/track').find((e) => e.event === 'Checkout');
  await waitFor(() => checkoutAtSink() && sink.events('/engage').length >= 1, 20_000,
                () => `the Checkout event and the profile update at the sink\n${diagnostics()}`);
  // Every request the browser made to the gateway has its answer.
  await waitFor(() => sent.length > 0 && answered.length + failed.length >= sent.length, 10_000,
                () => `answers to all ${sent.length} gateway requests\n${diagnostics()}`);

  // What the browser sent: the personal data is really there (so the gateway is what removed it).
  const sentEvents = sent.filter((s) => new URL(s.url).pathname.startsWith('/track'))
      .flatMap((s) => (Array.isArray(s.payload) ? s.payload : [s.payload])).filter(Boolean);
  const sentCheckout = sentEvents.find((e) => e.event === 'Checkout');
  assert.ok(sentCheckout, `the browser sent the Checkout event\n${diagnostics()}`);
  assert.equal(sentCheckout.properties.$current_url, origin + SHOP);
  assert.equal(sentCheckout.properties.$referrer, origin + LANDING);
  assert.ok(JSON.stringify(sent).includes(EMAIL), 'the browser sent the email to the gateway');

  // The browser's side: CORS-correct 200s and no errors.
  assert.deepEqual(failed, [], `no failed requests\n${diagnostics()}`);
  assert.deepEqual(pageErrors, [], `no page errors\n${diagnostics()}`);
  const bad = consoleMessages.filter((m) => m.type === 'error' || /CORS|blocked|Bad HTTP status/i.test(m.text));
  assert.deepEqual(bad, [], `no console errors\n${diagnostics()}`);
  for (const a of answered) {
    assert.equal(a.status, 200, `${a.url}\n${diagnostics()}`);
    assert.equal(a.headers['access-control-allow-origin'], origin, `Access-Control-Allow-Origin for ${a.url}`);
    assert.equal(a.headers['access-control-allow-credentials'], 'true', `Access-Control-Allow-Credentials for ${a.url}`);
    const verbose = new URL(a.url).searchParams.get('verbose') === '1';
    if (verbose) {
      assert.deepEqual(JSON.parse(a.body), { status: 1, error: null }, `verbose answer to ${a.url}`);
    } else {
      assert.equal(a.body, '1', `answer to ${a.url}`);
    }
  }
  const callbacks = await page.evaluate(() => window.vgCallbacks);
  assert.ok(callbacks.some(([what, r]) => what === 'track' && r === 1), `track callback got 1: ${JSON.stringify(callbacks)}`);

  // The vendor's side.
  const text = sink.allText();
  for (const s of MUST_NOT_LEAK) assert.ok(!text.includes(s), `${JSON.stringify(s)} reached the vendor:\n${text}`);

  const checkouts = sink.events('/track').filter((e) => e.event === 'Checkout');
  assert.equal(checkouts.length, 1, `one Checkout event at the vendor:\n${sink.summary()}`);
  const p = checkouts[0].properties;
  assert.match(p.distinct_id, PSEUDONYM_RE);
  assert.equal(p.$current_url, origin, '$current_url cut to the page origin');
  assert.equal(p.$referrer, origin, '$referrer cut to its origin');
  if ('$initial_referrer' in sentCheckout.properties) {
    assert.equal(p.$initial_referrer, origin, '$initial_referrer cut to its origin');
  }
  assert.equal(p.$insert_id, sentCheckout.properties.$insert_id, '$insert_id passes unchanged');
  assert.ok(p.$insert_id, '$insert_id present');
  assert.equal(p.mp_country_code, 'US', 'country from X-Forwarded-For 8.8.8.8 via the trusted proxy 127.0.0.1');
  assert.equal(p.plan, 'pro');
  assert.ok(!('note' in p), `free text dropped: ${JSON.stringify(p)}`);
  const allowed = new Set([...TEST_POLICY.allow, 'mp_country_code']);
  for (const k of Object.keys(p)) assert.ok(allowed.has(k), `property ${k} is not allowed: ${JSON.stringify(p)}`);
  for (const k of ['$device_id', '$user_id']) {
    if (k in p) assert.match(p[k], PSEUDONYM_RE, `${k} pseudonymized: ${JSON.stringify(p)}`);
  }
  for (const e of sink.events('/track')) {
    assert.match(e.properties.distinct_id ?? '', PSEUDONYM_RE, `every event is pseudonymous: ${JSON.stringify(e)}`);
  }

  const update = sink.events('/engage').find((u) => u.$set);
  assert.ok(update, `a $set update at the vendor:\n${sink.summary()}`);
  assert.equal(update.$distinct_id, p.distinct_id, 'profile keyed by the same pseudonym as the event');
  assert.ok(!('$email' in update.$set) && !('$name' in update.$set), JSON.stringify(update));
  assert.equal(update.$set.$country_code, 'US', JSON.stringify(update));
}

test('browser SDK, default batching: the vendor gets origins, pseudonyms and country; the page gets CORS 200s',
     { timeout: 40_000 }, async (t) => {
  await runCheckout(t, { batchRequests: undefined });
});

test('browser SDK, batch_requests: false: the same through one request per call', { timeout: 40_000 }, async (t) => {
  await runCheckout(t, { batchRequests: false });
});
