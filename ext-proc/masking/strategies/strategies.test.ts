import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { compileProfile } from '../compile-profile.ts';
import { HASH_KEY } from '../test-fixtures.ts';
import type { StrategySpec } from '../types.ts';
import { keepLastStrategy } from './keep-last.ts';

function maskWith(use: 'card' | 'ssn' | 'email' | 'phone', strategy: StrategySpec, text: string, key = HASH_KEY): string {
  return compileProfile({ name: 's', recognizers: [{ use, strategy }] }, { hashKey: key }).maskWhole(Buffer.from(text)).toString();
}

describe('strategies', () => {
  it('redact: default marker names the recognizer; a custom marker replaces it', () => {
    assert.equal(maskWith('ssn', 'redact', 'ssn 123-45-6789.'), 'ssn [REDACTED:ssn].');
    assert.equal(maskWith('ssn', { type: 'redact', marker: '<ssn>' }, 'ssn 123-45-6789.'), 'ssn <ssn>.');
    const custom = compileProfile({ name: 'c', patterns: [{ name: 'order-id', pattern: String.raw`ORD-\d{4}`, strategy: 'redact' }] });
    assert.equal(custom.maskWhole(Buffer.from('ORD-1234')).toString(), '[REDACTED:order-id]');
  });

  it('keep-last-N keeps the last N letters/digits and every separator', () => {
    assert.equal(maskWith('card', 'keep-last-4', '4111111111131234'), '************1234');
    assert.equal(maskWith('card', 'keep-last-4', '4111 1111 1113 1234'), '**** **** **** 1234');
    assert.equal(maskWith('card', { type: 'keep-last', n: 4 }, '4111-1111-1113-1234'), '****-****-****-1234');
    assert.equal(maskWith('ssn', 'keep-last-4', '123-45-6789'), '***-**-6789');
    assert.equal(maskWith('phone', 'keep-last-2', '+1 (415) 555-0100'), '+* (***) ***-**00');
  });

  it('keep-last never shows more than half, and counts a multi-byte character as one', () => {
    assert.equal(keepLastStrategy(4).render(Buffer.from('abcdef'), Buffer.alloc(0)).toString(), '***def');
    assert.equal(keepLastStrategy(4).render(Buffer.from('ab'), Buffer.alloc(0)).toString(), '*b');
    assert.equal(keepLastStrategy(2).render(Buffer.from('名前:山田太郎'), Buffer.alloc(0)).toString(), '**:**太郎');
    assert.equal(keepLastStrategy(1).render(Buffer.from('é😀x'), Buffer.alloc(0)).toString(), '**x');
  });

  it('hash: keyed HMAC-SHA256 of the canonical value, same in every stream', () => {
    const expected = createHmac('sha256', HASH_KEY).update('4111111111111111').digest('hex').slice(0, 8);
    assert.equal(maskWith('card', 'hash', 'card 4111 1111 1111 1111'), `card [H:${expected}]`);
    // Canonical form: grouping does not change the tag, so auditors can correlate.
    assert.equal(maskWith('card', 'hash', '4111-1111-1111-1111'), `[H:${expected}]`);
    assert.equal(maskWith('email', 'hash', 'John.Doe@Example.com'), maskWith('email', 'hash', 'john.doe@example.com'));
    const profile = compileProfile({ name: 'h', recognizers: [{ use: 'card', strategy: 'hash' }] }, { hashKey: HASH_KEY });
    const a = profile.open();
    const b = profile.open();
    const outA = Buffer.concat([a.push(Buffer.from('x 4111111111111111 y')), a.end()]).toString();
    const outB = Buffer.concat([b.push(Buffer.from('4111111111111111')), b.end()]).toString();
    assert.equal(outA, `x [H:${expected}] y`);
    assert.equal(outB, `[H:${expected}]`);
  });

  it('hash: another key gives another tag; length is configurable', () => {
    const other = Buffer.alloc(32, 7);
    assert.notEqual(maskWith('ssn', 'hash', '123-45-6789', other), maskWith('ssn', 'hash', '123-45-6789'));
    assert.match(maskWith('ssn', { type: 'hash', length: 16 }, '123-45-6789'), /^\[H:[0-9a-f]{16}\]$/);
  });
});
