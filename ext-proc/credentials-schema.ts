/** `extProc.credentials:` entries: which real credential ext-proc presents to a target, and how. */

const SECRET_NAME = { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]*$', hint: 'must name a secret: lower-case letters, digits, ".", "_" or "-"' } as const;

export const CREDENTIAL_SCHEMA = {
  type: 'object', additionalProperties: false, required: ['target'],
  // The value is a stored secret or a token minted with OAuth2 client credentials: exactly one of
  // `secret` and `oauth2` (config cross-checks say which entry breaks it, with its line).
  properties: {
    target: { type: 'string', minLength: 1 },
    header: { type: 'string', pattern: '^[a-z0-9-]+$', default: 'authorization', hint: 'must be a lower-case header name' },
    // Exactly one {secret}; the rest is literal (e.g. "Bearer {secret}", "{secret}").
    template: { type: 'string', pattern: '^[^{}]*\\{secret\\}[^{}]*$', default: 'Bearer {secret}', hint: 'must contain "{secret}" exactly once, e.g. "Bearer {secret}"' },
    secret: SECRET_NAME,
    /** PostgreSQL targets: the db user the gateway logs in as (default: the user the client asked for, once policy allowed it). */
    postgres: {
      type: 'object', additionalProperties: false,
      properties: { user: { type: 'string', minLength: 1, maxLength: 63 } },
    },
    /** Redis targets: the upstream ACL user the gateway logs in as (its password is `secret`); absent: AUTH with the password alone. */
    redis: {
      type: 'object', additionalProperties: false,
      properties: { user: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[^\\s]+$', hint: 'must be a Redis ACL user name (no spaces)' } },
    },
    oauth2: {
      type: 'object', additionalProperties: false, required: ['tokenUrl', 'clientId', 'clientSecret'],
      properties: {
        tokenUrl: { type: 'string', pattern: '^https?://', hint: 'must be an http(s) URL' },
        clientId: { type: 'string', minLength: 1 },
        /** Name of the secret holding the client secret (never the value itself). */
        clientSecret: SECRET_NAME,
        scopes: { type: 'array', items: { type: 'string', minLength: 1 }, default: [] },
        audience: { type: 'string', minLength: 1 },
        auth: { enum: ['basic', 'body'], default: 'basic' },
        timeoutMs: { type: 'integer', minimum: 100, maximum: 60000, default: 5000 },
        refreshSkewMs: { type: 'integer', minimum: 0, default: 30000 },
      },
    },
  },
} as const;
