import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pathAmbiguity, type PathAmbiguity } from './path-safety.ts';

/** Paths as Envoy hands them to ext-authz (after its own normalisation) that mean one thing only. */
const UNAMBIGUOUS = [
  '/', '/api', '/api/', '/api/hello', '/api/a%20b', '/api/a%2Bb', '/api/a%2bb', '/api/caf%C3%A9', '/api/%E2%82%AC',
  '/api/%F0%9F%98%80', '/.well-known/openid-configuration', '/api/.x', '/api/x.', '/api/...', '/api/a..b', '/api/a-b_c~d',
  '/api/a:b@c', "/api/!$&'()*+,=", '/api/a%3Ab', '/api/%41',
];

/** Every case a lenient upstream could read differently, with the reason reported. */
const AMBIGUOUS: [string, PathAmbiguity][] = [
  // Several layers of encoding, at any depth.
  ['/api/%252e%252e/admin', 'double-encoding'],
  ['/api/%25252e', 'double-encoding'],
  ['/api/%25', 'double-encoding'],
  ['/api/a%2520b', 'double-encoding'],
  // Encoded delimiters (Envoy decodes %2E and refuses %2F/%5C itself; these are the backstop).
  ['/api/%2e%2e/admin', 'encoded-delimiter'],
  ['/api/%2E', 'encoded-delimiter'],
  ['/api/a%2Fb', 'encoded-delimiter'],
  ['/api/a%2fb', 'encoded-delimiter'],
  ['/api/a%5Cb', 'encoded-delimiter'],
  ['/api/a%3Bb', 'encoded-delimiter'],
  ['/api/a%3Fb', 'encoded-delimiter'],
  ['/api/a%23b', 'encoded-delimiter'],
  ['/api/%C3%A9%2E', 'encoded-delimiter'],
  ['/api/%EF%BC%8E%EF%BC%8E/admin', 'encoded-delimiter'], // U+FF0E fullwidth full stop, NFKC '.'
  ['/api/a%EF%BC%8Fb', 'encoded-delimiter'], // U+FF0F fullwidth solidus, NFKC '/'
  // NUL and control characters, encoded.
  ['/api/a%00b', 'encoded-control'],
  ['/api/a%01b', 'encoded-control'],
  ['/api/a%0Ab', 'encoded-control'],
  ['/api/a%0d%0aX-Injected:1', 'encoded-control'],
  ['/api/a%7Fb', 'encoded-control'],
  ['/api/a%C2%85b', 'encoded-control'], // U+0085 NEL, a C1 control
  // Invalid or overlong UTF-8, percent-encoded.
  ['/api/%C0%AE%C0%AE/admin', 'invalid-utf8'],
  ['/api/%C0%AF', 'invalid-utf8'],
  ['/api/%E0%80%AE', 'invalid-utf8'],
  ['/api/%F0%80%80%AE', 'invalid-utf8'],
  ['/api/%C1%9C', 'invalid-utf8'],
  ['/api/%ED%A0%80', 'invalid-utf8'], // a UTF-16 surrogate
  ['/api/%C3', 'invalid-utf8'], // truncated
  ['/api/%C3/%A9', 'invalid-utf8'], // a sequence split by a raw character
  ['/api/%FF', 'invalid-utf8'],
  ['/api/%F4%90%80%80', 'invalid-utf8'], // past U+10FFFF
  // Malformed escapes.
  ['/api/%ZZ', 'invalid-escape'],
  ['/api/a%', 'invalid-escape'],
  ['/api/a%2', 'invalid-escape'],
  ['/api/a%u002e', 'invalid-escape'],
  // Raw characters.
  ['/api/a\\b', 'backslash'],
  ['/api/..\\admin', 'backslash'],
  ['/api/a;b', 'path-parameter'],
  ['/admin;jsessionid=1/x', 'path-parameter'],
  ['/api/..;/admin', 'path-parameter'],
  ['/api/a\u0000b', 'control-character'],
  ['/api/a\tb', 'control-character'],
  ['/api/a\u007fb', 'control-character'],
  ['/api/caf\u00e9', 'non-ascii'],
  ['/api/\ufffd', 'non-ascii'],
  ['/api/\u00c0\u00ae', 'non-ascii'],
  // Dot and empty segments (Envoy resolves and merges these first; the backstop).
  ['/api/../admin', 'dot-segment'],
  ['/api/./x', 'dot-segment'],
  ['/api/..', 'dot-segment'],
  ['/api/.', 'dot-segment'],
  ['/..', 'dot-segment'],
  ['/api//x', 'dot-segment'],
  ['//api', 'dot-segment'],
];

test('unambiguous paths pass, legitimate escapes included', () => {
  for (const path of UNAMBIGUOUS) assert.equal(pathAmbiguity(path), null, path);
});

test('each ambiguous path is refused with its reason', () => {
  for (const [path, reason] of AMBIGUOUS) assert.equal(pathAmbiguity(path), reason, JSON.stringify(path));
});

test('the first problem in the path is the one reported', () => {
  assert.equal(pathAmbiguity('/a;b/%25'), 'path-parameter');
  assert.equal(pathAmbiguity('/%25/a;b'), 'double-encoding');
});
