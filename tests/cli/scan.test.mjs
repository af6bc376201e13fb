// `vendorguard scan` as a user runs it: JSONL, JSON, CSV and text files; exit codes 0 (nothing found),
// 1 (found), 2 (error); errors name file and line and the rest is still scanned; matched values are never
// printed without --show-values; and the quality figures on the labeled corpus in ../shared/pii-corpus.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const BIN = process.env.VG_BIN;
const SOURCE_DIR = process.env.VG_SOURCE_DIR ?? process.cwd();
const run = (args, opts = {}) =>
  spawnSync(BIN, args, { encoding: 'utf8', timeout: 120000, maxBuffer: 64 << 20, ...opts });

function withDir(fn) {
  const dir = mkdtempSync(join(tmpdir(), 'vg-scan-'));
  try { return fn(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
}

const findings = (stdout) => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
const brief = (f) => `${f.line} ${f.path} ${f.type} ${f.start}-${f.end}`;

const EMAIL = 'jane.doe@example.com';
const PHONE = '+49 171 2242258';

test('JSONL: one finding per line with file, line, path, type, offsets and confidence; values hidden', () => withDir((dir) => {
  const file = join(dir, 'events.jsonl');
  const events = [
    { event: 'Sign Up', properties: { $email: EMAIL, plan: 'pro' } },
    { event: 'Search', properties: { search_query: 'shoes', tags: ['a', 'b', `sms:${PHONE}`] } },
    { event: 'Page View', properties: { context: { page: { invited_by: 'x', comment: `Call me back on ${PHONE} after 5pm` } } } },
  ];
  writeFileSync(file, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  const r = run(['scan', '--format', 'jsonl', file]);
  assert.equal(r.status, 1, r.stderr);
  const out = findings(r.stdout);
  assert.deepEqual(out.map(brief), [
    '1 properties.$email email 0-20',
    '2 properties.tags[2] phone 4-19',
    '3 properties.context.page.comment phone 16-31',
  ]);
  for (const f of out) {
    assert.equal(f.file, file);
    assert.ok(f.confidence > 0 && f.confidence <= 1, JSON.stringify(f));
    assert.equal(f.value, undefined);
  }
  assert.ok(!r.stdout.includes(EMAIL) && !r.stdout.includes(PHONE), 'matched values must not be printed');
}));

test('--show-values adds the matched text; text format is one line per finding', () => withDir((dir) => {
  const file = join(dir, 'events.jsonl');
  writeFileSync(file, JSON.stringify({ properties: { note: `mail ${EMAIL} now` } }) + '\n');
  let r = run(['scan', '--format', 'jsonl', '--show-values', file]);
  assert.equal(r.status, 1, r.stderr);
  assert.deepEqual(findings(r.stdout).map((f) => [f.type, f.value]), [['email', EMAIL]]);
  r = run(['scan', file]);
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stdout, `${file}:1: properties.note: email at bytes 5-25 (confidence 0.99)\n`);
  r = run(['scan', '--show-values', file]);
  assert.match(r.stdout, /email at bytes 5-25 \(confidence 0\.99\): "jane\.doe@example\.com"/);
}));

test('a clean file exits 0 with no output', () => withDir((dir) => {
  const file = join(dir, 'clean.jsonl');
  writeFileSync(file, [
    { event: 'Page View', properties: { app_version: '2.1.4.13', label: 'logo@2x.png', order_id: 'ORD-884118-8521' } },
    { event: 'Build', properties: { build: 'build 28107a5a9ad5bf4e6c60df52487360ef0c92fdd8', region: 'San Francisco' } },
  ].map((e) => JSON.stringify(e)).join('\n') + '\n');
  const r = run(['scan', '--format', 'jsonl', file]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, '', 'no progress output when stderr is not a terminal');
}));

test('JSON document: lines are where each string value sits; offsets are into the decoded string', () => withDir((dir) => {
  const file = join(dir, 'fixture.json');
  // The escaped quote and \u00e9 decode to one and two bytes: offsets count decoded UTF-8 bytes.
  writeFileSync(file, '[\n  {\n    "properties": {\n      "note": "say \\"hi\\" caf\\u00e9 ' + EMAIL + '"\n    }\n  },\n' +
    '  {\n    "properties": { "ip": "203.0.113.54" }\n  }\n]\n');
  const r = run(['scan', '--format', 'jsonl', file]);
  assert.equal(r.status, 1, r.stderr);
  assert.deepEqual(findings(r.stdout).map(brief), ['4 [0].properties.note email 15-35', '8 [1].properties.ip ip_address 0-12']);
}));

test('JSON document: a bad one reports its error at its line and none of its findings; a bare value is a document', () => withDir((dir) => {
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, `{\n  "a": "${EMAIL}",\n  "b": [1, 2,\n  "c": 3\n}\n`);
  const trailing = join(dir, 'trailing.json');
  writeFileSync(trailing, `{"a": "${EMAIL}"} x\n`);
  const number = join(dir, 'number.json');
  writeFileSync(number, '123\n');
  const string = join(dir, 'string.json');
  writeFileSync(string, `"${EMAIL}"\n`);
  const r = run(['scan', '--format', 'jsonl', bad, trailing, number, string]);
  assert.equal(r.status, 2, r.stderr);
  const errors = r.stderr.trim().split('\n');
  assert.equal(errors.length, 2, r.stderr);
  assert.match(errors[0], /bad\.json:4: invalid JSON/);
  assert.match(errors[1], /trailing\.json:1: .*trailing content/);
  assert.deepEqual(findings(r.stdout).map((f) => `${f.file.split('/').pop()} ${brief(f)}`), ['string.json 1  email 0-20']);
}));

test('CSV: the path is the column header; quoted fields may span lines', () => withDir((dir) => {
  const file = join(dir, 'people.csv');
  writeFileSync(file, `id,email,comment\n1,${EMAIL},"fine, thanks"\n2,nobody,"first line\nCall me back on ${PHONE} after 5pm"\n`);
  const r = run(['scan', '--format', 'jsonl', file]);
  assert.equal(r.status, 1, r.stderr);
  assert.deepEqual(findings(r.stdout).map(brief), ['2 email email 0-20', '3 comment phone 27-42']);
}));

test('text: every line is scanned with an empty path', () => withDir((dir) => {
  const file = join(dir, 'notes.txt');
  writeFileSync(file, `nothing here\nRefund to IBAN GB82 WEST 1234 5698 7654 32 please\nkey AKIAU2E7V2S5W2ZGEH47\n`);
  const r = run(['scan', '--format', 'jsonl', file]);
  assert.equal(r.status, 1, r.stderr);
  assert.deepEqual(findings(r.stdout).map(brief), ['2  iban 15-42', '3  secret 4-24']);
}));

test('bad input: errors name file and line, the rest is still scanned, exit 2', () => withDir((dir) => {
  const jsonl = join(dir, 'broken.jsonl');
  writeFileSync(jsonl, Buffer.concat([
    Buffer.from(JSON.stringify({ properties: { $email: EMAIL } }) + '\n'),
    Buffer.from('{"properties": {"note": "truncated\n'),
    Buffer.from('{"properties": {"note": "bad '), Buffer.from([0xff, 0xfe]), Buffer.from('"}}\n'),
    Buffer.from(JSON.stringify({ properties: { phone_number: PHONE } }) + '\n'),
  ]));
  const binary = join(dir, 'image.bin');
  writeFileSync(binary, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d]));
  const text = join(dir, 'after.txt');
  writeFileSync(text, `write to ${EMAIL}\n`);
  const missing = join(dir, 'missing.jsonl');
  const r = run(['scan', '--format', 'jsonl', jsonl, binary, missing, text]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`${jsonl.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: invalid JSON.*truncated`));
  assert.match(r.stderr, /broken\.jsonl:3: invalid UTF-8/);
  // The PNG signature holds two line breaks before its first NUL byte.
  assert.match(r.stderr, /image\.bin:3: binary data/);
  assert.match(r.stderr, /missing\.jsonl: cannot read/);
  const out = findings(r.stdout);
  assert.deepEqual(out.map((f) => `${f.file.split('/').pop()} ${brief(f)}`), [
    'broken.jsonl 1 properties.$email email 0-20',
    'broken.jsonl 4 properties.phone_number phone 0-15',
    'after.txt 1  email 9-29',
  ]);
  assert.ok(!r.stderr.includes(EMAIL), 'errors do not echo values either');
}));

test('JSONL: a line is checked whole before it is scanned; any JSON value is a line', () => withDir((dir) => {
  const file = join(dir, 'lines.jsonl');
  writeFileSync(file, [
    JSON.stringify({ a: EMAIL }) + ' {"b": 1}',   // 1: two values on a line
    `{"a": "${EMAIL}",}`,                          // 2: a trailing comma
    `{"a": ["${EMAIL}", tru]}`,                    // 3: a bad atom after the finding
    '123',                                          // 4: a number is a JSON value
    `"${EMAIL}"`,                                   // 5: so is a string, scanned with an empty path
    'null',                                         // 6
    `[{"k": ["x", "${PHONE}"]}, "y"]`,             // 7: an array at the root
  ].join('\n') + '\n');
  const r = run(['scan', '--format', 'jsonl', file]);
  assert.equal(r.status, 2, r.stderr);
  const errors = r.stderr.trim().split('\n');
  assert.equal(errors.length, 3, r.stderr);
  assert.match(errors[0], /lines\.jsonl:1: invalid JSON/);
  assert.match(errors[1], /lines\.jsonl:2: invalid JSON/);
  assert.match(errors[2], /lines\.jsonl:3: .*atom/);
  // Nothing from the lines in error: no partial results.
  assert.deepEqual(findings(r.stdout).map(brief), ['5  email 0-20', '7 [0].k[1] phone 0-15']);
}));

test('no files is a usage error', () => {
  const r = run(['scan']);
  assert.equal(r.status, 2);
});

test('quality on the labeled corpus (../shared/pii-corpus): precision >= 0.97, recall >= 0.95, every type >= 0.90', (t) => {
  const corpus = resolve(SOURCE_DIR, '..', 'shared', 'pii-corpus');
  if (!existsSync(join(corpus, 'dev.jsonl')) || !existsSync(join(corpus, 'score.py'))) {
    t.skip(`no labeled corpus at ${corpus}`);
    return;
  }
  withDir((dir) => {
    const out = join(dir, 'findings.jsonl');
    const r = run(['scan', '--format', 'jsonl', join(corpus, 'dev.jsonl')]);
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr, '');
    writeFileSync(out, r.stdout);
    const score = spawnSync('python3', [join(corpus, 'score.py'), join(corpus, 'dev.labels.jsonl'), out,
      '--min-precision', '0.97', '--min-recall', '0.95'], { encoding: 'utf8' });
    t.diagnostic(score.stdout);
    assert.equal(score.status, 0, score.stdout + score.stderr);
    const rows = score.stdout.split('\n').filter((l) => /^[a-z_]+\s+\d+\s+\d+\s+\d+\s+[\d.]+\s+[\d.]+$/.test(l));
    assert.equal(rows.length, 8, score.stdout);
    for (const row of rows) {
      const [type, , , , precision, recall] = row.trim().split(/\s+/);
      assert.ok(Number(precision) >= 0.9 && Number(recall) >= 0.9, `${type}: precision ${precision}, recall ${recall}`);
    }
  });
});
