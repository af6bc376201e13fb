// Durable delivery (issue #4, "Must show"): every event the gateway answered 2xx for reaches the vendor —
// across a vendor outage and a gateway restart, a vendor that fails at random, kill -9 under load, and a
// full spool (503 with Retry-After, /readyz 503, then a clean drain that `spool verify` finds undamaged) —
// and the kill switch (cut under load, its state surviving a restart; pause and resume) over the admin
// socket. Counts are of DISTINCT $insert_ids at the sink: delivery is at least once, so duplicates are
// allowed and losses are not.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';

import {
  TEST_POLICY, VG_BIN, adminRequest, fetchMetrics, freePort, harness, holdsFor, metricValue, mixpanelPost, waitFor,
} from './helpers.mjs';

const require = createRequire(import.meta.url);
const Mixpanel = require('mixpanel');

const TOKEN = 'e2e-durability-token';

// --- small helpers ---------------------------------------------------------------------------------------

function client(host) {
  return Mixpanel.init(TOKEN, { host, protocol: 'http' });
}
function trackBatch(mp, events) {
  return new Promise((resolve, reject) =>
    mp.track_batch(events, (errors) => (errors ? reject(new AggregateError(errors, 'track_batch failed')) : resolve())));
}

// An event as the SDK builds it (raw POSTs carry the same properties the SDK adds).
function eventFor(insertId, i = 0, extra = {}) {
  return {
    event: 'Durable',
    properties: {
      distinct_id: `user-dur-${i % 7}`, $insert_id: insertId, time: 1767225600 + (i % 100000), token: TOKEN,
      mp_lib: 'node', plan: 'pro', ...extra,
    },
  };
}

// The gateway answered the request with a 2xx and Mixpanel's "accepted" ({"status":1} with verbose=1).
function accepted(r) {
  if (r.status < 200 || r.status > 299) return false;
  try {
    return JSON.parse(r.body).status === 1;
  } catch {
    return false;
  }
}

// The distinct $insert_ids the sink received in requests it answered 200.
function deliveredIds(sink) {
  return new Set(sink.events('/track', { status: 200 }).map((e) => e?.properties?.$insert_id));
}

function missingFrom(set, ids) {
  const out = [];
  for (const id of ids) if (!set.has(id)) out.push(id);
  return out;
}

function preview(ids, n = 20) {
  const list = [...ids];
  return `${list.slice(0, n).join(' ')}${list.length > n ? ` … (${list.length} in all)` : ''}`;
}

// A sink summary that stays readable when there were hundreds of requests.
function sinkSummary(sink, n = 40) {
  const lines = sink.summary().split('\n');
  return lines.length > n ? `${lines.slice(0, n / 2).join('\n')}\n… ${lines.length - n} more …\n` +
      lines.slice(-n / 2).join('\n') : lines.join('\n');
}

function tail(text, n = 60) {
  const lines = text.split('\n');
  return lines.slice(-n).join('\n');
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// SIGKILL, then wait for the process to be gone.
async function kill9(gw) {
  gw.proc.kill('SIGKILL');
  await waitFor(() => gw.exitStatus, 10_000, 'the killed gateway to exit');
  assert.equal(gw.exitStatus.signal, 'SIGKILL', `the gateway died of SIGKILL: ${JSON.stringify(gw.exitStatus)}`);
}

// The admin socket answers (after a kill -9, a stale socket file from the last run may still be there).
async function adminReady(gw) {
  await waitFor(async () => {
    const r = await adminRequest(gw.dataDir, 'GET', '/v1/vendors').catch(() => null);
    return r?.status === 200;
  }, 15_000, () => `the admin API on ${path.join(gw.dataDir, 'admin.sock')}\n${tail(gw.logs())}`);
}

async function vendorsByName(gw) {
  const r = await adminRequest(gw.dataDir, 'GET', '/v1/vendors');
  assert.equal(r.status, 200, `GET /v1/vendors: ${r.body}`);
  return Object.fromEntries(r.json.vendors.map((v) => [v.name, v]));
}

async function metric(gw, name, labels) {
  return metricValue(await fetchMetrics(gw), name, labels);
}

// A deterministic PRNG (mulberry32), so a "random" failure pattern is the same on every run.
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

// Runs `vendorguard ARGS` to completion without blocking the event loop.
function runCli(args, timeoutMs = 30_000) {
  return new Promise((resolve, reject) => {
    const proc = spawn(VG_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
    proc.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.once('error', reject);
    proc.once('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

// Clients posting batches of `batchSize` events continuously (raw POSTs in the SDK's format, each client on
// one keep-alive connection), until stop() or a network error (the gateway died). Tracks which $insert_ids
// got a 2xx ("acked"), which got no answer, and every other answer.
function startLoad({ port, clients, batchSize, prefix, maxRequestsPerClient = Infinity, pauseMs = 0 }) {
  const state = {
    acked: new Set(),
    sentAt: new Map(),       // $insert_id -> when its request was sent
    unanswered: 0,           // requests that got no answer (the gateway was killed or gone)
    refused: [],             // answers other than an acceptance: {status, headers, body}
    requests: 0,
    sent: new Set(),
  };
  let stopping = false;
  const agents = [];
  const loops = [];
  for (let c = 0; c < clients; c++) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    loops.push((async () => {
      for (let n = 0; !stopping && n < maxRequestsPerClient; n++) {
        const ids = Array.from({ length: batchSize }, (_, k) => `${prefix}-c${c}-r${n}-e${k}`);
        const sentAt = Date.now();
        for (const id of ids) {
          state.sent.add(id);
          state.sentAt.set(id, sentAt);
        }
        state.requests++;
        let r;
        try {
          r = await mixpanelPost(port, '/track', ids.map((id, k) => eventFor(id, n * batchSize + k)), { agent });
        } catch {
          state.unanswered++;
          break;  // the gateway is gone; this client is done
        }
        if (accepted(r)) {
          for (const id of ids) state.acked.add(id);
        } else {
          state.refused.push({ status: r.status, headers: r.headers, body: r.body });
        }
        if (pauseMs > 0) await sleep(pauseMs);
      }
    })());
  }
  return {
    state,
    async stop() {
      stopping = true;
      await Promise.all(loops);
      for (const a of agents) a.destroy();
      return state;
    },
  };
}

// --- 1. vendor down, gateway restarted while it is down ---------------------------------------------------

test('vendor down across a gateway restart (SIGTERM): the accepted events stay in the spool and all arrive ' +
     'once the vendor is up', { timeout: 90_000 }, async (t) => {
  const h = harness(t);
  const port = await freePort();  // the vendor: nothing listens here yet
  const dataDir = path.join(await h.tempDir(), 'data');
  const config = {
    data_dir: dataDir,
    vendors: [{ name: 'mixpanel', kind: 'mixpanel', endpoint: `http://127.0.0.1:${port}`, policy: TEST_POLICY }],
  };
  const M = { vendor: 'mixpanel' };

  // First run: 210 events accepted while the vendor is down.
  const gw1 = await h.gateway(config);
  const mp1 = client(gw1.host);
  const first = Array.from({ length: 210 }, (_, i) => `down-1-${i}`);
  // Six concurrent batches of 35; every request answered "1": accepted.
  await Promise.all([0, 1, 2, 3, 4, 5].map((b) =>
    trackBatch(mp1, first.slice(b * 35, b * 35 + 35).map((id, k) => eventFor(id, b * 35 + k)))));
  await waitFor(async () => {
    const text = await fetchMetrics(gw1);
    return metricValue(text, 'vendorguard_events_accepted_total', M) === first.length &&
        metricValue(text, 'vendorguard_spool_pending_events', M) === first.length &&
        metricValue(text, 'vendorguard_delivery_retries_total', M) >= 2;
  }, 15_000, () => `${first.length} events accepted and pending, and failed attempts at the down vendor\n` +
      tail(gw1.logs()));

  // Restart while the vendor is still down.
  const exit = await gw1.stop();
  assert.deepEqual(exit, { code: 0, signal: null }, `clean exit on SIGTERM\n${tail(gw1.logs())}`);
  const gw2 = await h.gateway(config);
  assert.equal(await metric(gw2, 'vendorguard_spool_pending_events', M), first.length,
               `after the restart, the ${first.length} undelivered events are pending again (recovered from the ` +
               `spool)\n${tail(gw2.logs())}`);

  // Second run: 60 more while it is still down.
  const mp2 = client(gw2.host);
  const second = Array.from({ length: 60 }, (_, i) => `down-2-${i}`);
  await trackBatch(mp2, second.slice(0, 30).map((id, i) => eventFor(id, i)));
  await trackBatch(mp2, second.slice(30).map((id, i) => eventFor(id, 30 + i)));
  const expected = [...first, ...second];
  await waitFor(async () => (await metric(gw2, 'vendorguard_spool_pending_events', M)) === expected.length, 10_000,
                () => `${expected.length} pending events\n${tail(gw2.logs())}`);

  // The vendor comes up.
  const sink = await h.sink({ port });
  await waitFor(() => missingFrom(deliveredIds(sink), expected).length === 0, 45_000, () => {
    const missing = missingFrom(deliveredIds(sink), expected);
    return `all ${expected.length} accepted events at the vendor; ${missing.length} missing: ${preview(missing)}\n` +
        `sink:\n${sinkSummary(sink)}\n${tail(gw2.logs())}`;
  });
  const got = deliveredIds(sink);
  const unknown = [...got].filter((id) => !expected.includes(id));
  assert.deepEqual(unknown, [], 'only events that were sent reach the vendor');
  assert.equal(got.size, expected.length, 'distinct events delivered = events accepted');
  await waitFor(async () => (await metric(gw2, 'vendorguard_spool_pending_events', M)) === 0, 10_000,
                () => `the pending gauge back at 0\n${tail(gw2.logs())}`);
  t.diagnostic(`${expected.length} events over a restart; the sink got ${sink.requests.length} requests, ` +
               `${sink.events('/track').length} event copies`);
});

// --- 2. a flaky vendor ------------------------------------------------------------------------------------

test('a vendor answering 429 or 500 to a seeded random 20% of requests: every event arrives, retries show ' +
     'in /metrics', { timeout: 60_000 }, async (t) => {
  const h = harness(t);
  const SEED = 1234;
  const N = 600;
  // The answer to the i-th request the sink gets, decided up front from the seed.
  const rng = mulberry32(SEED);
  const plan = Array.from({ length: 5000 }, () => {
    const x = rng();
    if (x < 0.05) return { status: 429, headers: { 'Retry-After': '1' }, body: '{"error":"rate limited","status":0}' };
    if (x < 0.10) return { status: 429, body: '{"error":"rate limited","status":0}' };
    if (x < 0.20) return { status: 500, body: '{"error":"internal error","status":0}' };
    return undefined;
  });
  // The gateway needs at least N/50 requests (batch_max_events: 50 below), so with this seed the sink is
  // sure to fail some of them.
  const minRequests = Math.ceil(N / 50);
  assert.ok(plan.slice(0, minRequests).some(Boolean), `seed ${SEED} fails none of the first ${minRequests} requests`);

  const sink = await h.sink({ answer: (r, i) => plan[i] });
  const gw = await h.gateway({
    vendors: [{ name: 'mixpanel', kind: 'mixpanel', endpoint: sink.url, policy: TEST_POLICY, batch_max_events: 50 }],
  });
  const ids = Array.from({ length: N }, (_, i) => `flaky-${i}`);
  // Four SDK clients, three batches of 50 each, concurrently.
  const sends = [];
  for (let c = 0; c < 4; c++) {
    const mp = client(gw.host);
    for (let b = 0; b < 3; b++) {
      const from = (c * 3 + b) * 50;
      sends.push(trackBatch(mp, ids.slice(from, from + 50).map((id, k) => eventFor(id, from + k))));
    }
  }
  await Promise.all(sends);

  await waitFor(() => missingFrom(deliveredIds(sink), ids).length === 0, 45_000, () => {
    const missing = missingFrom(deliveredIds(sink), ids);
    return `all ${N} events at the vendor; ${missing.length} missing: ${preview(missing)}\n` +
        `sink:\n${sinkSummary(sink)}\n${tail(gw.logs())}`;
  });
  const failed = sink.requests.filter((r) => r.status !== 200).length;
  assert.ok(failed > 0, `the sink failed some requests:\n${sinkSummary(sink)}`);

  const M = { vendor: 'mixpanel' };
  await waitFor(async () => (await metric(gw, 'vendorguard_spool_pending_events', M)) === 0, 10_000,
                () => `the pending gauge back at 0\n${tail(gw.logs())}`);
  const text = await fetchMetrics(gw);
  const accepted = metricValue(text, 'vendorguard_events_accepted_total', M);
  const delivered = metricValue(text, 'vendorguard_events_delivered_total', M);
  const retries = metricValue(text, 'vendorguard_delivery_retries_total', M);
  const got = deliveredIds(sink);
  assert.equal(accepted, N, `accepted_total = events sent\n${text}`);
  assert.equal(got.size, accepted, 'distinct events delivered = events accepted');
  assert.ok(retries > 0, `vendorguard_delivery_retries_total{vendor="mixpanel"} > 0\n${text}`);
  assert.ok(retries >= failed, `a retry for each failed answer (${failed} failed answers at the sink)\n${text}`);
  assert.equal(delivered, N, `delivered_total counts each event once (no answer was lost)\n${text}`);
  assert.equal(metricValue(text, 'vendorguard_events_dead_lettered_total', M), 0, '429 and 500 are never dead-lettered');
  t.diagnostic(`${sink.requests.length} requests at the sink, ${failed} failed (429/500), ${retries} retries`);
});

// --- 3. kill -9 under load --------------------------------------------------------------------------------

test('kill -9 under load, three times: every event whose request got a 2xx reaches the vendor',
     { timeout: 120_000 }, async (t) => {
  const h = harness(t);
  const sink = await h.sink({ delayMs: 100 });  // slower than the load, so acked events wait in the spool
  const dataDir = path.join(await h.tempDir(), 'data');
  const config = (fsync) => ({
    data_dir: dataDir,
    spool: { fsync },
    vendors: [{ name: 'mixpanel', kind: 'mixpanel', endpoint: sink.url, policy: TEST_POLICY }],
  });
  // Each round: another fsync policy (kill -9 must lose nothing under any of them), another point of the load.
  const rounds = [
    { fsync: 'always', killAfterMs: 400 },
    { fsync: 'interval', killAfterMs: 1100 },
    { fsync: 'never', killAfterMs: 1900 },
  ];
  const acked = new Set();
  const sent = new Set();
  let pendingAtKills = 0;
  for (const [r, round] of rounds.entries()) {
    const gw = await h.gateway(config(round.fsync));
    const load = startLoad({ port: gw.port, clients: 4, batchSize: 5, pauseMs: 20, prefix: `kill${r}` });
    await sleep(round.killAfterMs);
    const deliveredBefore = deliveredIds(sink);
    const ackedBefore = load.state.acked.size;
    const onlySpooled = [...load.state.acked].filter((id) => !deliveredBefore.has(id)).length;
    await kill9(gw);
    const st = await load.stop();
    for (const id of st.acked) acked.add(id);
    for (const id of st.sent) sent.add(id);
    pendingAtKills += onlySpooled;
    t.diagnostic(`round ${r} (fsync ${round.fsync}, kill at ${round.killAfterMs} ms): ${st.requests} requests, ` +
                 `${st.acked.size} events acked (${ackedBefore} just before the kill, ${onlySpooled} of them not yet ` +
                 `at the vendor), ${st.unanswered} requests unanswered`);
    assert.ok(st.acked.size > 0, `round ${r}: some requests were accepted before the kill\n${tail(gw.logs())}`);
    assert.ok(st.unanswered > 0,
              `round ${r}: the load was still running when the gateway was killed`);
    const wrong = st.refused.filter((x) => x.status !== 503);
    assert.deepEqual(wrong, [], `round ${r}: answers other than 2xx or 503\n${tail(gw.logs())}`);
  }
  assert.ok(pendingAtKills > 0, 'some kills hit while acked events were only in the spool (else the test proves ' +
            'nothing about recovery; make the sink slower)');

  // A last start on the same data dir delivers what is left.
  const gw = await h.gateway(config('always'));
  await waitFor(() => missingFrom(deliveredIds(sink), acked).length === 0, 60_000, () => {
    const missing = missingFrom(deliveredIds(sink), acked);
    return `every acked event (${acked.size}) at the vendor; ${missing.length} LOST: ${preview(missing)}\n` +
        `sink:\n${sinkSummary(sink)}\n${tail(gw.logs(), 80)}`;
  });
  await waitFor(async () => (await metric(gw, 'vendorguard_spool_pending_events', { vendor: 'mixpanel' })) === 0,
                30_000, () => `the pending gauge back at 0\n${tail(gw.logs())}`);
  const got = deliveredIds(sink);
  const unknown = [...got].filter((id) => !sent.has(id));
  assert.deepEqual(unknown, [], 'only events that were sent reach the vendor');
  const copies = sink.events('/track', { status: 200 }).length;
  t.diagnostic(`${acked.size} acked events all delivered; ${got.size - acked.size} unacked ones delivered too ` +
               `(killed mid-request, but stored); ${copies - got.size} duplicate copies`);
});

// --- 4. the spool's quota ---------------------------------------------------------------------------------

test('spool quota reached while the vendor is down: 503 with Retry-After and /readyz 503; then it drains, ' +
     'everything 2xx\'d arrives, /readyz 200, spool verify finds no damage', { timeout: 120_000 }, async (t) => {
  const h = harness(t);
  const port = await freePort();
  const dataDir = path.join(await h.tempDir(), 'data');
  const gw = await h.gateway({
    data_dir: dataDir,
    spool: { fsync: 'always', quota: '1MiB', segment_size: '256KiB' },
    vendors: [{ name: 'mixpanel', kind: 'mixpanel', endpoint: `http://127.0.0.1:${port}`, policy: TEST_POLICY }],
  });
  const M = { vendor: 'mixpanel' };
  assert.equal((await fetch(`${gw.url}/readyz`)).status, 200, 'ready at start');

  // ~600 bytes per padded event in the spool, 20 events per request: the quota is reached after ~85
  // requests. Then single small events fill what room is left, until not even one fits.
  const padding = 'x'.repeat(500);
  const acked = [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  async function fill(prefix, size, extra, maxRequests) {
    for (let n = 0; n < maxRequests; n++) {
      const ids = Array.from({ length: size }, (_, k) => `${prefix}-r${n}-e${k}`);
      const r = await mixpanelPost(gw.port, '/track', ids.map((id, k) => eventFor(id, k, extra)), { agent });
      if (!accepted(r)) return { refusal: r, ids };
      acked.push(...ids);
    }
    return { refusal: undefined };
  }
  const big = await fill('quota', 20, { plan: padding }, 400);
  assert.ok(big.refusal, `no refusal after 400 requests (${acked.length} events accepted)\n${tail(gw.logs())}`);
  const refusal = big.refusal;
  assert.equal(refusal.status, 503, `the spool is full: 503, got ${refusal.status} ${refusal.body}`);
  assert.ok(refusal.headers['retry-after'], `503 with Retry-After: ${JSON.stringify(refusal.headers)}`);
  assert.ok(Number(refusal.headers['retry-after']) > 0, `Retry-After is a positive number of seconds: ` +
            `${refusal.headers['retry-after']}`);
  assert.match(refusal.body, /"status":\s*0/, `Mixpanel's "not accepted" in the body: ${refusal.body}`);
  assert.ok(acked.length >= 500, `${acked.length} events were accepted before the quota (about 1 MiB)`);
  // The same request again: still refused (the vendor is down, nothing was freed).
  const again = await mixpanelPost(gw.port, '/track', big.ids.map((id, k) => eventFor(id, k, { plan: padding })),
                                   { agent });
  assert.equal(again.status, 503, `still full: ${again.status} ${again.body}`);
  assert.ok(again.headers['retry-after'], `503 with Retry-After: ${JSON.stringify(again.headers)}`);
  const small = await fill('quota-small', 1, {}, 100);
  assert.equal(small.refusal?.status, 503,
               `the last room taken by single small events, then 503: ${JSON.stringify(small.refusal)}`);
  assert.ok(small.refusal.headers['retry-after'], `503 with Retry-After: ${JSON.stringify(small.refusal.headers)}`);

  // Now not even the smallest event fits: the gateway is not ready.
  await t.test('/readyz answers 503 while the spool refuses every event', async () => {
    const ready = await fetch(`${gw.url}/readyz`);
    const body = await ready.text();
    const m = await fetchMetrics(gw);
    assert.equal(ready.status, 503, `/readyz while the spool refuses even a one-event request: ${ready.status} ` +
                 `${JSON.stringify(body)}; spool ${metricValue(m, 'vendorguard_spool_disk_bytes')} bytes on disk, ` +
                 `quota ${metricValue(m, 'vendorguard_spool_quota_bytes')}; last refusal: ${small.refusal.body}`);
    assert.ok(ready.headers.get('retry-after'), '/readyz 503 with Retry-After');
  });
  let text = await fetchMetrics(gw);
  assert.equal(metricValue(text, 'vendorguard_spool_pending_events', M), acked.length,
               `pending = the events that got a 2xx\n${text}`);
  assert.ok(metricValue(text, 'vendorguard_spool_refused_total', { reason: 'quota' }) >= 1, text);
  const quota = metricValue(text, 'vendorguard_spool_quota_bytes');
  const disk = metricValue(text, 'vendorguard_spool_disk_bytes');
  assert.equal(quota, 1 << 20, text);
  assert.ok(disk <= quota + 1024, `the spool (${disk} bytes) stays within its quota (${quota})`);

  // The vendor comes up: the spool drains.
  const sink = await h.sink({ port });
  await waitFor(async () => (await metric(gw, 'vendorguard_spool_pending_events', M)) === 0, 60_000,
                () => `the spool drained; sink:\n${sinkSummary(sink)}\n${tail(gw.logs())}`);
  const missing = missingFrom(deliveredIds(sink), acked);
  assert.deepEqual(missing.slice(0, 20), [], `${missing.length} of ${acked.length} 2xx'd events never arrived`);
  await waitFor(async () => (await fetch(`${gw.url}/readyz`)).status === 200, 10_000,
                () => `/readyz 200 again once drained\n${tail(gw.logs())}`);
  text = await fetchMetrics(gw);
  assert.ok(metricValue(text, 'vendorguard_spool_disk_bytes') < quota / 2,
            `the delivered segments are deleted:\n${text}`);
  const after = await mixpanelPost(gw.port, '/track', [eventFor('quota-after', 0)]);
  assert.ok(accepted(after), `accepting again: ${after.status} ${after.body}`);
  await waitFor(() => deliveredIds(sink).has('quota-after'), 15_000, () => `the last event at the vendor\n${tail(gw.logs())}`);

  const exit = await gw.stop();
  assert.deepEqual(exit, { code: 0, signal: null }, `clean exit\n${tail(gw.logs())}`);
  const help = await runCli(['spool', 'verify', '--help']);
  if (help.status !== 0) {
    t.diagnostic(`SKIPPED the spool verify check: \`vendorguard spool verify\` is not available in this build ` +
                 `(exit ${help.status}: ${help.stderr.trim().slice(0, 200)})`);
    return;
  }
  const verify = await runCli(['spool', 'verify', '--data-dir', dataDir, '--format', 'json']);
  assert.equal(verify.status, 0, `spool verify exit 0 (clean)\n${verify.stdout}\n${verify.stderr}`);
  const report = JSON.parse(verify.stdout);
  assert.equal(report.ok, true, verify.stdout);
  assert.deepEqual(report.problems, [], verify.stdout);
  const mixpanel = report.vendors.find((v) => v.name === 'mixpanel');
  assert.equal(mixpanel?.pending_records, 0, `nothing pending after the drain: ${verify.stdout}`);
  t.diagnostic(`${acked.length} events 2xx'd before and while the spool was full, all delivered; spool verify: ` +
               `${report.segments} segment(s), ${report.records} record(s), no problems`);
});

// --- 5. cut under load ------------------------------------------------------------------------------------

test('cut under load: vendor A gets nothing from one second after the cut, B keeps receiving; A stays cut ' +
     'after a restart', { timeout: 90_000 }, async (t) => {
  const h = harness(t);
  const sinkA = await h.sink({ delayMs: 30 });  // slow, so a request is in flight at the cut
  const sinkB = await h.sink();
  const dataDir = path.join(await h.tempDir(), 'data');
  const config = {
    data_dir: dataDir,
    vendors: [
      { name: 'vendor-a', kind: 'mixpanel', endpoint: sinkA.url, policy: TEST_POLICY },
      { name: 'vendor-b', kind: 'mixpanel', endpoint: sinkB.url, policy: TEST_POLICY },
    ],
  };
  const gw = await h.gateway(config);
  await adminReady(gw);

  const load = startLoad({ port: gw.port, clients: 2, batchSize: 5, prefix: 'cut', pauseMs: 20 });
  await waitFor(() => sinkA.requests.length >= 5 && sinkB.requests.length >= 5, 15_000,
                () => `both vendors receiving before the cut\nA:\n${sinkSummary(sinkA)}\nB:\n${sinkSummary(sinkB)}`);
  const cut = await adminRequest(gw.dataDir, 'POST', '/v1/vendors/vendor-a/cut');
  const cutReturn = Date.now();
  assert.equal(cut.status, 200, `cut: ${cut.body}`);
  assert.equal(cut.json?.state, 'cut', cut.body);
  assert.equal(typeof cut.json?.discarded, 'number', cut.body);
  await sleep(2_000);  // the load goes on
  const st = await load.stop();
  assert.deepEqual(st.refused, [], `every request accepted during the cut\n${tail(gw.logs())}`);
  assert.equal(st.unanswered, 0, 'no request went unanswered');

  // B gets everything, including what was accepted after the cut.
  await waitFor(() => missingFrom(deliveredIds(sinkB), st.acked).length === 0, 30_000, () => {
    const missing = missingFrom(deliveredIds(sinkB), st.acked);
    return `all ${st.acked.size} acked events at vendor B; ${missing.length} missing: ${preview(missing)}\n` +
        tail(gw.logs());
  });
  const afterCut = [...st.acked].filter((id) => st.sentAt.get(id) > cutReturn);
  assert.ok(afterCut.length > 0, 'events were posted and accepted after the cut');

  // A: nothing arrives later than one second after the cut command returned, and none of the events posted
  // after it.
  const late = sinkA.requests.filter((r) => r.at > cutReturn + 1000);
  assert.deepEqual(late.map((r) => `${r.at - cutReturn} ms after the cut: ${r.url}`), [],
                   `requests at vendor A later than cut + 1 s\n${tail(gw.logs())}`);
  const atA = deliveredIds(sinkA);
  const leaked = afterCut.filter((id) => atA.has(id));
  assert.deepEqual(leaked.slice(0, 10), [], `${leaked.length} events posted after the cut reached vendor A`);

  let vendors = await vendorsByName(gw);
  assert.equal(vendors['vendor-a']?.state, 'cut', JSON.stringify(vendors));
  assert.ok(vendors['vendor-a'].discarded >= 0, `discarded >= 0: ${JSON.stringify(vendors['vendor-a'])}`);
  assert.equal(vendors['vendor-b']?.state, 'active', JSON.stringify(vendors));
  assert.equal(await metric(gw, 'vendorguard_vendor_state', { vendor: 'vendor-a', state: 'cut' }), 1);
  t.diagnostic(`cut returned in the middle of ${st.requests} requests; A got ${sinkA.requests.length} requests, ` +
               `the last ${Math.max(...sinkA.requests.map((r) => r.at)) - cutReturn} ms after the cut returned; ` +
               `discarded ${cut.json.discarded} (admin), ${vendors['vendor-a'].discarded} (list); ` +
               `${afterCut.length} events accepted after the cut`);

  // Restart: A is still cut and still gets nothing.
  const exit = await gw.stop();
  assert.deepEqual(exit, { code: 0, signal: null }, `clean exit\n${tail(gw.logs())}`);
  const requestsAtA = sinkA.requests.length;
  const gw2 = await h.gateway(config);
  await adminReady(gw2);
  vendors = await vendorsByName(gw2);
  assert.equal(vendors['vendor-a']?.state, 'cut', `after a restart: ${JSON.stringify(vendors)}`);
  assert.equal(vendors['vendor-b']?.state, 'active', JSON.stringify(vendors));
  const ids = Array.from({ length: 40 }, (_, i) => `cut-restart-${i}`);
  const r = await mixpanelPost(gw2.port, '/track', ids.map((id, i) => eventFor(id, i)));
  assert.ok(accepted(r), `${r.status} ${r.body}`);
  await waitFor(() => missingFrom(deliveredIds(sinkB), ids).length === 0, 15_000,
                () => `the events after the restart at vendor B\n${tail(gw2.logs())}`);
  await holdsFor(() => sinkA.requests.length === requestsAtA, 1_000,
                 () => `vendor A, cut, received after the restart:\n${sinkSummary(sinkA)}`);
});

// --- 6. pause and resume ----------------------------------------------------------------------------------

test('pause holds vendor A\'s events in the spool (B keeps getting them); resume sends them all',
     { timeout: 60_000 }, async (t) => {
  const h = harness(t);
  const sinkA = await h.sink();
  const sinkB = await h.sink();
  const gw = await h.gateway({
    vendors: [
      { name: 'vendor-a', kind: 'mixpanel', endpoint: sinkA.url, policy: TEST_POLICY },
      { name: 'vendor-b', kind: 'mixpanel', endpoint: sinkB.url, policy: TEST_POLICY },
    ],
  });
  await adminReady(gw);
  const pause = await adminRequest(gw.dataDir, 'POST', '/v1/vendors/vendor-a/pause');
  assert.equal(pause.status, 200, `pause: ${pause.body}`);
  assert.equal(pause.json?.state, 'paused', pause.body);

  const N = 150;
  const ids = Array.from({ length: N }, (_, i) => `pause-${i}`);
  const mp = client(gw.host);
  await Promise.all([0, 50, 100].map((from) => trackBatch(mp, ids.slice(from, from + 50).map((id, k) => eventFor(id, from + k)))));
  await waitFor(() => missingFrom(deliveredIds(sinkB), ids).length === 0, 15_000,
                () => `all ${N} events at vendor B\n${tail(gw.logs())}`);
  await holdsFor(() => sinkA.requests.length === 0, 1_500,
                 () => `vendor A is paused, but received:\n${sinkSummary(sinkA)}`);
  const text = await fetchMetrics(gw);
  const pending = metricValue(text, 'vendorguard_spool_pending_events', { vendor: 'vendor-a' });
  assert.ok(pending > 0, `events held for A: ${pending}\n${text}`);
  assert.equal(pending, N, `all ${N} held for A`);
  assert.equal(metricValue(text, 'vendorguard_spool_pending_events', { vendor: 'vendor-b' }), 0, text);
  assert.equal(metricValue(text, 'vendorguard_vendor_state', { vendor: 'vendor-a', state: 'paused' }), 1, text);
  assert.ok(metricValue(text, 'vendorguard_spool_oldest_event_age_seconds', { vendor: 'vendor-a' }) >= 1,
            `the oldest held event is over a second old:\n${text}`);

  const resume = await adminRequest(gw.dataDir, 'POST', '/v1/vendors/vendor-a/resume');
  assert.equal(resume.status, 200, `resume: ${resume.body}`);
  assert.equal(resume.json?.state, 'active', resume.body);
  await waitFor(() => missingFrom(deliveredIds(sinkA), ids).length === 0, 15_000, () => {
    const missing = missingFrom(deliveredIds(sinkA), ids);
    return `all ${N} held events at vendor A after resume; ${missing.length} missing: ${preview(missing)}\n` +
        tail(gw.logs());
  });
  await waitFor(async () => (await metric(gw, 'vendorguard_spool_pending_events', { vendor: 'vendor-a' })) === 0,
                10_000, () => `A's pending gauge back at 0\n${tail(gw.logs())}`);
  assert.equal(deliveredIds(sinkA).size, N, 'only the held events');
});
