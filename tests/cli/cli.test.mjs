// The command line as a user runs it: exit codes, error formats and output of check-config and explain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = process.env.VG_BIN;
const run = (args, input) => spawnSync(BIN, args, { input, encoding: 'utf8', timeout: 30000 });

function withDir(fn) {
  const dir = mkdtempSync(join(tmpdir(), 'vg-cli-'));
  try { return fn(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
}

test('every command answers --help', () => {
  for (const cmd of [[], ['serve'], ['check-config'], ['explain']]) {
    const r = run([...cmd, '--help']);
    assert.equal(r.status, 0, `${cmd.join(' ')} --help: ${r.stderr}`);
    assert.match(r.stdout, /Usage|Options/);
  }
});

test('check-config accepts the embedded default and a valid file', () => withDir((dir) => {
  let r = run(['check-config']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /<default>: OK, 1 vendor/);
  const file = join(dir, 'ok.yaml');
  writeFileSync(file, 'listen: 127.0.0.1:9000\nvendors:\n  - name: mixpanel\n    kind: mixpanel\n    endpoint: https://api.mixpanel.com\n');
  r = run(['check-config', '--config', file, '--format', 'json']);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.ok, true);
  assert.deepEqual(out.vendors, [{ name: 'mixpanel', mode: 'forward', policy: 'strict-default' }]);
  assert.deepEqual(out.ledger, { retention_days: null, retention_check_interval: 3600 });
}));

test('check-config shows and validates the ledger retention (not the vendors\' retention_days)', () => withDir((dir) => {
  const file = join(dir, 'ledger.yaml');
  writeFileSync(file, 'vendors:\n  - name: mixpanel\n    kind: mixpanel\n    retention_days: 30\n' +
    'ledger:\n  retention_days: 400\n  retention_check_interval: 60\n');
  let r = run(['check-config', '--config', file]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /ledger: disclosure records kept 400 day\(s\), checked every 60 s/);
  r = run(['check-config', '--config', file, '--format', 'json']);
  assert.deepEqual(JSON.parse(r.stdout).ledger, { retention_days: 400, retention_check_interval: 60 });
  writeFileSync(file, 'vendors:\n  - name: mixpanel\n    kind: mixpanel\nledger:\n  retention_days: 0\n');
  r = run(['check-config', '--config', file]);
  assert.equal(r.status, 1);
  assert.equal(r.stderr.trim(), `${file}:5:19: 'retention_days' must be a number of days from 1 to 36500 (leave it out ` +
    'to keep the ledger forever)');
}));

test('check-config reports FILE:LINE:COL: reason and exits 1', () => withDir((dir) => {
  const cases = [
    ['vendors:\n  - name: mixpanel\n    kind: mixpanel\n    polcy: {}\n', /:4:5: .*unknown key 'polcy'/],
    ['listen: 127.0.0.1:8080\nmax_body_bytes: lots\nvendors:\n  - name: m\n    kind: mixpanel\n', /:2:17: .*max_body_bytes/],
    ['vendors:\n  - name: m\n    kind: segmint\n', /:3:11: .*kind/],
    ['vendors: [\n', /:\d+:\d+: /],
  ];
  for (const [yaml, re] of cases) {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, yaml);
    const r = run(['check-config', '--config', file]);
    assert.equal(r.status, 1, yaml);
    assert.ok(r.stderr.startsWith(file + ':'), r.stderr);
    assert.match(r.stderr, re);
    // serve refuses to start on the same error.
    const s = run(['serve', '--config', file]);
    assert.equal(s.status, 1);
    assert.equal(s.stderr.trim(), r.stderr.trim());
  }
  const missing = run(['check-config', '--config', join(dir, 'nope.yaml')]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /nope\.yaml/);
}));

test('explain shows what the vendor receives, which rule did what, and the categories', () => withDir((dir) => {
  const event = JSON.stringify({
    event: 'Signed up',
    properties: { distinct_id: 'user-42', $email: 'jane@example.com', ip: '8.8.8.8', $browser: 'Chrome', plan: 'pro', $insert_id: 'abc' },
  });
  const file = join(dir, 'config.yaml');
  writeFileSync(file, `data_dir: ${dir}/data\nvendors:\n  - name: mixpanel\n    kind: mixpanel\n`);
  const r = run(['explain', '--config', file, '--vendor', 'mixpanel', '--format', 'json', '-'], event);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  const sends = out.events[0].sends;
  assert.match(sends.properties.distinct_id, /^vg1-[0-9a-f]{32}$/);
  assert.equal(sends.properties.$insert_id, 'abc');
  assert.equal(sends.properties.$email, undefined);
  assert.equal(sends.properties.ip, undefined);
  assert.equal(sends.properties.plan, undefined);
  const rules = Object.fromEntries(out.events[0].rules.map((a) => [a.property, a.rule]));
  assert.equal(rules['properties.$email'], 'contact-fields');
  assert.equal(rules['properties.ip'], 'ip');
  assert.equal(rules['properties.plan'], 'allow-list');
  assert.equal(rules['properties.distinct_id'], 'pseudonymize');
  assert.deepEqual(out.categories, ['identifier', 'device', 'activity']);
  assert.ok(!r.stdout.includes('jane@example.com'));

  const text = run(['explain', '--config', file, '--vendor', 'mixpanel', '-'], event);
  assert.equal(text.status, 0);
  assert.match(text.stdout, /contact-fields\s+properties\.\$email\s+dropped/);
  assert.match(text.stdout, /categories that leave for mixpanel: identifier,device,activity/);

  const unknown = run(['explain', '--config', file, '--vendor', 'amplitude', '-'], event);
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /no vendor named 'amplitude'/);
  const bad = run(['explain', '--config', file, '--vendor', 'mixpanel', '-'], '{"event":');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /invalid JSON/);
}));

test('keys rotate adds an epoch, and pseudonyms change only for vendors that do not pin one', () => withDir((dir) => {
  const file = join(dir, 'config.yaml');
  writeFileSync(file, `data_dir: ${dir}/data\nvendors:\n  - name: mixpanel\n    kind: mixpanel\n  - name: pinned\n    kind: mixpanel\n    key_epoch: 1\n`);
  let r = run(['keys', '--config', file, 'status']);
  assert.equal(r.status, 1, 'no key file yet');
  assert.match(r.stderr, /no key file/);
  r = run(['keys', '--config', file, '--format', 'json', 'rotate']);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).current_epoch, 2);
  const event = JSON.stringify({ event: 'e', properties: { distinct_id: 'user-42' } });
  const idFor = (vendor) => {
    const out = run(['explain', '--config', file, '--vendor', vendor, '--format', 'json', '-'], event);
    assert.equal(out.status, 0, out.stderr);
    return JSON.parse(out.stdout).events[0].sends.properties.distinct_id;
  };
  const before = { mixpanel: idFor('mixpanel'), pinned: idFor('pinned') };
  assert.match(before.mixpanel, /^vg2-/);
  assert.match(before.pinned, /^vg1-/);
  r = run(['keys', '--config', file, 'rotate']);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /rotated from epoch 2 to 3/);
  assert.match(idFor('mixpanel'), /^vg3-/);
  assert.equal(idFor('pinned'), before.pinned);
  assert.equal(run(['keys', '--config', file, 'status']).stdout.trim(), `${dir}/data/keys/pseudonym.keys: current epoch 3`);
}));

test('serve --log-format json writes one JSON object per log line', { timeout: 60_000 }, async () => {
  const { spawn } = await import('node:child_process');
  const { existsSync, readFileSync } = await import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'vg-cli-log-'));
  try {
    const config = join(dir, 'c.yaml');
    writeFileSync(config, `listen: 127.0.0.1:0\ndata_dir: ${JSON.stringify(join(dir, 'data'))}\n` +
                          'admin:\n  listen: 127.0.0.1:0\n' +
                          'vendors:\n  - name: shadowed\n    kind: mixpanel\n');
    const portFile = join(dir, 'port');
    const child = spawn(BIN, ['serve', '--config', config, '--port-file', portFile, '--log-format', 'json']);
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    const deadline = Date.now() + 30_000;
    while (!existsSync(portFile) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(existsSync(portFile), `the gateway did not start:\n${stderr}`);
    const port = Number(readFileSync(portFile, 'utf8'));
    const res = await fetch(`http://127.0.0.1:${port}/track`, { method: 'POST', body: 'data=%7B%22event%22%3A%22a%22%7D',
                                                                  headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    assert.equal(res.status, 200);
    child.kill('SIGTERM');
    assert.deepEqual(await exited, { code: 0, signal: null }, stderr);
    const lines = stderr.split('\n').filter(Boolean);
    assert.ok(lines.length >= 3, stderr);
    for (const line of lines) {
      const entry = JSON.parse(line);  // throws on a line that is not JSON
      assert.match(entry.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}/, line);
      assert.ok(['info', 'warning', 'error', 'critical', 'debug'].includes(entry.level), line);
      assert.equal(typeof entry.msg, 'string', line);
    }
    assert.ok(lines.some((l) => JSON.parse(l).msg.includes('listening on 127.0.0.1')), stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
