import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileWithBackend } from '../compile-with-backend.ts';
import { ALL_RECOGNIZERS, HASH_KEY, JWT_SAMPLE, STREAM_INPUTS } from '../test-fixtures.ts';
import type { MaskingProfile, StrategySpec } from '../types.ts';
import { re2Backend } from './re2-backend.ts';

const strategies: StrategySpec[] = ['redact', 'keep-last-4', 'hash'];
const spec = (extra: object = {}) => ({
  name: 'json-test',
  maxMatchBytes: 64,
  recognizers: ALL_RECOGNIZERS.map((use, i) => ({ use, strategy: strategies[i % strategies.length]!, ...(use === 'jwt' ? { maxLength: 400 } : use === 'private-key' ? { maxLength: 600 } : {}) })),
  patterns: [
    { name: 'emp', pattern: String.raw`EMP-\d{6}`, strategy: 'keep-last-2' as const, maxLength: 16 },
    { name: 'jp-name', pattern: String.raw`名前:[^\s,"]+`, strategy: 'keep-last-1' as const, maxLength: 48 },
    // Runs over a decoded quote, backslash and newline, and keeps them (keep-last keeps punctuation).
    { name: 'pw', pattern: String.raw`pw=[^;]{1,20};`, strategy: 'keep-last-1' as const, maxLength: 32 },
  ],
  ...extra,
});
const PROFILES: Record<string, MaskingProfile> = {
  'small windows': compileWithBackend(spec(), { hashKey: HASH_KEY }, re2Backend),
  'tiny blocks': compileWithBackend(spec(), { hashKey: HASH_KEY }, re2Backend, { blockBytes: 192, overlapBytes: 128 }),
};
const JSON_OPEN = { json: true };

// Raw JSON text (String.raw): values hidden behind escapes, next to escapes that hide nothing.
const ESCAPED: Record<string, Buffer> = {
  values: Buffer.from(String.raw`{"card":"\u0034111 1111 1111 1111","email":"jane\u0040example.com","ssn":"219\u002D09\u002d9999",` +
    String.raw`"url":"https:\/\/example.com\/a","ip":"10.0.0\u002e255","emp":"EMP\u002d123456","plain":"bob@example.net"}`),
  surrogates: Buffer.from(String.raw`{"s":"\ud83d\ude00\u0034111111111111111\uD83D\uDE00 \u540d\u524d:\u5c71\u7530\ud83d\ude00x, \u00e9\u20ac"}`),
  quotes: Buffer.from(String.raw`{"q":"she said \"a\u0040example.com\" \\u0040 not\\\u0040b.io","pw":"pw=a\"b\\c\nd;"}`),
  // Ends inside an escape: the body is cut short, and that is passed on as it is.
  invalid: Buffer.from(String.raw`{"a":"\x \u12G4 \ud800 \udc00 \ud800\u0041 \ud83d\u0040x.io \udc00\u0034111111111111111 \uZZZZ 4111\q1111 \u","b":"tail` + '\\ud83d\\u'),
  mixed: Buffer.from(`${STREAM_INPUTS.json!.toString().slice(0, -1)},"esc":"x\\u0040y.org \\u0034111-1111-1111-1111 ${JWT_SAMPLE.slice(0, 20)}\\/${JWT_SAMPLE.slice(20)}"}`),
};

function stream(profile: MaskingProfile, chunks: Buffer[]) {
  const masker = profile.open(JSON_OPEN);
  const parts: Buffer[] = [];
  for (const chunk of chunks) {
    parts.push(masker.push(chunk));
    const held = masker.stats().bufferedBytes;
    assert.ok(held <= profile.windowBytes + 3 + 11, `holds ${held} bytes, window ${profile.windowBytes}`);
  }
  parts.push(masker.end());
  return { out: Buffer.concat(parts), masked: masker.stats().masked, stats: masker.stats() };
}

for (const [profileName, profile] of Object.entries(PROFILES)) {
  describe(`JSON escapes: streaming equals one-shot (${profileName})`, () => {
    for (const [name, input] of Object.entries(ESCAPED)) {
      const want = profile.maskWholeReport(input, JSON_OPEN);
      it(`${name}: every two-chunk split, 1-byte chunks, and three-chunk splits`, () => {
        for (let i = 0; i <= input.length; i++) {
          const { out, masked } = stream(profile, [input.subarray(0, i), input.subarray(i)]);
          assert.equal(out.toString('latin1'), want.body.toString('latin1'), `split at ${i}`);
          assert.deepEqual(masked, want.masked, `report, split at ${i}`);
        }
        const { out, masked } = stream(profile, Array.from(input, (_, i) => input.subarray(i, i + 1)));
        assert.ok(out.equals(want.body), '1-byte chunks');
        assert.deepEqual(masked, want.masked);
        for (let i = 0; i < input.length; i += 5) {
          for (let j = i; j <= Math.min(input.length, i + 14); j++) {
            const three = stream(profile, [input.subarray(0, i), input.subarray(i, j), input.subarray(j)]);
            assert.ok(three.out.equals(want.body), `splits at ${i}, ${j}`);
          }
        }
      });
    }
  });
}

describe('JSON escapes: what is masked', () => {
  const profile = PROFILES['small windows']!;
  const masked = (input: Buffer) => profile.maskWholeReport(input, JSON_OPEN);

  it('finds values hidden behind \\u escapes and \\/, as JSON.parse reads them', () => {
    const { body, masked: report } = masked(ESCAPED.values!);
    const parsed = JSON.parse(body.toString()) as Record<string, string>;
    assert.equal(parsed.card, '[REDACTED:card]');
    assert.match(parsed.email!, /^\[H:[0-9a-f]{8}\]$/);
    assert.equal(parsed.ssn, '***-**-9999');
    assert.equal(parsed.emp, '***-****56');
    assert.deepEqual(report, { card: 1, email: 2, ssn: 1, ipv4: 1, emp: 1 });
    // The same email, escaped or not, gets the same tag.
    assert.equal(parsed.email, (JSON.parse(masked(Buffer.from('{"e":"jane@example.com"}')).body.toString()) as { e: string }).e);
    // Escapes that hide nothing come out as they came in.
    assert.ok(body.includes(String.raw`"url":"https:\/\/example.com\/a"`), body.toString());
  });

  it('decodes surrogate pairs; a replacement is plain JSON text', () => {
    const { body, masked: report } = masked(ESCAPED.surrogates!);
    assert.deepEqual(report, { card: 1, 'jp-name': 1 });
    const s = (JSON.parse(body.toString()) as { s: string }).s;
    assert.ok(!s.includes('4111111111111111') && !s.includes('山田'), s);
    assert.ok(body.toString().startsWith(String.raw`{"s":"\ud83d\ude00`), 'the escape before the card stays');
    assert.ok(body.toString().endsWith(String.raw`x, \u00e9\u20ac"}`), body.toString());
  });

  it('an escaped quote: masking sees the quote, the output stays valid JSON', () => {
    const { body, masked: report } = masked(ESCAPED.quotes!);
    const parsed = JSON.parse(body.toString()) as { q: string; pw: string };
    // `not\\\u0040b.io` reads `not\@b.io`: no local part, no email.
    assert.deepEqual(report, { email: 1, pw: 1 });
    assert.ok(!parsed.q.includes('a@example.com'), parsed.q);
    assert.ok(body.includes(String.raw`she said \"`) && body.includes(String.raw` \\u0040 not\\`), body.toString());
    // keep-last keeps punctuation: the decoded `"`, `\` and newline are written escaped again.
    assert.equal(parsed.pw, '**=*"*\\*\nd;');
  });

  it('invalid escapes are left as they are, never decoded, never a crash', () => {
    const input = ESCAPED.invalid!;
    const { body, masked: report } = masked(input);
    // `\ud83d` has no low surrogate after it, so the `\u0040` that follows still decodes.
    // A lone surrogate reads as U+FFFD: `\ud83d\u0040x.io` is no email, the card after `\udc00` is a card.
    assert.deepEqual(report, { card: 1 });
    assert.equal(body.toString(), input.toString().replace(String.raw`\u0034111111111111111`, '[REDACTED:card]'));
  });

  it('a JSON body without escapes comes out byte for byte as plain masking gives it', () => {
    for (const [name, input] of Object.entries(STREAM_INPUTS)) {
      if (input.includes(0x5c)) continue;
      for (const p of Object.values(PROFILES)) {
        assert.ok(p.maskWhole(input, JSON_OPEN).equals(p.maskWhole(input)), name);
        const m = p.open(JSON_OPEN);
        const out = Buffer.concat([m.push(input.subarray(0, 100)), m.push(input.subarray(100)), m.end()]);
        assert.ok(out.equals(p.maskWhole(input)), name);
        assert.deepEqual(m.stats().masked, p.maskWholeReport(input).masked, name);
      }
    }
  });

  it('a JSON-escaped private key (\\n between lines) is still masked whole', () => {
    const input = STREAM_INPUTS.literals!;
    for (const p of Object.values(PROFILES)) {
      const plain = p.maskWholeReport(input);
      const json = p.maskWholeReport(input, JSON_OPEN);
      assert.deepEqual(json.masked, plain.masked);
      assert.ok(!json.body.includes('PRIVATE KEY') && !json.body.includes('MII00'), json.body.toString());
    }
  });

  it('counts raw bytes in, and refuses a push after end', () => {
    const input = ESCAPED.values!;
    const { stats } = stream(profile, [input]);
    assert.equal(stats.bytesIn, input.length);
    const m = profile.open(JSON_OPEN);
    m.end();
    assert.throws(() => m.push(Buffer.from('x')), { code: 'ERR_INTERNAL' });
  });
});
