import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileProfile } from './compile-profile.ts';
import { maskerFor } from './masker-for.ts';

describe('maskerFor', () => {
  const refuse = compileProfile({ name: 'r', recognizers: [{ use: 'email', strategy: 'redact' }] });
  const pass = compileProfile({ name: 'p', recognizers: [{ use: 'email', strategy: 'redact' }], binary: 'pass' });

  it('masks text formats, whatever the parameters and case', () => {
    for (const type of [
      'application/json', 'application/json; charset=utf-8', 'Application/JSON', 'application/problem+json',
      'application/x-ndjson', 'text/plain', 'text/csv', 'text/event-stream', 'text/html; charset=ISO-8859-1',
      'application/xml', 'application/soap+xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x',
      undefined, '',
    ]) {
      const t = maskerFor(type, refuse);
      assert.equal(t.action, 'mask', String(type));
      if (t.action === 'mask') {
        const m = t.open();
        assert.equal(Buffer.concat([m.push(Buffer.from('{"e":"a@example.com"}')), m.end()]).toString(), '{"e":"[REDACTED:email]"}');
      }
    }
  });

  it('decodes JSON string escapes for JSON types only', () => {
    const body = Buffer.from('{"e":"jane\\u0040example.com"}');
    const run = (type: string) => {
      const t = maskerFor(type, refuse);
      assert.ok(t.action === 'mask');
      const m = t.open();
      return Buffer.concat([m.push(body), m.end()]).toString();
    };
    for (const type of ['application/json', 'application/problem+json; charset=utf-8', 'application/x-ndjson']) {
      assert.equal(run(type), '{"e":"[REDACTED:email]"}', type);
    }
    for (const type of ['text/plain', 'text/event-stream']) assert.equal(run(type), body.toString(), type);
  });

  it('applies the profile binary option to everything else (refuse by default)', () => {
    for (const type of ['application/octet-stream', 'image/png', 'video/mp4', 'audio/ogg', 'font/woff2', 'application/pdf', 'application/zip', 'application/grpc', 'text/plain; charset=utf-16le', 'application/json; charset="UTF-32"']) {
      assert.equal(maskerFor(type, refuse).action, 'refuse', type);
      assert.equal(maskerFor(type, pass).action, 'pass', type);
    }
    const t = maskerFor('image/png; name=x', refuse);
    assert.equal(t.mediaType, 'image/png');
    assert.ok(t.action === 'refuse' && t.reason.includes('image/png'));
  });
});
