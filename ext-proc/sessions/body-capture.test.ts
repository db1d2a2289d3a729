import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BodyCapture, bodyBytes, encodeBody, truncateBody } from './body-capture.ts';

/** Feeds `body` to a capture in the pieces that `cuts` (sorted offsets) make. */
function capture(body: Buffer, cap: number, cuts: number[]): BodyCapture {
  const c = new BodyCapture(cap);
  let from = 0;
  for (const cut of [...cuts, body.byteLength]) {
    c.push(body.subarray(from, cut));
    from = cut;
  }
  return c;
}

describe('BodyCapture', () => {
  const text = Buffer.from('héllo wörld, ✓ 🚀 — '.repeat(8)); // multi-byte characters straddle many offsets

  test('split at every byte boundary (and every pair of boundaries), the result is the same and never over the cap', () => {
    for (const cap of [0, 1, 50, 61, 62, 63, text.byteLength, text.byteLength + 10]) {
      const whole = capture(text, cap, []).body();
      assert.ok(bodyBytes(whole).byteLength <= cap, `cap ${cap}`);
      assert.equal(whole.bytes, text.byteLength);
      assert.equal(whole.truncated, cap < text.byteLength);
      assert.ok('text' in whole, `cap ${cap}: a cut inside a character keeps the body text`);
      assert.ok(text.toString('utf8').startsWith(whole.text));
      assert.ok(Buffer.byteLength(whole.text) > Math.min(cap, text.byteLength) - 4, 'at most one partial character is left out');
      for (let i = 0; i <= text.byteLength; i += 1) {
        assert.deepEqual(capture(text, cap, [i]).body(), whole, `cap ${cap}, cut at ${i}`);
      }
      for (let i = 0; i <= text.byteLength; i += 5) {
        for (let j = i; j <= text.byteLength; j += 3) assert.deepEqual(capture(text, cap, [i, j]).body(), whole, `cap ${cap}, cuts at ${i}, ${j}`);
      }
    }
  });

  test('binary bodies are base64; an untruncated body round-trips byte for byte', () => {
    const binary = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37) % 256));
    const whole = capture(binary, 1000, [1, 100, 299]).body();
    assert.deepEqual(whole, { base64: binary.toString('base64'), bytes: 300, truncated: false });
    const cut = capture(binary, 64, [10]).body();
    assert.deepEqual(bodyBytes(cut), binary.subarray(0, 64));
    assert.equal(cut.truncated, true);
  });

  test('chunks are copied: reusing the buffer afterwards does not change the capture', () => {
    const chunk = Buffer.from('abc');
    const c = new BodyCapture(10);
    c.push(chunk);
    chunk.fill(0x7a);
    assert.deepEqual(c.body(), { text: 'abc', bytes: 3, truncated: false });
  });

  test('text with NUL or invalid UTF-8 is kept as base64; an empty body is empty text', () => {
    assert.ok('base64' in encodeBody(Buffer.from('a\u0000b'), 3, false));
    assert.ok('base64' in encodeBody(Buffer.from([0x61, 0xff, 0x62]), 3, false));
    assert.ok('base64' in encodeBody(Buffer.from([0x61, 0xe2, 0x82]), 3, false), 'an incomplete character at the end of a whole body is not text');
    assert.deepEqual(new BodyCapture(5).body(), { text: '', bytes: 0, truncated: false });
    assert.deepEqual(encodeBody(Buffer.from('\uFEFFbom'), 6, false), { text: '\uFEFFbom', bytes: 6, truncated: false }, 'a BOM is kept');
  });

  test('truncateBody cuts text and base64 to a byte maximum and keeps the wire size', () => {
    assert.deepEqual(truncateBody({ text: 'ab✓cd', bytes: 7, truncated: false }, 3), { text: 'ab', bytes: 7, truncated: true });
    assert.deepEqual(truncateBody({ base64: Buffer.from([0xff, 0xfe, 0xfd, 0xfc]).toString('base64'), bytes: 4, truncated: false }, 2), { base64: Buffer.from([0xff, 0xfe]).toString('base64'), bytes: 4, truncated: true });
    const small = { text: 'short', bytes: 5, truncated: false };
    assert.equal(truncateBody(small, 100), small);
  });

  test('a bad cap is ERR_CONFIG_INVALID', () => {
    for (const cap of [-1, 1.5, Number.NaN]) assert.throws(() => new BodyCapture(cap), { code: 'ERR_CONFIG_INVALID' });
  });
});
