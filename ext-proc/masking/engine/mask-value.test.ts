import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileWithBackend } from '../compile-with-backend.ts';
import { ALL_RECOGNIZERS, HASH_KEY, SAMPLES, STREAM_INPUTS } from '../test-fixtures.ts';
import type { MaskingProfile, OpenOptions, StrategySpec } from '../types.ts';
import { re2Backend } from './re2-backend.ts';

const strategies: StrategySpec[] = ['redact', 'keep-last-4', 'hash'];
const spec = {
  name: 'value-test',
  recognizers: ALL_RECOGNIZERS.map((use, i) => ({ use, strategy: strategies[i % strategies.length]! })),
  patterns: [
    { name: 'emp', pattern: String.raw`EMP-\d{6}`, strategy: 'keep-last-2' as const, maxLength: 16 },
    { name: 'long-secret', pattern: String.raw`secret=[a-z]{8,}`, strategy: 'redact' as const, maxLength: 2048 },
  ],
};
// With the prefilter (as production runs), without it, and with tiny blocks, where email and
// cloud-key become "long" patterns: every way a pattern can reach maskValue.
const PROFILES: Record<string, MaskingProfile> = {
  prefilter: compileWithBackend(spec, { hashKey: HASH_KEY }, re2Backend),
  'no prefilter': compileWithBackend(spec, { hashKey: HASH_KEY }, re2Backend, { prefilter: false }),
  'tiny blocks': compileWithBackend(spec, { hashKey: HASH_KEY }, re2Backend, { blockBytes: 192, overlapBytes: 128 }),
};

const VALUES: Record<string, Buffer> = {
  ...STREAM_INPUTS,
  ...Object.fromEntries(Object.entries(SAMPLES).map(([k, v]) => [`sample ${k}`, Buffer.from(v)])),
  empty: Buffer.alloc(0),
  plain: Buffer.from('nothing to see here, order 42'),
  'long pattern': Buffer.from('a secret=abcdefghij b'),
  'json escape': Buffer.from('{"m":"jane\\u0040example.com","c":"4111 1111 1111 1111"}'),
};

function streamed(profile: MaskingProfile, value: Buffer, options: OpenOptions) {
  const masker = profile.open(options);
  const out = Buffer.concat([masker.push(value), masker.end()]);
  return { out, masked: masker.stats().masked };
}

describe('maskValue', () => {
  for (const [profileName, profile] of Object.entries(PROFILES)) {
    for (const json of [false, true]) {
      it(`equals the stream and maskWhole on every input (${profileName}${json ? ', json' : ''})`, () => {
        for (const [name, value] of Object.entries(VALUES)) {
          const got = profile.maskValue(value, { json });
          const whole = profile.maskWholeReport(value, { json });
          const stream = streamed(profile, value, { json });
          assert.deepEqual(got.out, whole.body, name);
          assert.deepEqual(got.out, stream.out, name);
          assert.deepEqual(got.matches, whole.masked, name);
          assert.deepEqual(got.matches, stream.masked, name);
          assert.equal(got.changed, !got.out.equals(value), name);
        }
      });
    }
  }

  it('returns the input itself, and no counts, when nothing matches', () => {
    const value = Buffer.from('id 17, name Ada, amount 12.50');
    const got = PROFILES.prefilter!.maskValue(value);
    assert.equal(got.out, value);
    assert.equal(got.changed, false);
    assert.deepEqual(got.matches, {});
  });

  it('counts per entry', () => {
    const got = PROFILES.prefilter!.maskValue(Buffer.from('4111111111111111 a@b.io c@d.io EMP-123456'));
    assert.deepEqual(got.matches, { card: 1, email: 2, emp: 1 });
    assert.equal(got.changed, true);
  });

  it('a profile with only column rules masks no value', () => {
    const p = compileWithBackend({ name: 'cols', columns: [{ name: '*ssn*', strategy: 'redact' }] }, {}, re2Backend);
    const value = Buffer.from('4111111111111111');
    assert.deepEqual(p.maskValue(value), { out: value, matches: {}, changed: false });
    // HTTP bodies ignore columns: the stream passes everything.
    assert.equal(p.maskWhole(value).toString(), '4111111111111111');
  });
});
