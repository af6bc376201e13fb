// Delivery rate to a slow vendor: how many events a second one vendor's sender gets through when every
// answer takes --delay-ms (a round trip to a distant API), for each --batch-max-events and each number of
// --connections (each has one request in flight). The gateway runs
// with a minimal policy; the vendor is paused while the client posts --events events as 50-event SDK
// batches, then resumed, and the time from the resume until the sink has them all is measured: the
// sender's rate from a backlog (after an outage, or when the clients post faster than it delivers).
//
//   node bench/vendor_rtt.mjs [--bin build/release/src/vendorguard] [--delay-ms 100] [--events 20000]
//                             [--batch-max-events 50,2000] [--connections 1,4]
//
// The sink is the e2e tests' Mixpanel sink (tests/e2e/helpers.mjs), on 127.0.0.1.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { adminRequest, mixpanelPost, startSink, toYaml } from '../tests/e2e/helpers.mjs';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { values: opt } = parseArgs({
  options: {
    bin: { type: 'string', default: path.join(REPO, 'build/release/src/vendorguard') },
    'delay-ms': { type: 'string', default: '100' },
    events: { type: 'string', default: '20000' },
    'batch-max-events': { type: 'string', default: '50,2000' },
    connections: { type: 'string', default: '1,4' },
  },
});
const delayMs = Number(opt['delay-ms']);
const total = Math.ceil(Number(opt.events) / 50) * 50;
const sizes = opt['batch-max-events'].split(',').map(Number);
const connectionCounts = opt.connections.split(',').map(Number);
if (!fs.existsSync(opt.bin) || !(delayMs >= 0) || !(total > 0) || sizes.some((n) => !(n >= 1 && n <= 2000)) ||
    connectionCounts.some((n) => !(Number.isInteger(n) && n >= 1 && n <= 16))) {
  console.error('usage: node bench/vendor_rtt.mjs [--bin PATH] [--delay-ms N] [--events N] ' +
                '[--batch-max-events 50,2000] [--connections 1,4]');
  process.exit(2);
}

console.log('| batch_max_events | connections | events | seconds from the resume | events/s | ' +
            'requests to the vendor |');
console.log(`|---:|---:|---:|---:|---:|---:|`);
for (const max of sizes) for (const connections of connectionCounts) {
  const sink = await startSink({ delayMs });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vg-rtt-'));
  fs.writeFileSync(path.join(dir, 'c.yaml'), toYaml({
    listen: '127.0.0.1:0', data_dir: path.join(dir, 'data'), admin: { listen: 'off' },
    vendors: [{ name: 'mixpanel', kind: 'mixpanel', endpoint: sink.url, batch_max_events: max, connections,
                policy: { allow: ['distinct_id', '$insert_id', 'time'] } }],
  }));
  const portFile = path.join(dir, 'port');
  const logFile = path.join(dir, 'gateway.log');
  const gw = spawn(opt.bin, ['serve', '--config', path.join(dir, 'c.yaml'), '--port-file', portFile],
                   { stdio: ['ignore', 'ignore', fs.openSync(logFile, 'w')] });
  const deadline = Date.now() + 20_000;
  while (!(fs.existsSync(portFile) && fs.readFileSync(portFile, 'utf8').trim())) {
    if (Date.now() > deadline || gw.exitCode !== null) {
      throw new Error(`the gateway did not start:\n${fs.readFileSync(logFile, 'utf8')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const port = Number(fs.readFileSync(portFile, 'utf8'));
  const dataDir = path.join(dir, 'data');
  const admin = async (action) => {
    const r = await adminRequest(dataDir, 'POST', `/v1/vendors/mixpanel/${action}`);
    if (r.status !== 200) throw new Error(`${action}: ${r.status} ${r.body}`);
  };
  await admin('pause');
  for (let b = 0; b < total / 50; b++) {
    const events = Array.from({ length: 50 }, (_, k) => ({
      event: 'e', properties: { distinct_id: `u${k}`, $insert_id: `rtt-${b}-${k}`, time: 1767225600, token: 't' },
    }));
    const r = await mixpanelPost(port, '/track', events);
    if (r.status !== 200) throw new Error(`the gateway answered ${r.status}: ${r.body}`);
  }
  if (sink.requests.length !== 0) throw new Error('the paused vendor received requests');
  const t0 = Date.now();
  await admin('resume');
  while (sink.events('/track').length < total) await new Promise((r) => setTimeout(r, 5));
  const secs = (Date.now() - t0) / 1000;
  console.log(`| ${max} | ${connections} | ${total} | ${secs.toFixed(2)} | ${Math.round(total / secs)} | ` +
              `${sink.requests.length} |`);
  gw.kill('SIGTERM');
  await new Promise((r) => gw.once('exit', r));
  await sink.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
