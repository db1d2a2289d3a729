import type { JWK } from 'jose';

/** Curve each EC / OKP algorithm requires; a key on another curve cannot verify it. */
const CURVE_FOR_ALG: Readonly<Record<string, string>> = {
  ES256: 'P-256',
  ES384: 'P-384',
  ES512: 'P-521',
  EdDSA: 'Ed25519',
  Ed25519: 'Ed25519',
};

/**
 * Whether a published key can verify a token signed with `alg`. Checked before import so that a
 * kid pointing at the wrong kind of key reads as "no key" rather than as a crypto failure, and so
 * that a symmetric (`oct`) key can never be selected whatever the token claims.
 */
export function jwkFitsAlg(jwk: JWK, alg: string): boolean {
  if (jwk.alg !== undefined && jwk.alg !== alg) return false;
  if (alg.startsWith('RS') || alg.startsWith('PS')) return jwk.kty === 'RSA';
  if (alg.startsWith('ES')) return jwk.kty === 'EC' && jwk.crv === CURVE_FOR_ALG[alg];
  if (alg === 'EdDSA' || alg === 'Ed25519') return jwk.kty === 'OKP' && jwk.crv === 'Ed25519';
  return false;
}
