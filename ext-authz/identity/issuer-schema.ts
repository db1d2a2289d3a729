/**
 * The `issuers:` entry of sluice.yaml, as a JSON-schema fragment. config validation uses it for
 * the whole file (positions reported as file:line:col); parseIssuerConfig uses the same fragment
 * for issuers added at run time (the dev issuer). One definition of what an issuer entry is.
 */

/** Asymmetric JWS algorithms jose can verify. Symmetric (HS*) and `none` are never accepted. */
export const SUPPORTED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

const HTTP_URL = { type: 'string', pattern: '^https?://[^\\s]+$', hint: 'must be an absolute http(s) URL' } as const;
const NON_EMPTY = { type: 'string', minLength: 1, pattern: '\\S', hint: 'must be a non-empty string' } as const;

export const ISSUER_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'issuer', 'audiences'],
  properties: {
    /** Short name used in policies and logs, e.g. "people" or "workloads". */
    name: NON_EMPTY,
    /** Expected `iss` claim, exactly. */
    issuer: HTTP_URL,
    /** JWKS location; when absent, discovery (`/.well-known/openid-configuration`) finds it. */
    jwksUri: HTTP_URL,
    audiences: { type: 'array', minItems: 1, uniqueItems: true, items: NON_EMPTY, hint: 'must list at least one audience' },
    algorithms: {
      type: 'array', minItems: 1, uniqueItems: true,
      items: { enum: SUPPORTED_ALGORITHMS, hint: `must be an asymmetric algorithm (${SUPPORTED_ALGORITHMS.join(', ')}); "none" and HMAC (HS*) are never accepted` },
      default: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA'],
    },
    clockSkewSeconds: { type: 'number', minimum: 0, default: 30 },
    groupsClaim: { ...NON_EMPTY, default: 'groups' },
    requiredClaims: { type: 'array', items: NON_EMPTY, default: [] },
    fetchTimeoutMs: { type: 'integer', minimum: 1, default: 2000 },
    jwksCooldownMs: { type: 'integer', minimum: 0, default: 30_000 },
    jwksCacheMaxAgeMs: { type: 'integer', minimum: 1, default: 600_000 },
  },
} as const;
