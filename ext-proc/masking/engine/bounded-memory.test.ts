import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileProfile } from '../compile-profile.ts';
import { ALL_RECOGNIZERS, JWT_SAMPLE, pemBlock } from '../test-fixtures.ts';

const CHUNK = 64 * 1024;
const TOTAL = 100 * 1024 * 1024;

function pad(head: string, middle: string, tail: string): Buffer {
  const fill = CHUNK - Buffer.byteLength(head) - Buffer.byteLength(tail) - Buffer.byteLength(middle);
  return Buffer.from(head + middle + ' lorem ipsum dolor sit amet'.repeat(Math.ceil(fill / 27)).slice(0, fill) + tail);
}

describe('bounded memory', () => {
  const profile = compileProfile({ name: 'all', recognizers: ALL_RECOGNIZERS.map((use) => ({ use, strategy: 'redact' })) });
  const bound = profile.windowBytes + 3;

  it(`holds at most the window (${profile.windowBytes} B) + a UTF-8 tail over 100 MB, matches or not`, () => {
    // Two chunk shapes alternate so a private key and a JWT are each split across every
    // boundary; their middles carry every other kind of PII, multi-byte text included.
    const pem = pemBlock('PRIVATE KEY', 60);
    const cut = pem.indexOf('PRIV') + 4;
    const jwtCut = 40;
    const middle = ' Zoë 漢字 4111 1111 1111 1111 john.doe@example.com +1 415 555 0100 123-45-6789 10.1.2.3 ' +
      'fe80::1 DE89 3704 0044 0532 0130 00 AKIAIOSFODNN7EXAMPLE 😀 ';
    const a = pad(JWT_SAMPLE.slice(jwtCut), middle.repeat(20), ` ${pem.slice(0, cut)}`);
    const b = pad(pem.slice(cut), middle.repeat(20), ` ${JWT_SAMPLE.slice(0, jwtCut)}`);
    const quiet = pad('', '', ' '); // no matches at all
    const masker = profile.open();
    let outBytes = 0;
    for (let sent = 0, i = 0; sent < TOTAL; sent += CHUNK, i++) {
      const chunk = sent < TOTAL / 2 ? quiet : i % 2 === 0 ? a : b;
      const out = masker.push(chunk);
      outBytes += out.length;
      const { bufferedBytes } = masker.stats();
      if (bufferedBytes > bound) assert.fail(`chunk ${i}: ${bufferedBytes} bytes held, bound ${bound}`);
      if (i % 97 === 0 && chunk !== quiet) {
        for (const secret of ['4111 1111 1111 1111', 'john.doe@', 'MII00', 'eyJhbGci', 'AKIAIOSF']) assert.ok(!out.includes(secret), secret);
      }
    }
    outBytes += masker.end().length;
    const stats = masker.stats();
    assert.ok(stats.peakBufferedBytes <= bound, `peak ${stats.peakBufferedBytes}`);
    assert.equal(stats.bytesIn, TOTAL);
    assert.equal(stats.bytesOut, outBytes);
    const pairs = TOTAL / 2 / CHUNK / 2;
    // 20 middles x 8 masked spans per chunk, plus the private key or JWT split at its start.
    assert.ok(stats.matches >= pairs * 2 * (20 * 8 + 1) - 1, `${stats.matches} matches`);
  });

  it('holds almost nothing while no prefix of a long pattern is pending', () => {
    const p = compileProfile({ name: 'literal', recognizers: [{ use: 'jwt', strategy: 'redact' }, { use: 'private-key', strategy: 'redact' }] });
    const masker = p.open();
    for (let i = 0; i < 64; i++) masker.push(Buffer.from(`line ${i} of plain text without tokens\n`.repeat(200)));
    assert.ok(masker.stats().peakBufferedBytes <= 16, `peak ${masker.stats().peakBufferedBytes}`);
  });
});
