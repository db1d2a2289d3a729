import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileWithBackend } from '../compile-with-backend.ts';
import { ALL_RECOGNIZERS, HASH_KEY, STREAM_INPUTS } from '../test-fixtures.ts';
import type { MaskingProfile, MaskingReport, StrategySpec } from '../types.ts';
import { re2Backend } from './re2-backend.ts';

const strategies: StrategySpec[] = ['redact', 'keep-last-4', 'hash', { type: 'hash', length: 12 }];

function spec(maxLengths: Partial<Record<string, number>>) {
  return {
    name: 'stream-test',
    maxMatchBytes: 64,
    recognizers: ALL_RECOGNIZERS.map((use, i) => ({ use, strategy: strategies[i % strategies.length]!, maxLength: maxLengths[use] })),
    patterns: [
      { name: 'emp', pattern: String.raw`EMP-\d{6}`, strategy: 'keep-last-2' as const, maxLength: 16 },
      { name: 'jp-name', pattern: String.raw`名前:[^\s,"]+`, strategy: 'keep-last-1' as const, maxLength: 48 },
    ],
  };
}

// Three engines over the same entries: small windows (so bytes are emitted mid-stream), the
// defaults, and tiny prefilter blocks (many blocks per push; email and cloud-key become "long"
// patterns), so every scanning path meets every split.
const small = { jwt: 400, 'private-key': 600 };
const PROFILES: Record<string, MaskingProfile> = {
  'small windows': compileWithBackend(spec(small), { hashKey: HASH_KEY }, re2Backend),
  defaults: compileWithBackend({ ...spec({}), maxMatchBytes: 4096 }, { hashKey: HASH_KEY }, re2Backend),
  'tiny blocks': compileWithBackend(spec(small), { hashKey: HASH_KEY }, re2Backend, { blockBytes: 192, overlapBytes: 128 }),
};

/** Runs `chunks` through a fresh masker, checking the window bound after every push. */
function stream(profile: MaskingProfile, chunks: Buffer[]): { out: Buffer; parts: Buffer[]; masked: MaskingReport } {
  const masker = profile.open();
  const parts: Buffer[] = [];
  for (const chunk of chunks) {
    parts.push(masker.push(chunk));
    const { bufferedBytes } = masker.stats();
    assert.ok(bufferedBytes <= profile.windowBytes + 3, `holds ${bufferedBytes} bytes, window ${profile.windowBytes}`);
  }
  parts.push(masker.end());
  return { out: Buffer.concat(parts), parts, masked: masker.stats().masked };
}

/** Deterministic PRNG so a failure names a reproducible seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function isValidUtf8(buf: Buffer): boolean {
  return Buffer.from(buf.toString('utf8'), 'utf8').equals(buf);
}

for (const [profileName, profile] of Object.entries(PROFILES)) {
  describe(`streaming equals one-shot (${profileName}, window ${profile.windowBytes})`, () => {
    for (const [inputName, input] of Object.entries(STREAM_INPUTS)) {
      const { body: want, masked: wantMasked } = profile.maskWholeReport(input);

      it(`${inputName}: every two-chunk split`, () => {
        for (let i = 0; i <= input.length; i++) {
          const { out, masked } = stream(profile, [input.subarray(0, i), input.subarray(i)]);
          if (!out.equals(want)) assert.equal(out.toString('latin1'), want.toString('latin1'), `split at ${i}`);
          assert.deepEqual(masked, wantMasked, `masking report, split at ${i}`);
        }
      });

      it(`${inputName}: random multi-chunk splits and 1-byte chunks`, () => {
        const next = rng(inputName.length * 7919 + profile.windowBytes);
        for (let round = 0; round < 60; round++) {
          const chunks: Buffer[] = [];
          for (let at = 0; at < input.length; ) {
            const size = next() < 0.2 ? 1 + Math.floor(next() * 400) : 1 + Math.floor(next() * 24);
            chunks.push(input.subarray(at, at + size));
            at += size;
          }
          const { out, parts, masked } = stream(profile, chunks);
          if (!out.equals(want)) assert.equal(out.toString('latin1'), want.toString('latin1'), `round ${round}`);
          assert.deepEqual(masked, wantMasked, `masking report, round ${round}`);
          if (inputName !== 'invalidUtf8') assert.ok(parts.every(isValidUtf8), 'an emitted chunk ends inside a character');
        }
        const bytes = Array.from(input, (_, i) => input.subarray(i, i + 1));
        const { out, parts, masked } = stream(profile, bytes);
        assert.ok(out.equals(want), '1-byte chunks');
        assert.deepEqual(masked, wantMasked, 'masking report, 1-byte chunks');
        if (inputName !== 'invalidUtf8') assert.ok(parts.every(isValidUtf8), 'an emitted chunk ends inside a character');
      });
    }
  });
}

describe('one-shot results', () => {
  const profile = PROFILES['small windows']!;

  it('masks every recognizer in the JSON sample and leaves near-misses alone', () => {
    const out = profile.maskWhole(STREAM_INPUTS.json!).toString('utf8');
    for (const gone of ['zoe.angstrom@example.org', '(415) 555-0134', '5500-0000-0000-0004', 'GB82 WEST', '219-09-9999',
      '10.0.0.255', 'fe80::1ff', '192.0.2.1', 'eyJhbGci', 'ASIAY34F', 'ghp_', 'EMP-123456', '山田太郎']) {
      assert.ok(!out.includes(gone), `${gone} survived: ${out}`);
    }
    for (const kept of ['4111111111111112', '666-12-3456', '1700000000001', '256.1.1.1', '"1.2.3"', 'café ☕', 'Zoë Ångström 漢字']) {
      assert.ok(out.includes(kept), `${kept} was masked: ${out}`);
    }
  });

  it('does not corrupt invalid UTF-8 and is deterministic', () => {
    const input = STREAM_INPUTS.invalidUtf8!;
    const a = profile.maskWhole(input);
    assert.ok(a.equals(profile.maskWhole(input)));
    assert.ok(a.includes(Buffer.from([0xff, 0xfe])) && a.includes(Buffer.from([0xed, 0xa0, 0x80])), 'invalid bytes pass through');
    assert.ok(!a.includes(Buffer.from('john@example.com')) && !a.includes(Buffer.from('192.168.1.1')));
  });

  it('an over-long match is cut at maxLength and masked, not leaked or crashed on', () => {
    const p = compileWithBackend(
      { name: 'long', patterns: [{ name: 'secret', pattern: String.raw`secret=\S+`, strategy: 'redact', maxLength: 32 }] },
      {},
      re2Backend,
    );
    const input = Buffer.from(`a secret=${'x'.repeat(100)} b`);
    const out = p.maskWhole(input).toString();
    assert.ok(out.startsWith('a [REDACTED:secret]'), out);
    assert.ok(!out.includes(`secret=${'x'.repeat(20)}`));
    const chunks = Array.from({ length: Math.ceil(input.length / 7) }, (_, i) => input.subarray(i * 7, i * 7 + 7));
    assert.ok(stream(p, chunks).out.toString().startsWith('a [REDACTED:secret]'));
  });

  it('after a rejected candidate, searches again inside it', () => {
    const out = profile.maskWhole(STREAM_INPUTS.adjacent!).toString();
    assert.ok(out.includes('call 5 **** **** **** 1111 now') || out.includes('call 5 [REDACTED:card] now'), out);
  });

  it('masks the rest of a match that overlaps an earlier one', () => {
    const p = compileWithBackend({ name: 'o', recognizers: [{ use: 'phone', strategy: 'redact' }, { use: 'ssn', strategy: 'redact' }] }, {}, re2Backend);
    assert.equal(p.maskWhole(Buffer.from('tel +1 415 555 0100 123-45-6789 ok')).toString(), 'tel [REDACTED:phone][REDACTED:ssn] ok');
  });

  it('re-checks a match that only exists because a prefilter block ends there', () => {
    // `z+$` can match up to the end of a shortened block view, but not in the body; the engine
    // must notice (the match is longer than maxLength and touches the view end) and ask again.
    const p = compileWithBackend(
      { name: 'dollar', patterns: [{ name: 'zed', pattern: '(?:z+$|z{1,3})', strategy: 'redact', maxLength: 8 }] },
      {},
      re2Backend,
      { blockBytes: 64, overlapBytes: 16 },
    );
    const input = Buffer.from(Array.from({ length: 12 }, (_, i) => `${'.'.repeat(i * 5)}${'z'.repeat(30)}`).join('|'));
    const masker = p.open();
    const out = Buffer.concat([masker.push(input), masker.end()]);
    assert.equal(out.toString(), p.maskWhole(input).toString());
  });

  it('refuses to push after end', () => {
    const masker = profile.open();
    masker.end();
    assert.throws(() => masker.push(Buffer.from('x')), { code: 'ERR_INTERNAL' });
    assert.equal(masker.end().length, 0);
  });
});

describe('masking report', () => {
  const p = compileWithBackend(
    {
      name: 'report',
      recognizers: [{ use: 'card', strategy: 'keep-last-4' }, { use: 'email', strategy: 'hash' }, { use: 'phone', strategy: 'redact' }, { use: 'ssn', strategy: 'redact' }],
      patterns: [{ name: 'emp', pattern: String.raw`EMP-\d{6}`, strategy: 'redact', maxLength: 16 }],
    },
    { hashKey: HASH_KEY },
    re2Backend,
  );
  const input = Buffer.from('a@b.io 4111 1111 1111 1111 EMP-123456 x@y.org EMP-000001 4111111111111112 tel +1 415 555 0100 123-45-6789');

  it('counts per recognizer and pattern name, only entries that masked something, never values', () => {
    const { masked } = p.maskWholeReport(input);
    // The phone match runs into the SSN; the SSN's tail is still masked, so both count.
    assert.deepEqual(masked, { email: 2, card: 1, emp: 2, phone: 1, ssn: 1 });
    const masker = p.open();
    masker.push(input.subarray(0, 30));
    masker.push(input.subarray(30));
    masker.end();
    const stats = masker.stats();
    assert.deepEqual(stats.masked, masked);
    assert.equal(stats.matches, 7, 'matches is the sum of the report');
    assert.ok(!/@|4111|EMP-|555/.test(JSON.stringify(stats)), 'the report holds counts, not values');
  });

  it('starts empty and can be switched off (benchmark baseline only)', () => {
    assert.deepEqual(p.open().stats().masked, {});
    const off = compileWithBackend({ name: 'off', recognizers: [{ use: 'card', strategy: 'redact' }] }, {}, re2Backend, { countMasked: false });
    const masker = off.open();
    masker.push(input);
    masker.end();
    assert.deepEqual(masker.stats().masked, {});
    assert.equal(masker.stats().matches, 1);
  });
});
