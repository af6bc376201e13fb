// Personal data inside allowed values: what a person typed into a search box or a support form, sent by
// the official Node SDK through the gateway. The vendor gets placeholders, or nothing, as the policy says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

import { harness, mixpanelVendor, waitFor, PSEUDONYM_RE } from './helpers.mjs';

const require = createRequire(import.meta.url);
const Mixpanel = require('mixpanel');

const EMAIL = 'jane.doe@example.com';
const PHONE = '+1 415 555 0134';
const CARD = '4111 1111 1111 1111';
const KEY = 'sk-proj-' + 'Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z' + 'Ab3dEf6hIj9k';

function track(host, event, properties) {
  const [hostname, port] = host.split(':');
  const mp = Mixpanel.init('proj-token', { host: `${hostname}:${port}`, protocol: 'http' });
  return new Promise((resolve, reject) => mp.track(event, properties, (err) => (err ? reject(err) : resolve())));
}

test('free text: each vendor gets what its pii policy says', { timeout: 60_000 }, async (t) => {
  const h = harness(t);
  const redacting = await h.sink();
  const strict = await h.sink();
  const allow = ['distinct_id', '$insert_id', 'comment', 'search_query', 'plan'];
  const gw = await h.gateway({
    vendors: [
      mixpanelVendor({ name: 'redacting', sink: redacting, policy: { allow } }),
      mixpanelVendor({
        name: 'strict',
        sink: strict,
        policy: { allow, pii: { default: 'drop-property', secret: 'block-event' } },
      }),
    ],
  });
  await track(gw.host, 'Support Ticket', {
    distinct_id: 'user-7',
    $insert_id: 'pii-1',
    comment: `Please call me at ${PHONE} or write to ${EMAIL}, card ${CARD}`,
    search_query: 'export csv',
    plan: 'pro',
  });
  await track(gw.host, 'Error', { distinct_id: 'user-7', $insert_id: 'pii-2', comment: `my key is ${KEY}`, plan: 'pro' });

  await waitFor(() => redacting.events('/track').length >= 2 && strict.events('/track').length >= 1, 15_000,
                () => `events at both sinks:\n${redacting.summary()}\n${strict.summary()}\n${gw.logs()}`);

  const r = new Map(redacting.events('/track').map((e) => [e.properties.$insert_id, e.properties]));
  assert.match(r.get('pii-1').distinct_id, PSEUDONYM_RE);
  assert.equal(r.get('pii-1').comment, 'Please call me at [PHONE] or write to [EMAIL], card [CREDIT_CARD]');
  assert.equal(r.get('pii-1').search_query, 'export csv');
  assert.equal(r.get('pii-2').comment, 'my key is [SECRET]');

  const s = new Map(strict.events('/track').map((e) => [e.properties.$insert_id, e.properties]));
  assert.ok(!('comment' in s.get('pii-1')), `drop-property: ${JSON.stringify(s.get('pii-1'))}`);
  assert.equal(s.get('pii-1').search_query, 'export csv');
  assert.equal(s.get('pii-1').plan, 'pro');
  // block-event: the event with the key never reaches this vendor; a later event does, so the first
  // would have arrived by now if it had been sent.
  await track(gw.host, 'Later', { distinct_id: 'user-7', $insert_id: 'pii-3' });
  await waitFor(() => strict.events('/track').some((e) => e.properties.$insert_id === 'pii-3'), 15_000, 'pii-3');
  assert.ok(!strict.events('/track').some((e) => e.properties.$insert_id === 'pii-2'), 'the event holding a key was blocked');

  for (const text of [redacting.allText(), strict.allText()]) {
    for (const value of [EMAIL, PHONE, CARD, KEY, '4111111111111111']) assert.ok(!text.includes(value), value);
  }
});
