// Delivery (src/delivery/delivery.cc, transport.cc) against a vendor that fails, throttles, refuses or is down:
// retries deliver every event once, Retry-After is honoured, a refused batch is logged and written to the
// outbox instead of being retried, gzip follows the vendor config; batch limits, several connections, an
// interrupted round, TLS verification. And the client address the gateway geolocates when a trusted proxy
// sends X-Forwarded-For on several header lines.

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import zlib from 'node:zlib';

import {
  GEOIP_DB, PSEUDONYM_RE, TEST_POLICY, adminRequest, base64Json, fetchMetrics, freePort, harness, holdsFor, metricValue,
  mixpanelVendor, runCli, waitFor,
} from './helpers.mjs';

const require = createRequire(import.meta.url);
const Mixpanel = require('mixpanel');

const TOKEN = 'e2e-forwarding-token';
const EMAIL = 'jane.forward@example.com';

function client(host, options = {}) {
  return Mixpanel.init(TOKEN, { host, protocol: 'http', ...options });
}

function track(mp, event, properties) {
  return new Promise((resolve, reject) => mp.track(event, properties, (err) => (err ? reject(err) : resolve())));
}
function trackBatch(mp, events) {
  return new Promise((resolve, reject) =>
    mp.track_batch(events, (errors) => (errors ? reject(new AggregateError(errors, 'track_batch failed')) : resolve())));
}

function eventFor(insertId, i = 0) {
  return {
    event: 'Forwarded',
    properties: {
      distinct_id: `user-fw-${i % 3}`,
      $email: EMAIL,
      plan: 'pro',
      $insert_id: insertId,
      time: 1767225600 + i,
    },
  };
}

// How many times each $insert_id occurs in `events`.
function countByInsertId(events) {
  const counts = new Map();
  for (const e of events) {
    const id = e?.properties?.$insert_id;
    counts.set(id, (counts.get(id) || 0) + 1);
  }
  return counts;
}

// Posts one event per id (eventFor) as concurrent SDK batches of 50, which the gateway takes in one spool
// read when its vendor lingers.
function trackInBatchesOf50(mp, ids) {
  return Promise.all(Array.from({ length: Math.ceil(ids.length / 50) }, (_, b) =>
    trackBatch(mp, ids.slice(b * 50, b * 50 + 50).map((id, k) => eventFor(id, b * 50 + k)))));
}

// The lines of the gateway's dead-letter file for `vendor`, parsed (none yet: []).
async function deadLetters(gw, vendor = 'mixpanel') {
  const text = await fs.readFile(path.join(gw.dataDir, 'deadletter', `${vendor}.jsonl`), 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

// One POST on a fresh connection. `headers` is an object whose values may be arrays: an array value is
// sent as several header lines with the same name (node's setHeader does exactly that).
function post(port, reqPath, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: reqPath, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    for (const [name, value] of Object.entries(headers)) req.setHeader(name, value);
    req.on('error', (e) => reject(new Error(`POST ${reqPath}: ${e.message}`)));
    req.end(body);
  });
}

function retryLines(stderr) {
  return stderr.split('\n').filter((l) => /vendor mixpanel: \/track failed .*retry \d+ in \d+ ms/.test(l));
}

test('5xx answers are retried: every event reaches the vendor exactly once, at most batch_max_events a request',
     { timeout: 30_000 }, async (t) => {
  const h = harness(t);
  const sink = await h.sink({
    answer: (r, i) => (i < 3 ? { status: 500, body: '{"error":"internal error","status":0}' } : undefined),
  });
  const gw = await h.gateway({
    geoip_db: GEOIP_DB,
    vendors: [{ ...mixpanelVendor({ name: 'mixpanel', sink, policy: TEST_POLICY }), batch_max_events: 50 }],
  });
  const mp = client(gw.host);
  const expected = Array.from({ length: 120 }, (_, i) => `fw-retry-${i}`);
  await trackBatch(mp, expected.map((id, i) => eventFor(id, i)));

  const delivered = () => countByInsertId(sink.events('/track', { status: 200 }));
  await waitFor(() => expected.every((id) => delivered().has(id)), 20_000,
                () => `all 120 events in 200-answered requests; sink got:\n${sink.summary()}\n${gw.logs()}`);
  // A marker sent after everything was acknowledged: the forwarder is FIFO, so a duplicate of an
  // acknowledged batch would reach the vendor before it.
  await track(mp, 'Marker', { distinct_id: 'user-fw-0', $insert_id: 'fw-retry-marker' });
  await waitFor(() => delivered().has('fw-retry-marker'), 15_000,
                () => `the marker event at the sink:\n${sink.summary()}\n${gw.logs()}`);

  const counts = delivered();
  const wrong = expected.filter((id) => counts.get(id) !== 1).map((id) => `${id} x${counts.get(id) || 0}`);
  assert.deepEqual(wrong, [], `each event delivered exactly once among the 200-answered requests\n${sink.summary()}`);
  assert.equal(counts.size, expected.length + 1, `only the sent events: ${[...counts.keys()].join(' ')}`);

  const failed = sink.requests.filter((r) => r.status === 500);
  assert.equal(failed.length, 3, `the sink failed the first 3 requests\n${sink.summary()}`);
  for (const r of sink.requests) {
    assert.equal(r.path, '/track', r.url);
    assert.ok(Array.isArray(r.json), `a JSON array per request: ${r.text.slice(0, 200)}`);
    assert.ok(r.json.length <= 50, `a batch of ${r.json.length} events (batch_max_events: 50): ${r.url}`);
    assert.ok(r.json.length >= 1, `no empty batch: ${r.url}`);
  }
  for (const e of sink.events('/track', { status: 200 })) {
    assert.match(e.properties.distinct_id, PSEUDONYM_RE, JSON.stringify(e));
    assert.ok(!('$email' in e.properties), `email forwarded: ${JSON.stringify(e)}`);
  }
  await waitFor(() => retryLines(gw.stderr()).length >= 3, 5_000,
                () => `3 retry lines on stderr\n${gw.logs()}`);
  const retries = retryLines(gw.stderr());
  assert.ok(retries.every((l) => /HTTP 500/.test(l)), `retries name the vendor's HTTP 500:\n${retries.join('\n')}`);
});

test('429 with Retry-After: 1 delays the retry by at least a second', { timeout: 20_000 }, async (t) => {
  const h = harness(t);
  const sink = await h.sink({
    answer: (r, i) => (i === 0
      ? { status: 429, headers: { 'Retry-After': '1' }, body: '{"error":"rate limited","status":0}' }
      : undefined),
  });
  const gw = await h.gateway({
    geoip_db: GEOIP_DB,
    vendors: [mixpanelVendor({ name: 'mixpanel', sink, policy: TEST_POLICY })],
  });
  await trackBatch(client(gw.host), [eventFor('fw-429-1', 1), eventFor('fw-429-2', 2)]);
  await waitFor(() => sink.requests.some((r) => r.status === 200), 15_000,
                () => `a retry answered 200:\n${sink.summary()}\n${gw.logs()}`);

  const [first, second] = sink.requests;
  assert.equal(first.status, 429);
  assert.equal(second.status, 200);
  assert.deepEqual(second.json.map((e) => e.properties.$insert_id), first.json.map((e) => e.properties.$insert_id),
                   'the retry carries the throttled batch');
  const gap = second.at - first.at;
  assert.ok(gap >= 900, `retry ${gap} ms after a 429 with Retry-After: 1 (expected >= ~1000 ms)\n${gw.logs()}`);
  assert.ok(gap < 5_000, `retry ${gap} ms after a 429 with Retry-After: 1 (expected about 1000 ms)\n${gw.logs()}`);
  assert.match(gw.stderr(), /HTTP 429/, 'the 429 is logged');
});

test('a 429 with Retry-After on one connection holds all the vendor\'s connections until it has passed',
     { timeout: 30_000 }, async (t) => {
  const h = harness(t);
  // Every answer after 100 ms; the first request's is a 429 with Retry-After: 1.
  const sink = await h.sink({
    delayMs: 100,
    answer: (r, i) => (i === 0 ? { status: 429, headers: { 'Retry-After': '1' }, body: '' } : undefined),
  });
  const gw = await h.gateway({
    vendors: [{ ...mixpanelVendor({ name: 'mixpanel', sink, policy: TEST_POLICY }), linger_ms: 1000,
                batch_max_events: 10, connections: 4 }],
  });
  const ids = Array.from({ length: 200 }, (_, i) => `fw-429c-${i}`);
  await trackInBatchesOf50(client(gw.host), ids);
  await waitFor(() => sink.events('/track', { status: 200 }).length >= ids.length, 20_000,
                () => `${ids.length} events answered 200:\n${sink.summary()}\n${gw.logs()}`);
  const counts = countByInsertId(sink.events('/track', { status: 200 }));
  assert.ok(ids.every((id) => counts.get(id) === 1), 'every event delivered once');
  // The three other connections had requests in flight when the 429 came (answered ~100 ms later); after
  // those answers nothing may arrive until the second has passed.
  const [first] = sink.requests;
  assert.equal(first.status, 429);
  const offsets = sink.requests.slice(1).map((r) => r.at - first.at);
  assert.deepEqual(offsets.filter((ms) => ms > 300 && ms < 1000), [],
                   `requests (ms after the 429's request): ${offsets}`);
  const retry = sink.requests.find((r, i) => i > 0 && r.json[0].properties.$insert_id === first.json[0].properties.$insert_id);
  assert.ok(retry && retry.at - first.at >= 1000, `the throttled batch again after the second: ${offsets}`);
});

test('a refusal no smaller batch would change (401) is neither retried nor split: logged with the vendor\'s ' +
     'reason, the whole batch written to the dead-letter file',
     { timeout: 20_000 }, async (t) => {
  const h = harness(t);
  const sink = await h.sink({ answer: () => ({ status: 401, body: '{"error":"bad token","status":0}' }) });
  const gw = await h.gateway({
    geoip_db: GEOIP_DB,
    vendors: [mixpanelVendor({ name: 'mixpanel', sink, policy: TEST_POLICY })],
  });
  const ids = ['fw-401-1', 'fw-401-2', 'fw-401-3'];
  // One SDK request, so one batch; the gateway accepts it (the SDK sees "1") before the vendor refuses.
  await trackBatch(client(gw.host), ids.map((id, i) => eventFor(id, i)));

  const rejectedFile = path.join(gw.dataDir, 'deadletter', 'mixpanel.jsonl');
  const readRejected = () => fs.readFile(rejectedFile, 'utf8').catch(() => '');
  await waitFor(async () => (await readRejected()).split('\n').filter(Boolean).length >= ids.length, 10_000,
                () => `${ids.length} lines in ${rejectedFile}\nsink:\n${sink.summary()}\n${gw.logs()}`);
  assert.equal(sink.requests.length, 1, `one request:\n${sink.summary()}`);
  await holdsFor(() => sink.requests.length === 1, 2_000,
                 () => `a 401 must not be retried, but the sink got:\n${sink.summary()}\n${gw.logs()}`);
  assert.deepEqual(sink.requests[0].json.map((e) => e.properties.$insert_id), ids, 'the whole batch in one request');

  await waitFor(() => /bad token/.test(gw.stderr()), 5_000, () => `the vendor's reason on stderr\n${gw.logs()}`);
  const line = gw.stderr().split('\n').find((l) => /bad token/.test(l));
  assert.match(line, /mixpanel/, `the log line names the vendor: ${line}`);
  assert.match(line, /401/, `the log line names the status: ${line}`);

  const text = await readRejected();
  assert.ok(!text.includes(EMAIL), `email in ${rejectedFile}:\n${text}`);
  assert.ok(!/user-fw-\d/.test(text), `a raw distinct_id in ${rejectedFile}:\n${text}`);
  const lines = text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  assert.equal(lines.length, ids.length, text);
  assert.deepEqual(lines.map((l) => l.data?.properties?.$insert_id), ids, text);
  for (const l of lines) {
    assert.equal(l.endpoint, '/track', JSON.stringify(l));
    assert.equal(l.http_status, 401, JSON.stringify(l));
    assert.match(l.reason, /bad token/, JSON.stringify(l));
    assert.match(l.data.properties.distinct_id, PSEUDONYM_RE, JSON.stringify(l));
    assert.ok(!('$email' in l.data.properties), JSON.stringify(l));
    assert.equal(l.data.properties.plan, 'pro', JSON.stringify(l));
  }
});

test('a 400 for two bad events among 300: the batch is sent in halves until each bad event is alone; they ' +
     'go to the dead-letter file, the other 298 are delivered, in a few dozen requests', { timeout: 30_000 }, async (t) => {
  const h = harness(t);
  const isBad = (e) => /^fw-split-bad-/.test(e?.properties?.$insert_id ?? '');
  const sink = await h.sink({
    answer: (r) => (Array.isArray(r.json) && r.json.some(isBad)
      ? { status: 400, body: '{"error":"event has an invalid property","status":0}' } : undefined),
  });
  const gw = await h.gateway({
    vendors: [{ ...mixpanelVendor({ name: 'mixpanel', sink, policy: TEST_POLICY }), linger_ms: 1000 }],
  });
  const ids = Array.from({ length: 300 }, (_, i) => (i === 77 || i === 230 ? `fw-split-bad-${i}` : `fw-split-${i}`));
  const mp = client(gw.host);
  await trackInBatchesOf50(mp, ids);

  const good = ids.filter((id) => !/bad/.test(id));
  const readRejected = () => deadLetters(gw);
  await waitFor(async () => sink.events('/track', { status: 200 }).length >= good.length &&
                            (await readRejected()).length >= 2, 15_000,
                () => `298 events delivered and 2 dead letters\n${sink.summary()}\n${gw.logs()}`);
  await holdsFor(() => sink.events('/track', { status: 200 }).length === good.length, 1_500,
                 () => `no more deliveries\n${sink.summary()}`);
  // Each good event delivered exactly once; the bad ones never in an accepted request.
  const counts = countByInsertId(sink.events('/track', { status: 200 }));
  assert.deepEqual([...counts.keys()].sort(), [...good].sort());
  assert.ok([...counts.values()].every((n) => n === 1), JSON.stringify([...counts]));
  // The dead letters: exactly the two bad events, each refused alone.
  const dead = await readRejected();
  assert.deepEqual(dead.map((l) => l.data.properties.$insert_id).sort(), ['fw-split-bad-230', 'fw-split-bad-77']);
  assert.ok(dead.every((l) => l.http_status === 400 && /invalid property/.test(l.reason)), JSON.stringify(dead));
  const refusedAlone = sink.requests.filter((r) => r.status === 400 && r.json.length === 1);
  assert.deepEqual(refusedAlone.map((r) => r.json[0].properties.$insert_id).sort(), ['fw-split-bad-230', 'fw-split-bad-77']);
  // Halving: about two requests per level for each bad event (log2 300 < 9), far fewer than one per event.
  assert.ok(sink.requests.length <= 40, `${sink.requests.length} requests:\n${sink.summary()}`);
  assert.match(gw.stderr(), /sending it in halves/, 'the split is logged');
  // Each refusal of more than one event was one split, counted in /metrics and in the vendor's status.
  const splits = sink.requests.filter((r) => r.status === 400 && r.json.length > 1).length;
  assert.equal(metricValue(await fetchMetrics(gw), 'vendorguard_delivery_batch_splits_total', { vendor: 'mixpanel' }),
               splits);
  const status = await adminRequest(gw.dataDir, 'GET', '/v1/vendors');
  assert.equal(status.json.vendors.find((v) => v.name === 'mixpanel').splits, splits, status.body);
  t.diagnostic(`${sink.requests.length} requests, sizes ${sink.requests.map((r) => `${r.json.length}:${r.status}`)}`);
});

test('/import answering 400 with failed_records: only the events it names are dead letters, each with its ' +
     'reason; the others count as delivered and are not sent again', { timeout: 30_000 }, async (t) => {
  const h = harness(t);
  // Mixpanel's strict /import: takes the valid events of a batch, answers 400 naming the others.
  const isBad = (e) => /^fw-import-bad-/.test(e?.properties?.$insert_id ?? '');
  const sink = await h.sink({
    answer: (r) => {
      if (!Array.isArray(r.json) || !r.json.some(isBad)) return undefined;
      const failed = r.json.flatMap((e, index) => (isBad(e) ? [{
        index, insert_id: e.properties.$insert_id, field: 'properties.time',
        message: `'properties.time' is invalid for ${e.properties.$insert_id}`,
      }] : []));
      return { status: 400, body: JSON.stringify({
        code: 400, error: 'some data points in the request failed validation', status: 'Bad Request',
        num_records_imported: r.json.length - failed.length, failed_records: failed }) };
    },
  });
  const gw = await h.gateway({
    vendors: [{ ...mixpanelVendor({ name: 'mixpanel', sink, policy: TEST_POLICY }), api: 'import', linger_ms: 1000 }],
  });
  const ids = Array.from({ length: 150 }, (_, i) => (i % 50 === 7 ? `fw-import-bad-${i}` : `fw-import-${i}`));
  const mp = client(gw.host);
  await trackInBatchesOf50(mp, ids);

  const bad = ids.filter((id) => /bad/.test(id));
  const readRejected = () => deadLetters(gw);
  await waitFor(async () => (await readRejected()).length >= bad.length, 15_000,
                () => `${bad.length} dead letters\n${sink.summary()}\n${gw.logs()}`);
  await holdsFor(async () => (await readRejected()).length === bad.length, 1_000, 'no more dead letters');
  const dead = await readRejected();
  assert.deepEqual(dead.map((l) => l.data.properties.$insert_id).sort(), [...bad].sort());
  for (const l of dead) {
    assert.equal(l.endpoint, '/import', JSON.stringify(l));
    assert.equal(l.http_status, 400, JSON.stringify(l));
    assert.equal(l.reason, `HTTP 400: 'properties.time' is invalid for ${l.data.properties.$insert_id}`);
  }
  // Each event sent once: the vendor took the good ones in the request it answered with 400.
  const sent = countByInsertId(sink.events('/import'));
  assert.deepEqual([...sent.keys()].sort(), [...ids].sort());
  assert.ok([...sent.values()].every((n) => n === 1), `events sent more than once: ${sink.summary()}`);
  const vendors = (await adminRequest(gw.dataDir, 'GET', '/v1/vendors')).json.vendors;
  const status = vendors.find((v) => v.name === 'mixpanel');
  assert.equal(status.delivered, ids.length - bad.length, JSON.stringify(status));
  assert.equal(status.dead_lettered, bad.length, JSON.stringify(status));
  assert.equal(status.splits, 0, JSON.stringify(status));
  t.diagnostic(`${sink.requests.length} request(s): ${sink.requests.map((r) => `${r.json.length}:${r.status}`)}`);
});

test('a refusal whose dead letters cannot be written keeps the events pending (logged); once the file ' +
     'can be written they are dead-lettered, each once', { timeout: 30_000 }, async (t) => {
  const h = harness(t);
  const sink = await h.sink({ answer: () => ({ status: 401, body: '{"error":"bad token","status":0}' }) });
  const gw = await h.gateway({ vendors: [mixpanelVendor({ name: 'mixpanel', sink, policy: TEST_POLICY })] });
  // A directory where the dead-letter file goes: opening it for writing fails, even for root.
  const file = path.join(gw.dataDir, 'deadletter', 'mixpanel.jsonl');
  await fs.mkdir(file);
  const ids = ['fw-dlfail-1', 'fw-dlfail-2'];
  await trackBatch(client(gw.host), ids.map((id, i) => eventFor(id, i)));
  await waitFor(() => /cannot write dead letters/.test(gw.stderr()) && sink.requests.length >= 2, 10_000,
                () => `a failed dead-letter write, then the batch sent again\n${sink.summary()}\n${gw.logs()}`);
  const pending = async () => (await adminRequest(gw.dataDir, 'GET', '/v1/vendors')).json.vendors[0].pending;
  assert.equal(await pending(), ids.length, 'the refused events stay in the spool');

  await fs.rmdir(file);
  await waitFor(async () => (await pending()) === 0, 10_000, () => `the spool drained\n${gw.logs()}`);
  assert.deepEqual((await deadLetters(gw)).map((l) => l.data.properties.$insert_id), ids);
  await holdsFor(async () => (await deadLetters(gw)).length === ids.length, 1_500, 'each dead-lettered once');
});

test('a vendor that refuses every event (200 with Mixpanel\'s {"status":0}, which splits like a 400): splitting ' +
     'stops after 32 splits a batch (65 requests at most for one read of 300 refused events); all 300 are in the ' +
     'dead-letter file', { timeout: 30_000 }, async (t) => {
  const h = harness(t);
  const sink = await h.sink({ answer: () => ({ status: 200, body: '{"status":0,"error":"schema mismatch"}' }) });
  const gw = await h.gateway({
    vendors: [{ ...mixpanelVendor({ name: 'mixpanel', sink, policy: TEST_POLICY }), linger_ms: 1000 }],
  });
  const ids = Array.from({ length: 300 }, (_, i) => `fw-allbad-${i}`);
  const mp = client(gw.host);
  await trackInBatchesOf50(mp, ids);
  const deadIds = async () => (await deadLetters(gw)).map((l) => l.data.properties.$insert_id);
  await waitFor(async () => (await deadIds()).length >= ids.length, 15_000,
                () => `300 dead letters\n${sink.summary()}\n${gw.logs()}`);
  await holdsFor(async () => (await deadIds()).length === ids.length, 1_000, 'no event dead-lettered twice');
  assert.deepEqual((await deadIds()).sort(), [...ids].sort());
  // Every spool read of the sender is split at most 32 times (one more request each); the 300 events came in
  // one read when the linger held, in two or three otherwise.
  assert.ok(sink.requests.length <= 3 * 65, `${sink.requests.length} requests:\n${sink.summary()}`);
  assert.ok(sink.requests.length < 300, `${sink.requests.length} requests`);
  t.diagnostic(`${sink.requests.length} requests`);
});

test('a vendor that is down: events are kept and delivered once it comes up', { timeout: 30_000 }, async (t) => {
  const h = harness(t);
  const port = await freePort();
  const gw = await h.gateway({
    geoip_db: GEOIP_DB,
    vendors: [{ name: 'mixpanel', kind: 'mixpanel', endpoint: `http://127.0.0.1:${port}`, policy: TEST_POLICY }],
  });
  const mp = client(gw.host);
  const expected = [];
  const batch = [];
  for (let i = 0; i < 30; i++) {
    expected.push(`fw-down-b${i}`);
    batch.push(eventFor(`fw-down-b${i}`, i));
  }
  await trackBatch(mp, batch);
  for (let i = 0; i < 5; i++) {
    expected.push(`fw-down-s${i}`);
    await track(mp, 'Single', eventFor(`fw-down-s${i}`, i).properties);
  }
  // The vendor was really down: the gateway failed to connect (at least twice) while it was.
  await waitFor(() => retryLines(gw.stderr()).length >= 2, 10_000,
                () => `failed deliveries logged while the vendor is down\n${gw.logs()}`);

  const sink = await h.sink({ port });
  await waitFor(() => {
    const got = countByInsertId(sink.events('/track', { status: 200 }));
    return expected.every((id) => got.has(id));
  }, 15_000, () => {
    const got = countByInsertId(sink.events('/track', { status: 200 }));
    return `all ${expected.length} events once the vendor is up; missing ` +
        `${expected.filter((id) => !got.has(id)).join(' ')}\nsink:\n${sink.summary()}\n${gw.logs()}`;
  });
  const got = countByInsertId(sink.events('/track', { status: 200 }));
  assert.equal(got.size, expected.length, `distinct events: ${[...got.keys()].join(' ')}`);
});

test('gzip: false sends a plain JSON array; the default gzips it', { timeout: 20_000 }, async (t) => {
  const h = harness(t);
  const plain = await h.sink();
  const zipped = await h.sink();
  const gw = await h.gateway({
    geoip_db: GEOIP_DB,
    vendors: [
      mixpanelVendor({ name: 'plain', sink: plain, gzip: false, policy: TEST_POLICY }),
      { ...mixpanelVendor({ name: 'zipped', sink: zipped, policy: TEST_POLICY }), gzip: undefined },  // no key
    ],
  });
  const ids = ['fw-gz-1', 'fw-gz-2'];
  await trackBatch(client(gw.host), ids.map((id, i) => eventFor(id, i)));
  for (const [name, sink] of [['plain', plain], ['zipped', zipped]]) {
    await waitFor(() => sink.events('/track').length >= ids.length, 10_000,
                  () => `${ids.length} events at vendor ${name}:\n${sink.summary()}\n${gw.logs()}`);
  }

  for (const r of plain.requests) {
    assert.match(r.headers['content-type'] || '', /^application\/json/, r.url);
    assert.equal(r.headers['content-encoding'], undefined, `gzip: false, but Content-Encoding on ${r.url}`);
    const parsed = JSON.parse(r.rawBody.toString('utf8'));  // the bytes on the wire are the JSON
    assert.ok(Array.isArray(parsed), `a JSON array: ${r.rawBody.toString('utf8').slice(0, 200)}`);
  }
  for (const r of zipped.requests) {
    assert.match(r.headers['content-type'] || '', /^application\/json/, r.url);
    assert.equal(r.headers['content-encoding'], 'gzip', `default gzip, but ${r.url} has Content-Encoding ` +
                 `${r.headers['content-encoding']}`);
    assert.deepEqual([...r.rawBody.subarray(0, 2)], [0x1f, 0x8b], 'gzip magic');
    assert.ok(Array.isArray(JSON.parse(zlib.gunzipSync(r.rawBody).toString('utf8'))), 'a gzip\'d JSON array');
  }
  for (const sink of [plain, zipped]) {
    assert.deepEqual(sink.events('/track').map((e) => e.properties.$insert_id).sort(), ids);
  }
});

test('linger_ms: a burst of client requests reaches the vendor as one request after the linger; 0 sends at once',
     { timeout: 30_000 }, async (t) => {
  const h = harness(t);
  const lingering = await h.sink();
  const eager = await h.sink();
  const gw = await h.gateway({
    vendors: [
      { ...mixpanelVendor({ name: 'lingering', sink: lingering, policy: TEST_POLICY }), linger_ms: 1000 },
      { ...mixpanelVendor({ name: 'eager', sink: eager, policy: TEST_POLICY }), linger_ms: 0 },
    ],
  });
  const mp = client(gw.host);
  const ids = Array.from({ length: 8 }, (_, i) => `fw-linger-${i}`);
  const t0 = Date.now();
  // Eight client requests at once (each track() is its own request), well inside the linger.
  await Promise.all(ids.map((id, i) => track(mp, eventFor(id, i).event, eventFor(id, i).properties)));
  const answered = Date.now() - t0;
  for (const [name, sink] of [['lingering', lingering], ['eager', eager]]) {
    await waitFor(() => sink.events('/track').length >= ids.length, 15_000,
                  () => `${ids.length} events at vendor ${name}:\n${sink.summary()}\n${gw.logs()}`);
  }
  // Clients were answered without waiting for the linger.
  assert.ok(answered < 1000, `8 requests took ${answered} ms to be answered`);
  // The lingering sender waited after the first commit (which came after t0), then sent all 8 together.
  assert.ok(lingering.requests[0].at - t0 >= 990,
            `first request at the lingering vendor ${lingering.requests[0].at - t0} ms after the first send`);
  assert.equal(lingering.requests.length, 1, lingering.summary());
  assert.deepEqual(lingering.events('/track').map((e) => e.properties.$insert_id).sort(), [...ids].sort());
  // The other vendor did not wait.
  assert.ok(eager.requests[0].at < lingering.requests[0].at, `eager: ${eager.summary()}`);
  assert.deepEqual(eager.events('/track').map((e) => e.properties.$insert_id).sort(), [...ids].sort());
});

test('batches to the vendor: up to 2000 events a request by default, within batch_max_events and ' +
     'batch_max_bytes when set; an event larger than the byte limit goes alone', { timeout: 30_000 }, async (t) => {
  const h = harness(t);
  const [whole, counted, sized] = [await h.sink(), await h.sink(), await h.sink()];
  // A linger long enough for the six client requests below to be in the spool before a sender reads.
  const vendor = (name, sink, extra) =>
    ({ ...mixpanelVendor({ name, sink, policy: TEST_POLICY }), linger_ms: 1000, ...extra });
  const gw = await h.gateway({
    vendors: [
      vendor('whole', whole, {}),
      vendor('counted', counted, { batch_max_events: 7 }),
      vendor('sized', sized, { batch_max_bytes: '2KiB' }),
    ],
  });
  const ids = Array.from({ length: 300 }, (_, i) => `fw-batch-${i}`);
  const events = ids.map((id, i) => eventFor(id, i));
  events[123].properties.plan = 'p'.repeat(3000);  // alone larger than 2 KiB once serialized
  const mp = client(gw.host);
  await Promise.all(Array.from({ length: 6 }, (_, b) => trackBatch(mp, events.slice(b * 50, b * 50 + 50))));
  for (const [name, sink] of [['whole', whole], ['counted', counted], ['sized', sized]]) {
    await waitFor(() => sink.events('/track').length >= ids.length, 15_000,
                  () => `${ids.length} events at vendor ${name}:\n${sink.summary()}\n${gw.logs()}`);
    assert.deepEqual(sink.events('/track').map((e) => e.properties.$insert_id).sort(), [...ids].sort(), name);
  }
  const sizes = (sink) => sink.requests.map((r) => r.json.length);
  // More than the 50 events of one client request went in one vendor request (all 300 unless a client
  // request came in after the linger).
  assert.ok(Math.max(...sizes(whole)) > 50, `request sizes at 'whole': ${sizes(whole)}`);
  assert.ok(sizes(counted).every((n) => n <= 7), `request sizes at 'counted': ${sizes(counted)}`);
  assert.ok(sizes(counted).filter((n) => n === 7).length >= 40, `request sizes at 'counted': ${sizes(counted)}`);
  // Every request within 2 KiB of JSON, except the one that carries the large event, alone.
  const big = sized.requests.filter((r) => r.body.length > 2048);
  assert.deepEqual(big.map((r) => r.json.map((e) => e.properties.$insert_id)), [[ids[123]]],
                   `requests over 2 KiB at 'sized': ${big.map((r) => r.body.length)}`);
  const small = sized.requests.filter((r) => r.body.length <= 2048);
  assert.ok(small.filter((r) => r.json.length >= 2).length >= 10, `request sizes at 'sized': ${sizes(sized)}`);
  t.diagnostic(`requests: whole ${sizes(whole)}; counted ${counted.requests.length}; ` +
               `sized ${sized.requests.length} (bodies ${Math.min(...small.map((r) => r.body.length))}–` +
               `${Math.max(...small.map((r) => r.body.length))} bytes)`);
});

// The data form of a /track request with one event and no ip property; ?ip=1 asks the gateway to
// geolocate the request's client.
function trackForm(insertId) {
  return 'data=' + encodeURIComponent(base64Json({
    event: 'Proxied', properties: { distinct_id: 'user-xff', $insert_id: insertId, token: TOKEN },
  }));
}
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

test('a trusted proxy\'s X-Forwarded-For lines are one list; the client is the right-most untrusted hop',
     { timeout: 20_000 }, async (t) => {
  const h = harness(t);
  const sink = await h.sink();
  const gw = await h.gateway({
    geoip_db: GEOIP_DB,
    trusted_proxies: ['127.0.0.1/32'],
    vendors: [mixpanelVendor({ name: 'mixpanel', sink, policy: TEST_POLICY })],
  });
  // 9.9.9.9 and 8.8.8.8 are both US in the db, so two more cases tell "one list" from "first line only"
  // (193.0.6.139 is NL) and from "last line only" (127.0.0.1, a trusted hop, has no country).
  const cases = [
    { id: 'xff-brief', lines: ['9.9.9.9', '8.8.8.8'], country: 'US' },
    { id: 'xff-first-line-nl', lines: ['193.0.6.139', '8.8.8.8'], country: 'US' },
    { id: 'xff-last-line-trusted', lines: ['8.8.8.8', '127.0.0.1'], country: 'US' },
    { id: 'xff-control-nl', lines: ['193.0.6.139'], country: 'NL' },
  ];
  for (const c of cases) {
    const headers = { ...FORM, 'X-Forwarded-For': c.lines.length === 1 ? c.lines[0] : c.lines };
    const r = await post(gw.port, '/track?ip=1', headers, trackForm(c.id));
    assert.equal(r.status, 200, `${c.id}: ${r.body}`);
  }
  await waitFor(() => sink.events('/track').length >= cases.length, 10_000,
                () => `${cases.length} events at the sink:\n${sink.summary()}\n${gw.logs()}`);
  const byId = new Map(sink.events('/track').map((e) => [e.properties.$insert_id, e.properties]));
  for (const c of cases) {
    const p = byId.get(c.id);
    assert.ok(p, `${c.id} at the sink`);
    assert.equal(p.mp_country_code, c.country,
                 `X-Forwarded-For lines ${JSON.stringify(c.lines)} from trusted 127.0.0.1, ?ip=1: ${JSON.stringify(p)}`);
    assert.ok(!('ip' in p) && !('$ip' in p), `no IP forwarded: ${JSON.stringify(p)}`);
  }
  assert.ok(!sink.allText().includes('8.8.8.8'), `the client address reached the vendor:\n${sink.summary()}`);
});

test('X-Forwarded-For from a peer that is not a trusted proxy is ignored', { timeout: 20_000 }, async (t) => {
  const h = harness(t);
  const sink = await h.sink();
  const gw = await h.gateway({
    geoip_db: GEOIP_DB,  // no trusted_proxies
    vendors: [mixpanelVendor({ name: 'mixpanel', sink, policy: TEST_POLICY })],
  });
  const cases = [
    { id: 'xff-untrusted-one', xff: '8.8.8.8' },
    { id: 'xff-untrusted-two', xff: ['9.9.9.9', '8.8.8.8'] },
  ];
  for (const c of cases) {
    const r = await post(gw.port, '/track?ip=1', { ...FORM, 'X-Forwarded-For': c.xff }, trackForm(c.id));
    assert.equal(r.status, 200, `${c.id}: ${r.body}`);
  }
  await waitFor(() => sink.events('/track').length >= cases.length, 10_000,
                () => `${cases.length} events at the sink:\n${sink.summary()}\n${gw.logs()}`);
  for (const e of sink.events('/track')) {
    assert.ok(!('mp_country_code' in e.properties),
              `the client is the loopback peer (no country), not X-Forwarded-For: ${JSON.stringify(e)}`);
  }
});

// The most requests the sink had open at once: each is open from its arrival until the sink answered it,
// `answerMs` later.
function mostAtOnce(sink, answerMs) {
  const edges = sink.requests.flatMap((r) => [[r.at, 1], [r.at + answerMs, -1]]);
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);  // an answer before an arrival at the same ms
  let open = 0;
  let most = 0;
  for (const [, d] of edges) most = Math.max(most, (open += d));
  return most;
}

test('connections: each has one request in flight, so 4 connections send 4 batches at once and 1 sends ' +
     'them one after another (the admin API and /metrics show them in flight); /engage updates, whose order ' +
     'matters, go one batch at a time, in order',
     { timeout: 60_000 }, async (t) => {
  const h = harness(t);
  const answerMs = 200;
  const [four, one, profiles] = [await h.sink({ delayMs: answerMs }), await h.sink({ delayMs: answerMs }),
                                 await h.sink({ delayMs: answerMs })];
  // A linger long enough for the client requests below to be in the spool before a sender reads.
  const vendor = (name, sink, connections) => ({ ...mixpanelVendor({ name, sink, policy: TEST_POLICY }),
                                                 linger_ms: 1000, batch_max_events: 10, connections });
  const gw = await h.gateway({ vendors: [vendor('four', four, 4), vendor('one', one, 1)] });
  // The most requests in flight each vendor reported (admin API) while delivering, and the same in /metrics.
  const inFlight = { four: 0, one: 0 };
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      for (const v of (await adminRequest(gw.dataDir, 'GET', '/v1/vendors')).json.vendors) {
        inFlight[v.name] = Math.max(inFlight[v.name], v.in_flight);
        assert.equal(v.connections, v.name === 'four' ? 4 : 1, JSON.stringify(v));
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const ids = Array.from({ length: 200 }, (_, i) => `fw-conn-${i}`);
  await trackInBatchesOf50(client(gw.host), ids);
  await waitFor(async () => metricValue(await fetchMetrics(gw), 'vendorguard_delivery_requests_in_flight',
                                        { vendor: 'four' }) === 4, 10_000, '4 requests in flight in /metrics');
  for (const [name, sink] of [['four', four], ['one', one]]) {
    await waitFor(() => sink.events('/track').length >= ids.length, 30_000,
                  () => `${ids.length} events at vendor ${name}:\n${sink.summary()}\n${gw.logs()}`);
    const counts = countByInsertId(sink.events('/track'));
    assert.deepEqual([...counts.keys()].sort(), [...ids].sort(), name);
    assert.ok([...counts.values()].every((n) => n === 1), `${name}: every event once`);
    assert.ok(sink.requests.every((r) => r.json.length <= 10), `${name}: batch_max_events`);
  }
  const span = (sink) => Math.max(...sink.requests.map((r) => r.at)) - Math.min(...sink.requests.map((r) => r.at));
  t.diagnostic(`20 requests answered after ${answerMs} ms each: 'four' had ${mostAtOnce(four, answerMs)} open at ` +
               `once and took ${span(four)} ms, 'one' ${mostAtOnce(one, answerMs)} and ${span(one)} ms`);
  assert.equal(mostAtOnce(four, answerMs), 4, `requests at 'four': ${four.requests.map((r) => r.at)}`);
  assert.equal(mostAtOnce(one, answerMs), 1, `requests at 'one': ${one.requests.map((r) => r.at)}`);
  assert.ok(span(four) < span(one) / 2, `'four' took ${span(four)} ms, 'one' ${span(one)} ms`);
  watching = false;
  await watcher;
  assert.deepEqual(inFlight, { four: 4, one: 1 }, 'the most requests in flight the admin API showed');
  const metrics = await fetchMetrics(gw);
  assert.equal(metricValue(metrics, 'vendorguard_delivery_requests_in_flight', { vendor: 'four' }), 0, metrics);
  assert.equal(metricValue(metrics, 'vendorguard_delivery_connections', { vendor: 'four' }), 4, metrics);
  assert.equal(metricValue(metrics, 'vendorguard_delivery_connections', { vendor: 'one' }), 1, metrics);

  // Profile updates: 40 $set of one property in order, 4 a batch, through 4 connections.
  const gw2 = await h.gateway({ vendors: [{ ...vendor('profiles', profiles, 4), batch_max_events: 4 }] });
  const mp = client(gw2.host);
  for (let i = 0; i < 40; ++i) {
    await new Promise((resolve, reject) =>
      mp.people.set('fw-conn-user', { plan: `step-${i}` }, (err) => (err ? reject(err) : resolve())));
  }
  await waitFor(() => profiles.events('/engage').length >= 40, 30_000,
                () => `40 updates at the vendor:\n${profiles.summary()}\n${gw2.logs()}`);
  assert.deepEqual(profiles.events('/engage').map((u) => u.$set.plan), Array.from({ length: 40 }, (_, i) => `step-${i}`));
  assert.equal(mostAtOnce(profiles, answerMs), 1, `/engage requests at once: ${profiles.requests.map((r) => r.at)}`);
});

test('batches delivered while an earlier one is interrupted (pause, cut) are not sent again after a resume, ' +
     'and a cut records only the undelivered ones as cut', { timeout: 60_000 }, async (t) => {
  const h = harness(t);
  const tmp = await h.tempDir();
  const clock = path.join(tmp, 'clock');
  await fs.writeFile(clock, '2025-11-20T10:00:00Z\n');
  // Each sink holds the answer to the first request that carries the first event for 20 s; the rest
  // are answered at once.
  const holdFirstBatch = () => {
    let held = false;
    return (r) => {
      if (held || !r.json?.some((e) => e.properties?.$insert_id === 'fw-ahead-0')) return 0;
      held = true;
      return 20_000;
    };
  };
  const [resumed, cut] = [await h.sink({ delayFor: holdFirstBatch() }), await h.sink({ delayFor: holdFirstBatch() })];
  const vendor = (name, sink) => ({ ...mixpanelVendor({ name, sink, policy: TEST_POLICY }), linger_ms: 1000,
                                    batch_max_events: 10, connections: 4 });
  const gw = await h.gateway({ vendors: [vendor('resumed', resumed), vendor('cut', cut)] },
                             { env: { VENDORGUARD_TEST_CLOCK_FILE: clock } });
  const config = ['--config', gw.configPath];
  // One client request, one spool read: four batches of ten, each batch one subject.
  const ids = Array.from({ length: 40 }, (_, i) => `fw-ahead-${i}`);
  await trackBatch(client(gw.host), ids.map((id, i) => ({
    event: 'Ahead', properties: { distinct_id: `fw-ahead-user-${Math.floor(i / 10)}`, $insert_id: id, time: 1767225600 + i },
  })));
  const status = async (name) =>
    (await adminRequest(gw.dataDir, 'GET', '/v1/vendors')).json.vendors.find((v) => v.name === name);
  for (const [name, sink] of [['resumed', resumed], ['cut', cut]]) {
    // Three batches delivered, the first held.
    await waitFor(async () => sink.requests.length === 4 && (await status(name)).delivered === 30, 20_000,
                  () => `4 requests at ${name}, 30 events delivered:\n${sink.summary()}\n${gw.logs()}`);
  }
  assert.equal((await adminRequest(gw.dataDir, 'POST', '/v1/vendors/resumed/pause')).status, 200);
  const cutAnswer = await adminRequest(gw.dataDir, 'POST', '/v1/vendors/cut/cut');
  assert.equal(cutAnswer.status, 200, cutAnswer.body);
  assert.equal(cutAnswer.json.discarded, 10, `only the held batch is discarded: ${cutAnswer.body}`);
  assert.equal((await adminRequest(gw.dataDir, 'POST', '/v1/vendors/resumed/resume')).status, 200);

  // After the resume only the interrupted batch goes again.
  await waitFor(() => resumed.requests.length >= 5, 20_000, () => `the held batch again:\n${resumed.summary()}`);
  await waitFor(async () => (await status('resumed')).pending === 0, 20_000, 'nothing pending at resumed');
  await holdsFor(() => resumed.requests.length === 5, 1_500, () => `no more requests:\n${resumed.summary()}`);
  const counts = countByInsertId(resumed.events('/track'));
  assert.deepEqual(ids.filter((id) => counts.get(id) !== 1), ids.slice(0, 10),
                   `the held batch twice (once unanswered), every other event once: ${JSON.stringify([...counts])}`);
  const r = await status('resumed');
  assert.equal(r.delivered, 40, JSON.stringify(r));
  const c = await status('cut');
  assert.deepEqual([c.delivered, c.discarded, c.pending], [30, 10, 0], JSON.stringify(c));

  // The ledger: at 'cut', the first subject was cut, the other three delivered, none both.
  const who = async (outcome) => {
    const res = await runCli(['ledger', 'who', ...config, '--vendor', 'cut', '--from', '2025-11-20', '--to', '2025-11-20',
                              '--outcome', outcome, '--format', 'json']);
    assert.equal(res.code, 0, res.stderr);
    return Object.fromEntries(JSON.parse(res.stdout).subjects.map((s) => [s.subject, s.counts[outcome]]));
  };
  let delivered;
  await waitFor(async () => Object.keys(delivered = await who('delivered')).length === 3, 10_000,
                () => `three subjects delivered at 'cut': ${JSON.stringify(delivered)}`);
  assert.deepEqual(delivered, { 'fw-ahead-user-1': 10, 'fw-ahead-user-2': 10, 'fw-ahead-user-3': 10 });
  assert.deepEqual(await who('cut'), { 'fw-ahead-user-0': 10 });
});

test('TLS to the vendor: an https endpoint is verified, against tls_ca_file when set (delivered), else against ' +
     'the system\'s CA store (a self-signed certificate is refused: nothing sent, retried, libcurl\'s reason ' +
     'in last_error)', { timeout: 30_000 }, async (t) => {
  if (spawnSync('sh', ['-c', 'command -v openssl']).status !== 0) return t.skip('openssl is not installed');
  const h = harness(t);
  const tmp = await h.tempDir();
  const cert = path.join(tmp, 'cert.pem');
  const key = path.join(tmp, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
                           '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
                           '-keyout', key, '-out', cert], { stdio: 'ignore' });
  const tls = { cert: await fs.readFile(cert), key: await fs.readFile(key) };
  const [trusted, untrusted] = [await h.sink({ tls }), await h.sink({ tls })];
  assert.ok(trusted.url.startsWith('https://'));
  const gw = await h.gateway({
    vendors: [
      { ...mixpanelVendor({ name: 'trusted', sink: trusted, policy: TEST_POLICY }), tls_ca_file: cert },
      mixpanelVendor({ name: 'untrusted', sink: untrusted, policy: TEST_POLICY }),
    ],
  });
  const ids = Array.from({ length: 50 }, (_, i) => `fw-tls-${i}`);
  await trackInBatchesOf50(client(gw.host), ids);
  await waitFor(() => trusted.events('/track').length >= ids.length, 15_000,
                () => `${ids.length} events over TLS:\n${trusted.summary()}\n${gw.logs()}`);
  assert.deepEqual(trusted.events('/track').map((e) => e.properties.$insert_id).sort(), [...ids].sort());

  const status = async () =>
    (await adminRequest(gw.dataDir, 'GET', '/v1/vendors')).json.vendors.find((v) => v.name === 'untrusted');
  let v;
  await waitFor(async () => (v = await status()).retries >= 1, 15_000, () => `a retry at 'untrusted': ${JSON.stringify(v)}`);
  assert.match(v.last_error, /SSL certificate problem: self[- ]signed certificate/, JSON.stringify(v));
  assert.deepEqual([v.delivered, v.pending, v.dead_lettered], [0, ids.length, 0], JSON.stringify(v));
  assert.equal(untrusted.requests.length, 0, `no HTTP request reached the untrusted endpoint:\n${untrusted.summary()}`);
});
