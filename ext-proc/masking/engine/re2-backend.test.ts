import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import RE2 from 're2';
import { BUILTIN_RECOGNIZERS } from '../recognizers/builtin.ts';
import { STREAM_INPUTS } from '../test-fixtures.ts';
import { re2Backend } from './re2-backend.ts';

/** The plain definition: exec with lastIndex over text[0, end). */
function reference(source: string, text: Buffer, from: number, end: number): { start: number; end: number } | null {
  const re = new RE2(source, 'g');
  re.lastIndex = from;
  const m = re.exec(end === text.length ? text : text.subarray(0, end));
  return m === null ? null : { start: m.index, end: m.index + m[0].length };
}

describe('re2Backend', () => {
  // find() uses search() on a window starting one byte early plus an anchored test(); it must
  // agree with exec from lastIndex at every start, including where the byte before `from` is
  // a word character (\b), a newline ((?m)^), or the start of another match.
  const sources = [
    ...[...BUILTIN_RECOGNIZERS.values()].map((r) => r.source),
    String.raw`\bfoo\b`, String.raw`\Bbar`, '^x', '(?m)^y+', 'z$', String.raw`(?:ab|a)c?`,
  ];
  const texts = [
    STREAM_INPUTS.adjacent!, STREAM_INPUTS.multibyte!, STREAM_INPUTS.invalidUtf8!,
    Buffer.from('xfoo foo_foo foo\nyy ybar bar+bar abcac x\nzz'),
  ];

  it('find() equals exec from lastIndex for every start and a few view ends', () => {
    for (const source of sources) {
      const program = re2Backend.program(source);
      for (const text of texts) {
        for (const end of [text.length, Math.floor(text.length / 2)]) {
          for (let from = 0; from <= end; from++) {
            assert.deepEqual(program.find(text, from, end), reference(source, text, from, end), `${source} from ${from} end ${end}`);
          }
        }
      }
    }
  });

  it('matchAt() is the match anchored at that offset', () => {
    const program = re2Backend.program(String.raw`\bfoo\w*`);
    const text = Buffer.from('xfoo foobar');
    assert.equal(program.matchAt(text, 1), -1);
    assert.equal(program.matchAt(text, 5), 11);
    assert.equal(program.matchAt(text, 6), -1);
  });

  it('the set reports patterns matching inside the given range only', () => {
    const set = re2Backend.set([String.raw`\d{3}`, 'abc'])!;
    const text = Buffer.from('123 abc');
    assert.deepEqual(set.match(text, 0, text.length), [0, 1]);
    assert.deepEqual(set.match(text, 2, text.length), [1]);
    assert.deepEqual(set.match(text, 0, 3), [0]);
  });
});
