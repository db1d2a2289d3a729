import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LazyAbort, signalOf } from './lazy-signal.ts';

describe('LazyAbort', () => {
  it('hands out one signal, made on first ask, that aborts on abort()', () => {
    const lazy = new LazyAbort();
    const signal = lazy.signal();
    assert.equal(lazy.signal(), signal);
    assert.equal(signal.aborted, false);
    lazy.abort();
    assert.equal(signal.aborted, true);
  });

  it('carries an abort that came before the first ask', () => {
    const lazy = new LazyAbort();
    lazy.abort();
    assert.equal(lazy.signal().aborted, true);
  });

  it('signalOf resolves functions and passes signals and undefined through', () => {
    const controller = new AbortController();
    assert.equal(signalOf(controller.signal), controller.signal);
    assert.equal(signalOf(() => controller.signal), controller.signal);
    assert.equal(signalOf(undefined), undefined);
  });
});
