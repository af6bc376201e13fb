// Writes the request bodies bench/http_bench.sh posts: COUNT distinct batches of EVENTS realistic Mixpanel
// track events each, as the official Node SDK (npm `mixpanel`) sends `track_batch`: a form body
// `data=<base64 of the JSON array>` with no escaping (the SDK's own encoding), for POST /track?ip=1.
//
//   node bench/http/make_batches.mjs --out DIR [--count 16] [--events 50] [--seed 42]
//
// Writes DIR/batch-<i>.body and DIR/manifest.json ({count, events_per_batch, json_bytes, body_bytes}).
// Deterministic: the same seed gives the same bytes. The events look like what a web app's backend relays
// for its users (ids, URLs with paths and queries, referrers, browser and device properties, UTM tags,
// the user's IP address, an email, name or phone in free text in some, nested arrays and objects), so the
// gateway's policy, pseudonymizer, country lookup and PII scan all have work to do.

import fs from 'node:fs';
import path from 'node:path';

function parseArgs(argv) {
  const args = { out: '', count: 16, events: 50, seed: 42 };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in args) || i + 1 >= argv.length) {
      console.error('usage: node make_batches.mjs --out DIR [--count N] [--events N] [--seed N]');
      process.exit(2);
    }
    args[key] = key === 'out' ? argv[++i] : Number(argv[++i]);
  }
  if (!args.out) {
    console.error('make_batches: --out DIR is required');
    process.exit(2);
  }
  return args;
}

// mulberry32: small, fast, and the same sequence everywhere.
function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (list) => list[Math.floor(next() * list.length)],
    hex: (n) => Array.from({ length: n }, () => Math.floor(next() * 16).toString(16)).join(''),
    chance: (p) => next() < p,
  };
}

const EVENTS = ['Page View', 'Signed Up', 'Logged In', 'Checkout Started', 'Order Completed', 'Search',
  'Button Clicked', 'Invite Sent', 'File Uploaded', 'Support Ticket Created', 'Plan Upgraded', 'Report Exported'];
const BROWSERS = [['Chrome', 131], ['Firefox', 133], ['Safari', 18], ['Mobile Safari', 18], ['Microsoft Edge', 131],
  ['Samsung Internet', 26]];
const OSES = ['Windows', 'Mac OS X', 'iOS', 'Android', 'Linux', 'Chrome OS'];
const DEVICES = ['iPhone', 'iPad', 'Android', null, null, null];
const PATHS = ['/workspace/{n}/settings', '/billing/invoices/{n}', '/projects/{n}/board', '/search', '/docs/getting-started',
  '/account/profile', '/checkout/{n}/payment', '/reports/{n}/export'];
const QUERIES = ['tab=billing&session={h}', 'q=quarterly+report&page=2', 'invite={h}&ref=email', 'utm_source=newsletter',
  'sort=desc&filter=open', 'step=2&cart={h}', ''];
const REFERRERS = ['https://www.google.com/search?q=team+planning+tool', 'https://news.ycombinator.com/item?id={n}',
  'https://mail.example.org/inbox/{h}', 'https://www.bing.com/search?q=invoice+software', '$direct',
  'https://t.co/{h}', 'https://www.linkedin.com/feed/'];
const FIRST = ['Jane', 'Maria', 'Wei', 'Olusegun', 'Priya', 'Lukas', 'Sofia', 'Mateo', 'Aiko', 'Fatima', 'Noah', 'Chloe'];
const LAST = ['Doe', 'Garcia', 'Zhang', 'Adeyemi', 'Sharma', 'Müller', 'Rossi', 'Fernández', 'Tanaka', 'Haddad',
  'Smith', 'Martin'];
const TEXTS = [
  () => 'Exported the quarterly report for the finance team',
  () => 'Looking for the invoice from last month, order 4471',
  (u) => `Please contact ${u.email} about the renewal`,
  (u) => `Ticket opened by ${u.first} ${u.last}: cannot reset password`,
  (u) => `Call me back at ${u.phone} after 5pm`,
  () => 'Dashboard loads slowly on the projects page',
  (u) => `Invited ${u.first.toLowerCase()}.${u.last.toLowerCase()}@example.net to the workspace`,
  () => 'Changed the plan from team to business',
];
const PLANS = ['free', 'team', 'business', 'enterprise'];
const COUNTRIES_IPS = ['81.2.69.{n}', '8.8.4.{n}', '185.86.151.{n}', '203.0.113.{n}', '2.16.40.{n}', '41.203.64.{n}',
  '103.21.244.{n}', '177.67.80.{n}'];

function fill(template, r) {
  return template.replace(/\{n\}/g, () => String(r.int(9000) + 100)).replace(/\{h\}/g, () => r.hex(12));
}

function makeUser(r) {
  const first = r.pick(FIRST);
  const last = r.pick(LAST);
  const id = r.int(1_000_000);
  return {
    id: `user-${id}`,
    device: `${r.hex(14)}-${r.hex(15)}-${r.hex(8)}-${r.hex(6)}-${r.hex(14)}`,
    first,
    last,
    email: `${first.toLowerCase()}.${last.toLowerCase().normalize('NFD').replace(/[^a-z]/g, '')}${id % 100}@example.com`,
    phone: `+1415555${String(1000 + (id % 9000)).padStart(4, '0')}`,
    ip: fill(r.pick(COUNTRIES_IPS), r).replace(/\.(\d+)$/, (_, n) => `.${Number(n) % 250 + 1}`),
  };
}

function makeEvent(r, users, time) {
  const u = r.pick(users);
  const [browser, version] = r.pick(BROWSERS);
  const pathname = fill(r.pick(PATHS), r);
  const query = fill(r.pick(QUERIES), r);
  const props = {
    token: '0123456789abcdef0123456789abcdef',
    time,
    distinct_id: u.id,
    $device_id: u.device,
    $user_id: u.id,
    $insert_id: r.hex(16),
    ip: u.ip,
    $browser: browser,
    $browser_version: version,
    $os: r.pick(OSES),
    $current_url: `https://app.example.com${pathname}${query ? '?' + query : ''}`,
    $referrer: fill(r.pick(REFERRERS), r),
    $initial_referrer: '$direct',
    $initial_referring_domain: '$direct',
    $screen_height: r.pick([768, 900, 1080, 1440, 2532]),
    $screen_width: r.pick([1170, 1366, 1440, 1920, 2560]),
    mp_lib: 'node',
    $lib_version: '0.18.0',
    plan: r.pick(PLANS),
    workspace_id: `ws_${r.hex(10)}`,
    session_duration_ms: r.int(3_600_000),
    utm_source: r.pick(['google', 'newsletter', 'twitter', 'partner', undefined]),
    utm_campaign: r.pick(['spring_sale', 'onboarding_v2', undefined]),
    experiments: [{ id: 'exp_checkout_button', variant: r.pick(['a', 'b']) },
      { id: 'exp_pricing_page', variant: r.pick(['control', 'annual_first']) }],
    tags: r.pick([['beta', 'admin'], ['trial'], [], ['sso', 'team', 'eu']]),
  };
  const device = r.pick(DEVICES);
  if (device) props.$device = device;
  if (r.chance(0.5)) props.message = r.pick(TEXTS)(u);
  if (r.chance(0.2)) props.$email = u.email;
  if (r.chance(0.15)) props.$name = `${u.first} ${u.last}`;
  if (r.chance(0.3)) {
    props.cart = { items: Array.from({ length: 1 + r.int(3) }, () => ({ sku: `SKU-${r.hex(6)}`, qty: 1 + r.int(3),
      price: Math.round(r.next() * 20000) / 100 })), currency: 'USD' };
  }
  for (const key of Object.keys(props)) if (props[key] === undefined) delete props[key];
  return { event: r.pick(EVENTS), properties: props };
}

const args = parseArgs(process.argv.slice(2));
const r = rng(args.seed);
const users = Array.from({ length: 400 }, () => makeUser(r));
fs.mkdirSync(args.out, { recursive: true });
let jsonBytes = 0;
let bodyBytes = 0;
let time = 1767225600;
for (let b = 0; b < args.count; b++) {
  const events = Array.from({ length: args.events }, () => makeEvent(r, users, time += r.int(5)));
  const json = JSON.stringify(events);
  const body = 'data=' + Buffer.from(json).toString('base64');  // what mixpanel-node posts, unescaped
  fs.writeFileSync(path.join(args.out, `batch-${b}.body`), body);
  jsonBytes += Buffer.byteLength(json);
  bodyBytes += body.length;
}
const manifest = {
  count: args.count,
  events_per_batch: args.events,
  seed: args.seed,
  json_bytes: Math.round(jsonBytes / args.count),
  body_bytes: Math.round(bodyBytes / args.count),
};
fs.writeFileSync(path.join(args.out, 'manifest.json'), JSON.stringify(manifest) + '\n');
console.log(JSON.stringify(manifest));
