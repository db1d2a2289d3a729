import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import RE2 from 're2';
import { BUILTIN_RECOGNIZERS } from '../recognizers/builtin.ts';
import { compileProfile } from '../compile-profile.ts';
import { ALL_RECOGNIZERS, SAMPLES, STREAM_INPUTS } from '../test-fixtures.ts';
import { breakerTable } from './breakers.ts';

const ALL = compileProfile({ name: 'all', recognizers: ALL_RECOGNIZERS.map((use) => ({ use, strategy: 'redact' })) });

describe('breakers: bytes a match can never contain', () => {
  it('every match of every built-in recognizer is made of its alphabet (soundness on the fixtures)', () => {
    const corpus = [...Object.values(STREAM_INPUTS).map((b) => b.toString('latin1')), ...Object.values(SAMPLES)].join('\n');
    for (const recognizer of BUILTIN_RECOGNIZERS.values()) {
      if (recognizer.alphabet === undefined) continue;
      const breakers = breakerTable(recognizer.alphabet);
      const re = new RE2(recognizer.source, 'g');
      let seen = 0;
      for (const match of corpus.matchAll(re as unknown as RegExp)) {
        seen += 1;
        for (const ch of match[0]) assert.equal(breakers[ch.charCodeAt(0) & 0xff] === 1 && ch.charCodeAt(0) < 0x80, false, `${recognizer.id}: ${JSON.stringify(ch)} in ${JSON.stringify(match[0])}`);
      }
      assert.ok(seen > 0, `${recognizer.id} matched something in the corpus`);
    }
  });

  it('small server-sent events flow as they come instead of waiting for a window to fill', () => {
    const events = STREAM_INPUTS.sse!.toString('utf8').split(/(?<=\n\n)/);
    const masker = ALL.open();
    const out: Buffer[] = [];
    for (const event of events) {
      out.push(masker.push(Buffer.from(event)));
      // Only the look-behind context byte of the blank line may stay.
      assert.ok(masker.stats().bufferedBytes <= 2, `held ${masker.stats().bufferedBytes} bytes after ${JSON.stringify(event)}`);
    }
    out.push(masker.end());
    const streamed = Buffer.concat(out);
    assert.deepEqual(streamed, ALL.maskWhole(STREAM_INPUTS.sse!));
    assert.ok(!streamed.includes('4111 1111 1111 1111') && !streamed.includes('ada@example.com'));
  });

  it('a match still in progress is held: a card whose digits are still arriving', () => {
    const masker = ALL.open();
    assert.equal(masker.push(Buffer.from('data: {"card":"4111 1111 ')).toString(), 'data: {"card":"');
    assert.equal(masker.push(Buffer.from('1111 1111"}\n\n')).toString(), '[REDACTED:card]"}\n\n');
  });

  it('custom patterns may declare an alphabet; a bad one is a profile error naming the field', () => {
    const fast = compileProfile({ name: 'c', patterns: [{ name: 'emp', pattern: 'EMP-[0-9]{6}', strategy: 'redact', alphabet: '[A-Z0-9-]' }] });
    const masker = fast.open();
    assert.equal(masker.push(Buffer.from('id EMP-123456 ok\n')).toString(), 'id [REDACTED:emp] ok\n');
    assert.throws(() => compileProfile({ name: 'c', patterns: [{ name: 'emp', pattern: 'EMP-[0-9]{6}', strategy: 'redact', alphabet: 'A-Z' }] }), (err: any) =>
      err.code === 'ERR_MASKING_PROFILE_INVALID' && /patterns\[0\]\.alphabet/.test(err.message));
  });
});
