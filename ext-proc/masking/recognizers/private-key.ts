import { defineRecognizer } from './recognizer.ts';

const LABEL = '[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----';

/**
 * PEM private-key blocks (PKCS#1/#8, EC, OpenSSH, encrypted, PGP), header to footer, also when
 * JSON-escaped (`\n` inside a string). Blocks are long, so the window is 16 KiB (an 8192-bit
 * RSA key with headers fits). If no footer follows within that window (truncated or oversized
 * key), the second alternative still masks the header and the base64 body after it, up to the
 * window: failing closed, since a body without its footer is still a key.
 */
export const privateKey = defineRecognizer({
  id: 'private-key',
  description: 'PEM private key block',
  source: String.raw`-----BEGIN${LABEL}(?:[\s\S]*?-----END${LABEL}|[A-Za-z0-9+/=\s\\:,.-]*)`,
  maxLength: 16384,
  prefixes: ['-----BEGIN'],
});
