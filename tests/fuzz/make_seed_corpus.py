#!/usr/bin/env python3
"""Writes seed inputs for mixpanel_request_fuzz into the directory given as argv[1].

Each seed is in the format the target expects (see mixpanel_request_fuzz.cc):
  one selector byte (bit 0: POST; bits 1-2: 0 no encoding, 1 gzip body as given, 2 gzip applied by the
  target, 3 identity/br; bit 4: plus_as_space), then target, '\\n', content type, '\\n', body.
The requests are shaped like what the Mixpanel Node and browser SDKs send.
"""
import base64
import gzip
import json
import os
import sys
import urllib.parse

GET, POST = 0, 1
GZIP_GIVEN, GZIP_BY_TARGET, IDENTITY = 1 << 1, 2 << 1, 3 << 1
BR = 3 << 1 | 8
PLUS_AS_SPACE = 16

FORM = 'application/x-www-form-urlencoded'

EVENT = {'event': 'Signed up', 'properties': {'distinct_id': '>~??', 'token': 't', 'time': 1712345678}}
BATCH = [
    {'event': 'Plan changed', 'properties': {'distinct_id': 'u-42', 'note': '?>~>', '$insert_id': 'i1'}},
    {'event': 'a + b = c', 'properties': {'distinct_id': 'u 1', 'url': '/p?x=1&y=%20'}},
]
PROFILE = {'$token': 't', '$distinct_id': 'u-42', '$set': {'$email': 'ada@example.com', 'name': 'Ada Lovelace'}}


def b64(obj):
    return base64.b64encode(json.dumps(obj, separators=(',', ':')).encode()).decode()


def uri_component(s):
    # JavaScript's encodeURIComponent.
    return urllib.parse.quote(s, safe="-_.!~*'()")


def seed(selector, target, content_type='', body=b''):
    if isinstance(body, str):
        body = body.encode()
    return bytes([selector]) + target.encode() + b'\n' + content_type.encode() + b'\n' + body


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: make_seed_corpus.py OUTPUT_DIR')
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    compact_batch = json.dumps(BATCH, separators=(',', ':'))
    seeds = {
        # Node SDK: GET with base64 in the query (querystring.stringify escapes + / =).
        'node_get_base64': seed(GET, '/track?ip=0&verbose=0&data=' + uri_component(b64(EVENT))),
        # Node SDK: POST with unescaped base64 (its '+' means '+').
        'node_post_form': seed(POST, '/import?ip=0&verbose=1', FORM, 'data=' + b64(BATCH)),
        'node_post_engage': seed(POST, '/engage?ip=0&verbose=0', FORM, 'data=' + b64(PROFILE)),
        # Browser SDK: XHR POST, base64 and JSON payloads, both through encodeURIComponent.
        'browser_post_base64': seed(POST, '/track/?verbose=1&ip=1&_=1712345678901', FORM,
                                    'data=' + uri_component(b64(BATCH))),
        'browser_post_json': seed(POST, '/track/?verbose=1&ip=1&_=1712345678901', FORM,
                                  'data=' + uri_component(compact_batch)),
        # Browser SDK: sendBeacon (text/plain) and the old img / JSONP transports.
        'browser_beacon': seed(POST, '/track/?ip=1&_=1712345678901', 'text/plain;charset=UTF-8',
                               'data=' + uri_component(b64(EVENT))),
        'browser_jsonp': seed(GET, '/track/?data=' + uri_component(b64(EVENT)) +
                              '&ip=1&callback=(function()%7B%7D)&img=1&verbose=1&_=1712345678901'),
        # HTTP API: raw JSON body, plain and gzip (compressed here, and by the target).
        'json_body': seed(POST, '/import?strict=1', 'application/json', compact_batch),
        'gzip_body': seed(POST | GZIP_GIVEN, '/import', 'application/json', gzip.compress(compact_batch.encode())),
        'gzip_by_target': seed(POST | GZIP_BY_TARGET, '/track', FORM, 'verbose=1&data=' + b64(EVENT)),
        # Form-encoded JSON with '+' for spaces, and locally answered endpoints.
        'form_plus_json': seed(POST | PLUS_AS_SPACE, '/engage/', FORM,
                               'data=' + urllib.parse.quote_plus(json.dumps(PROFILE))),
        'flags_get': seed(GET, '/flags/?context=' + urllib.parse.quote_plus('{"distinct_id":"u 1"}') + '&token=t'),
        'record_gzip': seed(POST | IDENTITY, '/record/?format=gzip&seq=0&replay_id=r1', 'application/octet-stream',
                            gzip.compress(b'[{"type":2,"data":{}}]')),
        'unsupported_encoding': seed(POST | BR, '/track', 'application/json', '{"event":"x"}'),
    }
    for name, content in seeds.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(content)
    print(f'wrote {len(seeds)} seeds to {out}')


if __name__ == '__main__':
    main()
