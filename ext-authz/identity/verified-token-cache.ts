import { LRUCache } from 'lru-cache';
import type { KeyHandle } from './jwks-source.ts';
import type { Identity } from './types.ts';

interface Entry {
  token: string;
  identity: Identity;
  /** `exp` in milliseconds: the entry is never served at or after it, whatever its TTL says. */
  expiresAtMs: number;
  /** The signing key; once the issuer drops it from its JWKS, the entry is dead. */
  key: KeyHandle;
}

/**
 * Tokens that verified recently, so repeat requests skip the signature check.
 *
 * Keyed by the token's last 43 characters (about 250 bits of signature for every accepted
 * algorithm), and a hit also requires the full token to be equal. Measured with verifier.bench.ts
 * (1.4 KB RS256 tokens arriving as fresh strings, Node 20, one core), a whole verify() on a hit:
 * suffix key + compare ≈ 0.38 µs (2.6 M/s); SHA-256 key ≈ 1.45 µs (0.69 M/s); the full token as
 * key ≈ 1.95 µs (0.51 M/s), since V8 hashes every character of every new string. Only the suffix
 * leaves room for policy evaluation within the 2 µs that 500 k decisions/s/core allows.
 *
 * The compare keeps it exact: a crafted token sharing a suffix misses, and since only verified
 * tokens are stored, an attacker cannot plant an entry either. The raw token is kept in memory
 * only, as it already is in the request.
 *
 * Time comes from the injected clock (lru-cache `perf`, with `ttlResolution: 0` so it is read on
 * every access rather than cached behind a timer).
 */
export class VerifiedTokenCache {
  readonly #lru: LRUCache<string, Entry> | undefined;
  readonly #now: () => number;
  readonly #maxTtlMs: number;

  constructor(options: { maxEntries: number; maxTtlMs: number; now: () => number }) {
    this.#now = options.now;
    this.#maxTtlMs = options.maxTtlMs;
    this.#lru = options.maxEntries > 0 && options.maxTtlMs > 0
      ? new LRUCache<string, Entry>({ max: options.maxEntries, ttl: options.maxTtlMs, ttlResolution: 0, perf: { now: options.now } })
      : undefined;
  }

  get(token: string): Identity | undefined {
    if (this.#lru === undefined) return undefined;
    const slot = token.slice(-43);
    const entry = this.#lru.get(slot);
    if (entry === undefined || entry.token !== token) return undefined;
    if (this.#now() < entry.expiresAtMs && !entry.key.retired) return entry.identity;
    this.#lru.delete(slot);
    return undefined;
  }

  /** Stores a verified identity until its `exp` or the max TTL, whichever comes first. */
  set(token: string, identity: Identity, key: KeyHandle): void {
    if (this.#lru === undefined) return;
    const expiresAtMs = identity.expiresAt * 1000;
    const ttl = Math.min(expiresAtMs - this.#now(), this.#maxTtlMs);
    if (ttl < 1) return;
    this.#lru.set(token.slice(-43), { token, identity, expiresAtMs, key }, { ttl: Math.floor(ttl) });
  }

  get size(): number {
    return this.#lru?.size ?? 0;
  }
}
