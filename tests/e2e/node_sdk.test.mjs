// Mixpanel's official Node SDK (npm `mixpanel`) pointed at the gateway: what reaches the vendor is the
// minimized, pseudonymized copy, for live vendors, several vendors at once, shadow mode, and across a clean
// shutdown.

import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';

import { GEOIP_DB, PSEUDONYM_RE, TEST_POLICY, harness, mixpanelVendor, waitFor } from './helpers.mjs';

const require = createRequire(import.meta.url);
const Mixpanel = require('mixpanel');

const TOKEN = 'e2e-project-token';
const JANE = 'user-jane-1042';
const BOB = 'user-bob-2077';

// Personal data the sample traffic carries; none of it may reach the vendor through the gateway.
const PERSONAL = {
  email: 'jane@example.com',
  name: 'Jane Doe',
  firstName: 'Janet',
  phone: '+14155550100',
  ip: '8.8.8.8',
  city: 'Springfield',
  url: 'https://app.example.com/settings/billing?session=abc#x',
  referrer: 'https://www.google.com/search?q=jane+doe',
};
const MUST_NOT_LEAK = [
  PERSONAL.email, PERSONAL.name, PERSONAL.firstName, PERSONAL.phone, PERSONAL.ip, PERSONAL.city,
  'bob@example.org', 'Bob Roe',
  '/settings', 'billing', 'session=abc', '/search', 'q=jane', 'jane+doe',
  JANE, BOB,
];

function client(host, options = {}) {
  return Mixpanel.init(TOKEN, { host, protocol: 'http', ...options });
}

// The SDK's callback APIs as promises; an SDK-reported error (e.g. an answer other than "1") rejects.
function track(mp, event, properties) {
  return new Promise((resolve, reject) => mp.track(event, properties, (err) => (err ? reject(err) : resolve())));
}
function trackBatch(mp, events) {
  return new Promise((resolve, reject) =>
    mp.track_batch(events, (errors) => (errors ? reject(new AggregateError(errors, 'track_batch failed')) : resolve())));
}
function peopleSet(mp, distinctId, properties) {
  return new Promise((resolve, reject) =>
    mp.people.set(distinctId, properties, (err) => (err ? reject(err) : resolve())));
}

function sampleProperties(distinctId, insertId, extra = {}) {
  const jane = distinctId === JANE;
  return {
    distinct_id: distinctId,
    $email: jane ? PERSONAL.email : 'bob@example.org',
    $name: jane ? PERSONAL.name : 'Bob Roe',
    ip: PERSONAL.ip,
    $city: PERSONAL.city,
    $current_url: PERSONAL.url,
    $referrer: PERSONAL.referrer,
    plan: 'pro',
    $insert_id: insertId,
    time: 1767225600 + Number(insertId.replace(/\D/g, '') || 0),
    ...extra,
  };
}

// Three single tracks, a batch of three, and one profile update: the traffic every Node SDK test sends.
// Returns the $insert_id of each event and its user.
async function sendSampleTraffic(mp) {
  const users = new Map([['ins-001', JANE], ['ins-002', JANE], ['ins-003', BOB],
                         ['ins-b01', JANE], ['ins-b02', BOB], ['ins-b03', JANE]]);
  await track(mp, 'Viewed Billing', sampleProperties(JANE, 'ins-001'));
  await track(mp, 'Upgraded Plan', sampleProperties(JANE, 'ins-002', { $phone: PERSONAL.phone }));
  await track(mp, 'Viewed Billing', sampleProperties(BOB, 'ins-003'));
  await trackBatch(mp, ['ins-b01', 'ins-b02', 'ins-b03'].map((id) => ({
    event: 'Batch Event',
    properties: sampleProperties(users.get(id), id, { $first_name: PERSONAL.firstName }),
  })));
  await peopleSet(mp, JANE, {
    $email: PERSONAL.email,
    $name: PERSONAL.name,
    $first_name: PERSONAL.firstName,
    $phone: PERSONAL.phone,
    $city: PERSONAL.city,
    plan: 'pro',
    ip: PERSONAL.ip,  // the SDK sends it as the update's $ip
  });
  return users;
}

function byInsertId(events) {
  const map = new Map();
  for (const e of events) map.set(e.properties?.$insert_id, e);
  return map;
}

function assertNoLeak(text, where) {
  for (const s of MUST_NOT_LEAK) {
    assert.ok(!text.includes(s), `${JSON.stringify(s)} reached ${where}:\n${text}`);
  }
}

test('the Node SDK through the gateway: the vendor gets pseudonyms, origins and country, and no personal data',
     { timeout: 40_000 }, async (t) => {
  const h = harness(t);
  const sink = await h.sink();
  const gw = await h.gateway({
    geoip_db: GEOIP_DB,
    vendors: [mixpanelVendor({ name: 'mixpanel', sink, gzip: true, policy: TEST_POLICY })],
  });

  const users = await sendSampleTraffic(client(gw.host));

  await waitFor(() => sink.events('/track').length >= users.size && sink.events('/engage').length >= 1, 15_000,
                () => `6 events at /track and 1 update at /engage; sink got:\n${sink.summary()}\n${gw.logs()}`);

  // How the gateway talks to the vendor.
  for (const r of sink.requests) {
    assert.equal(r.method, 'POST', r.url);
    assert.ok(['/track', '/engage'].includes(r.path), `unexpected vendor path ${r.url}`);
    assert.equal(r.query.ip, '0', `ip=0 expected in ${r.url}`);
    assert.equal(r.query.verbose, '1', `verbose=1 expected in ${r.url}`);
    assert.match(r.headers['content-type'] || '', /^application\/json/, r.url);
    assert.equal(r.headers['content-encoding'], 'gzip', `gzip: true, but ${r.url} was not gzip'd`);
    assert.equal(r.error, undefined, `sink could not decode ${r.url}: ${r.error}`);
    assert.ok(Array.isArray(r.json), `vendor body must be a JSON array: ${r.text}`);
  }

  // Nothing personal anywhere in what the vendor received.
  assertNoLeak(sink.allText(), 'the vendor');

  const events = sink.events('/track');
  assert.equal(events.length, users.size, `exactly one copy of each event:\n${sink.summary()}`);
  const got = byInsertId(events);
  assert.deepEqual([...got.keys()].sort(), [...users.keys()].sort(), '$insert_id passes unchanged');

  const allowed = new Set(['distinct_id', '$insert_id', 'time', 'token', '$current_url', '$referrer', 'plan',
                           'mp_country_code']);
  const pseudonymOf = new Map();
  for (const [insertId, user] of users) {
    const e = got.get(insertId);
    const p = e.properties;
    assert.match(p.distinct_id, PSEUDONYM_RE, `distinct_id of ${insertId}`);
    assert.notEqual(p.distinct_id, user);
    if (pseudonymOf.has(user)) {
      assert.equal(p.distinct_id, pseudonymOf.get(user), `pseudonym of ${user} is stable across events`);
    }
    pseudonymOf.set(user, p.distinct_id);
    assert.equal(p.$current_url, 'https://app.example.com', `$current_url of ${insertId}`);
    assert.equal(p.$referrer, 'https://www.google.com', `$referrer of ${insertId}`);
    assert.equal(p.plan, 'pro', `allowed custom property kept in ${insertId}`);
    assert.equal(p.token, TOKEN);
    assert.equal(p.mp_country_code, 'US', `country from the event's ip 8.8.8.8 in ${insertId}`);
    for (const k of Object.keys(p)) assert.ok(allowed.has(k), `property ${k} of ${insertId} is not allowed: ${JSON.stringify(e)}`);
  }
  assert.equal(got.get('ins-001').event, 'Viewed Billing');
  assert.equal(got.get('ins-002').event, 'Upgraded Plan');
  assert.equal(got.get('ins-b02').event, 'Batch Event');
  assert.notEqual(pseudonymOf.get(JANE), pseudonymOf.get(BOB), 'different users get different pseudonyms');

  // The profile update.
  const updates = sink.events('/engage');
  assert.equal(updates.length, 1, `one profile update:\n${sink.summary()}`);
  const u = updates[0];
  assert.equal(u.$distinct_id, pseudonymOf.get(JANE), 'the profile is keyed by the same pseudonym as the events');
  assert.equal(u.$token, TOKEN);
  assert.ok(u.$set && typeof u.$set === 'object', `$set present: ${JSON.stringify(u)}`);
  for (const k of ['$email', '$name', '$first_name', '$phone', '$city']) {
    assert.ok(!(k in u.$set), `${k} must not be in $set: ${JSON.stringify(u)}`);
  }
  assert.ok(!('$ip' in u) && !('ip' in u.$set), `no IP in the update: ${JSON.stringify(u)}`);
  assert.equal(u.$set.plan, 'pro', `allowed profile property kept: ${JSON.stringify(u)}`);
  assert.equal(u.$set.$country_code, 'US', `country from $ip 8.8.8.8: ${JSON.stringify(u)}`);
});

test('control: the same SDK sent straight to the vendor delivers the personal data', { timeout: 20_000 },
     async (t) => {
  const h = harness(t);
  const sink = await h.sink();
  const users = await sendSampleTraffic(client(`127.0.0.1:${sink.port}`));
  await waitFor(() => sink.events('/track').length >= users.size && sink.events('/engage').length >= 1, 5_000,
                () => `the SDK's requests at the sink:\n${sink.summary()}`);
  // The sink decodes the SDK's own format, so the leak check above would catch each of these.
  const text = sink.allText();
  for (const s of [PERSONAL.email, PERSONAL.name, PERSONAL.phone, PERSONAL.ip, PERSONAL.city, PERSONAL.url,
                   PERSONAL.referrer, JANE, BOB]) {
    assert.ok(text.includes(s), `the SDK sends ${JSON.stringify(s)} when no gateway is in between`);
  }
  const first = byInsertId(sink.events('/track')).get('ins-001').properties;
  assert.equal(first.distinct_id, JANE);
  assert.equal(first.$current_url, PERSONAL.url);
});

test('two vendors get different pseudonyms for the same user, each stable', { timeout: 30_000 }, async (t) => {
  const h = harness(t);
  const us = await h.sink();
  const eu = await h.sink();
  const gw = await h.gateway({
    geoip_db: GEOIP_DB,
    vendors: [
      mixpanelVendor({ name: 'mixpanel', sink: us, policy: TEST_POLICY }),
      mixpanelVendor({ name: 'mixpanel-eu', sink: eu, policy: TEST_POLICY }),
    ],
  });
  const mp = client(gw.host, { verbose: true });  // the gateway answers {"status":1,"error":null}
  await track(mp, 'A', sampleProperties(JANE, 'two-1'));
  await track(mp, 'B', sampleProperties(JANE, 'two-2'));
  await track(mp, 'C', sampleProperties(BOB, 'two-3'));

  for (const [name, sink] of [['mixpanel', us], ['mixpanel-eu', eu]]) {
    await waitFor(() => sink.events('/track').length >= 3, 15_000,
                  () => `3 events at vendor ${name}:\n${sink.summary()}\n${gw.logs()}`);
    assertNoLeak(sink.allText(), `vendor ${name}`);
  }
  const ids = (sink) => {
    const m = byInsertId(sink.events('/track'));
    return { jane1: m.get('two-1')?.properties.distinct_id, jane2: m.get('two-2')?.properties.distinct_id,
             bob: m.get('two-3')?.properties.distinct_id };
  };
  const a = ids(us);
  const b = ids(eu);
  for (const [vendor, p] of [['mixpanel', a], ['mixpanel-eu', b]]) {
    for (const v of Object.values(p)) assert.match(v ?? '', PSEUDONYM_RE, `${vendor}: ${JSON.stringify(p)}`);
    assert.equal(p.jane1, p.jane2, `${vendor}: same user, same pseudonym`);
    assert.notEqual(p.jane1, p.bob, `${vendor}: different users, different pseudonyms`);
  }
  assert.notEqual(a.jane1, b.jane1, 'the two vendors cannot join their pseudonyms of the same user');
  assert.notEqual(a.bob, b.bob);
});

test('shadow mode writes the minimized events to the outbox file and exits 0 on SIGTERM', { timeout: 30_000 },
     async (t) => {
  const h = harness(t);
  const gw = await h.gateway({
    geoip_db: GEOIP_DB,
    vendors: [mixpanelVendor({ name: 'mixpanel', policy: TEST_POLICY })],  // no endpoint: shadow mode
  });
  const users = await sendSampleTraffic(client(gw.host));
  const exit = await gw.stop();
  assert.deepEqual(exit, { code: 0, signal: null }, `clean exit on SIGTERM\n${gw.logs()}`);

  const file = path.join(gw.dataDir, 'outbox', 'mixpanel.jsonl');
  const text = await fs.readFile(file, 'utf8');
  assertNoLeak(text, file);
  const lines = text.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));
  const tracked = lines.filter((l) => l.endpoint === '/track').map((l) => l.data);
  const updates = lines.filter((l) => l.endpoint === '/engage').map((l) => l.data);
  assert.equal(lines.length, tracked.length + updates.length, `only /track and /engage lines:\n${text}`);
  assert.equal(tracked.length, users.size, `every event written:\n${text}`);
  assert.equal(updates.length, 1, `the profile update written:\n${text}`);
  const got = byInsertId(tracked);
  for (const [insertId] of users) {
    const p = got.get(insertId)?.properties;
    assert.ok(p, `event ${insertId} in ${file}`);
    assert.match(p.distinct_id, PSEUDONYM_RE);
    assert.equal(p.$current_url, 'https://app.example.com');
    assert.equal(p.mp_country_code, 'US');
  }
  assert.equal(updates[0].$distinct_id, got.get('ins-001').properties.distinct_id);
  assert.ok(!('$email' in updates[0].$set) && !('$phone' in updates[0].$set), JSON.stringify(updates[0]));
});

test('SIGTERM flushes: every event accepted before it reaches the vendor', { timeout: 45_000 }, async (t) => {
  const h = harness(t);
  const sink = await h.sink({ delayMs: 150 });  // a slow vendor, so deliveries are in flight at SIGTERM
  const gw = await h.gateway({
    geoip_db: GEOIP_DB,
    vendors: [mixpanelVendor({ name: 'mixpanel', sink, policy: TEST_POLICY })],
  });
  const mp = client(gw.host);
  const expected = [];
  const batch = [];
  for (let i = 0; i < 150; i++) {
    const id = `flush-b${i}`;
    expected.push(id);
    batch.push({ event: 'Bulk', properties: sampleProperties(i % 2 ? JANE : BOB, id) });
  }
  const singles = [];
  for (let i = 0; i < 10; i++) {
    const id = `flush-s${i}`;
    expected.push(id);
    singles.push(track(mp, 'Single', sampleProperties(JANE, id)));
  }
  await Promise.all([trackBatch(mp, batch), ...singles]);  // each answered "1": accepted

  const exit = await gw.stop();
  assert.deepEqual(exit, { code: 0, signal: null }, `clean exit on SIGTERM\n${gw.logs()}`);

  const got = sink.events('/track').map((e) => e.properties.$insert_id);
  const missing = expected.filter((id) => !got.includes(id));
  assert.deepEqual(missing, [], `events accepted before SIGTERM but never delivered (${missing.length} of ` +
                   `${expected.length})\n${gw.logs()}`);
});
