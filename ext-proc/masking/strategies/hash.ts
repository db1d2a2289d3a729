import { createHmac } from 'node:crypto';
import type { Strategy } from './strategy.ts';

/**
 * `[H:<hex>]`: HMAC-SHA256 of the canonical value under the deployment key, truncated to
 * `length` hex digits. Keyed, so a dictionary of likely values (all SSNs, all cards of a BIN)
 * cannot be hashed offline to reverse it; deterministic, so the same value gets the same tag in
 * every stream and auditors can correlate without seeing it.
 */
export function hashStrategy(key: Uint8Array, length: number): Strategy {
  const ownKey = Buffer.from(key);
  return Object.freeze({
    label: 'hash',
    render(_value: Buffer, canonical: Buffer): Buffer {
      const digest = createHmac('sha256', ownKey).update(canonical).digest('hex').slice(0, length);
      return Buffer.from(`[H:${digest}]`, 'latin1');
    },
  });
}
