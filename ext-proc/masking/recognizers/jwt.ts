import { defineRecognizer } from './recognizer.ts';

/**
 * JSON Web Tokens (JWS compact form): three base64url segments, the first being a JSON header,
 * so always starting `eyJ` (`{"`). The header must decode to an object with a string `alg`,
 * which rules out other `eyJ...` base64 that happens to contain two dots.
 */
export const jwt = defineRecognizer({
  id: 'jwt',
  description: 'JSON Web Token',
  source: String.raw`\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`,
  maxLength: 8192,
  alphabet: '[A-Za-z0-9_.-]',
  prefixes: ['eyJ'],
  validate(value) {
    const dot = value.indexOf(0x2e);
    if (dot > 2048) return 0;
    try {
      const header: unknown = JSON.parse(Buffer.from(value.toString('latin1', 0, dot), 'base64url').toString('utf8'));
      const alg = (header as { alg?: unknown } | null)?.alg;
      return typeof alg === 'string' ? value.length : 0;
    } catch {
      return 0;
    }
  },
});
