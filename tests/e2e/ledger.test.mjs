// The disclosure ledger end to end: events sent through the gateway with the official Mixpanel SDK show
// up in `ledger who`, `ledger subject` and `ledger vendors` with the categories that really left, dated by
// the gateway's clock: an email typed into free text shows `contact` at the vendor whose policy lets emails
// through, and not at the one whose policy redacts it (only the placeholder left); a cut records the
// discarded events; `ledger verify` passes while the gateway keeps the ledger open. `ledger erase` on a
// running gateway goes through its admin socket (the identifier shows as erased, its records stay), and
// `ledger.retention_days` drops days older than the cutoff while the gateway runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fs from 'node:fs/promises';
import path from 'node:path';

import { harness, mixpanelVendor, waitFor, runCli } from './helpers.mjs';

const require = createRequire(import.meta.url);
const Mixpanel = require('mixpanel');

function track(host, event, properties) {
  const mp = Mixpanel.init('proj-token', { host, protocol: 'http' });
  return new Promise((resolve, reject) => mp.track(event, properties, (err) => (err ? reject(err) : resolve())));
}

async function cliJson(args) {
  const r = await runCli([...args, '--format', 'json']);
  return { ...r, json: r.stdout.trim() ? JSON.parse(r.stdout) : undefined };
}

test('ledger: who, subject and vendors answer from what the SDK sent; a cut is recorded; verify passes live',
     { timeout: 120_000 }, async (t) => {
  const h = harness(t);
  const sink = await h.sink();
  const tmp = await h.tempDir();
  const clock = path.join(tmp, 'clock');
  await fs.writeFile(clock, '2025-11-12T09:30:00Z\n');
  const redactingSink = await h.sink();
  const allow = ['distinct_id', '$insert_id', 'comment', 'plan'];
  const gw = await h.gateway({
    vendors: [
      mixpanelVendor({ name: 'mixpanel', sink, policy: { allow, pii: { email: 'allow' } } }),
      mixpanelVendor({ name: 'redacting', sink: redactingSink, policy: { allow } }),
    ],
  }, { env: { VENDORGUARD_TEST_CLOCK_FILE: clock } });
  const config = ['--config', gw.configPath];

  await track(gw.host, 'Support Ticket', { distinct_id: 'alice', $insert_id: 'l-1', comment: 'reach me at alice@example.com please' });
  await track(gw.host, 'Upgrade', { distinct_id: 'bob', $insert_id: 'l-2', plan: 'pro' });
  await track(gw.host, 'Upgrade', { distinct_id: 'alice', $insert_id: 'l-3', plan: 'team' });
  await waitFor(() => sink.events('/track').length >= 3 && redactingSink.events('/track').length >= 3, 15_000,
                () => `3 events at each sink\n${sink.summary()}\n${redactingSink.summary()}\n${gw.logs()}`);
  // The email reached the vendor whose policy allows it, and only that one.
  assert.ok(sink.allText().includes('alice@example.com'));
  assert.ok(!redactingSink.allText().includes('alice@example.com'));

  // The ledger knows that contact data about alice left for that vendor, and when.
  let who;
  await waitFor(async () => {
    who = await cliJson(['ledger', 'who', ...config, '--vendor', 'mixpanel', '--from', '2025-11-12', '--to', '2025-11-12']);
    return who.code === 0 && who.json.subjects.length === 2 &&
        who.json.subjects.reduce((n, s) => n + s.counts.total, 0) === 3;
  }, 15_000, () => `ledger who lists alice and bob with 3 disclosures: ${JSON.stringify(who)}`);
  const bySubject = new Map(who.json.subjects.map((s) => [s.subject, s]));
  const alice = bySubject.get('alice');
  const bob = bySubject.get('bob');
  assert.ok(alice.categories.includes('contact'), `alice: ${JSON.stringify(alice)}`);
  assert.ok(alice.categories.includes('identifier'), `alice: ${JSON.stringify(alice)}`);
  assert.equal(alice.counts.delivered, 2);
  assert.ok(!bob.categories.includes('contact'), `bob: ${JSON.stringify(bob)}`);
  assert.equal(alice.first, '2025-11-12T09:30:00.000000Z');
  // Where it was redacted, only the free text (with its placeholder) left: no contact data.
  const redacted = await cliJson(['ledger', 'who', ...config, '--vendor', 'redacting', '--from', '2025-11-12', '--to', '2025-11-12']);
  assert.equal(redacted.code, 0, redacted.stderr);
  const aliceRedacted = redacted.json.subjects.find((s) => s.subject === 'alice');
  assert.ok(aliceRedacted && aliceRedacted.categories.includes('free_text'), redacted.stdout);
  assert.ok(!aliceRedacted.categories.includes('contact'), redacted.stdout);
  // Another day: nobody.
  const other = await cliJson(['ledger', 'who', ...config, '--vendor', 'mixpanel', '--from', '2025-11-13', '--to', '2025-11-14']);
  assert.equal(other.code, 0, other.stderr);
  assert.equal(other.json.subjects.length, 0);

  const subject = await cliJson(['ledger', 'subject', ...config, 'alice']);
  assert.equal(subject.code, 0, subject.stderr);
  assert.equal(JSON.stringify(subject.json).includes('mixpanel'), true, subject.stdout);
  assert.ok(JSON.stringify(subject.json).includes('contact'), subject.stdout);
  const nobody = await runCli(['ledger', 'subject', ...config, 'carol']);
  assert.equal(nobody.code, 1, `a subject the ledger does not know: exit 1\n${nobody.stdout}${nobody.stderr}`);

  // Cut while paused: the held event is recorded as cut, not as disclosed.
  await waitFor(async () => (await runCli(['vendor', 'list', ...config])).code === 0, 10_000, 'the admin socket');
  const paused = await runCli(['vendor', 'pause', 'mixpanel', ...config]);
  assert.equal(paused.code, 0, paused.stderr);
  await fs.writeFile(clock, '2025-11-13T08:00:00Z\n');
  await track(gw.host, 'Signup', { distinct_id: 'carol', $insert_id: 'l-4' });
  const cut = await runCli(['vendor', 'cut', 'mixpanel', '--yes', ...config]);
  assert.equal(cut.code, 0, cut.stderr);
  let cutWho;
  await waitFor(async () => {
    cutWho = await cliJson(['ledger', 'who', ...config, '--vendor', 'mixpanel', '--from', '2025-11-13', '--to', '2025-11-13',
                            '--outcome', 'cut']);
    return cutWho.code === 0 && cutWho.json.subjects.length === 1;
  }, 10_000, () => `carol recorded as cut: ${JSON.stringify(cutWho)}`);
  assert.equal(cutWho.json.subjects[0].subject, 'carol');
  assert.equal(cutWho.json.subjects[0].counts.cut, 1);
  const reached = await cliJson(['ledger', 'who', ...config, '--vendor', 'mixpanel', '--from', '2025-11-13', '--to', '2025-11-13']);
  assert.equal(reached.json.subjects.length, 0, 'a cut event never reached the vendor');
  assert.ok(!sink.events('/track').some((e) => e.properties.$insert_id === 'l-4'));

  const vendors = await cliJson(['ledger', 'vendors', ...config]);
  assert.equal(vendors.code, 0, vendors.stderr);
  assert.ok(vendors.stdout.includes('contact'), vendors.stdout);

  // The gateway holds the ledger open; verify reads it as it is.
  const verify = await runCli(['ledger', 'verify', ...config]);
  assert.equal(verify.code, 0, `${verify.stdout}${verify.stderr}`);
  await gw.stop();
  const after = await runCli(['ledger', 'verify', ...config]);
  assert.equal(after.code, 0, `${after.stdout}${after.stderr}`);
});

test('ledger: erase through the running gateway (admin socket); retention drops old days live; verify passes',
     { timeout: 120_000 }, async (t) => {
  const h = harness(t);
  const sink = await h.sink();
  const tmp = await h.tempDir();
  const clock = path.join(tmp, 'clock');
  await fs.writeFile(clock, '2025-11-12T09:30:00Z\n');
  const gw = await h.gateway({
    vendors: [mixpanelVendor({ name: 'mixpanel', sink, policy: { allow: ['distinct_id', '$insert_id', 'plan'] } })],
    ledger: { retention_days: 1, retention_check_interval: 1 },
  }, { env: { VENDORGUARD_TEST_CLOCK_FILE: clock } });
  const config = ['--config', gw.configPath];

  await track(gw.host, 'Upgrade', { distinct_id: 'dana', $insert_id: 'e-1', plan: 'pro' });
  await track(gw.host, 'Upgrade', { distinct_id: 'erin', $insert_id: 'e-2', plan: 'team' });
  let dana;
  await waitFor(async () => {
    dana = await cliJson(['ledger', 'subject', ...config, 'dana']);
    return dana.code === 0 && dana.json.found;
  }, 15_000, () => `dana in the ledger: ${JSON.stringify(dana)}\n${gw.logs()}`);
  assert.equal(dana.json.erased, false);
  await waitFor(async () => (await runCli(['vendor', 'list', ...config])).code === 0, 10_000, 'the admin socket');

  // The gateway holds the ledger: the CLI goes through its admin socket.
  const erased = await runCli(['ledger', 'erase', 'dana', ...config]);
  assert.equal(erased.code, 0, `${erased.stdout}${erased.stderr}`);
  assert.match(erased.stdout, /through the running gateway/);
  const after = await cliJson(['ledger', 'subject', ...config, 'dana']);
  assert.equal(after.code, 0, after.stderr);
  assert.equal(after.json.found, true);
  assert.equal(after.json.erased, true);
  assert.equal(after.json.vendors[0].counts.delivered, 1, 'the accounting of the disclosure stays');
  assert.equal((await cliJson(['ledger', 'subject', ...config, 'erin'])).json.erased, false);
  const again = await runCli(['ledger', 'erase', 'dana', ...config]);
  assert.equal(again.code, 1, `${again.stdout}${again.stderr}`);
  const unknown = await runCli(['ledger', 'erase', 'zed', ...config]);
  assert.equal(unknown.code, 1, `${unknown.stdout}${unknown.stderr}`);
  assert.match(unknown.stderr, /no records about this identifier/);
  assert.match(gw.logs(), /admin: ledger erasure by uid \d+/);
  const verify = await runCli(['ledger', 'verify', ...config]);
  assert.equal(verify.code, 0, `${verify.stdout}${verify.stderr}`);

  // Three days later: the next event seals Nov 12 (if still open), and retention (1 day, checked every
  // second) drops it; what is newer stays.
  await fs.writeFile(clock, '2025-11-15T10:00:00Z\n');
  await track(gw.host, 'Upgrade', { distinct_id: 'frank', $insert_id: 'e-3', plan: 'pro' });
  let erin;
  await waitFor(async () => {
    erin = await runCli(['ledger', 'subject', ...config, 'erin']);
    return erin.code === 1;
  }, 15_000, () => `erin's day dropped by retention: ${erin?.stdout}${erin?.stderr}\n${gw.logs()}`);
  assert.match(gw.logs(), /retention \(ledger\.retention_days=1\) dropped \d+ record\(s\)/);
  let frank;
  await waitFor(async () => {
    frank = await cliJson(['ledger', 'subject', ...config, 'frank']);
    return frank.code === 0 && frank.json.found;
  }, 15_000, () => `frank in the ledger: ${JSON.stringify(frank)}`);
  const retained = await runCli(['ledger', 'verify', ...config]);
  assert.equal(retained.code, 0, `${retained.stdout}${retained.stderr}`);
  assert.match(retained.stdout, /earlier ones dropped by retention/);
  await gw.stop();
  const stopped = await runCli(['ledger', 'verify', ...config]);
  assert.equal(stopped.code, 0, `${stopped.stdout}${stopped.stderr}`);
});
