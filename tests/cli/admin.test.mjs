// `vendorguard admin ...` (issue #7) as an operator runs it on the host: accounts with TOTP, API tokens,
// exit codes. auth_fixture logs in with what the command printed, through the real library.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = process.env.VG_BIN;
const FIXTURE = process.env.VG_AUTH_FIXTURE;
const OATHTOOL = '/usr/bin/oathtool';
const skip = BIN ? false : 'VG_BIN must name the built binary (ctest sets it)';
const run = (args, input) => spawnSync(BIN, args, { input, encoding: 'utf8', timeout: 60000 });
const PASSWORD = 'a long enough password';

function withStore(fn) {
  const dir = mkdtempSync(join(tmpdir(), 'vg-admin-'));
  const config = join(dir, 'vg.yaml');
  writeFileSync(config, `data_dir: ${JSON.stringify(join(dir, 'data'))}\nvendors:\n  - name: mixpanel\n    kind: mixpanel\n`);
  try { return fn({ dir, config, db: join(dir, 'data', 'admin', 'accounts.db') }); } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const login = (db, user, code, password = PASSWORD) =>
  spawnSync(FIXTURE, ['login', db, user, code], { input: password, encoding: 'utf8', timeout: 30000 });

test('admin subcommands answer --help', { skip }, () => {
  for (const cmd of [['admin'], ['admin', 'user'], ['admin', 'user', 'add'], ['admin', 'user', 'remove'],
    ['admin', 'user', 'list'], ['admin', 'user', 'reset-mfa'], ['admin', 'token'], ['admin', 'token', 'create'],
    ['admin', 'token', 'list'], ['admin', 'token', 'revoke']]) {
    const r = run([...cmd, '--help']);
    assert.equal(r.status, 0, `${cmd.join(' ')} --help: ${r.stderr}`);
    assert.match(r.stdout, /Usage|Options/);
  }
});

test('user add prints a working enrollment once; list, reset-mfa, remove', { skip }, () => withStore(({ dir, config, db }) => {
  const svg = join(dir, 'alice.svg');
  let r = run(['admin', 'user', 'add', 'alice', '--role', 'operator', '--config', config, '--password-stdin',
    '--qr-svg', svg, '--format', 'json'], PASSWORD + '\n');
  assert.equal(r.status, 0, r.stderr);
  const e = JSON.parse(r.stdout);
  assert.equal(e.user, 'alice');
  assert.equal(e.role, 'operator');
  assert.match(e.totp_secret, /^[A-Z2-7]{32}$/);
  assert.equal(e.otpauth_uri,
    `otpauth://totp/vendorguard:alice?secret=${e.totp_secret}&issuer=vendorguard&algorithm=SHA1&digits=6&period=30`);
  assert.equal(e.recovery_codes.length, 10);
  for (const c of e.recovery_codes) assert.match(c, /^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$/);
  assert.match(readFileSync(svg, 'utf8'), /^<svg[^>]*shape-rendering="crispEdges"[\s\S]*<path /);
  assert.equal(statSync(svg).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, 'data', 'admin')).mode & 0o777, 0o700);
  assert.equal(statSync(db).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, 'data', 'admin', 'accounts.key')).mode & 0o777, 0o600);
  // The database alone does not hold the secret.
  assert.ok(!readFileSync(db).includes(e.totp_secret));

  // The same name again: refused, exit 1.
  r = run(['admin', 'user', 'add', 'alice', '--role', 'admin', '--config', config, '--password-stdin'], PASSWORD);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /exists already/);
  // A short password: exit 2, and nothing created.
  r = run(['admin', 'user', 'add', 'bob', '--role', 'viewer', '--config', config, '--password-stdin'], 'short\n');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /password too short/);
  // No --password-stdin and stdin is not a terminal: refused.
  r = run(['admin', 'user', 'add', 'bob', '--role', 'viewer', '--config', config], PASSWORD);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /not a terminal.*--password-stdin/);

  // Text output: the secret, the URI, the recovery codes with the warning; no QR art when not a terminal.
  r = run(['admin', 'user', 'add', 'bob', '--role', 'viewer', '--config', config, '--password-stdin'], PASSWORD);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /otpauth:\/\/totp\/vendorguard:bob\?secret=[A-Z2-7]{32}/);
  assert.match(r.stdout, /shown once; store them safely/);
  assert.equal((r.stdout.match(/^ {2}[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$/gm) || []).length, 10);
  assert.ok(!r.stdout.includes('\u2588'));

  r = run(['admin', 'user', 'list', '--config', config, '--format', 'json']);
  assert.equal(r.status, 0, r.stderr);
  const users = JSON.parse(r.stdout);
  assert.deepEqual(users.map((u) => [u.name, u.role, u.recovery_codes_left, u.last_login]),
    [['alice', 'operator', 10, null], ['bob', 'viewer', 10, null]]);
  r = run(['admin', 'user', 'list', '--config', config]);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^NAME\s+ROLE/);
  assert.match(r.stdout, /\nalice\s+operator\s/);

  if (FIXTURE) {
    // A recovery code logs in (once).
    let l = login(db, 'alice', e.recovery_codes[0]);
    assert.equal(l.status, 0, l.stdout + l.stderr);
    assert.equal(l.stdout.trim(), 'ok alice operator');
    l = login(db, 'alice', e.recovery_codes[0]);
    assert.equal(l.status, 1);
    assert.match(l.stdout, /invalid user name, password or code/);
    // A TOTP code from an independent implementation logs in.
    if (existsSync(OATHTOOL)) {
      const code = spawnSync(OATHTOOL, ['--totp', '-b', e.totp_secret], { encoding: 'utf8' }).stdout.trim();
      assert.match(code, /^\d{6}$/);
      l = login(db, 'alice', code);
      assert.equal(l.status, 0, l.stdout + l.stderr);
      // reset-mfa: the old secret stops working, the new one works.
      r = run(['admin', 'user', 'reset-mfa', 'alice', '--config', config, '--format', 'json']);
      assert.equal(r.status, 0, r.stderr);
      const fresh = JSON.parse(r.stdout);
      assert.notEqual(fresh.totp_secret, e.totp_secret);
      assert.equal(fresh.recovery_codes.length, 10);
      assert.equal(login(db, 'alice', e.recovery_codes[1]).status, 1);
      const newCode = spawnSync(OATHTOOL, ['--totp', '-b', fresh.totp_secret], { encoding: 'utf8' }).stdout.trim();
      l = login(db, 'alice', newCode);
      assert.equal(l.status, 0, l.stdout + l.stderr);
    } else {
      test.diagnostic?.(`${OATHTOOL} not installed: TOTP login not checked`);
    }
    r = run(['admin', 'user', 'list', '--config', config, '--format', 'json']);
    assert.notEqual(JSON.parse(r.stdout)[0].last_login, null);
  }

  r = run(['admin', 'user', 'remove', 'alice', '--config', config]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /alice' removed/);
  if (FIXTURE) assert.equal(login(db, 'alice', e.recovery_codes[2]).status, 1);
  r = run(['admin', 'user', 'list', '--config', config, '--format', 'json']);
  assert.deepEqual(JSON.parse(r.stdout).map((u) => u.name), ['bob']);
}));

test('unknown user is exit 1 with a clear message; bad role and bad usage are exit 2', { skip }, () => withStore(({ config }) => {
  for (const cmd of [['user', 'remove', 'nobody'], ['user', 'reset-mfa', 'nobody']]) {
    const r = run(['admin', ...cmd, '--config', config]);
    assert.equal(r.status, 1, cmd.join(' '));
    assert.match(r.stderr, /no admin user named 'nobody'/);
  }
  let r = run(['admin', 'user', 'add', 'carol', '--role', 'root', '--config', config, '--password-stdin'], PASSWORD);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--role/);
  r = run(['admin', 'user', 'add', 'bad name', '--role', 'viewer', '--config', config, '--password-stdin'], PASSWORD);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /invalid user name/);
  r = run(['admin', 'user', 'add', 'carol', '--config', config, '--password-stdin'], PASSWORD);
  assert.equal(r.status, 2, 'missing --role');
  r = run(['admin', 'user', 'list', '--config', join(config, 'missing.yaml')]);
  assert.equal(r.status, 2);
}));

test('token create, list, revoke', { skip }, () => withStore(({ config }) => {
  let r = run(['admin', 'token', 'create', '--label', 'deploy', '--role', 'operator', '--expires', '30d',
    '--config', config]);
  assert.equal(r.status, 0, r.stderr);
  const token = r.stdout.trim();
  assert.match(token, /^vgt_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/);
  assert.match(r.stderr, /shown once/);
  const id = token.slice(4, 12);

  r = run(['admin', 'token', 'create', '--label', 'ci', '--role', 'viewer', '--expires', '2099-01-01T00:00:00Z',
    '--config', config, '--format', 'json']);
  assert.equal(r.status, 0, r.stderr);
  const ci = JSON.parse(r.stdout);
  assert.equal(ci.expires, '2099-01-01T00:00:00Z');
  assert.match(ci.token, new RegExp(`^vgt_${ci.id}_`));

  r = run(['admin', 'token', 'create', '--label', 'old', '--role', 'viewer', '--expires', '2001-01-01', '--config', config]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /future/);
  r = run(['admin', 'token', 'create', '--label', 'x', '--role', 'viewer', '--expires', 'soon', '--config', config]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--expires/);

  r = run(['admin', 'token', 'list', '--config', config, '--format', 'json']);
  assert.equal(r.status, 0, r.stderr);
  const list = JSON.parse(r.stdout);
  assert.deepEqual(list.map((t) => [t.id, t.label, t.role, t.expired, t.last_used]).sort(),
    [[id, 'deploy', 'operator', false, null], [ci.id, 'ci', 'viewer', false, null]].sort());
  assert.match(list[0].created_by, /\(uid \d+\) on the host$/);
  assert.ok(!r.stdout.includes(token.slice(13)), 'the list never shows the secret');

  r = run(['admin', 'token', 'revoke', id, '--config', config]);
  assert.equal(r.status, 0, r.stderr);
  r = run(['admin', 'token', 'revoke', id, '--config', config]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no active API token/);
  r = run(['admin', 'token', 'list', '--config', config]);
  assert.equal(r.status, 0);
  assert.ok(!r.stdout.includes(id));
  assert.match(r.stdout, /\bci\b/);
}));
