import { test } from 'node:test';
import assert from 'node:assert/strict';
import { saslprep } from './saslprep.ts';

test('ASCII passes unchanged, control characters included (as PostgreSQL does)', () => {
  assert.equal(saslprep('pencil'), 'pencil');
  assert.equal(saslprep(''), '');
  assert.equal(saslprep('a\tb\x7f'), 'a\tb\x7f');
});

test('RFC 4013 section 3 examples', () => {
  assert.equal(saslprep('I\u00adX'), 'IX', 'soft hyphen mapped to nothing');
  assert.equal(saslprep('user'), 'user');
  assert.equal(saslprep('\u00aa'), 'a', 'NFKC');
  assert.equal(saslprep('\u2168'), 'IX', 'NFKC');
  assert.equal(saslprep('\u0007'), '\u0007', 'ASCII: unchanged (the RFC says prohibited; PostgreSQL skips ASCII)');
  assert.equal(saslprep('\u0627\u0031'), undefined, 'bidi: RandALCat must also end the string');
});

test('non-ASCII spaces map to space; zero-width and variation characters to nothing', () => {
  assert.equal(saslprep('a\u00a0b\u3000c\u2003d'), 'a b c d');
  assert.equal(saslprep('a\u200bb'), 'a b', 'zero width space is a non-ASCII space first');
  assert.equal(saslprep('p\u200dw\ufe0fd\ufeff\u00e9'), 'pwd\u00e9');
});

test('NFKC composes and folds compatibility forms', () => {
  assert.equal(saslprep('e\u0301'), '\u00e9');
  assert.equal(saslprep('\ufb01x'), 'fix');
  assert.equal(saslprep('\uff21'), 'A');
});

test('prohibited, unassigned and empty results are refused (caller falls back to the raw password)', () => {
  for (const input of ['\u00e9\u0085', 'pr\ue000ivate', '\u00e9\ud800', '\u00e9\u202e', '\u00e9\u{e0041}', '\u00e9\ufffe', '\u00e9\u2ff0', '\u00e9\u{0378}', '\u00ad', '\ufe0f\u200d']) {
    assert.equal(saslprep(input), undefined, JSON.stringify(input));
  }
});

test('bidi: right-to-left text is fine alone, not mixed with left-to-right letters', () => {
  assert.equal(saslprep('\u05e9\u05dc\u05d5\u05dd'), '\u05e9\u05dc\u05d5\u05dd');
  assert.equal(saslprep('\u0627\u0031\u0628'), '\u0627\u0031\u0628', 'digits are neither R nor L');
  assert.equal(saslprep('\u05e9a\u05dd'), undefined);
  assert.equal(saslprep('\u00e9\u05e9'), undefined);
});
