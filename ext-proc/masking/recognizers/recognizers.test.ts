import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileProfile } from '../compile-profile.ts';
import { JWT_SAMPLE, pemBlock, SAMPLES } from '../test-fixtures.ts';
import type { MaskingProfile, RecognizerId } from '../types.ts';
import { BUILTIN_RECOGNIZERS } from './builtin.ts';
import { ibanChecksumValid } from './iban-checksum.ts';
import { luhnValid } from './luhn.ts';

const profiles = new Map<RecognizerId, MaskingProfile>();
function only(id: RecognizerId): MaskingProfile {
  let p = profiles.get(id);
  if (p === undefined) {
    p = compileProfile({ name: id, recognizers: [{ use: id, strategy: 'redact' }] });
    profiles.set(id, p);
  }
  return p;
}

/** The body `text` after masking with only recognizer `id`. */
function mask(id: RecognizerId, text: string): string {
  return only(id).maskWhole(Buffer.from(text)).toString();
}

/** Each value, alone and embedded in JSON and prose, is replaced whole. */
function masksWhole(id: RecognizerId, values: string[]): void {
  for (const v of values) {
    assert.equal(mask(id, v), `[REDACTED:${id}]`, `${id} should mask ${JSON.stringify(v)} entirely`);
    assert.equal(mask(id, `{"v":"${v}"}`), `{"v":"[REDACTED:${id}]"}`);
    assert.equal(mask(id, `see ${v}, then`), `see [REDACTED:${id}], then`);
  }
}

function leaves(id: RecognizerId, texts: string[]): void {
  for (const t of texts) assert.equal(mask(id, t), t, `${id} should leave ${JSON.stringify(t)} alone`);
}

describe('built-in recognizers', () => {
  it('every built-in masks its reference sample', () => {
    assert.deepEqual([...BUILTIN_RECOGNIZERS.keys()].sort(), Object.keys(SAMPLES).sort());
    for (const [id, sample] of Object.entries(SAMPLES)) masksWhole(id as RecognizerId, [sample]);
  });

  it('card: Luhn-valid numbers of the major networks, grouped or not', () => {
    masksWhole('card', ['4111111111111111', '4111-1111-1111-1111', '5500 0000 0000 0004', '378282246310005', '6011111111111117', '2223000048400011', '4222222222222']);
    assert.ok(luhnValid(Buffer.from('4111 1111 1111 1111')) && !luhnValid(Buffer.from('4111 1111 1111 1112')));
  });

  it('card: Luhn-invalid, too short, too long, or not a card prefix', () => {
    leaves('card', ['4111111111111112', '4111 1111 1111 1112', '411111111111', '41111111111111111111', '1234567812345670', '1700000000001', '79927398713', 'x4111111111111111']);
  });

  it('iban: mod-97 valid, spaced or not, trimmed to the country length', () => {
    masksWhole('iban', ['DE89370400440532013000', 'DE89 3704 0044 0532 0130 00', 'GB82 WEST 1234 5698 7654 32', 'FR14 2004 1010 0505 0001 3M02 606', 'NL91ABNA0417164300', 'NO9386011117947']);
    assert.equal(mask('iban', 'GB82 WEST 1234 5698 7654 32 TO JOHN'), '[REDACTED:iban] TO JOHN');
    assert.ok(ibanChecksumValid([...Buffer.from('DE89370400440532013000')]));
  });

  it('iban: wrong checksum, wrong country length, lowercase', () => {
    leaves('iban', ['DE89370400440532013001', 'DE8937040044053201300', 'GB82WEST12345698765432X1', 'de89370400440532013000', 'DE00370400440532013000']);
  });

  it('email', () => {
    masksWhole('email', ['john.doe@example.com', 'a+tag@sub.example.co.uk', 'x_y-z@ex-ample.io', 'UPPER@EXAMPLE.ORG']);
    leaves('email', ['john@localhost', 'not an @ sign', '@example.com', 'john@.com', 'a@b.c']);
    assert.equal(mask('email', 'mail: "zoe@example.org".'), 'mail: "[REDACTED:email]".');
  });

  it('phone: international, North American and national formats', () => {
    masksWhole('phone', ['+1 415 555 0100', '+14155550100', '+44 (0)20 7946 0958', '+33 1 23 45 67 89', '(415) 555-0100', '415-555-0100', '415.555.0100', '020 7946 0958', '01 23 45 67 89', '07700 900123']);
  });

  it('phone: dates, ids, amounts, versions and short numbers are not phones', () => {
    leaves('phone', ['2024-01-15', '12345', '1700000000001', '555-0100', '123-456-7890', '1,234.56', '1.2.3', 'v+1234', '+123', '14155550100', '2024-01-15T10:00:00Z']);
  });

  it('ssn: written forms, never-issued ranges rejected', () => {
    masksWhole('ssn', ['123-45-6789', '219 09 9999', '078-05-1120', '899-99-9999']);
    leaves('ssn', ['000-12-3456', '666-12-3456', '900-12-3456', '999-12-3456', '123-00-4567', '123-45-0000', '123456789', '123-456-789', '1123-45-6789']);
  });

  it('ipv4: octets up to 255', () => {
    masksWhole('ipv4', ['192.168.1.1', '10.0.0.255', '0.0.0.0', '255.255.255.255', '8.8.8.8']);
    leaves('ipv4', ['256.1.1.1', '1.2.3', '999.999.999.999', '192.168.1.256', '1.2.3.4a']);
  });

  it('ipv6: full, compressed and IPv4-embedded forms, whole address', () => {
    masksWhole('ipv6', ['2001:db8::8a2e:370:7334', '2001:0db8:85a3:0000:0000:8a2e:0370:7334', 'fe80::1', '::1', '::ffff:192.0.2.1', '64:ff9b::192.0.2.33', '1:2:3:4:5:6:7::', '2001:DB8::1', '2001:db8:0:0:0:0:2:1', '1:2:3:4:5:6:1.2.3.4']);
    assert.equal(mask('ipv6', 'fe80:: up'), '[REDACTED:ipv6] up');
  });

  it('ipv6: code paths, times, MAC addresses and malformed addresses are not', () => {
    leaves('ipv6', ['std::vector', 'Add::new', '12:30:45', '00:1a:2b:3c:4d:5e', '::', 'deadbeef::1', '::ffff:999.0.2.1']);
  });

  it('jwt: three base64url segments with a JSON header naming alg', () => {
    masksWhole('jwt', [JWT_SAMPLE, `${JWT_SAMPLE.slice(0, JWT_SAMPLE.lastIndexOf('.'))}.`]);
    leaves('jwt', ['eyJub3Rqd3QiOjF9.abc.def', 'eyJhbGciOiJIUzI1NiJ9', 'xeyJhbGciOiJIUzI1NiJ9.e30.sig', 'eyJhbGciOiJIUzI1NiJ9 .e30.sig']);
  });

  it('private-key: PEM blocks of every flavour, also JSON-escaped, not public keys', () => {
    masksWhole('private-key', [pemBlock('PRIVATE KEY', 5), pemBlock('RSA PRIVATE KEY', 2), pemBlock('EC PRIVATE KEY', 2), pemBlock('OPENSSH PRIVATE KEY', 3), pemBlock('ENCRYPTED PRIVATE KEY', 1), pemBlock('PGP PRIVATE KEY BLOCK', 2), pemBlock('PRIVATE KEY', 3, '\\n')]);
    leaves('private-key', [pemBlock('PUBLIC KEY', 3), pemBlock('CERTIFICATE', 3), '-----BEGIN PRIVATE KEY']);
  });

  it('private-key: a header without a footer still masks the body that follows', () => {
    const out = mask('private-key', `x -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQ\nAbCd== "next": 1`);
    assert.equal(out, 'x [REDACTED:private-key]"next": 1');
  });

  it('cloud-key: AWS, GitHub, Slack, Google and Stripe formats', () => {
    masksWhole('cloud-key', ['AKIAIOSFODNN7EXAMPLE', 'ASIAY34FZKBOKMUTVV7A', `ghp_${'a'.repeat(36)}`, `gho_${'Z9'.repeat(18)}`, `github_pat_11ABCDEFG0123456789_${'x'.repeat(59)}`, 'xoxb-1234567890-abcdefghij', 'xoxp-12345-67890-abcdef', `AIza${'Sy-_0'.repeat(7)}`, `sk_live_${'a1'.repeat(12)}`, `rk_live_${'Q'.repeat(24)}`]);
    leaves('cloud-key', ['AKIA1234', 'AKIAIOSFODNN7EXAMPLEX', `sk_test_${'a'.repeat(24)}`, 'ghp_short', 'xoxc-1234567890-abc', `AIza${'x'.repeat(20)}`]);
  });
});
