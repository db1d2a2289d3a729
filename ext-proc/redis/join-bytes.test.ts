import { test } from 'node:test';
import assert from 'node:assert/strict';
import { joinBytes } from './join-bytes.ts';

test('adjacent views of one buffer become one view without a copy; anything else is concatenated in order', () => {
  const chunk = Buffer.from('abcdefgh');
  const joined = joinBytes([chunk.subarray(0, 3), chunk.subarray(3, 5), chunk.subarray(5)]);
  assert.equal(joined.toString(), 'abcdefgh');
  assert.equal(joined.buffer, chunk.buffer, 'a view of the chunk, not a copy');
  assert.equal(joined.byteOffset, chunk.byteOffset);

  const gap = joinBytes([chunk.subarray(0, 2), chunk.subarray(3, 4), Buffer.from('XY'), chunk.subarray(6)]);
  assert.equal(gap.toString(), 'abdXYgh');
  assert.equal(joinBytes([]).length, 0);
  const one = Buffer.from('z');
  assert.equal(joinBytes([one]), one);
});
