import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CREDENTIAL_MARKER, CredentialScrubber } from './credential-scrubber.ts';

const SECRET = 'sk-live/"quoted"+tail';
const ESCAPED = JSON.stringify(SECRET).slice(1, -1);

/** The scrubbed body when `input` arrives cut at `cuts` (ascending offsets). */
function scrub(input: Buffer, cuts: number[], secret = SECRET): { out: string; echoes: number } {
  const scrubber = new CredentialScrubber(secret);
  const parts: Buffer[] = [];
  let start = 0;
  for (const end of [...cuts, input.length]) {
    const chunk = input.subarray(start, end);
    const out = scrubber.push(chunk, end === input.length);
    parts.push(out);
    start = end;
  }
  return { out: Buffer.concat(parts).toString('utf8'), echoes: scrubber.echoes };
}

describe('CredentialScrubber', () => {
  const body = `{"headers":{"authorization":"Bearer ${ESCAPED}","x":"${SECRET}","u":"${encodeURIComponent(SECRET)}"},"ok":"sk-"}`;
  const expected = `{"headers":{"authorization":"Bearer ${CREDENTIAL_MARKER}","x":"${CREDENTIAL_MARKER}","u":"${CREDENTIAL_MARKER}"},"ok":"sk-"}`;

  test('replaces the secret as is, JSON-escaped and percent-encoded; the rest is intact', () => {
    assert.deepEqual(scrub(Buffer.from(body), []).out, expected);
    assert.equal(scrub(Buffer.from(body), []).echoes, 3);
  });

  test('the same result whatever byte the body is split at, once or twice', () => {
    const input = Buffer.from(body);
    for (let i = 0; i <= input.length; i++) {
      assert.equal(scrub(input, [i]).out, expected, `split at ${i}`);
    }
    for (let i = 0; i <= input.length; i += 3) {
      for (let j = i; j <= input.length; j += 5) assert.equal(scrub(input, [i, j]).out, expected, `split at ${i}, ${j}`);
    }
  });

  test('one byte at a time', () => {
    const input = Buffer.from(body);
    assert.equal(scrub(input, Array.from({ length: input.length - 1 }, (_, i) => i + 1)).out, expected);
  });

  test('holds back at most the longest form minus one byte, and only a form\'s start', () => {
    const scrubber = new CredentialScrubber('abcdef');
    assert.equal(scrubber.push(Buffer.from('xxabcde'), false).toString(), 'xx');
    assert.equal(scrubber.push(Buffer.from('Z'), false).toString(), 'abcdeZ');
    const plain = Buffer.from('no echo in here');
    assert.equal(scrubber.push(plain, false), plain, 'a clean chunk passes as the same buffer');
    assert.equal(scrubber.push(Buffer.from('abc'), true).toString(), 'abc', 'the end flushes a cut start');
  });

  test('overlapping and repeated echoes, a self-overlapping secret', () => {
    assert.equal(scrub(Buffer.from('aaaaa'), [2], 'aa').out, `${CREDENTIAL_MARKER}${CREDENTIAL_MARKER}a`);
    for (let i = 0; i <= 9; i++) assert.equal(scrub(Buffer.from('xabababx'), [i].filter((c) => c <= 8), 'abab').out, `x${CREDENTIAL_MARKER}abx`);
  });

  test('an empty secret scrubs nothing', () => {
    const chunk = Buffer.from('anything');
    assert.equal(new CredentialScrubber('').push(chunk, true), chunk);
  });
});
