import { createHmac } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { SluiceError } from '../../common/errors.ts';
import type { SecretStore } from './types.ts';

/** The version scheme; a new one (other hash, other length) gets a new prefix, never reuses this. */
const SCHEME = 'v1';
// Domain separation: the same key configured for another HMAC (the masking `hash` strategy)
// never yields a masking tag equal to a secret version, or the reverse.
const LABEL = 'sluice secret version v1\0';
// 64 bits: a collision between two values of one secret is a 1-in-2^32 event only after ~4e9
// rotations, and a record stays short. Not a security margin: the key is what protects the value.
const HEX_DIGITS = 16;
export const MIN_VERSION_KEY_BYTES = 16;

/**
 * Names which value of a secret was used without giving the value away: `v1:` and the first 16
 * hex digits of HMAC-SHA-256(gateway key, value). A bare hash would not do: a short secret (a
 * PIN, a word) is recovered by hashing guesses, and the same value would have the same version in
 * every deployment. Stable for one value under one key; a rotated value gets a new version.
 */
export function secretVersion(key: Uint8Array, value: string): string {
  const mac = createHmac('sha256', key).update(LABEL).update(value, 'utf8').digest('hex');
  return `${SCHEME}:${mac.slice(0, HEX_DIGITS)}`;
}

/** The version of each secret in a store, under one key; the one place versions are made. */
export class SecretVersions {
  private readonly key: Buffer;
  // Every exchange asks for the version of the value it injects (an HMAC, ~1.5 µs); values change
  // only on rotation, so each is computed once. Bounded: a store holds few secrets.
  private readonly byValue = new LRUCache<string, string>({ max: 256 });

  constructor(private readonly store: SecretStore, key: Uint8Array) {
    if (key.length < MIN_VERSION_KEY_BYTES) {
      throw new SluiceError('ERR_CONFIG_INVALID', `the secret version key must be at least ${MIN_VERSION_KEY_BYTES} bytes`);
    }
    // A copy, so a caller reusing its buffer cannot change every version behind our back.
    this.key = Buffer.from(key);
  }

  /** The current version of a named secret, or undefined when no store has it. */
  version(name: string): string | undefined {
    const value = this.store.get(name);
    return value === undefined ? undefined : this.of(value);
  }

  /** The version a value would have (for a store reporting its own changes). */
  of(value: string): string {
    let version = this.byValue.get(value);
    if (version === undefined) {
      version = secretVersion(this.key, value);
      this.byValue.set(value, version);
    }
    return version;
  }
}
