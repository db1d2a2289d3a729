export { AuthError, AUTH_ERROR_CODES, type AuthErrorCode } from './errors.ts';
export { parseIssuerConfig } from './config.ts';
export { extractBearer } from './extract-bearer.ts';
export { JwksSource, type JwksSourceOptions, type KeyHandle, type ResolvedKey } from './jwks-source.ts';
export { JwtIdentityVerifier, type JwtIdentityVerifierOptions } from './verifier.ts';
export type { FetchFn } from './fetch-json.ts';
export type { Identity, IdentityVerifier, IssuerConfig } from './types.ts';
