// The admin listener over the wire (issue #7): HTTPS with the configured certificate (and nothing for a
// client that does not speak TLS), sign-in with a code made by Debian's `oathtool` (an independent TOTP
// implementation), the session cookie's flags, a body over the limit answered 413 in JSON, and a gateway
// that refuses to start its admin listener on a non-loopback address without TLS.

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { VG_BIN, adminPort, harness, mixpanelVendor, runCliWithInput, toYaml } from './helpers.mjs';

const OATHTOOL = '/usr/bin/oathtool';
const PASSWORD = 'a long admin password for the e2e test';

function request(mod, options, body) {
  return new Promise((resolve, reject) => {
    const req = mod.request({ host: '127.0.0.1', ...options }, (res) => {
      let data = '';
      res.setEncoding('utf8').on('data', (d) => { data += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')));
    req.end(body);
  });
}

test('the admin API over HTTPS: oathtool codes sign in, cookies are Secure and HttpOnly, bodies are bounded',
     async (t) => {
  if (spawnSync('sh', ['-c', 'command -v openssl']).status !== 0) return t.skip('openssl is not installed');
  const h = harness(t);
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'vg-admin-tls-'));
  t.after(() => fs.rm(tmp, { recursive: true, force: true }));
  const cert = path.join(tmp, 'cert.pem');
  const key = path.join(tmp, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
                           '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
                           '-keyout', key, '-out', cert], { stdio: 'ignore' });
  const sink = await h.sink();
  const gw = await h.gateway({
    vendors: [mixpanelVendor({ name: 'alpha', sink })],
    admin: { listen: '127.0.0.1:0', tls_cert: cert, tls_key: key },
  });
  const port = await adminPort(gw);
  const ca = await fs.readFile(cert);

  // The console over HTTPS, with HSTS; a plain-HTTP client gets no HTTP answer from the TLS port.
  const page = await request(https, { port, path: '/', ca });
  assert.equal(page.status, 200);
  assert.match(page.headers['content-type'], /text\/html/);
  assert.match(page.headers['strict-transport-security'], /max-age=\d+/);
  await assert.rejects(request(http, { port, path: '/' }));

  // An operator account made on the host; the code comes from oathtool.
  const add = await runCliWithInput(['admin', 'user', 'add', 'olga', '--role', 'operator', '--password-stdin',
                                     '--config', gw.configPath, '--format', 'json'], PASSWORD);
  assert.equal(add.code, 0, add.stderr);
  const { totp_secret: secret } = JSON.parse(add.stdout);
  const login = async (code) => request(https, {
    port, path: '/api/v1/login', method: 'POST', ca, headers: { 'Content-Type': 'application/json' },
  }, JSON.stringify({ user: 'olga', password: PASSWORD, code }));

  if (existsSync(OATHTOOL)) {
    const code = execFileSync(OATHTOOL, ['--totp', '-b', secret], { encoding: 'utf8' }).trim();
    let r = await login(code);
    assert.equal(r.status, 200, r.body);
    const cookie = r.headers['set-cookie'][0];
    assert.match(cookie, /^vg_session=[A-Za-z0-9_-]{43};/);
    for (const flag of ['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/']) assert.ok(cookie.includes(flag), cookie);
    const { csrf_token: csrf, role } = JSON.parse(r.body);
    assert.equal(role, 'operator');
    const session = cookie.split(';')[0];
    // The same code again is refused.
    r = await login(code);
    assert.equal(r.status, 401, r.body);

    r = await request(https, { port, path: '/api/v1/vendors', ca, headers: { Cookie: session } });
    assert.equal(r.status, 200, r.body);
    assert.equal(JSON.parse(r.body).vendors[0].name, 'alpha');
    // A body over the limit: 413 in JSON, and the gateway goes on.
    r = await request(https, {
      port, path: '/api/v1/explain', method: 'POST', ca,
      headers: { Cookie: session, 'X-CSRF-Token': csrf, 'Content-Type': 'application/json' },
    }, `{"event":"${'x'.repeat(2 << 20)}"}`).catch((e) => ({ status: 0, body: String(e) }));
    if (r.status !== 0) {  // the server may close the connection before the client finished sending
      assert.equal(r.status, 413, r.body);
      assert.match(JSON.parse(r.body).error, /larger than/);
    }
    r = await request(https, { port, path: '/api/v1/session', ca, headers: { Cookie: session } });
    assert.equal(r.status, 200, r.body);
  } else {
    t.diagnostic('oathtool is not installed: sign-in with its codes not tested');
  }
});

test('the gateway refuses an admin listener on a non-loopback address without TLS', async (t) => {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'vg-admin-remote-'));
  t.after(() => fs.rm(tmp, { recursive: true, force: true }));
  const config = path.join(tmp, 'c.yaml');
  await fs.writeFile(config, toYaml({
    listen: '127.0.0.1:0', data_dir: path.join(tmp, 'data'), admin: { listen: '0.0.0.0:0' },
    vendors: [{ name: 'alpha', kind: 'mixpanel' }],
  }));
  const r = spawnSync(VG_BIN, ['serve', '--config', config], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /admin listener on .0\.0\.0\.0. \(not a loopback address\) needs TLS/);
  assert.ok(!existsSync(path.join(tmp, 'data', 'ledger')), 'nothing was started');
  // Told explicitly (something else terminates TLS), it starts.
  await fs.writeFile(config, toYaml({
    listen: '127.0.0.1:0', data_dir: path.join(tmp, 'data'),
    admin: { listen: '0.0.0.0:0', allow_insecure_remote: true }, vendors: [{ name: 'alpha', kind: 'mixpanel' }],
  }));
  const check = spawnSync(VG_BIN, ['check-config', '--config', config], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stderr);
});
