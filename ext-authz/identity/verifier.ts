import { decodeJwt, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { SluiceError } from '../../common/errors.ts';
import { signalOf, type LazySignal } from '../../common/lazy-signal.ts';
import { silentLogger, type Logger } from '../../common/logger.ts';
import { clipDetail } from './clip-detail.ts';
import { parseIssuerConfig } from './config.ts';
import { AuthError } from './errors.ts';
import type { FetchFn } from './fetch-json.ts';
import { compileGroupsReader } from './groups-claim.ts';
import { JwksSource } from './jwks-source.ts';
import { authErrorFromJose } from './map-jose-error.ts';
import { VerifiedTokenCache } from './verified-token-cache.ts';
import { extAuthzMetrics, type ExtAuthzMetrics } from '../metrics.ts';
import type { CounterCell } from '../../common/metrics/index.ts';
import type { Identity, IdentityVerifier, IssuerConfig } from './types.ts';

export interface JwtIdentityVerifierOptions {
  issuers: IssuerConfig[];
  fetch?: FetchFn;
  /** Milliseconds since the epoch. */
  now?: () => number;
  /** Longest token accepted, checked before any parsing. Default 16 KiB. */
  maxTokenBytes?: number;
  /** Verified tokens remembered; 0 disables the cache. Default 10 000. */
  cacheMaxEntries?: number;
  /** Longest a verified token is remembered, even if its exp is later. Default 5 minutes. */
  cacheMaxTtlMs?: number;
  logger?: Logger;
  /** Token-cache hits and misses, JWKS fetches and failures per issuer; unscraped ones when absent. */
  metrics?: Pick<ExtAuthzMetrics, 'tokenCacheHits' | 'tokenCacheMisses' | 'jwksFetches' | 'jwksFailures'>;
}

/** Everything needed for one issuer, compiled once when the verifier is built. */
interface CompiledIssuer {
  config: IssuerConfig;
  keys: JwksSource;
  algorithms: ReadonlySet<string>;
  requiredClaims: string[];
  readGroups: (payload: JWTPayload) => readonly string[];
}

const DEFAULT_MAX_TOKEN_BYTES = 16 * 1024;

/**
 * Verifies OIDC access/ID tokens (compact JWS) from a fixed set of trusted issuers.
 *
 * verify() runs fixed phases, cheapest first, so garbage is refused before it costs anything:
 * size → cache → decode (untrusted) → issuer → algorithm → key → signature and claims (jose) →
 * identity. Every refusal is an AuthError; an aborted `signal` rejects with the signal's reason.
 */
export class JwtIdentityVerifier implements IdentityVerifier {
  readonly #issuers = new Map<string, CompiledIssuer>();
  readonly #now: () => number;
  readonly #maxTokenBytes: number;
  readonly #cache: VerifiedTokenCache;
  readonly #hits: CounterCell;
  readonly #misses: CounterCell;

  constructor(options: JwtIdentityVerifierOptions) {
    this.#now = options.now ?? Date.now;
    this.#maxTokenBytes = options.maxTokenBytes ?? DEFAULT_MAX_TOKEN_BYTES;
    const logger = options.logger ?? silentLogger();
    const metrics = options.metrics ?? extAuthzMetrics();
    this.#hits = metrics.tokenCacheHits;
    this.#misses = metrics.tokenCacheMisses;
    const names = new Set<string>();
    options.issuers.forEach((raw, index) => {
      // Re-validated so a hand-built config cannot smuggle in "none", HS256 or an empty audience list.
      const config = parseIssuerConfig(raw, `issuers[${index}]`);
      if (this.#issuers.has(config.issuer) || names.has(config.name)) {
        throw new SluiceError('ERR_CONFIG_INVALID', `issuers[${index}]: issuer "${config.name}" (${config.issuer}) is configured twice`, {
          details: { where: `issuers[${index}]`, option: 'issuer' },
        });
      }
      names.add(config.name);
      this.#issuers.set(config.issuer, {
        config,
        keys: new JwksSource({
          issuer: config, fetch: options.fetch, now: this.#now, logger,
          // Bound once per issuer: issuer names come from config, never from a token.
          counters: { fetches: metrics.jwksFetches.cell(config.name), failures: metrics.jwksFailures.cell(config.name) },
        }),
        algorithms: new Set(config.algorithms),
        requiredClaims: [...new Set(['sub', 'exp', ...config.requiredClaims])],
        readGroups: compileGroupsReader(config.groupsClaim),
      });
    });
    this.#cache = new VerifiedTokenCache({
      maxEntries: options.cacheMaxEntries ?? 10_000,
      maxTtlMs: options.cacheMaxTtlMs ?? 5 * 60_000,
      now: this.#now,
    });
  }

  /** Per issuer (by name): can its tokens be verified now? For readiness; see JwksSource.keysAvailable. */
  async issuerKeys(signal?: AbortSignal): Promise<{ issuer: string; ok: boolean; detail: string }[]> {
    return Promise.all([...this.#issuers.values()].map(async (issuer) => ({ issuer: issuer.config.name, ...(await issuer.keys.keysAvailable(signal)) })));
  }

  async verify(token: string, lazySignal?: LazySignal): Promise<Identity> {
    if (typeof token !== 'string' || token === '') {
      throw new AuthError('ERR_TOKEN_MISSING', 'no bearer token was presented');
    }
    // Counted in UTF-16 units, which never exceed UTF-8 bytes for the ASCII a valid JWS is made
    // of; any other character fails decoding anyway, and the work done before that is bounded.
    if (token.length > this.#maxTokenBytes) {
      throw new AuthError('ERR_TOKEN_TOO_LARGE', `the token is larger than ${this.#maxTokenBytes} bytes`, {
        details: { size: token.length, max: this.#maxTokenBytes },
      });
    }

    const cached = this.#cache.get(token);
    if (cached !== undefined) {
      this.#hits.inc();
      return cached;
    }
    this.#misses.inc();

    const { alg, kid, payload } = decodeUntrusted(token);
    const issuer = this.#pickIssuer(payload);
    if (!issuer.algorithms.has(alg)) {
      throw new AuthError('ERR_TOKEN_ALG_NOT_ALLOWED', 'the token algorithm is not allowed for its issuer', {
        details: { issuer: issuer.config.name, alg: clipDetail(alg) },
      });
    }

    // Only a cache miss can wait (on the issuer's keys), so only it makes the signal.
    const signal = signalOf(lazySignal);
    const { key, handle } = await issuer.keys.getKey(alg, kid, signal);
    signal?.throwIfAborted();

    let verified: JWTPayload;
    try {
      ({ payload: verified } = await jwtVerify(token, key, {
        issuer: issuer.config.issuer,
        audience: issuer.config.audiences,
        algorithms: issuer.config.algorithms,
        clockTolerance: issuer.config.clockSkewSeconds,
        currentDate: new Date(this.#now()),
        requiredClaims: issuer.requiredClaims,
      }));
    } catch (err) {
      throw authErrorFromJose(err, issuer.config.name);
    }

    const identity = buildIdentity(issuer, verified);
    this.#cache.set(token, identity, handle);
    return identity;
  }

  #pickIssuer(payload: JWTPayload): CompiledIssuer {
    if (payload.iss === undefined) {
      throw new AuthError('ERR_TOKEN_CLAIM_MISSING', 'the token lacks the required "iss" claim', { details: { claim: 'iss' } });
    }
    const issuer = typeof payload.iss === 'string' ? this.#issuers.get(payload.iss) : undefined;
    if (issuer === undefined) {
      throw new AuthError('ERR_TOKEN_UNKNOWN_ISSUER', 'the token issuer is not trusted', {
        details: { claim: 'iss', iss: clipDetail(payload.iss) },
      });
    }
    return issuer;
  }
}

/**
 * Header and claims, read before anything is trusted, only to choose an issuer and a key. jose's
 * own decode errors are replaced: the caller needs one stable code, not jose's wording.
 */
function decodeUntrusted(token: string): { alg: string; kid: string | undefined; payload: JWTPayload } {
  const segments = token.split('.').length;
  if (segments !== 3) {
    throw new AuthError('ERR_TOKEN_MALFORMED', `the token has ${segments} segments; a signed JWT has 3`, {
      details: { reason: 'segments', segments },
    });
  }
  let header: ReturnType<typeof decodeProtectedHeader>;
  let payload: JWTPayload;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw new AuthError('ERR_TOKEN_MALFORMED', 'the token header is not base64url-encoded JSON', { details: { reason: 'header' } });
  }
  try {
    payload = decodeJwt(token);
  } catch {
    throw new AuthError('ERR_TOKEN_MALFORMED', 'the token payload is not base64url-encoded JSON', { details: { reason: 'payload' } });
  }
  const { alg, kid } = header;
  if (typeof alg !== 'string' || alg === '') {
    throw new AuthError('ERR_TOKEN_MALFORMED', 'the token header has no "alg"', { details: { reason: 'alg' } });
  }
  // Refused before the issuer is even looked at: no configuration makes these acceptable.
  if (alg.toLowerCase() === 'none' || /^hs/i.test(alg)) {
    throw new AuthError('ERR_TOKEN_ALG_NOT_ALLOWED', 'unsigned and symmetric (HS*) tokens are never accepted', {
      details: { alg: clipDetail(alg) },
    });
  }
  if (kid !== undefined && typeof kid !== 'string') {
    throw new AuthError('ERR_TOKEN_MALFORMED', 'the token header "kid" is not a string', { details: { reason: 'kid' } });
  }
  return { alg, kid, payload };
}

function buildIdentity(issuer: CompiledIssuer, payload: JWTPayload): Identity {
  const name = issuer.config.name;
  // jose checks that sub is present, not what it is.
  if (typeof payload.sub !== 'string' || payload.sub === '') {
    throw new AuthError('ERR_TOKEN_CLAIM_INVALID', 'the token "sub" claim is not a non-empty string', { details: { issuer: name, claim: 'sub' } });
  }
  return Object.freeze({
    issuerName: name,
    issuer: issuer.config.issuer,
    subject: payload.sub,
    groups: issuer.readGroups(payload),
    claims: deepFreeze(payload),
    expiresAt: payload.exp as number,
  });
}

/** Identities are shared by every cache hit; nested claims must not be mutable either. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
