// Shared fixtures for the end-to-end tests: a recording vendor sink, the gateway process, temp dirs, and a
// condition-with-deadline wait. Every server binds 127.0.0.1 port 0; nothing here sleeps waiting for an
// outcome.
//
// Environment:
//   VG_BIN         the vendorguard binary (default: $VG_SOURCE_DIR/build/debug/src/vendorguard)
//   VG_SOURCE_DIR  the repository root (default: two levels above this file)
//   VG_CHROMIUM    the Chromium binary for the browser tests (default: /usr/bin/chromium)
//   VG_E2E_KEEP=1  keep temp dirs (config, data dir, gateway logs) for inspection

import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

export const SOURCE_DIR =
    process.env.VG_SOURCE_DIR || path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const VG_BIN = path.resolve(SOURCE_DIR, process.env.VG_BIN || 'build/debug/src/vendorguard');
export const CHROMIUM = process.env.VG_CHROMIUM || '/usr/bin/chromium';

// Debian's Chromium, headless, through playwright-core (for the browser SDK and console tests).
export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
export const GEOIP_DB =
    path.join(SOURCE_DIR, 'node_modules', '@ip-location-db', 'dbip-country-mmdb', 'dbip-country.mmdb');

// Pseudonyms the gateway writes: key epoch 1, 128 bits in hex.
export const PSEUDONYM_RE = /^vg1-[0-9a-f]{32}$/;

// Polls `predicate` (sync or async) until it returns a truthy value, which is returned. Throws after
// `timeoutMs` with `what` (a string or a function giving one, e.g. with the state seen so far).
export async function waitFor(predicate, timeoutMs = 10_000, what = 'condition') {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() >= deadline) {
      const detail = typeof what === 'function' ? what() : what;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${detail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// Resolves when `emitter` emits `event`, or rejects after `timeoutMs`.
function onceWithin(emitter, event, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, onEvent);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    function onEvent(...args) {
      clearTimeout(timer);
      resolve(args);
    }
    emitter.once(event, onEvent);
  });
}

// --- YAML ----------------------------------------------------------------------------------------------

// Block-style YAML from a plain object. Strings are double-quoted (JSON escapes are valid YAML), lists of
// scalars are flow lists, lists of objects are block sequences. Enough for the gateway's config.
export function toYaml(value, indent = '') {
  const scalar = (v) => (typeof v === 'string' ? JSON.stringify(v) : String(v));
  const isScalar = (v) => v === null || typeof v !== 'object';
  let out = '';
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue;
    if (isScalar(v)) {
      out += `${indent}${key}: ${scalar(v)}\n`;
    } else if (Array.isArray(v) && v.every(isScalar)) {
      out += `${indent}${key}: [${v.map(scalar).join(', ')}]\n`;
    } else if (Array.isArray(v)) {
      out += `${indent}${key}:\n`;
      for (const item of v) {
        const body = toYaml(item, indent + '    ');
        out += `${indent}  - ${body.slice(indent.length + 4)}`;
      }
    } else {
      out += `${indent}${key}:\n${toYaml(v, indent + '  ')}`;
    }
  }
  return out;
}

// --- Mixpanel wire helpers -----------------------------------------------------------------------------

// The JSON a Mixpanel SDK request carries: a JSON body, or `data` (base64 or plain JSON) in a form body or
// the query string. Returns {text, json}; json is undefined when there is none.
export function decodeMixpanelPayload({ query, contentType, body }) {
  let text = '';
  if (/application\/json/i.test(contentType || '')) {
    text = body.toString('utf8');
  } else {
    let data = query.get('data');
    if (body.length > 0 && /x-www-form-urlencoded/i.test(contentType || '')) {
      data = new URLSearchParams(body.toString('latin1')).get('data') ?? data;
    }
    if (data == null) return { text: body.toString('utf8'), json: undefined };
    text = /^\s*[[{]/.test(data) ? data : Buffer.from(data, 'base64').toString('utf8');
  }
  return { text, json: text.length ? JSON.parse(text) : undefined };
}

export function base64Json(value) {
  return Buffer.from(JSON.stringify(value)).toString('base64');
}

// --- Vendor sink ---------------------------------------------------------------------------------------

// A stand-in for Mixpanel's ingestion API. Records every request (method, path, query, headers, the body
// as received and decoded, arrival time, the status answered) and answers like Mixpanel:
// {"status":1,"error":null} with verbose=1, else "1".
// `delayMs` delays every answer, to act as a slow vendor; `delayFor(record, index)` returns the delay of
// one answer in ms (nothing: delayMs).
// `answer(record, index)` programs the answers: it returns {status, headers, body} for the request (the
// index-th the sink received, from 0), or nothing for the default answer.
// `port` listens on that port instead of a free one (e.g. to bring up a vendor that was down).
// `tls` ({cert, key}, PEM) makes it an HTTPS server.
export async function startSink({ delayMs = 0, delayFor, answer: program, port: listenPort = 0, tls } = {}) {
  const requests = [];
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  const server = (tls ? https : http).createServer(tls || {}, async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const url = new URL(req.url, 'http://sink');
    const record = {
      method: req.method,
      url: req.url,
      path: url.pathname.replace(/(.)\/$/, '$1'),
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      rawBody: Buffer.concat(chunks),
      at: Date.now(),       // when the whole request had arrived (ms since the epoch)
      status: undefined,    // the status code the sink answered
      body: null,  // after Content-Encoding
      text: '',    // the decoded payload JSON text
      json: undefined,
      error: undefined,
    };
    try {
      const encoding = (req.headers['content-encoding'] || '').toLowerCase();
      record.body = encoding === 'gzip' ? zlib.gunzipSync(record.rawBody) : record.rawBody;
      const decoded = decodeMixpanelPayload(
          { query: url.searchParams, contentType: req.headers['content-type'], body: record.body });
      record.text = decoded.text;
      record.json = decoded.json;
    } catch (e) {
      record.error = String(e);
    }
    const index = requests.length;
    requests.push(record);
    let programmed;
    try {
      programmed = program ? program(record, index) : undefined;
    } catch (e) {
      programmed = { status: 500, body: `sink answer function threw: ${e}` };
    }
    if (programmed) record.status = programmed.status ?? 200;
    else if (record.error) record.status = 400;
    else record.status = 200;
    emitter.emit('request', record);
    const answer = () => {
      if (programmed) {
        res.writeHead(record.status, { 'Content-Type': 'application/json', ...(programmed.headers || {}) });
        res.end(programmed.body ?? '');
      } else if (record.error) {
        res.writeHead(400, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ status: 0, error: record.error }));
      } else if (record.query.verbose === '1') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{"status":1,"error":null}');
      } else {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('1');
      }
    };
    const delay = delayFor ? delayFor(record, index) ?? delayMs : delayMs;
    if (delay > 0) setTimeout(answer, delay); else answer();
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    port,
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    emitter,
    // Every event or update the sink received at `path` ("/track", "/engage", ...), in arrival order.
    // With `status`, only those of requests the sink answered with that status.
    events(p = '/track', { status } = {}) {
      return requests.filter((r) => r.path === p && r.json !== undefined && (status === undefined || r.status === status))
          .flatMap((r) => (Array.isArray(r.json) ? r.json : [r.json]));
    },
    // All decoded payload text plus URLs, for "this must not appear anywhere" checks.
    allText() {
      return requests.map((r) => `${safeDecodeUri(r.url)}\n${r.text}\n${r.body ? r.body.toString('latin1') : ''}`)
          .join('\n');
    },
    summary() {
      return requests.map((r) => `${r.method} ${r.url} -> ${r.status} ${r.error ? 'ERROR ' + r.error : r.text.slice(0, 300)}`)
          .join('\n') || '(no requests)';
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function safeDecodeUri(s) {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

// --- Gateway process -----------------------------------------------------------------------------------

// Starts `vendorguard serve` with `config` (an object; listen and data_dir are filled in unless given) and
// waits, with a deadline, for it to write its port file. `env` adds environment variables (e.g.
// VENDORGUARD_TEST_CLOCK_FILE).
async function startGateway(tmp, config, { startTimeoutMs = 20_000, env } = {}) {
  if (!existsSync(VG_BIN)) {
    throw new Error(`vendorguard binary not found at ${VG_BIN} (set VG_BIN)`);
  }
  const dataDir = config.data_dir || path.join(tmp, 'data');
  // The admin listener on a free port too (its default, 127.0.0.1:8081, would clash between gateways).
  const full = { listen: '127.0.0.1:0', data_dir: dataDir, ...config,
                 admin: { listen: '127.0.0.1:0', ...(config.admin || {}) } };
  const configPath = path.join(tmp, 'vendorguard.yaml');
  const portFile = path.join(tmp, 'port');
  await fs.writeFile(configPath, toYaml(full));

  const proc = spawn(VG_BIN, ['serve', '--config', configPath, '--port-file', portFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: env ? { ...process.env, ...env } : process.env,
  });
  let stdout = '';
  let stderr = '';
  const output = new EventEmitter();
  output.setMaxListeners(0);
  proc.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; output.emit('data'); });
  proc.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; output.emit('data'); });
  let exit = null;
  const exited = new Promise((resolve) => {
    proc.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    });
  });
  // Resolves once both pipes are drained too, so the logs are complete.
  const closed = new Promise((resolve) => proc.once('close', () => resolve(exit)));

  const logs = () => `--- gateway stderr ---\n${stderr}\n--- gateway stdout ---\n${stdout}`;
  let port;
  try {
    port = await waitFor(async () => {
      if (exit) throw new Error(`vendorguard exited (${JSON.stringify(exit)}) before listening\n${logs()}`);
      const text = await fs.readFile(portFile, 'utf8').catch(() => '');
      const n = Number.parseInt(text.trim(), 10);
      return n > 0 ? n : 0;
    }, startTimeoutMs, () => `the gateway's port file ${portFile}\n${logs()}`);
  } catch (e) {
    if (!exit) proc.kill('SIGKILL');
    throw e;
  }

  const gateway = {
    proc,
    port,
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    dataDir,
    configPath,
    config: full,
    stderr: () => stderr,
    stdout: () => stdout,
    logs,
    output,
    get exitStatus() { return exit; },
    // SIGTERM, then the exit status ({code, signal}) once the process is gone and its pipes are drained.
    async stop(timeoutMs = 30_000) {
      if (!exit) proc.kill('SIGTERM');
      let timer;
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`gateway did not exit within ${timeoutMs} ms of SIGTERM\n${logs()}`)),
                           timeoutMs);
      });
      try {
        return await Promise.race([closed, timeout]);
      } catch (e) {
        proc.kill('SIGKILL');
        throw e;
      } finally {
        clearTimeout(timer);
      }
    },
  };
  return gateway;
}

// --- Per-test harness ----------------------------------------------------------------------------------

// Owns a test's resources and releases them when the test ends (last started, first stopped, so the
// gateway stops before the sinks it flushes to).
export function harness(t) {
  const cleanups = [];
  t.after(async () => {
    const errors = [];
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length) throw errors[0];
  });
  const h = {
    defer(fn) { cleanups.push(fn); },
    async tempDir() {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'vg-e2e-'));
      h.defer(async () => {
        if (process.env.VG_E2E_KEEP === '1') {
          t.diagnostic(`kept ${dir}`);
        } else {
          await fs.rm(dir, { recursive: true, force: true });
        }
      });
      return dir;
    },
    async sink(options) {
      const sink = await startSink(options);
      h.defer(() => sink.close());
      return sink;
    },
    async gateway(config, options) {
      const tmp = await h.tempDir();
      const gw = await startGateway(tmp, config, options);
      h.defer(async () => {
        if (!gw.exitStatus) await gw.stop();
        if (process.env.VG_E2E_KEEP === '1') {
          await fs.writeFile(path.join(tmp, 'gateway.log'), gw.logs()).catch(() => {});
        }
      });
      return gw;
    },
  };
  return h;
}

// A vendor entry for the config.
export function mixpanelVendor({ name = 'mixpanel', sink, gzip = true, policy } = {}) {
  return { name, kind: 'mixpanel', endpoint: sink ? sink.url : undefined, gzip, policy };
}

// The policy the Node SDK and browser tests use (the one in the project's README example).
export const TEST_POLICY = {
  allow: ['distinct_id', '$insert_id', 'time', 'token', '$current_url', '$referrer', '$initial_referrer', '$browser',
          '$os', 'plan', '$distinct_id', '$device_id', '$user_id'],
  pseudonymize: ['distinct_id', '$distinct_id', '$user_id', '$device_id'],
  url_properties: ['$current_url', '$referrer', '$initial_referrer'],
  ip: 'drop',
  location: 'country',
};

// --- Durability helpers (tests/e2e/durability.test.mjs) -------------------------------------------------

// A port nothing listens on (it was free a moment ago): for a vendor that is down, to be brought up later
// with startSink({port}), or a gateway `listen` address that stays the same across restarts.
export async function freePort() {
  const server = http.createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// One request exactly as the Node SDK's track_batch / import_batch sends it (POST, form body
// `data=<base64 JSON array>`, ?ip=0&verbose=1), with the answer's status, headers and body, so a test knows
// precisely which events got a 2xx. `agent` (e.g. a keep-alive http.Agent) defaults to a fresh connection.
// Rejects on a network error (refused, reset: no answer at all).
export function mixpanelPost(port, endpoint, events, { agent = false, timeoutMs = 30_000 } = {}) {
  const body = 'data=' + base64Json(events);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port, method: 'POST', path: `${endpoint}?ip=0&verbose=1`, agent,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body) },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

// One request to the gateway's admin API on its Unix socket (<data_dir>/admin.sock unless `socketPath`
// is given): {status, body, json} (json undefined if the body is not JSON). Rejects on a connection error.
export function adminRequest(dataDirOrSocket, method, reqPath, { timeoutMs = 10_000 } = {}) {
  const socketPath = dataDirOrSocket.endsWith('.sock') ? dataDirOrSocket : path.join(dataDirOrSocket, 'admin.sock');
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, path: reqPath, method, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        let json;
        try { json = JSON.parse(body); } catch { json = undefined; }
        resolve({ status: res.statusCode, body, json });
      });
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`admin ${method} ${reqPath}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

// The gateway's /metrics text.
export async function fetchMetrics(gw) {
  const res = await fetch(`${gw.url}/metrics`);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /metrics -> ${res.status}: ${text}`);
  return text;
}

// The value of the sample `name{labels}` in Prometheus text (labels: an object, matched exactly and in any
// order), or undefined when there is no such sample.
export function metricValue(text, name, labels = {}) {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).sort().join(',');
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = (m[2] ? m[2].match(/[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"/g) || [] : []).sort().join(',');
    if (got === want) return Number(m[3]);
  }
  return undefined;
}

// Proves an absence: polls `predicate` for `ms` and throws as soon as it is false. Bounded by design.
export async function holdsFor(predicate, ms, what = 'condition') {
  const deadline = Date.now() + ms;
  for (;;) {
    if (!(await predicate())) {
      throw new Error(`no longer holds: ${typeof what === 'function' ? what() : what}`);
    }
    if (Date.now() >= deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// Runs `vendorguard ARGS...` to completion: {code, stdout, stderr}. With `input`, that is written to its
// standard input (e.g. for --password-stdin); else it has none.
export function runCli(args, { timeoutMs = 60_000, input } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(VG_BIN, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
    proc.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`vendorguard ${args.join(' ')} did not finish within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    proc.once('error', reject);
    if (input !== undefined) {
      proc.stdin.on('error', () => {});  // it may exit without reading all of it
      proc.stdin.end(input);
    }
    proc.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

// --- Operator console helpers (tests/e2e/console.test.mjs) ----------------------------------------------

// The port of the gateway's web console / JSON API (config `admin: {listen: ...}`), which the gateway
// writes to `<port file>.admin` next to the port file startGateway passes (<tmp>/port.admin).
export async function adminPort(gw, timeoutMs = 20_000) {
  const file = path.join(path.dirname(gw.configPath), 'port.admin');
  return waitFor(async () => {
    if (gw.exitStatus) throw new Error(`vendorguard exited (${JSON.stringify(gw.exitStatus)})\n${gw.logs()}`);
    const n = Number.parseInt((await fs.readFile(file, 'utf8').catch(() => '')).trim(), 10);
    return n > 0 ? n : 0;
  }, timeoutMs, () => `the gateway's admin port file ${file}\n${gw.logs()}`);
}

// runCli with `input` on its standard input.
export function runCliWithInput(args, input, options = {}) {
  return runCli(args, { ...options, input });
}
