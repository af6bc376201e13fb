// `vendorguard ledger verify|who|subject|vendors` as an operator runs them, on ledgers written through the
// real Ledger API by tests/cli/ledger_fixture.cc: every answer in table, json and csv equals what the
// records the test generated say (expectations computed here, not hard-coded), times parsed as dates,
// date-times with offsets and fractions (a date-only --to means through that day), bad input refused with
// the reason and exit 2, verify exit 0 on an intact ledger and 1 naming the file after a flipped byte in a
// segment, a dropped write-ahead-log record or a replaced signed head, and queries while the fixture holds
// the ledger open as its writer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = process.env.VG_BIN;
const FIXTURE = process.env.VG_LEDGER_FIXTURE;
const skip = BIN && FIXTURE ? false : 'VG_BIN and VG_LEDGER_FIXTURE must name the built binaries (ctest sets them)';

const run = (args, opts = {}) => spawnSync(BIN, args, { encoding: 'utf8', timeout: 60000, maxBuffer: 64 << 20, ...opts });
const show = (r, args) => `vendorguard ${(args ?? []).join(' ')} -> ${r.status}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;

function withDir(fn) {
  const dir = mkdtempSync(join(tmpdir(), 'vg-ledger-cli-'));
  const done = () => rmSync(dir, { recursive: true, force: true });
  let result;
  try { result = fn(dir); } catch (e) { done(); throw e; }
  if (result instanceof Promise) return result.finally(done);
  done();
  return result;
}

// The category names by bit, as src/policy/categories.h defines them.
const CATEGORIES = ['identifier', 'contact', 'name', 'location', 'network', 'device', 'referrer', 'free_text',
  'secret', 'activity', 'other', 'financial', 'government_id'];
const VENDORS = [
  { name: 'mixpanel', purpose: 'product analytics', legal_basis: 'consent', destination_country: 'US' },
  { name: 'segment', purpose: 'customer data platform', legal_basis: 'legitimate_interests', destination_country: 'US' },
  { name: 'posthog', purpose: 'product analytics', legal_basis: 'consent', destination_country: 'DE' },
];
const OUTCOMES = ['delivered', 'dead_lettered', 'cut'];
const REACHED = ['delivered', 'dead_lettered'];

const US = (iso) => Date.parse(iso) * 1000;  // ISO with at most milliseconds -> microseconds
const T0 = US('2025-11-01T00:00:00Z');
const DAY = 86_400_000_000;

// ISO 8601 UTC with microseconds, as json and csv write it; `seconds` cuts to seconds, as tables do.
function iso(us, { seconds = false } = {}) {
  const s = new Date(Math.floor(us / 1e6) * 1000).toISOString().slice(0, 19);
  return seconds ? `${s}Z` : `${s}.${String(us % 1e6).padStart(6, '0')}Z`;
}

// A seeded generator, so a failure reproduces.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SUBJECTS = [...Array.from({ length: 24 }, (_, i) => `user-${i}@example.com`), 'o"brien, jr', 'zoë'];

// n disclosures over ten days in time order, random vendor, subject (a few anonymous), categories, outcome.
function makeRecords(n, seed, start = T0, span = 10 * DAY) {
  const r = rng(seed);
  const out = [];
  for (let i = 0; i < n; i++) {
    const rec = {
      time_us: start + Math.floor((i / n) * span) + Math.floor(r() * 1e6),
      vendor: VENDORS[Math.floor(r() * VENDORS.length)].name,
      categories: [...new Set([0, 1, 2].slice(0, 1 + Math.floor(r() * 3)).map(() => CATEGORIES[Math.floor(r() * 10)]))],
      outcome: r() < 0.7 ? 'delivered' : r() < 0.67 ? 'dead_lettered' : 'cut',
      insert_id: `iid-${seed}-${i}`,
    };
    if (r() > 0.03) rec.subject = SUBJECTS[Math.floor(r() * SUBJECTS.length)];
    out.push(rec);
  }
  return out;
}

// Runs the fixture on `lines` (objects); returns its stdout lines parsed.
function fixture(dir, lines, args = []) {
  const r = spawnSync(FIXTURE, [dir, ...args], { input: lines.map((l) => JSON.stringify(l)).join('\n') + '\n', encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 0, `ledger_fixture: ${r.stderr}`);
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

// A ledger with several sealed segments and a write-ahead log, every vendor declared.
function buildLedger(dir, records, { maxSegment = 100 } = {}) {
  const ledger = join(dir, 'ledger');
  fixture(ledger, [{ vendors: VENDORS }, ...records], ['--max-segment-records', String(maxSegment)]);
  return ledger;
}

// ---- Expectations from the records ----

const catList = (set) => CATEGORIES.filter((c) => set.has(c));
const counts = (a) => ({ delivered: a.delivered, dead_lettered: a.dead_lettered, cut: a.cut, total: a.delivered + a.dead_lettered + a.cut });

function aggregate(records, keyOf) {
  const m = new Map();
  for (const r of records) {
    const k = keyOf(r);
    if (k === undefined) continue;
    let a = m.get(k);
    if (!a) m.set(k, (a = { cats: new Set(), first: Infinity, last: -Infinity, delivered: 0, dead_lettered: 0, cut: 0, subjects: new Set() }));
    for (const c of r.categories) a.cats.add(c);
    a.first = Math.min(a.first, r.time_us);
    a.last = Math.max(a.last, r.time_us);
    a[r.outcome]++;
    if (r.subject) a.subjects.add(r.subject);
  }
  return m;
}

function expectWho(records, vendor, from = -Infinity, to = Infinity, outcomes = REACHED) {
  const m = aggregate(records.filter((r) => r.vendor === vendor && r.subject && r.time_us >= from && r.time_us < to &&
    outcomes.includes(r.outcome)), (r) => r.subject);
  return [...m].map(([subject, a]) => ({ subject, categories: catList(a.cats), first: iso(a.first), last: iso(a.last), counts: counts(a) }))
    .sort((x, y) => (x.subject < y.subject ? -1 : x.subject > y.subject ? 1 : 0));
}

function expectSubject(records, subject, outcomes = REACHED) {
  const m = aggregate(records.filter((r) => r.subject === subject && outcomes.includes(r.outcome)), (r) => r.vendor);
  return VENDORS.map((v, id) => [v, id]).filter(([v]) => m.has(v.name)).map(([v, id]) => {
    const a = m.get(v.name);
    return { vendor: v.name, vendor_id: id, purpose: v.purpose, legal_basis: v.legal_basis, destination_country: v.destination_country,
      categories: catList(a.cats), first: iso(a.first), last: iso(a.last), counts: counts(a) };
  });
}

function expectVendors(records, since = -Infinity, outcomes = REACHED) {
  const m = aggregate(records.filter((r) => r.time_us >= since && outcomes.includes(r.outcome)), (r) => r.vendor);
  return VENDORS.map((v, id) => {
    const a = m.get(v.name);
    return { vendor: v.name, vendor_id: id, purpose: v.purpose, legal_basis: v.legal_basis, destination_country: v.destination_country,
      current: true, categories: a ? catList(a.cats) : [], distinct_subjects: a ? a.subjects.size : 0,
      counts: a ? counts(a) : { delivered: 0, dead_lettered: 0, cut: 0, total: 0 }, first: a ? iso(a.first) : null, last: a ? iso(a.last) : null };
  });
}

// ---- Output parsers ----

// RFC 4180: quoted fields with "" for a quote, CRLF line ends.
function parseCsv(text) {
  const rows = [];
  let row = [], field = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false; else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; } else if (c === '\r' && text[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i++; } else field += c;
  }
  assert.equal(field, '', 'CSV ends with CRLF');
  const [header, ...body] = rows;
  return body.map((cells) => Object.fromEntries(header.map((h, i) => [h, cells[i]])));
}

// An aligned table after a one-line summary: cells are separated by two or more spaces.
function parseTable(stdout) {
  const lines = stdout.trimEnd().split('\n');
  const [summary, header, ...rows] = lines;
  if (!header) return { summary, rows: [] };
  const names = header.split(/ {2,}/);
  return { summary, rows: rows.map((l) => { const cells = l.split(/ {2,}/); assert.equal(cells.length, names.length, l); return Object.fromEntries(names.map((n, i) => [n, cells[i]])); }) };
}

function ledgerCmd(ledger, args, format) {
  const full = ['ledger', ...args, '--ledger', ledger, ...(format ? ['--format', format] : [])];
  const r = run(full);
  r.args = full;
  return r;
}

// `who` in all three formats, each compared with the expectation.
function checkWho(ledger, args, want) {
  const j = ledgerCmd(ledger, ['who', ...args], 'json');
  assert.equal(j.status, 0, show(j, j.args));
  const got = JSON.parse(j.stdout);
  assert.equal(got.count, want.length);
  assert.deepEqual(got.subjects.map(({ subject, categories, first, last, counts: c }) => ({ subject, categories, first, last, counts: c })), want, show(j, j.args));
  for (const s of got.subjects) assert.match(s.subject_hash, /^[0-9a-f]{32}$/);
  const hashes = new Map(got.subjects.map((s) => [s.subject, s.subject_hash]));

  const c = ledgerCmd(ledger, ['who', ...args], 'csv');
  assert.equal(c.status, 0, show(c, c.args));
  assert.deepEqual(parseCsv(c.stdout), want.map((w) => ({ subject: w.subject, erased: 'false', subject_hash: hashes.get(w.subject),
    categories: w.categories.join(','), first: w.first, last: w.last, delivered: String(w.counts.delivered),
    dead_lettered: String(w.counts.dead_lettered), cut: String(w.counts.cut), total: String(w.counts.total) })));

  const t = ledgerCmd(ledger, ['who', ...args]);
  assert.equal(t.status, 0, show(t, t.args));
  const table = parseTable(t.stdout);
  assert.match(table.summary, new RegExp(`^${want.length} subject\\(s\\) disclosed to `));
  const sec = (s) => iso(US(s.replace(/\.\d+Z$/, 'Z')), { seconds: true });
  assert.deepEqual(table.rows, want.map((w) => ({ SUBJECT: w.subject, 'SUBJECT HASH': hashes.get(w.subject),
    CATEGORIES: w.categories.join(',') || '-', FIRST: sec(w.first), LAST: sec(w.last), DELIVERED: String(w.counts.delivered),
    'DEAD-LETTERED': String(w.counts.dead_lettered), CUT: String(w.counts.cut), TOTAL: String(w.counts.total) })));
  return got;
}

// ---- Tests ----

test('who, subject and vendors answer in json, csv and table exactly what the records say', { skip }, () => withDir((dir) => {
  const records = makeRecords(700, 1);
  const ledger = buildLedger(dir, records);
  assert.ok(readdirSync(ledger).filter((f) => f.endsWith('.vgl')).length >= 3, 'several sealed segments');

  for (const v of VENDORS) checkWho(ledger, ['--vendor', v.name], expectWho(records, v.name));
  const from = T0 + 2 * DAY + 12_345_678, to = T0 + 6 * DAY + 987_654;
  checkWho(ledger, ['--vendor', 'segment', '--from', iso(from), '--to', iso(to)], expectWho(records, 'segment', from, to));
  for (const outcome of ['all', 'delivered', 'dead_lettered', 'cut']) {
    checkWho(ledger, ['--vendor', 'mixpanel', '--outcome', outcome],
      expectWho(records, 'mixpanel', -Infinity, Infinity, outcome === 'all' ? OUTCOMES : [outcome]));
  }

  // subject: every vendor, with the declaration, in all three formats; the CSV-hostile and non-ASCII ones too.
  for (const subject of ['user-3@example.com', 'o"brien, jr', 'zoë']) {
    const want = expectSubject(records, subject);
    assert.ok(want.length > 0, subject);
    const j = ledgerCmd(ledger, ['subject', subject], 'json');
    assert.equal(j.status, 0, show(j, j.args));
    const got = JSON.parse(j.stdout);
    assert.equal(got.found, true);
    assert.equal(got.erased, false);
    assert.deepEqual(got.outcomes, REACHED);
    assert.deepEqual(got.vendors, want);
    const c = ledgerCmd(ledger, ['subject', subject], 'csv');
    assert.equal(c.status, 0, show(c, c.args));
    assert.deepEqual(parseCsv(c.stdout), want.map((w) => ({ vendor: w.vendor, vendor_id: String(w.vendor_id), purpose: w.purpose,
      legal_basis: w.legal_basis, destination_country: w.destination_country, categories: w.categories.join(','), first: w.first,
      last: w.last, delivered: String(w.counts.delivered), dead_lettered: String(w.counts.dead_lettered), cut: String(w.counts.cut),
      total: String(w.counts.total) })));
    const t = ledgerCmd(ledger, ['subject', subject]);
    assert.equal(t.status, 0, show(t, t.args));
    const table = parseTable(t.stdout);
    assert.equal(table.summary, `subject '${subject}': ${want.length} vendor(s), delivered or dead_lettered`);
    assert.deepEqual(table.rows.map((r) => [r.VENDOR, r.PURPOSE, r['LEGAL BASIS'], r.COUNTRY, r.CATEGORIES, r.TOTAL]),
      want.map((w) => [w.vendor, w.purpose, w.legal_basis, w.destination_country, w.categories.join(','), String(w.counts.total)]));
  }
  const all = ledgerCmd(ledger, ['subject', 'user-5@example.com', '--outcome', 'all'], 'json');
  assert.deepEqual(JSON.parse(all.stdout).vendors, expectSubject(records, 'user-5@example.com', OUTCOMES));

  // subject the ledger knows nothing about: exit 1, like grep.
  let r = ledgerCmd(ledger, ['subject', 'nobody@example.com']);
  assert.equal(r.status, 1, show(r, r.args));
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /holds no record about 'nobody@example\.com'/);
  r = ledgerCmd(ledger, ['subject', 'nobody@example.com'], 'json');
  assert.equal(r.status, 1);
  assert.deepEqual(JSON.parse(r.stdout), { subject: 'nobody@example.com', found: false, erased: false, outcomes: REACHED, vendors: [] });

  // vendors: the vendor review, all time and --since, all three formats.
  for (const [args, since] of [[[], -Infinity], [['--since', '2025-11-06'], US('2025-11-06T00:00:00Z')]]) {
    const want = expectVendors(records, since);
    const j = ledgerCmd(ledger, ['vendors', ...args], 'json');
    assert.equal(j.status, 0, show(j, j.args));
    const got = JSON.parse(j.stdout);
    assert.equal(got.since, since === -Infinity ? null : iso(since));
    assert.deepEqual(got.vendors, want);
    const c = ledgerCmd(ledger, ['vendors', ...args], 'csv');
    assert.deepEqual(parseCsv(c.stdout), want.map((w) => ({ vendor: w.vendor, vendor_id: String(w.vendor_id), current: 'true',
      purpose: w.purpose, legal_basis: w.legal_basis, destination_country: w.destination_country, categories: w.categories.join(','),
      distinct_subjects: String(w.distinct_subjects), delivered: String(w.counts.delivered), dead_lettered: String(w.counts.dead_lettered),
      cut: String(w.counts.cut), total: String(w.counts.total), first: w.first ?? '', last: w.last ?? '' })));
    const t = ledgerCmd(ledger, ['vendors', ...args]);
    assert.equal(t.status, 0, show(t, t.args));
    const table = parseTable(t.stdout);
    assert.deepEqual(table.rows.map((row) => [row.VENDOR, row.SUBJECTS, row.TOTAL, row.CATEGORIES]),
      want.map((w) => [w.vendor, String(w.distinct_subjects), String(w.counts.total), w.categories.join(',') || '-']));
  }
}));

test('times: dates, date-times with Z, offsets and fractions; a date-only --to means through that day', { skip }, () => withDir((dir) => {
  // Records on both sides of every boundary below.
  const edges = ['2025-11-03T00:00:00Z', '2025-11-03T23:59:59.999Z', '2025-11-04T00:00:00Z', '2025-11-05T11:59:59Z',
    '2025-11-05T12:00:00.123Z', '2025-11-05T12:00:00.124Z', '2025-11-02T23:59:59.999Z'];
  const records = [...makeRecords(300, 2), ...edges.map((e, i) => ({ time_us: US(e), vendor: 'mixpanel', subject: `edge-${i}`,
    categories: ['identifier'], outcome: 'delivered', insert_id: `edge-${i}` }))].sort((a, b) => a.time_us - b.time_us);
  const ledger = buildLedger(dir, records);
  const day3 = US('2025-11-03T00:00:00Z');
  const cases = [
    // [--from, --to, from_us, to_us]
    ['2025-11-03', '2025-11-03', day3, day3 + DAY],  // date-only --to: through the end of that day
    ['2025-11-03T02:00:00+02:00', '2025-11-04T00:00:00Z', day3, day3 + DAY],
    ['2025-11-02T19:00:00-05:00', '2025-11-04T01:00:00+0100', day3, day3 + DAY],
    ['2025-11-03T00:00Z', '2025-11-05T12:00:00.123Z', day3, US('2025-11-05T12:00:00.123Z')],
    ['2025-11-03T00:00:00.000000Z', '2025-11-05T12:00:00.1234567Z', day3, US('2025-11-05T12:00:00.123Z') + 456],
  ];
  for (const [from, to, fromUs, toUs] of cases) {
    const got = checkWho(ledger, ['--vendor', 'mixpanel', '--from', from, '--to', to], expectWho(records, 'mixpanel', fromUs, toUs));
    assert.equal(got.from, iso(fromUs), `${from}`);
    assert.equal(got.to, iso(toUs), `${to}`);
  }
  const inDay = checkWho(ledger, ['--vendor', 'mixpanel', '--from', '2025-11-03', '--to', '2025-11-03'], expectWho(records, 'mixpanel', day3, day3 + DAY));
  const edgeNames = inDay.subjects.map((s) => s.subject).filter((s) => s.startsWith('edge-')).sort();
  assert.deepEqual(edgeNames, ['edge-0', 'edge-1']);
  // --since takes the same forms.
  const j = ledgerCmd(ledger, ['vendors', '--since', '2025-11-05T14:00:00+02:00'], 'json');
  assert.equal(j.status, 0, show(j, j.args));
  assert.deepEqual(JSON.parse(j.stdout).vendors, expectVendors(records, US('2025-11-05T12:00:00Z')));
}));

test('bad input: the exact reason on stderr and exit 2', { skip }, () => withDir((dir) => {
  const ledger = buildLedger(dir, makeRecords(50, 3));
  const cases = [
    [['who', '--vendor', 'mixpanel', '--from', '2025-11-05', '--to', '2025-11-04'], /--from 2025-11-05 .* is not before --to 2025-11-04.*the window \[from, to\) is empty/],
    [['who', '--vendor', 'mixpanel', '--from', '2025-11-05T10:00:00Z', '--to', '2025-11-05T10:00:00Z'], /is not before --to/],
    [['who', '--vendor', 'mixpanel', '--from', '2025-13-01'], /--from: '2025-13-01' has month 13/],
    [['who', '--vendor', 'mixpanel', '--to', '2025-02-29'], /--to: '2025-02-29' has day 29, which 2025-02 does not have/],
    [['who', '--vendor', 'mixpanel', '--from', 'yesterday'], /--from: 'yesterday' is not a date/],
    [['who', '--vendor', 'mixpanel', '--from', '2025-11-05T10:00:00'], /--from: .* has no time zone: add Z for UTC/],
    [['who', '--vendor', 'mixpanel', '--to', '2025-11-05T25:00:00Z'], /--to: .* has hour 25/],
    [['who', '--vendor', 'mixpanel', '--to', '2025-11-05T10:00:00+02:00junk'], /--to: .* extra text after the time zone/],
    [['vendors', '--since', '11/05/2025'], /--since: '11\/05\/2025' is not a date/],
    [['who', '--vendor', 'nope'], /unknown vendor 'nope' \(the ledger knows: mixpanel, segment, posthog\)/],
    [['who'], /--vendor is required/],
    [['who', '--vendor', 'mixpanel', '--outcome', 'sent'], /--outcome/],
    [['vendors', '--format', 'xml'], /--format/],
  ];
  for (const [args, re] of cases) {
    const r = ledgerCmd(ledger, args);
    assert.equal(r.status, 2, show(r, r.args));
    assert.match(r.stderr, re, show(r, r.args));
    assert.equal(r.stdout, '', show(r, r.args));
  }
  // A missing ledger, for every command; nothing is created.
  const missing = join(dir, 'no-ledger');
  for (const args of [['who', '--vendor', 'mixpanel'], ['subject', 'x'], ['vendors'], ['verify']]) {
    const r = ledgerCmd(missing, args);
    assert.equal(r.status, 2, show(r, r.args));
    assert.match(r.stderr, new RegExp(`no ledger at ${missing}`), show(r, r.args));
  }
  assert.throws(() => readdirSync(missing));
  // --config: the ledger under its data_dir; a broken config is exit 2 with its position.
  const config = join(dir, 'vendorguard.yaml');
  writeFileSync(config, `data_dir: ${dir}\nvendors:\n  - name: mixpanel\n    kind: mixpanel\n`);
  let r = run(['ledger', 'vendors', '--config', config, '--format', 'json']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).vendors.length, 3);
  r = run(['ledger', 'vendors', '--config', config, '--ledger', ledger]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--ledger|--config/);
  writeFileSync(config, 'data_dir: [\n');
  r = run(['ledger', 'vendors', '--config', config]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /vendorguard\.yaml:\d+:\d+/);
}));

test('an erased subject shows as (erased) with its keyed hash; its records still count', { skip }, () => withDir((dir) => {
  const records = makeRecords(200, 4);
  const ledger = join(dir, 'ledger');
  fixture(ledger, [{ vendors: VENDORS }, ...records, { cmd: 'erase', subject: 'user-7@example.com', time_us: T0 + 11 * DAY }],
    ['--max-segment-records', '60']);
  const want = expectWho(records, 'mixpanel');
  const erasedWant = want.find((w) => w.subject === 'user-7@example.com');
  assert.ok(erasedWant, 'user-7 was disclosed to mixpanel');
  const j = ledgerCmd(ledger, ['who', '--vendor', 'mixpanel'], 'json');
  assert.equal(j.status, 0, show(j, j.args));
  const got = JSON.parse(j.stdout);
  const erased = got.subjects.filter((s) => s.erased);
  assert.equal(erased.length, 1);
  assert.equal(erased[0].subject, null);
  assert.deepEqual(erased[0].counts, erasedWant.counts);
  assert.deepEqual(erased[0].categories, erasedWant.categories);
  assert.equal(got.subjects.at(-1).erased, true, 'erased subjects come last');
  assert.ok(!j.stdout.includes('user-7@example.com'));
  const t = ledgerCmd(ledger, ['who', '--vendor', 'mixpanel']);
  assert.match(t.stdout, new RegExp(`^\\(erased\\)\\s+${erased[0].subject_hash}\\s`, 'm'));
  const c = ledgerCmd(ledger, ['who', '--vendor', 'mixpanel'], 'csv');
  assert.ok(c.stdout.includes(`\r\n,true,${erased[0].subject_hash},`), c.stdout);
  // Asked by the identifier: found (the keyed hash still answers), marked erased.
  const s = ledgerCmd(ledger, ['subject', 'user-7@example.com'], 'json');
  assert.equal(s.status, 0, show(s, s.args));
  const answer = JSON.parse(s.stdout);
  assert.equal(answer.found, true);
  assert.equal(answer.erased, true);
  assert.deepEqual(answer.vendors, expectSubject(records, 'user-7@example.com'));
  const st = ledgerCmd(ledger, ['subject', 'user-7@example.com']);
  assert.match(st.stdout, /identifier was erased/);
  assert.equal(ledgerCmd(ledger, ['verify']).status, 0);
}));

// Every file under `dir` (recursively), as bytes.
function allBytes(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...allBytes(p));
    else if (e.isFile()) out.push({ path: p, bytes: readFileSync(p) });
  }
  return out;
}

test('erase without a running gateway: opens the ledger itself; 0 erased, 1 nothing to erase; verify still passes', { skip }, () => withDir((dir) => {
  const records = makeRecords(200, 7);
  const data = join(dir, 'data');
  const ledger = join(data, 'ledger');
  fixture(ledger, [{ vendors: VENDORS }, ...records], ['--max-segment-records', '60']);
  const config = join(dir, 'vendorguard.yaml');
  writeFileSync(config, `data_dir: ${data}\nvendors:\n` + VENDORS.map((v) =>
    `  - name: ${v.name}\n    kind: mixpanel\n    purpose: ${v.purpose}\n    legal_basis: ${v.legal_basis}\n` +
    `    destination_country: ${v.destination_country}\n`).join(''));
  const victim = 'user-7@example.com';
  assert.ok(records.some((r) => r.subject === victim));
  const before = run(['ledger', 'subject', victim, '--config', config, '--format', 'json']);
  assert.equal(before.status, 0, show(before));
  assert.equal(JSON.parse(before.stdout).erased, false);

  // No gateway answers on DATA_DIR/admin.sock: the ledger is opened and erased directly.
  const e = run(['ledger', 'erase', victim, '--config', config]);
  assert.equal(e.status, 0, show(e, ['ledger', 'erase', victim]));
  assert.match(e.stdout, /erased the identifier from the disclosure ledger \(directly: no gateway was running\)/);
  assert.match(e.stdout, /kept: its keyed hash [0-9a-f]{32}/);
  const after = run(['ledger', 'subject', victim, '--config', config, '--format', 'json']);
  assert.equal(after.status, 0, show(after));
  const answer = JSON.parse(after.stdout);
  assert.equal(answer.found, true);
  assert.equal(answer.erased, true);
  assert.deepEqual(answer.vendors, expectSubject(records, victim));  // the accounting stays
  for (const f of allBytes(ledger)) assert.ok(!f.bytes.includes(victim), `${f.path} still holds the identifier`);

  // Again, and an identifier the ledger never saw: nothing to erase, exit 1.
  const again = run(['ledger', 'erase', victim, '--config', config]);
  assert.equal(again.status, 1, show(again));
  assert.match(again.stderr, /already erased/);
  const unknown = run(['ledger', 'erase', 'nobody@example.com', '--config', config, '--format', 'json']);
  assert.equal(unknown.status, 1, show(unknown));
  assert.deepEqual(JSON.parse(unknown.stdout), { subject_erased: false, via: 'ledger', reason: 'no_records' });
  // json output of a real erasure.
  const other = 'user-3@example.com';
  const j = run(['ledger', 'erase', other, '--config', config, '--format', 'json']);
  assert.equal(j.status, 0, show(j));
  const got = JSON.parse(j.stdout);
  assert.equal(got.subject_erased, true);
  assert.equal(got.via, 'ledger');
  assert.ok(got.segments_rewritten >= 1, j.stdout);
  assert.match(got.subject_hash, /^[0-9a-f]{32}$/);

  const v = run(['ledger', 'verify', '--config', config]);
  assert.equal(v.status, 0, show(v));

  // Usage errors: exit 2.
  assert.equal(run(['ledger', 'erase', '', '--config', config]).status, 2);
  assert.equal(run(['ledger', 'erase', victim, '--ledger', ledger]).status, 2);
  writeFileSync(join(dir, 'empty.yaml'), `data_dir: ${join(dir, 'nothing-here')}\nvendors:\n  - name: mixpanel\n    kind: mixpanel\n`);
  const none = run(['ledger', 'erase', victim, '--config', join(dir, 'empty.yaml')]);
  assert.equal(none.status, 2, show(none));
  assert.match(none.stderr, /no ledger at/);
  assert.ok(!allBytes(dir).some((f) => f.path.includes('nothing-here')), 'no ledger was created for a wrong config');

  const help = run(['ledger', 'erase', '--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /keyed hash/);
  assert.match(help.stdout, /categories, times/);
  assert.match(help.stdout, /accounting of disclosures/);
}));

// The byte offsets of the frames in a write-ahead log (header: magic, u64 first index, u32 length +
// frontier, u32 CRC; frames: u32 CRC, u32 length, u32 count, body).
function walFrames(buf) {
  let pos = 8 + 8;
  pos += 4 + buf.readUInt32LE(pos) + 4;
  const frames = [];
  while (pos + 12 <= buf.length) {
    const len = buf.readUInt32LE(pos + 4);
    frames.push({ start: pos, end: pos + 12 + len });
    pos += 12 + len;
  }
  return frames;
}

test('verify: 0 and what was checked on an intact ledger; 1 naming the file after tampering; 2 without a ledger', { skip }, () => withDir((dir) => {
  const records = makeRecords(400, 5, T0, DAY / 2);  // one day: segments cut by count only
  const build = (name) => {
    const ledger = join(dir, name);
    // Four sealed segments; then one record per line and a signed head after each (one WAL frame and one
    // head per record), so that damage in the write-ahead log is pinned to its record.
    fixture(ledger, [{ vendors: VENDORS }, ...records.slice(0, 370), { cmd: 'seal' },
      ...records.slice(370).flatMap((rec) => [rec, { cmd: 'flush' }])], ['--max-segment-records', '100', '--head-interval-us', '0']);
    return ledger;
  };
  const intact = build('intact');
  let r = ledgerCmd(intact, ['verify']);
  assert.equal(r.status, 0, show(r, r.args));
  assert.match(r.stdout, new RegExp(`^ledger ${intact}: OK\\n`));
  assert.match(r.stdout, /segments: 4\n/);
  assert.match(r.stdout, /records: {2}403 leaves recomputed/);
  assert.match(r.stdout, /heads: {4}\d+ signatures checked with .*head\.pub, \d+ roots recomputed and matched/);
  assert.match(r.stdout, /names: {4}\d+ identifiers checked/);
  r = ledgerCmd(intact, ['verify'], 'json');
  const report = JSON.parse(r.stdout);
  assert.equal(report.ok, true);
  assert.equal(report.records, 403);
  assert.equal(report.segments, 4);
  assert.ok(report.heads >= 1 && report.heads_matched >= 1, r.stdout);
  assert.equal(report.problem, null);
  r = ledgerCmd(intact, ['verify'], 'csv');
  assert.equal(parseCsv(r.stdout)[0].ok, 'true');
  // The auditor's copy of the key.
  const pub = join(dir, 'auditor.pub');
  writeFileSync(pub, readFileSync(join(intact, 'head.pub')));
  assert.equal(ledgerCmd(intact, ['verify', '--public-key', pub]).status, 0);

  // A byte flipped in a sealed segment.
  const flipped = build('flipped');
  const seg = readdirSync(flipped).filter((f) => f.endsWith('.vgl')).sort()[1];
  const bytes = readFileSync(join(flipped, seg));
  bytes[Math.floor(bytes.length / 2)] ^= 0x01;
  writeFileSync(join(flipped, seg), bytes);
  r = ledgerCmd(flipped, ['verify']);
  assert.equal(r.status, 1, show(r, r.args));
  assert.match(r.stdout, /: FAILED\n/);
  assert.match(r.stdout, new RegExp(`file: +${join(flipped, seg)}`));
  assert.match(r.stdout, /offset: +\d+/);
  let j = JSON.parse(ledgerCmd(flipped, ['verify'], 'json').stdout);
  assert.equal(j.ok, false);
  assert.equal(j.file, join(flipped, seg));

  // A record dropped from the middle of the write-ahead log (the frames after it keep valid checksums).
  const dropped = build('dropped');
  const wal = readdirSync(dropped).find((f) => /^wal-\d{20}\.log$/.test(f));
  const walBytes = readFileSync(join(dropped, wal));
  const frames = walFrames(walBytes);
  assert.ok(frames.length >= 20, `${frames.length} frames`);
  const cut = frames[10];
  writeFileSync(join(dropped, wal), Buffer.concat([walBytes.subarray(0, cut.start), walBytes.subarray(cut.end)]));
  r = ledgerCmd(dropped, ['verify'], 'json');
  assert.equal(r.status, 1, show(r, r.args));
  j = JSON.parse(r.stdout);
  assert.equal(j.ok, false);
  assert.match(j.file, new RegExp(wal), r.stdout);
  assert.equal(j.record, 373 + 10, r.stdout);  // the WAL starts at record 373 (3 declarations + 370)

  // A signed head in heads.log replaced by one from another ledger (signed with another key).
  const replaced = build('replaced');
  const other = build('other');
  const heads = readFileSync(join(replaced, 'heads.log'));
  const otherHeads = readFileSync(join(other, 'heads.log'));
  const entry = 4 + 114;
  assert.ok(heads.length >= entry && otherHeads.length >= entry);
  otherHeads.copy(heads, 0, 0, entry);
  writeFileSync(join(replaced, 'heads.log'), heads);
  r = ledgerCmd(replaced, ['verify']);
  assert.equal(r.status, 1, show(r, r.args));
  assert.match(r.stdout, new RegExp(`file: +${join(replaced, 'heads.log')}`));
  assert.match(r.stdout, /offset: +0\n/);
  assert.match(r.stdout, /invalid signature/);
  // The whole ledger swapped for another with its own head.pub: only the auditor's key catches it.
  assert.equal(ledgerCmd(other, ['verify']).status, 0);
  r = ledgerCmd(other, ['verify', '--public-key', pub]);
  assert.equal(r.status, 1, show(r, r.args));
  assert.match(r.stdout, /heads\.log/);

  // Usage errors: a key file that is not a key, an empty directory.
  writeFileSync(join(dir, 'bad.pub'), 'not a key');
  r = ledgerCmd(intact, ['verify', '--public-key', join(dir, 'bad.pub')]);
  assert.equal(r.status, 2, show(r, r.args));
  assert.match(r.stderr, /--public-key .*bad\.pub/);
  r = ledgerCmd(intact, ['verify', '--public-key', join(dir, 'absent.pub')]);
  assert.equal(r.status, 2, show(r, r.args));
  const empty = join(dir, 'empty');
  rmSync(empty, { recursive: true, force: true });
  spawnSync('mkdir', [empty]);
  r = ledgerCmd(empty, ['verify']);
  assert.equal(r.status, 2, show(r, r.args));
  assert.match(r.stderr, /no ledger at .*empty: the directory holds no ledger files/);
}));

// The fixture as a running writer: it holds LOCK and appends as the test writes lines to its stdin.
function startWriter(ledger, args = []) {
  const proc = spawn(FIXTURE, [ledger, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '', err = '';
  const waiters = [];
  proc.stdout.setEncoding('utf8').on('data', (d) => {
    out += d;
    for (const w of waiters.splice(0)) w();
  });
  proc.stderr.setEncoding('utf8').on('data', (d) => { err += d; });
  const exited = new Promise((resolve) => proc.once('close', (status) => resolve(status)));
  return {
    send(lines) { proc.stdin.write(lines.map((l) => JSON.stringify(l)).join('\n') + '\n'); },
    // Writes `lines` and a flush, and waits (10 s at most) for the fixture to say it flushed.
    async flush(lines) {
      const before = (out.match(/"flushed"/g) ?? []).length;
      this.send([...lines, { cmd: 'flush' }]);
      const deadline = Date.now() + 10_000;
      while ((out.match(/"flushed"/g) ?? []).length === before) {
        if (Date.now() > deadline) throw new Error(`the fixture did not flush: ${err}`);
        await new Promise((resolve) => { waiters.push(resolve); setTimeout(resolve, 100); });
      }
    },
    async close() {
      proc.stdin.end();
      const status = await exited;
      assert.equal(status, 0, err);
    },
  };
}

// Runs the CLI without blocking the event loop (the writer's pipes keep draining).
function cliAsync(args) {
  return new Promise((resolve, reject) => {
    const proc = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
    proc.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => proc.kill('SIGKILL'), 60_000);
    proc.once('error', reject);
    proc.once('close', (status) => { clearTimeout(timer); resolve({ status, stdout, stderr, args }); });
  });
}

test('queries and verify while the fixture holds the ledger open as its writer', { skip }, () => withDir(async (dir) => {
  const ledger = join(dir, 'ledger');
  const first = makeRecords(300, 6);
  const writer = startWriter(ledger, ['--max-segment-records', '80']);
  try {
    await writer.flush([{ vendors: VENDORS }, ...first]);
    const q = async (args) => {
      const r = await cliAsync(['ledger', ...args, '--ledger', ledger, '--format', 'json']);
      assert.equal(r.status, 0, show(r, r.args));
      return JSON.parse(r.stdout);
    };
    assert.deepEqual((await q(['who', '--vendor', 'posthog'])).subjects.map((s) => s.subject), expectWho(first, 'posthog').map((w) => w.subject));
    assert.deepEqual((await q(['vendors'])).vendors, expectVendors(first));
    assert.equal((await q(['verify'])).ok, true);

    // The writer goes on (sealing on the way); new queries see the new records once they are flushed.
    const more = makeRecords(200, 7, T0 + 10 * DAY, 2 * DAY);
    await writer.flush(more);
    const all = [...first, ...more];
    assert.deepEqual((await q(['vendors'])).vendors, expectVendors(all));
    const who = await q(['who', '--vendor', 'segment', '--from', '2025-11-11']);
    assert.deepEqual(who.subjects.map(({ subject, counts: c }) => ({ subject, counts: c })),
      expectWho(all, 'segment', US('2025-11-11T00:00:00Z')).map(({ subject, counts: c }) => ({ subject, counts: c })));
    const v = await q(['verify']);
    assert.equal(v.ok, true, JSON.stringify(v));
    assert.equal(v.records, 503);
  } finally {
    await writer.close();
  }
  // Nothing the readers did got in the writer's way: it closed cleanly, and the ledger verifies.
  const r = ledgerCmd(ledger, ['verify']);
  assert.equal(r.status, 0, show(r, r.args));
}));

test('every ledger command answers --help, documenting the times', { skip }, () => {
  for (const cmd of [['ledger'], ['ledger', 'verify'], ['ledger', 'who'], ['ledger', 'subject'], ['ledger', 'vendors'],
    ['ledger', 'erase']]) {
    const r = run([...cmd, '--help']);
    assert.equal(r.status, 0, `${cmd.join(' ')} --help: ${r.stderr}`);
    assert.match(r.stdout, /Usage|Options/);
    assert.match(r.stdout, /--format|--ledger/);
  }
  const who = run(['ledger', 'who', '--help']).stdout;
  assert.match(who, /through the end of that day/);
  assert.match(who, /2025-11-09T12:00:00\+02:00/);
  assert.match(run(['ledger', 'verify', '--help']).stdout, /--public-key/);
  assert.match(run(['--help']).stdout, /ledger/);
});
