import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileWithBackend } from '../compile-with-backend.ts';
import { BUILTIN_RECOGNIZERS } from '../recognizers/builtin.ts';
import type { RecognizerId } from '../types.ts';
import type { MatchBackend } from './program.ts';
import { re2Backend } from './re2-backend.ts';

/** re2Backend with every find/matchAt and set call counted, by pattern source. */
function spyBackend() {
  const finds = new Map<string, number>();
  const setCalls = { count: 0 };
  const backend: MatchBackend = {
    name: 'spy',
    program(source) {
      const inner = re2Backend.program(source);
      const bump = () => finds.set(source, (finds.get(source) ?? 0) + 1);
      return {
        find: (text, from, end) => (bump(), inner.find(text, from, end)),
        matchAt: (text, at) => (bump(), inner.matchAt(text, at)),
      };
    },
    set(sources) {
      const inner = re2Backend.set(sources)!;
      return { match: (text, from, to) => (setCalls.count++, inner.match(text, from, to)) };
    },
  };
  return { backend, finds, setCalls };
}

const spec = {
  name: 'prefilter',
  recognizers: ['card', 'email', 'ssn', 'jwt'].map((use) => ({ use, strategy: 'redact' })),
  patterns: [{ name: 'ticket', pattern: String.raw`TICKET-[0-9]{8}`, strategy: 'redact' }],
};

/** ~1 MiB of prose with an email every ~10 KiB and nothing else to find. */
function emailOnlyBody(): Buffer {
  const filler = 'the quick brown fox jumps over the lazy dog, again and again; ';
  const parts: string[] = [];
  for (let i = 0; i < 100; i++) parts.push(filler.repeat(160), ` user${i}@example.com `);
  return Buffer.from(parts.join(''));
}

function run(profile: ReturnType<typeof compileWithBackend>, body: Buffer) {
  const masker = profile.open();
  const out: Buffer[] = [];
  for (let at = 0; at < body.length; at += 65536) out.push(masker.push(body.subarray(at, at + 65536)));
  out.push(masker.end());
  return { out: Buffer.concat(out), stats: masker.stats() };
}

describe('RE2.Set prefilter', () => {
  const body = emailOnlyBody();

  it('runs only the patterns that can match, and only near the matches', () => {
    const spy = spyBackend();
    const profile = compileWithBackend(spec, {}, spy.backend);
    spy.finds.clear(); // compileProfile probes custom patterns against the empty string
    const { out, stats } = run(profile, body);
    assert.equal(stats.matches, 100);
    assert.ok(!out.includes('@example.com'));
    const finds = (name: string) => spy.finds.get(sourceOf(name)) ?? 0;
    assert.equal(finds('card'), 0, 'card never ran');
    assert.equal(finds('ssn'), 0, 'ssn never ran');
    assert.equal(finds('ticket'), 0, 'the custom (long) pattern never ran');
    assert.equal(finds('jwt'), 0, 'no eyJ prefix, so jwt never ran');
    // Each email flags one or two blocks; each flagged block costs at most two exec calls.
    assert.ok(finds('email') >= 100 && finds('email') <= 400, `email ran ${finds('email')} times`);
    assert.ok(spy.setCalls.count > 0);
    assert.deepEqual(
      { card: stats.execCalls.card, ssn: stats.execCalls.ssn, ticket: stats.execCalls.ticket, jwt: stats.execCalls.jwt },
      { card: 0, ssn: 0, ticket: 0, jwt: 0 },
    );
    assert.equal(stats.execCalls.email, finds('email'));
    assert.equal(stats.prefilterCalls, spy.setCalls.count);
  });

  it('without the prefilter every pattern scans every chunk, with the same result', () => {
    const spy = spyBackend();
    const withSet = run(compileWithBackend(spec, {}, re2Backend), body);
    const without = run(compileWithBackend(spec, {}, spy.backend, { prefilter: false }), body);
    assert.equal(spy.setCalls.count, 0);
    assert.ok((spy.finds.get(sourceOf('card')) ?? 0) >= Math.floor(body.length / 65536));
    assert.ok(without.out.equals(withSet.out));
  });
});

function sourceOf(name: string): string {
  if (name === 'ticket') return spec.patterns[0]!.pattern;
  return BUILTIN_RECOGNIZERS.get(name as RecognizerId)!.source;
}
