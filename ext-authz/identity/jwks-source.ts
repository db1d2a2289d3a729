import { importJWK, type CryptoKey, type JWK } from 'jose';
import { describeError } from '../../common/errors.ts';
import { silentLogger, type Logger } from '../../common/logger.ts';
import { clipDetail } from './clip-detail.ts';
import { AuthError } from './errors.ts';
import { fetchJson, type FetchFn } from './fetch-json.ts';
import { jwkFitsAlg } from './jwk-fits-alg.ts';
import { raceAbort } from './race-abort.ts';
import type { IssuerConfig } from './types.ts';
import type { CounterCell } from '../../common/metrics/index.ts';

/** A published key as a verified-token cache sees it: `retired` turns true once a refresh drops it. */
export interface KeyHandle {
  readonly retired: boolean;
}

export interface ResolvedKey {
  key: CryptoKey;
  handle: KeyHandle;
}

export interface JwksSourceOptions {
  issuer: IssuerConfig;
  fetch?: FetchFn;
  /** Milliseconds since the epoch; drives cooldown and max-age, so tests control time. */
  now?: () => number;
  logger?: Logger;
  /** Counts each refresh attempt and each failed one (this issuer's cells); uncounted when absent. */
  counters?: { fetches: CounterCell; failures: CounterCell };
}

interface KeyRecord extends KeyHandle {
  retired: boolean;
  readonly kid: string | undefined;
  readonly jwk: JWK;
  /** Canonical JSON of the JWK: a kid re-published with new material is a new key. */
  readonly fingerprint: string;
  /** One import per algorithm: a JWK without `alg` may serve, say, both RS256 and PS256. */
  readonly imports: Map<string, Promise<CryptoKey>>;
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'] as const;

/**
 * The signing keys of one issuer. Keys are fetched lazily on first use, then:
 * - refreshed in the background once older than jwksCacheMaxAgeMs (requests keep using the
 *   current keys meanwhile);
 * - refetched when a token names an unknown kid, at most once per jwksCooldownMs, so a flood of
 *   tokens with random kids costs the issuer one request per window;
 * - kept when a refresh fails: a flapping IdP must not take authentication down with it.
 * Every fetch is shared by whoever needs it while it is in flight. The same cooldown also spaces
 * retries after a failed fetch, so a dead endpoint is not hammered by every request.
 */
export class JwksSource {
  readonly #issuer: IssuerConfig;
  readonly #fetch: FetchFn;
  readonly #now: () => number;
  readonly #logger: Logger;
  readonly #counters: JwksSourceOptions['counters'];

  #records: KeyRecord[] | undefined;
  #discoveredJwksUri: string | undefined;
  #fetchedAt = 0;
  #attemptedAt: number | undefined;
  #lastError: AuthError | undefined;
  #inflight: Promise<void> | undefined;

  constructor(options: JwksSourceOptions) {
    this.#issuer = options.issuer;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger ?? silentLogger();
    this.#counters = options.counters;
  }

  /**
   * The key to verify a token signed with `alg` under `kid`. Throws ERR_TOKEN_KEY_NOT_FOUND or
   * ERR_JWKS_UNAVAILABLE; if `signal` aborts, rejects with its reason (the fetch itself goes on
   * for the other callers).
   */
  async getKey(alg: string, kid: string | undefined, signal?: AbortSignal): Promise<ResolvedKey> {
    await this.#ensureLoaded(signal);
    let record = this.#match(alg, kid);
    let refetched = false;
    if (record === undefined && (this.#inflight !== undefined || this.#cooldownOver())) {
      await raceAbort(this.#refresh(), signal);
      refetched = true;
      record = this.#match(alg, kid);
    }
    if (record === undefined) {
      throw new AuthError('ERR_TOKEN_KEY_NOT_FOUND', 'no key in the issuer JWKS matches the token kid and alg', {
        details: { issuer: this.#issuer.name, kid: kid === undefined ? null : clipDetail(kid), alg, refetched },
      });
    }
    return { key: await this.#import(record, alg, kid), handle: record };
  }

  /**
   * For readiness: whether tokens of this issuer can be verified now. Keys in hand (even stale,
   * after a failed refresh) are enough; without any, one fetch is tried (within the cooldown
   * that spaces retries, so probes cannot hammer a dead issuer).
   */
  async keysAvailable(signal?: AbortSignal): Promise<{ ok: boolean; detail: string }> {
    if (this.#records !== undefined) {
      const ageS = Math.round((this.#now() - this.#fetchedAt) / 1000);
      return { ok: true, detail: `${this.#records.length} keys, fetched ${ageS}s ago${this.#lastError ? '; the latest refresh failed' : ''}` };
    }
    try {
      await this.#ensureLoaded(signal);
      const records = this.#records as KeyRecord[] | undefined;
      return { ok: true, detail: `${records?.length ?? 0} keys, fetched now` };
    } catch (err) {
      const code = err instanceof AuthError ? err.code : 'ERR_JWKS_UNAVAILABLE';
      return { ok: false, detail: `no signing keys yet (${code})` };
    }
  }

  async #ensureLoaded(signal: AbortSignal | undefined): Promise<void> {
    if (this.#records === undefined) {
      if (this.#inflight === undefined && !this.#cooldownOver()) {
        throw new AuthError('ERR_JWKS_UNAVAILABLE', 'issuer keys are unavailable; the last fetch failed and the retry cooldown has not passed', {
          cause: this.#lastError,
          details: { ...this.#lastError?.details, issuer: this.#issuer.name },
        });
      }
      await raceAbort(this.#refresh(), signal);
      return;
    }
    const stale = this.#now() - this.#fetchedAt >= this.#issuer.jwksCacheMaxAgeMs;
    if (stale && this.#inflight === undefined && this.#cooldownOver()) {
      // Failures are logged by #runRefresh; current keys stay in use.
      this.#refresh().catch(() => undefined);
    }
  }

  #cooldownOver(): boolean {
    return this.#attemptedAt === undefined || this.#now() - this.#attemptedAt >= this.#issuer.jwksCooldownMs;
  }

  #refresh(): Promise<void> {
    this.#inflight ??= this.#runRefresh();
    return this.#inflight;
  }

  async #runRefresh(): Promise<void> {
    this.#attemptedAt = this.#now();
    this.#counters?.fetches.inc();
    try {
      const records = await this.#load();
      for (const old of this.#records ?? []) {
        if (!records.includes(old)) old.retired = true;
      }
      this.#records = records;
      this.#fetchedAt = this.#now();
      this.#lastError = undefined;
    } catch (err) {
      const error = err instanceof AuthError
        ? err
        : new AuthError('ERR_JWKS_UNAVAILABLE', 'JWKS refresh failed', { cause: err, details: { issuer: this.#issuer.name } });
      this.#lastError = error;
      this.#counters?.failures.inc();
      this.#logger.warn(
        { issuer: this.#issuer.name, err: describeError(error), details: error.details, keepingPreviousKeys: this.#records !== undefined },
        'JWKS refresh failed',
      );
      throw error;
    } finally {
      this.#inflight = undefined;
    }
  }

  async #load(): Promise<KeyRecord[]> {
    const jwksUri = this.#issuer.jwksUri ?? (this.#discoveredJwksUri ??= await this.#discover());
    const body = await fetchJson(this.#fetch, jwksUri, this.#fetchOptions('JWKS'));
    if (!isPlainObject(body) || !Array.isArray(body.keys)) {
      throw this.#garbage('JWKS is not an object with a "keys" array', { url: jwksUri });
    }
    const previous = new Map((this.#records ?? []).map((r) => [r.fingerprint, r]));
    const records: KeyRecord[] = [];
    for (const jwk of body.keys as unknown[]) {
      if (!isUsableJwk(jwk)) continue;
      const fingerprint = canonicalJson(jwk);
      records.push(previous.get(fingerprint) ?? {
        retired: false,
        kid: jwk.kid,
        jwk,
        fingerprint,
        imports: new Map(),
      });
    }
    if (hasPrivateMaterial(body.keys)) {
      this.#logger.error({ issuer: this.#issuer.name, url: jwksUri }, 'JWKS publishes private key material; those keys are ignored');
    }
    // An issuer with no signing key cannot have issued a valid token; an empty answer is far more
    // likely a broken IdP, so treat it as a failed refresh and keep the last good keys.
    if (records.length === 0) throw this.#garbage('JWKS holds no usable signing key', { url: jwksUri });
    return records;
  }

  async #discover(): Promise<string> {
    const url = `${this.#issuer.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    const doc = await fetchJson(this.#fetch, url, this.#fetchOptions('discovery document'));
    if (!isPlainObject(doc)) throw this.#garbage('discovery document is not a JSON object', { url });
    // OIDC Discovery 1.0 §4.3: a document for another issuer must not be used; it could send us
    // to keys the operator never trusted.
    if (doc.issuer !== this.#issuer.issuer) {
      throw this.#garbage('discovery document names a different issuer', { url, expected: this.#issuer.issuer, actual: clipDetail(doc.issuer) });
    }
    const jwksUri = doc.jwks_uri;
    if (typeof jwksUri !== 'string' || !/^https?:\/\//i.test(jwksUri) || !URL.canParse(jwksUri)) {
      throw this.#garbage('discovery document has no usable jwks_uri', { url });
    }
    return jwksUri;
  }

  async #import(record: KeyRecord, alg: string, kid: string | undefined): Promise<CryptoKey> {
    let imported = record.imports.get(alg);
    if (imported === undefined) {
      imported = importJWK(record.jwk, alg).then((key) => {
        if (key instanceof Uint8Array) throw new TypeError('symmetric key');
        // WebCrypto imports any RSA size; refuse weak keys here so they are never selected.
        const { modulusLength } = key.algorithm as { modulusLength?: number };
        if (modulusLength !== undefined && modulusLength < 2048) throw new TypeError('RSA key under 2048 bits');
        return key;
      });
      // A key that fails to import once always will; remember the failure instead of retrying.
      imported.catch(() => undefined);
      record.imports.set(alg, imported);
    }
    try {
      return await imported;
    } catch (cause) {
      throw new AuthError('ERR_TOKEN_KEY_NOT_FOUND', 'the matching JWKS key cannot be used', {
        cause,
        details: { issuer: this.#issuer.name, kid: kid === undefined ? null : clipDetail(kid), alg, reason: 'import failed' },
      });
    }
  }

  #match(alg: string, kid: string | undefined): KeyRecord | undefined {
    const fitting = (this.#records ?? []).filter((r) => jwkFitsAlg(r.jwk, alg));
    if (kid !== undefined) return fitting.find((r) => r.kid === kid);
    // Without a kid the choice is only safe when it is not a choice.
    return fitting.length === 1 ? fitting[0] : undefined;
  }

  #fetchOptions(what: string): { timeoutMs: number; issuerName: string; what: string } {
    return { timeoutMs: this.#issuer.fetchTimeoutMs, issuerName: this.#issuer.name, what };
  }

  #garbage(message: string, details: Record<string, unknown>): AuthError {
    return new AuthError('ERR_JWKS_UNAVAILABLE', message, { details: { issuer: this.#issuer.name, ...details } });
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Public signature keys only: never symmetric, never a key marked for another use. */
function isUsableJwk(value: unknown): value is JWK & { kid?: string } {
  if (!isPlainObject(value)) return false;
  if (value.kty !== 'RSA' && value.kty !== 'EC' && value.kty !== 'OKP') return false;
  if (value.use !== undefined && value.use !== 'sig') return false;
  if (value.key_ops !== undefined && !(Array.isArray(value.key_ops) && value.key_ops.includes('verify'))) return false;
  if (value.kid !== undefined && typeof value.kid !== 'string') return false;
  if (value.alg !== undefined && typeof value.alg !== 'string') return false;
  return !PRIVATE_MEMBERS.some((member) => member in value);
}

function hasPrivateMaterial(keys: unknown[]): boolean {
  return keys.some((k) => isPlainObject(k) && k.kty !== 'oct' && PRIVATE_MEMBERS.some((m) => m in k));
}

function canonicalJson(jwk: Record<string, unknown>): string {
  return JSON.stringify(jwk, Object.keys(jwk).sort());
}
