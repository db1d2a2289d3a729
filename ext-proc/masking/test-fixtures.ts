/**
 * Shared test data: one valid sample per recognizer, and streaming inputs that put them next to
 * multi-byte characters, invalid bytes, near-misses and each other. Not a test file itself.
 */
import type { RecognizerId } from './types.ts';

export const HASH_KEY = Buffer.from('0123456789abcdef0123456789abcdef');

export const ALL_RECOGNIZERS: readonly RecognizerId[] = [
  'card', 'iban', 'email', 'phone', 'ssn', 'ipv4', 'ipv6', 'jwt', 'private-key', 'cloud-key',
];

export const JWT_SAMPLE =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';

/** A PEM-shaped block; the body is filler, not a key. */
export function pemBlock(label: string, lines: number, newline = '\n'): string {
  const body = Array.from({ length: lines }, (_, i) => `MII${String(i).padStart(2, '0')}${'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/'.repeat(1)}Q==`);
  return [`-----BEGIN ${label}-----`, ...body, `-----END ${label}-----`].join(newline);
}

export const SAMPLES: Readonly<Record<RecognizerId, string>> = {
  card: '4111 1111 1111 1111',
  iban: 'DE89 3704 0044 0532 0130 00',
  email: 'john.doe@example.com',
  phone: '+1 415 555 0100',
  ssn: '123-45-6789',
  ipv4: '192.168.10.42',
  ipv6: '2001:db8::8a2e:370:7334',
  jwt: JWT_SAMPLE,
  'private-key': pemBlock('RSA PRIVATE KEY', 3),
  'cloud-key': 'AKIAIOSFODNN7EXAMPLE',
};

const json = JSON.stringify({
  user: { name: 'Zoë Ångström 漢字', email: 'zoe.angstrom@example.org', phone: '(415) 555-0134' },
  payment: { card: '5500-0000-0000-0004', bad_card: '4111111111111112', iban: 'GB82 WEST 1234 5698 7654 32', note: 'café ☕' },
  ids: { ssn: '219-09-9999', not_ssn: '666-12-3456', ts: 1700000000001, version: '1.2.3' },
  net: { v4: '10.0.0.255', bad_v4: '256.1.1.1', v6: 'fe80::1ff:fe23:4567:890a', mapped: '::ffff:192.0.2.1' },
  auth: { token: JWT_SAMPLE, aws: 'ASIAY34FZKBOKMUTVV7A', gh: `ghp_${'a1B2c3D4e5'.repeat(3)}abcdef` },
  emoji: '😀4111111111111111😀 emp EMP-123456 名前:山田太郎, done',
});

/** Streaming inputs (valid UTF-8 unless the name says otherwise). */
export const STREAM_INPUTS: Readonly<Record<string, Buffer>> = {
  json: Buffer.from(json),
  adjacent: Buffer.from(
    '4111111111111111,4111111111111111 a@b.io+1 415 555 0100x john@example.com.' +
      ' DE89370400440532013000 GB82 WEST 1234 5698 7654 32 TO JOHN 078-05-1120 192.168.0.1.5 ' +
      '2001:db8:0:0:0:0:2:1 Add::new 1:2:3:4:5:6:7:8 4111 1111 1111 1111 2024-01-15 ' +
      // A rejected candidate ("5 4111 ... 1111" fails Luhn) hides a valid one starting inside it.
      'call 5 4111 1111 1111 1111 now ' +
      // Partial overlap: the phone pattern runs into the SSN, whose tail must still be masked.
      'tel +1 415 555 0100 123-45-6789 ok',
  ),
  literals: Buffer.from(
    `eyJ eyJhbG -----BEGI -----BEGIN PUBLIC KEY----- x\n${pemBlock('PRIVATE KEY', 4)}\ntrailer ` +
      `${JWT_SAMPLE}.${JWT_SAMPLE} "${pemBlock('EC PRIVATE KEY', 2, '\\n')}" ` +
      `xoxb-1234567890-abcdefghij AIzaSyA-${'k'.repeat(31)} sk_live_${'Z9'.repeat(12)} github_pat_${'A_b2'.repeat(8)} end`,
  ),
  multibyte: Buffer.from(
    'ééé漢字😀john.doe@example.com😀漢 名前:佐藤,名前:é😀x 🇩🇪 +44 20 7946 0958 ü 4111-1111-1111-1111€ ' +
      '漢'.repeat(40) + ' EMP-654321 ' + '😀'.repeat(30) + ' 10.1.2.3',
  ),
  // Server-sent events: small events the masker must let through as they come (breakers).
  sse: Buffer.from(
    'event: msg\ndata: {"text":"hi","card":"4111 1111 1111 1111"}\n\n' +
      'data: {"email":"ada@example.com","ip":"10.0.0.7","ssn":"123-45-6789"}\n\n' +
      `data: {"token":"${JWT_SAMPLE}","iban":"DE89 3704 0044 0532 0130 00"}\n\n` +
      'data: +1 415 555 0100\n\ndata: fe80::1\n\ndata: done\n\n',
  ),
  invalidUtf8: Buffer.concat([
    Buffer.from('start '),
    Buffer.from([0xff, 0xfe]),
    Buffer.from(' card '),
    Buffer.from('4111111111111111'),
    Buffer.from([0xc3]),
    Buffer.from(' mail john@example.com'),
    Buffer.from([0x80, 0x80, 0xf0, 0x9f, 0x98]),
    Buffer.from('192.168.1.1'),
    Buffer.from([0xe6, 0xbc]),
    Buffer.from('名前:'),
    Buffer.from([0xff]),
    Buffer.from('x EMP-000111'),
    Buffer.from([0xed, 0xa0, 0x80]),
    Buffer.from(' end'),
  ]),
  // Long word and digit runs: a search that lost its one byte of context before the window
  // would see a word boundary inside them and match where the one-shot result does not.
  runs: Buffer.from(
    `${'k'.repeat(150)}john@example.com ${'7'.repeat(21)} ${'49927398716'.repeat(3)} ` +
      `X${'AKIAIOSFODNN7EXAMPLE'} ${'3'.repeat(25)}4111111111111111 ${'x'.repeat(90)}EMP-123456 end`,
  ),
  sparse: Buffer.from(`${'lorem ipsum dolor sit amet '.repeat(30)}bob@example.net${' consectetur adipiscing'.repeat(25)} 4111111111111111 tail`),
};
