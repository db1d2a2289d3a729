import type { JWTPayload } from 'jose';
import type { LazySignal } from '../../common/lazy-signal.ts';

/** One trusted OIDC issuer, as the operator configures it (sluice.yaml `issuers:`). */
export interface IssuerConfig {
  /** Short name used in policies and logs, e.g. "people" or "workloads". */
  name: string;
  /** Expected `iss` claim, exactly. */
  issuer: string;
  /** JWKS location; when absent, `${issuer}/.well-known/openid-configuration` is read for `jwks_uri`. */
  jwksUri?: string;
  /** Accepted `aud` values; the token must carry at least one. Never empty. */
  audiences: string[];
  /** Algorithm allow-list. Only asymmetric algorithms are accepted (never `none`, never HS*). */
  algorithms: string[];
  /** Tolerance for exp / nbf / iat, in seconds. */
  clockSkewSeconds: number;
  /** Claim holding group names (string or array of strings). Dotted paths reach nested claims. */
  groupsClaim: string;
  /** Claims that must be present besides iss, sub, aud, exp. */
  requiredClaims: string[];
  /** HTTP timeout for discovery and JWKS fetches. */
  fetchTimeoutMs: number;
  /** Minimum time between two JWKS refetches triggered by an unknown `kid`. */
  jwksCooldownMs: number;
  /** How long a fetched JWKS is trusted before a background refresh. */
  jwksCacheMaxAgeMs: number;
}

/** A verified caller. Immutable; shared between cache hits. */
export interface Identity {
  /** Configured issuer name (IssuerConfig.name). */
  issuerName: string;
  /** `iss` claim. */
  issuer: string;
  /** `sub` claim. */
  subject: string;
  groups: readonly string[];
  claims: Readonly<JWTPayload>;
  /** `exp`, seconds since the epoch. */
  expiresAt: number;
}

export interface IdentityVerifier {
  /** Verifies a compact JWS and returns the identity, or throws an AuthError. */
  verify(token: string, signal?: LazySignal): Promise<Identity>;
}
