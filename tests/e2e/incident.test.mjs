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

import { spawn, spawnSync } from 'node:child_process';

import { harness, mixpanelVendor, waitFor, runCli, freePort, adminRequest, SOURCE_DIR, VG_BIN } from './helpers.mjs';

// Debian's python3-aiosmtpd belongs to the system interpreter; a python3 earlier on PATH (pyenv, a venv)
// may not have it.
const PYTHON = ['/usr/bin/python3', 'python3'].find((py) => spawnSync(py, ['-c', 'import aiosmtpd']).status === 0);
const HAVE_AIOSMTPD = PYTHON !== undefined;

// A real SMTP server on loopback (Debian's python3-aiosmtpd) that stores every accepted message in `dir`.
async function startSmtp(h, dir) {
  const port = await freePort();
  const proc = spawn(PYTHON, ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`, '-c', 'smtp_sink.DirHandler', dir], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PYTHONPATH: path.join(SOURCE_DIR, 'tests/unit/notify') },
  });
  h.defer(() => proc.kill('SIGKILL'));
  const net = await import('node:net');
  await waitFor(() => new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1', () => { c.end(); resolve(true); });
    c.on('error', () => resolve(false));
  }), 10_000, 'the SMTP server listening');
  return `smtp://127.0.0.1:${port}`;
}

async function received(dir) {
  const names = (await fs.readdir(dir).catch(() => [])).filter((n) => n.endsWith('.eml') && !n.startsWith('.'));
  return Promise.all(names.map(async (n) => ({ file: path.join(dir, n), text: await fs.readFile(path.join(dir, n), 'utf8') })));
}

const require = createRequire(import.meta.url);
const Mixpanel = require('mixpanel');

test('incident open --cut: the assessment lists exactly who the vendor held, before and inside the window',
     { timeout: 600_000 }, async (t) => {
  const h = harness(t);
  const sink = await h.sink();
  const tmp = await h.tempDir();
  const clock = path.join(tmp, 'clock');
  await fs.writeFile(clock, '2025-11-01T08:00:00Z\n');
  const gw = await h.gateway({
    organization: { name: 'Example Inc.', contact: 'privacy@example.com', domain: 'example.com' },
    vendors: [
      mixpanelVendor({ name: 'mixpanel', sink, policy: { allow: ['distinct_id', '$insert_id', 'plan'] } }),
      mixpanelVendor({ name: 'posthog', policy: { allow: ['distinct_id', '$insert_id'] } }),  // shadow mode
    ],
  }, { env: { VENDORGUARD_TEST_CLOCK_FILE: clock } });
  const config = ['--config', gw.configPath];
  const mp = Mixpanel.init('proj-token', { host: gw.host, protocol: 'http' });
  const track = (props) => new Promise((resolve, reject) => mp.track('Visit', props, (e) => (e ? reject(e) : resolve())));
  const trackBatch = (events) => new Promise((resolve, reject) => mp.track_batch(events, (errors) => (
    errors && errors.length ? reject(errors[0]) : resolve())));

  // A few thousand users, day by day: who sends on which day is a fixed pseudo-random function of
  // (user, day); the SDK sends them in batches of 50.
  const users = Array.from({ length: 2000 }, (_, k) => `user-${k}`);
  const days = [1, 3, 5, 8, 9, 12, 16, 20, 25, 27];
  const sentOn = new Map();  // user -> days
  let n = 0;
  for (const day of days) {
    await fs.writeFile(clock, `2025-11-${String(day).padStart(2, '0')}T10:00:00Z\n`);
    const senders = users.filter((_, k) => ((Math.imul(k + 1, 2654435761) ^ Math.imul(day * 7919, 40503)) >>> 0) % 7 < 2);
    await trackBatch(senders.map((u) => ({ event: 'Visit', properties: { distinct_id: u, $insert_id: `e-${day}-${u}`, plan: 'pro' } })));
    for (const u of senders) sentOn.set(u, [...(sentOn.get(u) || []), day]);
    n += senders.length;
    // Delivered (and so recorded) on this day before the clock moves on.
    await waitFor(() => sink.events('/track').length >= n, 60_000, () => `${n} events at the sink`);
  }
  // The ledger has recorded everything the sink received (recording comes before the spool lets go).
  await waitFor(async () => {
    const r = await runCli(['ledger', 'who', ...config, '--vendor', 'mixpanel', '--format', 'json']);
    return r.code === 0 && JSON.parse(r.stdout).subjects.reduce((s, x) => s + x.counts.total, 0) === n;
  }, 30_000, 'every delivery recorded');

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
  assert.ok(expectInside.length > 1000 && expectBeforeOnly.length > 100 && sentOn.size > expectInside.length + expectBeforeOnly.length, `the data exercises both groups: ${expectInside.length} inside, ${expectBeforeOnly.length} before only`);
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
  assert.ok(md.includes(`${(expectInside.length + expectBeforeOnly.length).toLocaleString('en-US')} people`), md.slice(0, 2000));
  assert.match(md, /privacy@example\.com/);
  // The vendor hands over what leaked: the events it received from Nov 12 to Nov 20, one line from
  // another vendor's export, a line with an email the policy should have stopped, and a broken line.
  const leaked = sink.events('/track').filter((e) => /^e-(12|16|20)-/.test(e.properties.$insert_id));
  const otherLine = (await fs.readFile(path.join(gw.dataDir, 'outbox', 'posthog.jsonl'), 'utf8')).split('\n')[0];
  const lines = leaked.map((e) => JSON.stringify(e));
  lines.push(otherLine);
  lines.push(JSON.stringify({ event: 'Visit', properties: { distinct_id: leaked[0].properties.distinct_id, $email: 'leaked.person@example.org' } }));
  lines.push('{"event": "Visit", "properties": {');
  const leakFile = path.join(tmp, 'leak.jsonl');
  await fs.writeFile(leakFile, lines.join('\n') + '\n');
  const matched = await runCli(['incident', 'match', id, ...config, '--leak', leakFile, '--format', 'json']);
  assert.equal(matched.code, 0, matched.stderr);
  assert.match(matched.stderr, new RegExp(`leak.jsonl:${lines.length}: not a JSON value`));
  const m = JSON.parse(matched.stdout);
  const expectConfirmed = [...sentOn].filter(([, ds]) => ds.some((d) => [12, 16, 20].includes(d))).map(([u]) => u).sort();
  assert.deepEqual(m.confirmed, expectConfirmed);
  assert.deepEqual(m.at_risk, [...expectInside, ...expectBeforeOnly].filter((u) => !expectConfirmed.includes(u)).sort());
  assert.equal(m.other_vendor.length, 1);
  assert.equal(m.other_vendor[0].vendor, 'posthog');
  assert.equal(m.other_vendor[0].line, leaked.length + 1);
  assert.equal(m.unmatched_rows, 0);
  assert.ok(m.pii.some((p) => p.path === 'properties.$email' && p.type === 'email' && p.first_line === leaked.length + 2),
            matched.stdout);
  assert.ok(!matched.stdout.includes('leaked.person'), 'the report names paths and types, never values');
  const badLeak = path.join(tmp, 'leak.bin');
  await fs.writeFile(badLeak, Buffer.from([0x50, 0x4b, 3, 4, 0, 0, 0, 0]));
  const bad = await runCli(['incident', 'match', id, ...config, '--leak', badLeak]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /not a leak format/);

  // Notices: the company's contact directory (two affected people have no contact: listed, not skipped).
  const affected = [...expectInside, ...expectBeforeOnly].sort();
  const withoutContact = affected.slice(0, 2);
  const contacts = ['subject,email,name,locale', ...affected.filter((u) => !withoutContact.includes(u))
      .map((u) => `${u},${u}@mail.test,"Person ${u}",en`)];
  const contactsFile = path.join(tmp, 'contacts.csv');
  await fs.writeFile(contactsFile, contacts.join('\n') + '\n');
  const template = path.join(SOURCE_DIR, 'templates', 'notice');
  if (!HAVE_AIOSMTPD) {
    t.diagnostic('python3-aiosmtpd is not installed: the SMTP delivery part is skipped (scripts/setup.sh installs it)');
  } else {
    const maildir = path.join(tmp, 'mail');
    const smtp = await startSmtp(h, maildir);
    const notifyArgs = ['incident', 'notify', id, ...config, '--contacts', contactsFile, '--template', template,
                        '--smtp', smtp, '--starttls', 'off'];
    // Killed half-way (SIGKILL, at 100 notices a second), then run again.
    const first = spawn(VG_BIN, [...notifyArgs, '--rate', '100'], { stdio: 'ignore' });
    await waitFor(async () => (await received(maildir)).length >= 100, 60_000, 'some notices delivered');
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const partial = (await received(maildir)).length;
    const second = await runCli([...notifyArgs, '--rate', '0'], { timeoutMs: 300_000 });
    assert.equal(second.code, 1, `missing contacts make the exit status 1\n${second.stdout}${second.stderr}`);
    for (const u of withoutContact) assert.ok(second.stdout.includes(u), `missing contact listed: ${u}\n${second.stdout}`);
    const mails = await received(maildir);
    const unknown = (/fate unknown (\d+)/.exec(second.stdout) || [])[1];
    const byRecipient = new Map();
    for (const m of mails) {
      const to = /^To: .*?([\w.-]+@mail\.test)/mi.exec(m.text)?.[1];
      assert.ok(to, m.text.slice(0, 500));
      byRecipient.set(to, (byRecipient.get(to) || 0) + 1);
    }
    const expectedRecipients = affected.filter((u) => !withoutContact.includes(u)).map((u) => `${u}@mail.test`).sort();
    assert.ok(partial < expectedRecipients.length, `the first run was cut short (${partial} of ${expectedRecipients.length})`);
    assert.ok([...byRecipient.values()].every((n) => n === 1), `nobody gets two: ${JSON.stringify([...byRecipient])}`);
    // Everyone with a contact has theirs, save a notice whose fate the kill left unknown (listed by status).
    const missingMail = expectedRecipients.filter((r) => !byRecipient.has(r));
    const status = await runCli(['incident', 'status', id, ...config]);
    assert.equal(status.code, 0, status.stderr);
    assert.ok(missingMail.length <= 1, `all delivered but at most one unknown: ${missingMail}\n${status.stdout}`);
    for (const r of missingMail) assert.ok(status.stdout.includes(r.split('@')[0]), `unknown listed\n${status.stdout}`);
    void unknown;
    // Each notice names exactly that person's categories and verifies as genuine; a tampered one does not.
    const one = mails[0];
    const verify = await runCli(['notice', 'verify', one.file, ...config]);
    assert.equal(verify.code, 0, `${verify.stdout}${verify.stderr}`);
    assert.match(verify.stdout, /genuine/);
    // Every notice that arrived verifies as genuine (one run over all of them).
    const all = await runCli(['notice', 'verify', ...mails.map((m) => m.file), ...config, '--format', 'json'],
                             { timeoutMs: 300_000 });
    assert.equal(all.code, 0, all.stdout.split('\n').filter((l) => !l.includes('"genuine":true')).slice(0, 5).join('\n'));
    const verdicts = all.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(verdicts.length, mails.length);
    assert.ok(verdicts.every((v) => v.genuine && v.issuer === 'example.com'));
    const tampered = path.join(tmp, 'tampered.eml');
    // A word of the signed text changed (the headers are transport: only the text and its block are signed).
    const altered = one.text.replace('writing to tell you', 'writing to warn you');
    assert.notEqual(altered, one.text, 'the tamper changed the notice');
    await fs.writeFile(tampered, altered);
    const bad = await runCli(['notice', 'verify', tampered, ...config]);
    assert.equal(bad.code, 1, `${bad.stdout}${bad.stderr}`);
    assert.ok(!/https?:\/\/(?!([\w-]+\.)*example\.com)/.test(one.text.replace(/=\r?\n/g, '')), 'links only to the company domain');
    // The gateway's admin listener shows a notice by its id and publishes the key.
    const noticeId = /^X-Vendorguard-Notice: (N-[0-9A-Z]{10})/mi.exec(one.text)?.[1];
    assert.ok(noticeId, one.text.slice(0, 800));
    const shown = await adminRequest(gw.dataDir, 'GET', `/v1/notices/${noticeId}`);
    assert.equal(shown.status, 200, shown.body);
    assert.equal(shown.json.genuine, true, shown.body);
    assert.equal(shown.json.incident, id);
    assert.match(shown.json.recipient, /^u\*\*\*@mail\.test$/);
    assert.equal((await adminRequest(gw.dataDir, 'GET', '/v1/notices/N-0000000000')).status, 404);
    const key = await adminRequest(gw.dataDir, 'GET', '/.well-known/vendorguard/notice-key.pem');
    assert.equal(key.status, 200);
    assert.equal(key.body, await fs.readFile(path.join(gw.dataDir, 'keys', 'notice.pub'), 'utf8'));
  }

  const status = await runCli(['incident', 'status', id, ...config]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /last assessment/);

  // Bad input: unknown vendor, inverted window, unknown incident.
  const unknown = await runCli(['incident', 'open', ...config, '--vendor', 'amplitude', '--from', '2025-11-09', '--to', '2025-11-25']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown vendor 'amplitude' \(configured: mixpanel, posthog\)/);
  const inverted = await runCli(['incident', 'open', ...config, '--vendor', 'mixpanel', '--from', '2025-11-25', '--to', '2025-11-09']);
  assert.equal(inverted.code, 2);
  assert.match(inverted.stderr, /not before --to/);
  const missing = await runCli(['incident', 'status', 'INC-00000000-000000', ...config]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, new RegExp(`no incident 'INC-00000000-000000'.*${id}`));
});
