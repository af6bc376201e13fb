// Baseline for the PII scan benchmark: the npm package redact-pii (3.4.0, regular expressions and a
// names list) over the same corpus event stream, one core.
//
//   node bench/redact_pii_baseline.mjs CORPUS.jsonl FINDINGS.jsonl
//
// Prints its throughput over the bytes of the string values it scanned, and writes its findings in the
// format of `vendorguard scan --format jsonl` so ../shared/pii-corpus/score.py can score them. redact-pii
// only returns redacted text, so spans are recovered by aligning the redacted text with the original;
// its placeholders map to our types where one exists (URL, DIGITS, ZIPCODE, STREET_ADDRESS and USERNAME
// have none and are reported as type "other", which the scorer counts as false positives only if it
// matches no label type — they are listed separately in the summary).
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { SyncRedactor } = require('redact-pii');

const [corpusPath, outPath] = process.argv.slice(2);
if (!corpusPath || !outPath) {
  console.error('usage: node bench/redact_pii_baseline.mjs CORPUS.jsonl FINDINGS.jsonl');
  process.exit(2);
}

const TYPES = {
  EMAIL_ADDRESS: 'email',
  PHONE_NUMBER: 'phone',
  IP_ADDRESS: 'ip_address',
  CREDIT_CARD_NUMBER: 'credit_card',
  US_SOCIAL_SECURITY_NUMBER: 'us_ssn',
  PERSON_NAME: 'person_name',
  PASSWORD: 'secret',
  CREDENTIALS: 'secret',
  URL: 'other',
  DIGITS: 'other',
  ZIPCODE: 'other',
  STREET_ADDRESS: 'other',
  USERNAME: 'other',
};
const PLACEHOLDER = new RegExp(`(${Object.keys(TYPES).join('|')})`, 'g');

// Collect every string value with its path, as `vendorguard scan` walks events.
const values = [];
function walk(v, path, line) {
  if (typeof v === 'string') values.push({ line, path, text: v });
  else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`, line));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k, line);
}
const corpus = readFileSync(corpusPath, 'utf8');
corpus.split('\n').forEach((l, i) => {
  if (l.trim()) walk(JSON.parse(l), '', i + 1);
});
const bytes = values.reduce((n, v) => n + Buffer.byteLength(v.text), 0);

const redactor = new SyncRedactor();
const redacted = new Array(values.length);
redactor.redact('warm up jane@example.com');
const t0 = process.hrtime.bigint();
for (let i = 0; i < values.length; i++) redacted[i] = redactor.redact(values[i].text);
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;

// Align: the redacted text is the original with some spans replaced by placeholders, in order.
const findings = [];
let unaligned = 0;
const other = {};
values.forEach((v, i) => {
  const out = redacted[i];
  if (out === v.text) return;
  const parts = out.split(PLACEHOLDER);  // literal, placeholder, literal, ...
  let pos = 0;
  if (!v.text.startsWith(parts[0])) { unaligned++; return; }
  pos = parts[0].length;
  for (let p = 1; p < parts.length; p += 2) {
    const type = TYPES[parts[p]];
    const next = parts[p + 1];
    const end = p + 2 < parts.length ? v.text.indexOf(next, pos + 1) : v.text.length - next.length;
    if (end < pos || (next.length && end < 0)) { unaligned++; return; }
    const start = Buffer.byteLength(v.text.slice(0, pos));
    const endByte = Buffer.byteLength(v.text.slice(0, end));
    if (type === 'other') other[parts[p]] = (other[parts[p]] || 0) + 1;
    else findings.push({ file: corpusPath, line: v.line, path: v.path, type, start, end: endByte, confidence: 1 });
    pos = end + next.length;
  }
});
writeFileSync(outPath, findings.map((f) => JSON.stringify(f)).join('\n') + '\n');
console.log(JSON.stringify({
  tool: 'redact-pii@3.4.0',
  values: values.length,
  string_bytes: bytes,
  stream_bytes: Buffer.byteLength(corpus),
  seconds: Number(seconds.toFixed(3)),
  // Over the string values it was given, and over the whole event stream (its JSON parsing not counted).
  mb_per_s_strings: Number((bytes / 1e6 / seconds).toFixed(2)),
  mb_per_s_stream: Number((Buffer.byteLength(corpus) / 1e6 / seconds).toFixed(2)),
  findings: findings.length,
  unmapped_placeholders: other,
  unaligned_values: unaligned,
}));
