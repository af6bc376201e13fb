// Broken requests to the gateway's Mixpanel endpoint: each gets Mixpanel's error answer with a reason the
// sender can act on, one log line, and leaves the gateway serving good requests.

import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import zlib from 'node:zlib';

import { GEOIP_DB, base64Json, harness, mixpanelVendor, waitFor } from './helpers.mjs';

const MAX_BODY = 65536;

// One request on a fresh connection; resolves with the answer even if the server closes the connection
// right after answering (as it may when it refuses a body without reading it all).
function send(port, { method = 'POST', path, headers = {}, body }) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', (e) => reject(new Error(`${method} ${path}: ${e.message} (no answer from the gateway)`)));
    req.end(body);
  });
}

function form(data) {
  return {
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: 'data=' + encodeURIComponent(data),
  };
}

const deepValue = '['.repeat(100) + ']'.repeat(100);

const CASES = [
  {
    name: 'malformed JSON in data',
    keyword: /JSON/i,
    status: 400,
    request: () => form(Buffer.from('{"event":"Broken","properties":{"distinct_id":"u1",').toString('base64')),
  },
  {
    name: 'broken base64 in data',
    keyword: /base64/i,
    status: 400,
    request: () => form('eyJldmVudCI6IkJyb2tlbiJ9!!*~@@'),
  },
  {
    name: 'corrupt gzip body',
    keyword: /gzip/i,
    status: 400,
    request: () => ({
      headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
      body: Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), Buffer.from('this is not a deflate stream at all')]),
    }),
  },
  {
    name: 'body over max_body_bytes',
    keyword: /limit/i,
    status: 413,
    request: () => form(base64Json({ event: 'Big', properties: { distinct_id: 'u1', pad: 'x'.repeat(MAX_BODY) } })),
  },
  {
    name: 'gzip body that inflates over max_body_bytes',
    keyword: /limit/i,
    status: 413,
    request: () => ({
      headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
      body: zlib.gzipSync(JSON.stringify([{ event: 'Big', properties: { distinct_id: 'u1', pad: 'x'.repeat(4 * MAX_BODY) } }])),
    }),
  },
  {
    name: 'JSON nested 100 deep',
    keyword: /deeper/i,
    status: 400,
    request: () => form(Buffer.from(`{"event":"Deep","properties":{"distinct_id":"u1","nest":${deepValue}}}`).toString('base64')),
  },
  {
    name: 'invalid UTF-8 inside a JSON string',
    keyword: /UTF-8/i,
    status: 400,
    request: () => form(Buffer.concat([
      Buffer.from('{"event":"Bad","properties":{"distinct_id":"u1","name":"J'),
      Buffer.from([0xc3, 0x28, 0xff, 0xfe]),
      Buffer.from('"}}'),
    ]).toString('base64')),
  },
];

test('bad requests get 400/413 with a reason, one log line each, and the gateway keeps serving',
     { timeout: 50_000 }, async (t) => {
  const h = harness(t);
  const sink = await h.sink();
  const gw = await h.gateway({
    geoip_db: GEOIP_DB,
    max_body_bytes: MAX_BODY,
    max_json_depth: 32,
    vendors: [mixpanelVendor({ name: 'mixpanel', sink })],  // strict default policy
  });

  const newLines = (from, to, text = gw.stderr()) => text.slice(from, to).split('\n').filter((l) => l.trim());
  let good = 0;

  for (const c of CASES) {
    await t.test(c.name, async () => {
      for (const verbose of [false, true]) {
        const path = verbose ? '/track?verbose=1&ip=1' : '/track?ip=1';
        const what = `${c.name}: POST ${path}`;
        const before = gw.stderr().length;
        const stdoutBefore = gw.stdout().length;
        const { headers, body } = c.request();
        const r = await send(gw.port, { path, headers, body });

        assert.equal(r.status, c.status, `${what}: HTTP status (body ${JSON.stringify(r.body)})`);
        if (verbose) {
          let answer;
          assert.doesNotThrow(() => { answer = JSON.parse(r.body); }, `${what}: verbose answer is JSON: ${r.body}`);
          assert.equal(answer.status, 0, `${what}: ${r.body}`);
          assert.equal(typeof answer.error, 'string', `${what}: ${r.body}`);
          assert.match(answer.error, c.keyword, `${what}: the reason names the problem`);
        } else {
          assert.equal(r.body, '0', `${what}: non-verbose answer`);
        }

        // One log line giving the reason, on stderr.
        const logged = () => newLines(before).filter((l) => c.keyword.test(l));
        try {
          await waitFor(() => logged().length >= 1, 5_000, `a log line matching ${c.keyword}`);
        } catch {
          const inStdout = newLines(stdoutBefore, undefined, gw.stdout()).filter((l) => c.keyword.test(l));
          assert.fail(`${what}: no stderr line matching ${c.keyword}` +
                      (inStdout.length ? `; it went to stdout instead: ${JSON.stringify(inStdout)}` : '') +
                      `\n${gw.logs()}`);
        }
        const beforeGood = gw.stderr().length;

        // The gateway still serves: a good request is answered 1 and reaches the vendor.
        const insertId = `good-${++good}`;
        const data = base64Json({ event: 'Good', properties: { distinct_id: 'u-good', token: 'tok', $insert_id: insertId } });
        const ok = await send(gw.port, { method: 'GET', path: `/track?ip=0&data=${encodeURIComponent(data)}` });
        assert.equal(ok.status, 200, `good request after ${what}`);
        assert.equal(ok.body, '1', `good request after ${what}`);
        await waitFor(() => sink.events('/track').some((e) => e.properties?.$insert_id === insertId), 10_000,
                      () => `event ${insertId} at the sink after ${what}\n${sink.summary()}\n${gw.logs()}`);

        const lines = newLines(before, beforeGood).filter((l) => c.keyword.test(l));
        assert.equal(lines.length, 1, `${what}: exactly one log line for the request: ${JSON.stringify(lines)}`);
      }
    });
  }

  // Nothing from a refused request reached the vendor.
  const refused = sink.events('/track').filter((e) => e.event !== 'Good');
  assert.deepEqual(refused, [], 'no event of a refused request reached the vendor');
});
