// The kill switch as an operator uses it (issue #4): `vendorguard vendor list|show|pause|resume|cut|
// dead-letters|redrive` against a running gateway through its admin socket, the state surviving a
// restart, the errors a user gets (unknown vendor, wrong state, no gateway, cut without --yes), and
// `vendorguard spool verify` on a clean and on a damaged spool.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';

import { VG_BIN, harness, waitFor } from '../e2e/helpers.mjs';

// Runs the CLI without blocking the event loop (the gateway's log pipes keep draining). stdin is a pipe
// (never a terminal) that gets `input` and is closed.
function cli(args, { input = '' } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(VG_BIN, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
    proc.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
    proc.once('error', reject);
    proc.once('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr, args });
    });
    proc.stdin.end(input);
  });
}

function show(r) {
  return `vendorguard ${r.args.join(' ')} -> ${r.status}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

// `vendorguard vendor ARGS --config CONFIG [--format json]`, parsed when json.
async function vendor(gw, args, { json = false, input } = {}) {
  const r = await cli(['vendor', ...args, '--config', gw.configPath, ...(json ? ['--format', 'json'] : [])], { input });
  if (json && r.status === 0) r.json = JSON.parse(r.stdout);
  return r;
}

async function states(gw) {
  const r = await vendor(gw, ['list'], { json: true });
  assert.equal(r.status, 0, show(r));
  return Object.fromEntries(r.json.vendors.map((v) => [v.name, v]));
}

const adminSocket = (gw) => path.join(gw.dataDir, 'admin.sock');

// The admin socket appears once the gateway runs its io_context (after the port file).
async function started(gw) {
  await waitFor(() => existsSync(adminSocket(gw)), 10_000, () => `the admin socket ${adminSocket(gw)}\n${gw.logs()}`);
  return gw;
}

async function track(gw, events) {
  const res = await fetch(`${gw.url}/track`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `data=${encodeURIComponent(JSON.stringify(events))}`,
  });
  assert.equal(res.status, 200, await res.text());
}

function events(prefix, n) {
  return Array.from({ length: n }, (_, i) => ({
    event: 'Kill switch test',
    properties: { distinct_id: `user-${i}`, $insert_id: `${prefix}-${i}`, time: 1767225600 + i },
  }));
}

const VENDORS = [{ name: 'alpha', kind: 'mixpanel' }, { name: 'beta', kind: 'mixpanel' }];

test('vendor list, pause, resume and cut a running gateway; the state survives a restart', async (t) => {
  const h = harness(t);
  const gw = await started(await h.gateway({ vendors: VENDORS }));

  // The socket only the gateway's user may open (tests run as root, so check the mode rather than
  // trying another user).
  const st = statSync(adminSocket(gw));
  assert.ok(st.isSocket(), 'admin.sock is a socket');
  assert.equal(st.mode & 0o777, 0o600, `admin.sock mode ${(st.mode & 0o777).toString(8)}`);

  // list, text: an aligned table with both vendors active, in shadow mode.
  let r = await vendor(gw, ['list']);
  assert.equal(r.status, 0, show(r));
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0], /^VENDOR\s+STATE\s+MODE\s+PENDING/);
  assert.match(r.stdout, /^alpha\s+active\s+shadow\s+0\s/m);
  assert.match(r.stdout, /^beta\s+active\s+shadow\s+0\s/m);
  // Aligned: STATE starts in the same column on every line.
  const col = lines[0].indexOf('STATE');
  for (const line of lines.slice(1)) assert.match(line.slice(col), /^(active|paused|cut)\b/, r.stdout);

  // list, json: the server's objects.
  r = await vendor(gw, ['list'], { json: true });
  assert.equal(r.status, 0, show(r));
  assert.deepEqual(r.json.vendors.map((v) => [v.name, v.state, v.shadow]), [['alpha', 'active', true], ['beta', 'active', true]]);
  for (const key of ['accepted', 'delivered', 'retries', 'dead_lettered', 'discarded', 'pending', 'pending_bytes',
    'oldest_pending_age_s', 'delivered_per_s', 'accepted_per_s', 'last_error', 'last_error_at']) {
    assert.ok(key in r.json.vendors[0], `vendor object has ${key}: ${r.stdout}`);
  }

  // pause: held; a second pause is the wrong state (exit 1), and the gateway says so.
  r = await vendor(gw, ['pause', 'alpha']);
  assert.equal(r.status, 0, show(r));
  assert.match(r.stdout, /alpha.*paused/);
  assert.equal((await states(gw)).alpha.state, 'paused');
  assert.equal((await states(gw)).beta.state, 'active');
  r = await vendor(gw, ['pause', 'alpha']);
  assert.equal(r.status, 1, show(r));
  assert.match(r.stderr, /vendor 'alpha' is already paused/);

  // Paused events stay queued; resume sends them.
  await track(gw, events('held', 3));
  await waitFor(async () => (await states(gw)).alpha.pending === 3, 10_000, 'alpha holding 3 events');
  r = await vendor(gw, ['show', 'alpha']);
  assert.equal(r.status, 0, show(r));
  assert.match(r.stdout, /^state:\s+paused$/m);
  assert.match(r.stdout, /^pending:\s+3 event\(s\)/m);
  assert.match(r.stdout, /^connections:\s+1 \(0 request\(s\) in flight\)$/m, 'shadow mode writes one file');
  r = await vendor(gw, ['resume', 'alpha']);
  assert.equal(r.status, 0, show(r));
  assert.match(r.stdout, /alpha.*resumed/);
  await waitFor(async () => {
    const s = (await states(gw)).alpha;
    return s.state === 'active' && s.pending === 0 && s.delivered >= 3;
  }, 10_000, 'alpha delivering its held events');
  r = await vendor(gw, ['resume', 'alpha']);
  assert.equal(r.status, 1, show(r));
  assert.match(r.stderr, /vendor 'alpha' is already active/);

  // An unknown vendor: exit 1, naming the configured ones.
  for (const action of [['pause', 'gamma'], ['show', 'gamma'], ['cut', 'gamma', '--yes'], ['dead-letters', 'gamma']]) {
    r = await vendor(gw, action);
    assert.equal(r.status, 1, show(r));
    assert.match(r.stderr, /unknown vendor 'gamma' \(configured: alpha, beta\)/, show(r));
  }

  // cut is destructive: with stdin not a terminal it needs --yes (a usage error otherwise), and nothing
  // changes.
  await vendor(gw, ['pause', 'beta']);
  await track(gw, events('doomed', 4));
  await waitFor(async () => (await states(gw)).beta.pending === 4, 10_000, 'beta holding 4 events');
  r = await vendor(gw, ['cut', 'beta'], { input: 'y\n' });
  assert.equal(r.status, 2, show(r));
  assert.match(r.stderr, /--yes/);
  assert.equal((await states(gw)).beta.state, 'paused');

  // cut --yes: state cut, its queued events discarded, nothing more accepted for it.
  r = await vendor(gw, ['cut', 'beta', '--yes'], { json: true });
  assert.equal(r.status, 0, show(r));
  const cutReply = r.json;
  assert.equal(cutReply.vendor, 'beta');
  assert.equal(cutReply.state, 'cut');
  let s = await states(gw);
  assert.equal(s.beta.state, 'cut');
  assert.equal(s.beta.pending, 0);
  assert.equal(s.beta.discarded, 4);
  r = await vendor(gw, ['cut', 'beta', '--yes']);
  assert.equal(r.status, 1, show(r));
  assert.match(r.stderr, /already cut/);
  const beforeAlpha = s.alpha.delivered;
  await track(gw, events('after-cut', 2));
  await waitFor(async () => (await states(gw)).alpha.delivered >= beforeAlpha + 2, 10_000, 'alpha delivering');
  s = await states(gw);
  assert.equal(s.beta.pending, 0);
  const outbox = await fs.readFile(path.join(gw.dataDir, 'outbox', 'beta.jsonl'), 'utf8').catch(() => '');
  assert.ok(!outbox.includes('doomed-') && !outbox.includes('after-cut-'), `beta's outbox after the cut:\n${outbox}`);

  // Every state change is logged with the vendor and who asked.
  assert.match(gw.stderr(), /admin: vendor beta cut by uid \d+, pid \d+/);

  // Restart on the same data dir: beta is still cut, alpha active. The old socket file went away with the
  // gateway that made it.
  const stopped = await gw.stop();
  assert.equal(stopped.code, 0, gw.logs());
  assert.ok(!existsSync(adminSocket(gw)), 'the admin socket is removed at shutdown');
  const gw2 = await started(await h.gateway({ data_dir: gw.dataDir, vendors: VENDORS }));
  s = await states(gw2);
  assert.equal(s.beta.state, 'cut');
  assert.equal(s.alpha.state, 'active');
  r = await vendor(gw2, ['list']);
  assert.match(r.stdout, /^beta\s+cut\s/m);

  // The cut's answer counts what it discarded (checked last: the rest holds whatever the count says).
  assert.equal(cutReply.discarded, 4, `the cut's answer: ${JSON.stringify(cutReply)}`);
});

// Leaves a Unix socket file at `file` that nobody listens on, as a gateway killed with SIGKILL does.
async function staleSocket(file) {
  const script = `require('net').createServer().listen(${JSON.stringify(file)}, () => process.kill(process.pid, 'SIGKILL'))`;
  await new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
    proc.once('error', reject);
    proc.once('exit', resolve);
  });
  assert.ok(statSync(file).isSocket(), `a stale socket at ${file}`);
}

test('vendor commands fail clearly without a gateway, and with bad usage', async (t) => {
  let r = await cli(['vendor', 'list', '--socket', '/nonexistent/admin.sock']);
  assert.equal(r.status, 2, show(r));
  assert.match(r.stderr, /no gateway answering at \/nonexistent\/admin\.sock \(is `vendorguard serve` running/);

  // A stale socket file that nobody listens on reads the same.
  const h = harness(t);
  const stale = path.join(await h.tempDir(), 'stale.sock');
  await staleSocket(stale);
  r = await cli(['vendor', 'pause', 'alpha', '--socket', stale]);
  assert.equal(r.status, 2, show(r));
  assert.match(r.stderr, /no gateway answering/);

  r = await cli(['vendor', 'pause']);
  assert.equal(r.status, 2, show(r));
  r = await cli(['vendor', 'list', '--format', 'yaml']);
  assert.equal(r.status, 2, show(r));
  r = await cli(['vendor', '--help']);
  assert.equal(r.status, 0, show(r));
  assert.match(r.stdout, /pause/);
  assert.match(r.stdout, /cut/);
});

test('the admin socket: a stale one is replaced, a live one is not taken over', async (t) => {
  const h = harness(t);
  const dataDir = path.join(await h.tempDir(), 'data');
  await fs.mkdir(dataDir, { recursive: true });
  await staleSocket(path.join(dataDir, 'admin.sock'));
  const gw = await started(await h.gateway({ data_dir: dataDir, vendors: VENDORS }));
  let r = await vendor(gw, ['list'], { json: true });
  assert.equal(r.status, 0, show(r));
  assert.equal(statSync(adminSocket(gw)).mode & 0o777, 0o600);

  // A second gateway (another data dir) configured with the same admin socket leaves it to the first.
  const other = await h.gateway({ vendors: VENDORS, admin: { socket: adminSocket(gw) } });
  await waitFor(() => /another gateway is answering on the admin socket/.test(other.stderr()), 10_000,
    () => `the second gateway's refusal\n${other.logs()}`);
  r = await vendor(gw, ['pause', 'alpha']);
  assert.equal(r.status, 0, show(r));
  assert.equal((await states(gw)).alpha.state, 'paused');
  await other.stop();
  assert.ok(existsSync(adminSocket(gw)), 'the second gateway did not remove the first one\'s socket');
  r = await vendor(gw, ['resume', 'alpha']);
  assert.equal(r.status, 0, show(r));
});

// Runs the CLI as `nobody` (through setpriv, as root); null when that is not possible here.
async function cliAsNobody(args) {
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/setpriv')) return null;
  const run = (a) => new Promise((resolve, reject) => {
    const proc = spawn('/usr/bin/setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', VG_BIN, ...a],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
    proc.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    proc.once('error', reject);
    proc.once('close', (status) => resolve({ status, stdout, stderr, args: ['(as nobody)', ...a] }));
  });
  const probe = await run(['--version']);
  if (probe.status !== 0) return null;  // the binary is not reachable for other users here
  return run(args);
}

test('another user cannot use the admin socket', async (t) => {
  const h = harness(t);
  const gw = await started(await h.gateway({ vendors: VENDORS }));
  const sock = adminSocket(gw);
  let r = await cliAsNobody(['vendor', 'pause', 'alpha', '--socket', sock]);
  if (r === null) {
    t.skip('needs root, setpriv, and a binary other users can run');
    return;
  }
  assert.equal(r.status, 2, show(r));
  assert.match(r.stderr, /permission denied: .*admin\.sock — run as the gateway's user/);

  // Even with the file opened up (a mistaken chmod), the gateway refuses peers that are neither its own
  // user nor root.
  await fs.chmod(path.dirname(path.dirname(sock)), 0o711);
  await fs.chmod(path.dirname(sock), 0o711);
  await fs.chmod(sock, 0o666);
  r = await cliAsNobody(['vendor', 'pause', 'alpha', '--socket', sock]);
  assert.equal(r.status, 2, show(r));
  assert.match(r.stderr, /permission denied: uid 65534, pid \d+ is not the gateway's user/);
  assert.match(gw.stderr(), /admin: refusing a connection from uid 65534/);
  assert.equal((await states(gw)).alpha.state, 'active');
});

test('dead letters: a vendor\'s 4xx refusals are listed with its reason and re-driven', async (t) => {
  const h = harness(t);
  // Refuses the first request for good (400), accepts what comes after. The refusal ends in bytes that
  // are not UTF-8, as a vendor's answer cut mid-character would: the JSON the CLI gets must stay valid.
  const refusal = Buffer.concat([Buffer.from('{"status":0,"error":"event rejected: bad token \u00e9'), Buffer.from([0xff, 0xc3])]);
  const sink = await h.sink({
    answer: (_record, index) => (index === 0 ? { status: 400, body: refusal } : undefined),
  });
  const gw = await started(await h.gateway({ vendors: [{ name: 'refuser', kind: 'mixpanel', endpoint: sink.url, gzip: false }] }));
  await track(gw, events('refused', 1));

  let r;
  await waitFor(async () => {
    r = await vendor(gw, ['dead-letters', 'refuser', '--show-data'], { json: true });
    return r.status === 0 && r.json.count === 1;
  }, 15_000, () => `a dead letter; last answer: ${r && show(r)}\n${sink.summary()}\n${gw.logs()}`);
  const [item] = r.json.items;
  assert.equal((await vendor(gw, ['show', 'refuser'], { json: true })).json.dead_letters, 1,
               'the vendor shows the dead letter waiting in its file');
  assert.equal(item.http_status, 400);
  assert.match(item.reason, /bad token \u00e9/);
  assert.ok(item.reason.includes('\ufffd'), `invalid UTF-8 shown as U+FFFD: ${JSON.stringify(item.reason)}`);
  assert.equal(item.endpoint, '/track');
  assert.ok(item.seq > 0);
  assert.match(item.data, /refused-0/);

  r = await vendor(gw, ['dead-letters', 'refuser']);
  assert.equal(r.status, 0, show(r));
  assert.match(r.stdout, /refuser: 1 dead letter/);
  assert.match(r.stdout, /\/track\s+400\s+\d{4}-\d\d-\d\dT[\d:]+Z\s+.*bad token/);
  const shown = await vendor(gw, ['show', 'refuser']);
  assert.match(shown.stdout, /^dead-lettered:\s+1 /m);
  assert.match(shown.stdout, /^connections:\s+4 \(0 request\(s\) in flight\)$/m, 'the default for an endpoint');

  r = await vendor(gw, ['redrive', 'refuser']);
  assert.equal(r.status, 0, show(r));
  assert.match(r.stdout, /1 dead letter\(s\) re-driven/);
  await waitFor(() => sink.events('/track', { status: 200 }).some((e) => e.properties.$insert_id === 'refused-0'),
    15_000, () => `the re-driven event at the vendor\n${sink.summary()}`);
  r = await vendor(gw, ['dead-letters', 'refuser'], { json: true });
  assert.equal(r.json.count, 0, show(r));
  assert.equal((await vendor(gw, ['show', 'refuser'], { json: true })).json.dead_letters, 0, 'none left after redrive');
});

test('spool verify: a clean spool exits 0, a damaged copy exits 1 naming the segment', async (t) => {
  const h = harness(t);
  const gw = await started(await h.gateway({ vendors: [{ name: 'alpha', kind: 'mixpanel' }] }));
  // Paused, so the records stay in the spool.
  let r = await vendor(gw, ['pause', 'alpha']);
  assert.equal(r.status, 0, show(r));
  await track(gw, events('kept', 3));
  await waitFor(async () => (await states(gw)).alpha.pending === 3, 10_000, 'alpha holding 3 events');
  r = await vendor(gw, ['list']);
  assert.equal((await gw.stop()).code, 0, gw.logs());

  r = await cli(['spool', 'verify', '--data-dir', gw.dataDir]);
  assert.equal(r.status, 0, show(r));
  assert.match(r.stdout, /OK/);
  assert.match(r.stdout, /^\s+alpha\s+3\s+\d+\s+3\s/m);
  r = await cli(['spool', 'verify', '--config', gw.configPath, '--format', 'json']);
  assert.equal(r.status, 0, show(r));
  const report = JSON.parse(r.stdout);
  assert.equal(report.ok, true);
  assert.deepEqual(report.problems, []);
  assert.equal(report.vendors.find((v) => v.name === 'alpha').pending_records, 3);

  // Flip one byte of the first record's payload in a copy of the spool.
  const copy = path.join(await h.tempDir(), 'data');
  await fs.cp(path.join(gw.dataDir, 'spool'), path.join(copy, 'spool'), { recursive: true });
  const segments = (await fs.readdir(path.join(copy, 'spool'))).filter((f) => f.endsWith('.seg'));
  let damaged;
  for (const name of segments) {
    const file = path.join(copy, 'spool', name);
    const bytes = await fs.readFile(file);
    const headerLen = bytes.readUInt32LE(8);
    if (bytes.length > headerLen + 32 + 4) {
      bytes[headerLen + 32 + 2] ^= 0x40;
      await fs.writeFile(file, bytes);
      damaged = name;
      break;
    }
  }
  assert.ok(damaged, `a segment with records among ${segments.join(', ')}`);
  r = await cli(['spool', 'verify', '--data-dir', copy]);
  assert.equal(r.status, 1, show(r));
  assert.ok(r.stdout.includes(damaged), show(r));
  assert.match(r.stdout, /problem/);
  r = await cli(['spool', 'verify', '--data-dir', copy, '--format', 'json']);
  assert.equal(r.status, 1, show(r));
  assert.ok(JSON.parse(r.stdout).problems[0].file.endsWith(damaged), r.stdout);

  // No spool at all: cannot read (2).
  r = await cli(['spool', 'verify', '--data-dir', path.join(copy, 'nothing-here')]);
  assert.equal(r.status, 2, show(r));
  assert.match(r.stderr, /no spool at/);
});
