// `vendorguard notice verify` as a help desk runs it, on notices rendered and signed by the real library
// (tests/cli/notice_fixture.cc, with the key in DATA_DIR/keys as `incident notify` keeps it): a genuine
// notice exits 0 and says so (with its key's own notice.pub, or through a config's data_dir); each tamper
// exits 1 with its own verdict and reason (a word of the text, the recipient in the header or in the signed
// block, the signature block removed, a notice signed by another key, another issuer); a missing file or key
// exits 2; --format json; --export writes the signed bytes and signature that openssl verifies on its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = process.env.VG_BIN;
const FIXTURE = process.env.VG_NOTICE_FIXTURE;
const skip = BIN && FIXTURE ? false : 'VG_BIN and VG_NOTICE_FIXTURE must name the built binaries (ctest sets them)';

const run = (args, opts = {}) => spawnSync(BIN, args, { encoding: 'utf8', timeout: 60000, ...opts });
const show = (r, args) => `vendorguard ${(args ?? []).join(' ')} -> ${r.status}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;

function withDir(fn) {
  const dir = mkdtempSync(join(tmpdir(), 'vg-notice-cli-'));
  try { return fn(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
}

// A notice for `email` signed with the key in dataDir; returns what the fixture printed and the file.
function makeNotice(dataDir, file, extra = []) {
  const r = spawnSync(FIXTURE, [dataDir, file, ...extra], { encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 0, `notice_fixture: ${r.stderr}`);
  return { ...JSON.parse(r.stdout.trim()), file, text: readFileSync(file, 'utf8') };
}

function replaceOnce(text, from, to) {
  const at = text.indexOf(from);
  assert.notEqual(at, -1, `"${from}" not in the notice`);
  return text.slice(0, at) + to + text.slice(at + from.length);
}

const hasOpenssl = spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;

test('notice verify: genuine, each tamper with its reason, missing files, json and export', { skip }, () => withDir((dir) => {
  const data = join(dir, 'data');
  const n = makeNotice(data, join(dir, 'notice.eml'));
  assert.match(n.id, /^N-[0-9A-Z]{10}$/);
  const pub = join(data, 'keys', 'notice.pub');
  assert.ok(existsSync(pub), 'the fixture keeps the key as incident notify does');
  const key = ['--public-key', pub];

  // Genuine: exit 0, and the summary names the notice, issuer, recipient and key.
  let args = ['notice', 'verify', n.file, ...key];
  let r = run(args);
  assert.equal(r.status, 0, show(r, args));
  assert.match(r.stdout, new RegExp(`^genuine: notice ${n.id} from example\\.com to jane@example\\.org, signed with key ${n.key_id}$`, 'm'));
  assert.match(r.stdout, /^subject: Important: a security incident at Mixpanel involved some of your data$/m);

  // Through a config: the key from its data_dir, the issuer checked against organization.domain.
  const config = join(dir, 'vendorguard.yaml');
  const vendors = 'vendors:\n  - name: mixpanel\n    kind: mixpanel\n    endpoint: https://api.mixpanel.com\n';
  writeFileSync(config, `data_dir: ${data}\norganization:\n  name: Example Inc.\n  contact: privacy@example.com\n  domain: example.com\n${vendors}`);
  args = ['notice', 'verify', n.file, '--config', config];
  r = run(args);
  assert.equal(r.status, 0, show(r, args));
  assert.match(r.stdout, /^genuine: /m);
  // ... and a company with another domain does not take it for its own.
  const other = join(dir, 'other.yaml');
  writeFileSync(other, `data_dir: ${data}\norganization:\n  name: Other\n  contact: privacy@other.example\n  domain: other.example\n${vendors}`);
  args = ['notice', 'verify', n.file, '--config', other];
  r = run(args);
  assert.equal(r.status, 1, show(r, args));
  assert.match(r.stdout, /^NOT GENUINE \(wrong_issuer\): the notice claims to come from example\.com, not other\.example/m);

  // Standard input, as a help desk pastes a message.
  r = run(['notice', 'verify', '-', ...key], { input: n.text });
  assert.equal(r.status, 0, show(r, ['notice', 'verify', '-']));

  // Each tamper: exit 1, its verdict and its reason.
  const otherKeyNotice = makeNotice(join(dir, 'attacker'), join(dir, 'attacker.eml'));
  assert.notEqual(otherKeyNotice.key_id, n.key_id);
  const beginAt = n.text.indexOf('-----BEGIN VENDORGUARD NOTICE SIGNATURE-----');
  const endLine = '-----END VENDORGUARD NOTICE SIGNATURE-----\r\n';
  const endAt = n.text.indexOf(endLine);
  assert.ok(beginAt > 0 && endAt > beginAt);
  const tampers = [
    { name: 'a word of the text', text: replaceOnce(n.text, 'We are sorry for the concern', 'We are glad for the concern'),
      verdict: 'signature_mismatch', reason: /the signature does not match the content/ },
    { name: 'the recipient in the To: header', text: replaceOnce(n.text, 'To: "Jane Doe" <jane@example.org>', 'To: "Jane Doe" <mallory@example.org>'),
      verdict: 'header_mismatch', reason: /addressed to mallory@example\.org but the notice was signed for jane@example\.org/ },
    { name: 'the recipient in the header and the signed block',
      text: replaceOnce(replaceOnce(n.text, 'To: "Jane Doe" <jane@example.org>', 'To: "Jane Doe" <mallory@example.org>'),
        'To: jane@example.org', 'To: mallory@example.org'),
      verdict: 'signature_mismatch', reason: /the signature does not match the content/ },
    { name: 'the signature block removed', text: n.text.slice(0, beginAt) + n.text.slice(endAt + endLine.length),
      verdict: 'no_signature_block', reason: /this is not a signed vendorguard notice/ },
    { name: 'signed by another key', text: otherKeyNotice.text,
      verdict: 'unknown_key', reason: new RegExp(`signed with key ${otherKeyNotice.key_id}, which is not our notice key ${n.key_id}`) },
  ];
  for (const t of tampers) {
    assert.notEqual(t.text, n.text, t.name);
    const file = join(dir, 'tampered.eml');
    writeFileSync(file, t.text);
    args = ['notice', 'verify', file, ...key];
    r = run(args);
    assert.equal(r.status, 1, `${t.name}: ${show(r, args)}`);
    assert.match(r.stdout, new RegExp(`^NOT GENUINE \\(${t.verdict}\\): `, 'm'), `${t.name}: ${show(r, args)}`);
    assert.match(r.stdout, t.reason, `${t.name}: ${show(r, args)}`);
    // The same verdict in json.
    r = run([...args, '--format', 'json']);
    assert.equal(r.status, 1, `${t.name}: ${show(r, args)}`);
    const j = JSON.parse(r.stdout);
    assert.equal(j.genuine, false, t.name);
    assert.equal(j.verdict, t.verdict, t.name);
    assert.match(j.reason, t.reason, t.name);
    assert.equal(j.our_key_id, n.key_id);
  }

  // Unreadable input: exit 2 with the reason on stderr, nothing on stdout.
  args = ['notice', 'verify', join(dir, 'no-such.eml'), ...key];
  r = run(args);
  assert.equal(r.status, 2, show(r, args));
  assert.match(r.stderr, /no-such\.eml/);
  assert.equal(r.stdout, '');
  args = ['notice', 'verify', n.file, '--public-key', join(dir, 'no-such.pub')];
  r = run(args);
  assert.equal(r.status, 2, show(r, args));
  assert.match(r.stderr, /notice public key: .*no-such\.pub/);

  // --format json for a genuine notice: every field of the block.
  args = ['notice', 'verify', n.file, ...key, '--format', 'json'];
  r = run(args);
  assert.equal(r.status, 0, show(r, args));
  assert.deepEqual(JSON.parse(r.stdout), {
    genuine: true, verdict: 'genuine', reason: `genuine: notice ${n.id} from example.com to jane@example.org, signed with key ${n.key_id}`,
    notice_id: n.id, issuer: 'example.com', recipient: 'jane@example.org', subject: n.subject, key_id: n.key_id, our_key_id: n.key_id,
  });
}));

test('notice verify --export: openssl checks the signed bytes on its own', { skip: skip || (!hasOpenssl && 'openssl is not installed') }, () => withDir((dir) => {
  const data = join(dir, 'data');
  const n = makeNotice(data, join(dir, 'notice.eml'), ['--locale', 'de-AT', '--name', 'Jörg Müller']);
  assert.match(n.subject, /^Wichtig: /, 'a de-AT contact gets the German notice');
  const pub = join(data, 'keys', 'notice.pub');
  const prefix = join(dir, 'export');
  const args = ['notice', 'verify', n.file, '--public-key', pub, '--export', prefix];
  const r = run(args);
  assert.equal(r.status, 0, show(r, args));
  const msg = readFileSync(`${prefix}.msg`, 'utf8');
  assert.ok(msg.startsWith(`vendorguard-notice-v1\nnotice: ${n.id}\nissuer: example.com\nkey: ${n.key_id}\nto: jane@example.org\nsubject: ${n.subject}\n\n`), msg.slice(0, 300));
  assert.match(msg, /Guten Tag Jörg Müller,/);
  assert.equal(readFileSync(`${prefix}.sig`).length, 64);
  const openssl = (m) => spawnSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', pub, '-rawin', '-in', m, '-sigfile', `${prefix}.sig`], { encoding: 'utf8' });
  let o = openssl(`${prefix}.msg`);
  assert.equal(o.status, 0, o.stdout + o.stderr);
  assert.match(o.stdout, /Signature Verified Successfully/);
  // One changed byte of the signed text and openssl refuses it too.
  writeFileSync(join(dir, 'forged.msg'), msg.replace('Guten Tag', 'Guten Abend'));
  o = openssl(join(dir, 'forged.msg'));
  assert.notEqual(o.status, 0, o.stdout + o.stderr);
  // Nothing to export from a message without a block: exit 2, no files.
  const plain = join(dir, 'plain.eml');
  writeFileSync(plain, 'From: a@example.com\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nhello\r\n');
  const r2 = run(['notice', 'verify', plain, '--public-key', pub, '--export', join(dir, 'none')]);
  assert.equal(r2.status, 2, show(r2));
  assert.match(r2.stderr, /nothing to export/);
  assert.ok(!existsSync(join(dir, 'none.msg')));
}));
