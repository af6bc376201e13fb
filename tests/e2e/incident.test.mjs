// Incident response end to end (issue #6, the part up to the assessment): users send events through the
// gateway with the official Mixpanel SDK over a simulated November 2025 (the gateway's clock is set by the
// test); `incident open` for Nov 9–25 with --cut cuts the vendor through the running gateway and assesses:
// the affected subjects equal what the test knows the vendor held, split into before and inside the window;
// events held back by a pause and discarded by the cut are reported as not exposed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fs from 'node:fs/promises';
import path from 'node:path';

import { harness, mixpanelVendor, waitFor, runCli } from './helpers.mjs';

const require = createRequire(import.meta.url);
const Mixpanel = require('mixpanel');

test('incident open --cut: the assessment lists exactly who the vendor held, before and inside the window',
     { timeout: 240_000 }, async (t) => {
  const h = harness(t);
  const sink = await h.sink();
  const tmp = await h.tempDir();
  const clock = path.join(tmp, 'clock');
  await fs.writeFile(clock, '2025-11-01T08:00:00Z\n');
  const gw = await h.gateway({
    organization: { name: 'Example Inc.', contact: 'privacy@example.com', domain: 'example.com' },
    vendors: [mixpanelVendor({ name: 'mixpanel', sink, policy: { allow: ['distinct_id', '$insert_id', 'plan'] } })],
  }, { env: { VENDORGUARD_TEST_CLOCK_FILE: clock } });
  const config = ['--config', gw.configPath];
  const mp = Mixpanel.init('proj-token', { host: gw.host, protocol: 'http' });
  const track = (props) => new Promise((resolve, reject) => mp.track('Visit', props, (e) => (e ? reject(e) : resolve())));

  // Day by day: who sends on which day is a fixed pseudo-random function of (user, day).
  const users = Array.from({ length: 40 }, (_, k) => `user-${k}`);
  const days = [1, 3, 5, 8, 9, 12, 16, 20, 25, 27];
  const sentOn = new Map();  // user -> days
  let n = 0;
  for (const day of days) {
    await fs.writeFile(clock, `2025-11-${String(day).padStart(2, '0')}T10:00:00Z\n`);
    const senders = users.filter((_, k) => (k * 7 + day * 3) % 5 === 0);
    for (const u of senders) {
      await track({ distinct_id: u, $insert_id: `e-${day}-${u}`, plan: 'pro' });
      sentOn.set(u, [...(sentOn.get(u) || []), day]);
      ++n;
    }
    // Delivered (and so recorded) on this day before the clock moves on.
    await waitFor(() => sink.events('/track').length >= n, 15_000, () => `${n} events at the sink\n${sink.summary()}`);
  }
  // The ledger has recorded everything the sink received (recording comes before the spool lets go).
  await waitFor(async () => {
    const r = await runCli(['ledger', 'who', ...config, '--vendor', 'mixpanel', '--format', 'json']);
    return r.code === 0 && JSON.parse(r.stdout).subjects.reduce((s, x) => s + x.counts.total, 0) === n;
  }, 15_000, 'every delivery recorded');

  // Events held by a pause on Nov 25 are discarded by the incident's cut: recorded, never exposed.
  await fs.writeFile(clock, '2025-11-25T12:00:00Z\n');
  assert.equal((await runCli(['vendor', 'pause', 'mixpanel', ...config])).code, 0);
  await track({ distinct_id: 'held-user', $insert_id: 'held-1' });

  const opened = await runCli(['incident', 'open', ...config, '--vendor', 'mixpanel', '--from', '2025-11-09',
                               '--to', '2025-11-25', '--aware-at', '2025-11-25T18:00:00Z', '--cut', '--yes']);
  assert.equal(opened.code, 0, `${opened.stdout}${opened.stderr}`);
  const id = /incident (INC-\d{8}-[0-9a-f]{6})/.exec(opened.stdout)?.[1];
  assert.ok(id, opened.stdout);
  assert.match(opened.stdout, /vendor cut at .*: 1 queued event\(s\) discarded/);
  assert.match(opened.stdout, /notify the supervisory authority by 2025-11-28T18:00:00Z/);

  const assessed = await runCli(['incident', 'assess', id, ...config, '--format', 'json']);
  assert.equal(assessed.code, 0, assessed.stderr);
  const a = JSON.parse(assessed.stdout);
  const expectInside = [...sentOn].filter(([, ds]) => ds.some((d) => d >= 9 && d <= 25)).map(([u]) => u).sort();
  const expectBeforeOnly = [...sentOn].filter(([, ds]) => ds.some((d) => d < 9) && !ds.some((d) => d >= 9 && d <= 25))
      .map(([u]) => u).sort();
  const inside = a.subjects.filter((s) => s.exposure === 'in_window').map((s) => s.subject).sort();
  const before = a.subjects.filter((s) => s.exposure === 'before_window').map((s) => s.subject).sort();
  assert.deepEqual(inside, expectInside);
  assert.deepEqual(before, expectBeforeOnly);
  assert.ok(expectInside.length > 5 && expectBeforeOnly.length > 0, 'the data exercises both groups');
  const recordsInWindow = [...sentOn.values()].flat().filter((d) => d >= 9 && d <= 25).length;
  const recordsBefore = [...sentOn.values()].flat().filter((d) => d < 9).length;
  assert.equal(a.totals.records_in_window, recordsInWindow);
  assert.equal(a.totals.records_before_window, recordsBefore);
  // Only Nov 27's senders are later than the window and not listed for that alone.
  assert.ok(!a.subjects.some((s) => s.subject === 'held-user'));
  assert.equal(a.not_exposed.cut_records, 1);
  assert.equal(a.not_exposed.list[0].subject, 'held-user');
  assert.deepEqual(a.categories.map((c) => c.category).sort(), ['activity', 'identifier', 'other'].sort());

  // The files for the regulator and the notices.
  const dir = path.join(gw.dataDir, 'incidents', id);
  const csv = await fs.readFile(path.join(dir, 'affected.csv'), 'utf8');
  assert.equal(csv.trim().split('\n').length, 1 + expectInside.length + expectBeforeOnly.length);
  const md = await fs.readFile(path.join(dir, 'report.md'), 'utf8');
  assert.match(md, new RegExp(`${expectInside.length + expectBeforeOnly.length} people`));
  assert.match(md, /privacy@example\.com/);
  const status = await runCli(['incident', 'status', id, ...config]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /last assessment/);

  // Bad input: unknown vendor, inverted window, unknown incident.
  const unknown = await runCli(['incident', 'open', ...config, '--vendor', 'amplitude', '--from', '2025-11-09', '--to', '2025-11-25']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown vendor 'amplitude' \(configured: mixpanel\)/);
  const inverted = await runCli(['incident', 'open', ...config, '--vendor', 'mixpanel', '--from', '2025-11-25', '--to', '2025-11-09']);
  assert.equal(inverted.code, 2);
  assert.match(inverted.stderr, /not before --to/);
  const missing = await runCli(['incident', 'status', 'INC-00000000-000000', ...config]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, new RegExp(`no incident 'INC-00000000-000000'.*${id}`));
});
