import { SluiceError } from '../../common/errors.ts';

/** How to mint upstream access tokens with the OAuth2 client-credentials grant (RFC 6749 §4.4). */
export interface ClientCredentialsSpec {
  /** http(s) URL of the token endpoint. */
  tokenUrl: string;
  /** Not secret. */
  clientId: string;
  /** Read from the secret store on each mint, so a rotated secret is used by the next mint. */
  clientSecret: () => string | undefined;
  /** Space-joined into `scope`; the parameter is omitted when the list is empty. */
  scopes: readonly string[];
  /** Sent as the `audience` form parameter when set. */
  audience?: string;
  /** `client_secret_basic` (HTTP Basic, the RFC's default) or `client_secret_post` (in the form body). */
  auth: 'basic' | 'body';
  /** Deadline for one token request, headers and body. */
  timeoutMs: number;
  /** Mint a new token this long before the current one expires (e.g. 30_000). */
  refreshSkewMs: number;
  /** After a failed mint, calls fail fast for this long instead of hitting the endpoint again. Default 1000. */
  failureBackoffMs?: number;
}

export interface ClientCredentialsOptions {
  now?: () => number;
  fetch?: typeof fetch;
  /** Told how each token request ended: `ok`, or the error's stable code (for metrics; never the error). */
  onMint?: (outcome: string) => void;
}

/**
 * Lifetime assumed when the token response has no `expires_in` (RFC 6749 §5.1 makes it only
 * RECOMMENDED). Five minutes is short enough that a token we cannot see the expiry of is not
 * held long, and long enough not to hit the endpoint on every request.
 */
const DEFAULT_EXPIRES_IN_S = 300;
const DEFAULT_FAILURE_BACKOFF_MS = 1000;
/** A token response is a few hundred bytes; anything far larger is not one. */
const MAX_RESPONSE_BYTES = 64 * 1024;
/** RFC 6749 §5.2 error codes are short snake_case words; anything else is not repeated in messages. */
const OAUTH_ERROR_CODE = /^[a-z_]{1,64}$/;
/** RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/**
 * What an audit record may say about a minted token, never the token: its expiry when the token
 * endpoint gave `expires_in` (not the assumed default), and its `jti` when the token is a JWT
 * carrying one (read from the payload without verifying it: it only names the token).
 */
export interface TokenFacts {
  expiresAt?: number;
  jti?: string;
}

interface CachedToken {
  value: string;
  facts: TokenFacts;
  /** From here a new token is fetched in the background while this one is still served. */
  refreshAt: number;
  /** From here this token is not served; callers wait for a new one. */
  expiresAt: number;
}

interface RecentFailure {
  error: SluiceError;
  until: number;
}

/**
 * Mints and caches one upstream access token per spec. Concurrent callers share one in-flight
 * request, and a failed mint makes calls fail fast for `failureBackoffMs`, so a burst of traffic
 * against a down token endpoint turns into one request per backoff period rather than one per
 * caller. Neither the client secret nor any access token ever appears in an error.
 */
export class ClientCredentialsMinter {
  readonly #spec: ClientCredentialsSpec;
  readonly #now: () => number;
  readonly #fetch: typeof fetch;
  readonly #failureBackoffMs: number;
  readonly #onMint: ((outcome: string) => void) | undefined;
  /** Where errors say the endpoint is; without the query string, which is not ours to repeat. */
  readonly #endpoint: string;
  #cached: CachedToken | undefined;
  #inFlight: Promise<string> | undefined;
  #recentFailure: RecentFailure | undefined;

  constructor(spec: ClientCredentialsSpec, options: ClientCredentialsOptions = {}) {
    this.#endpoint = checkSpec(spec);
    this.#spec = { ...spec, scopes: [...spec.scopes] };
    this.#now = options.now ?? Date.now;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#failureBackoffMs = spec.failureBackoffMs ?? DEFAULT_FAILURE_BACKOFF_MS;
    this.#onMint = options.onMint;
  }

  /**
   * A valid access token. Cached; from refreshSkewMs before expiry the cached token is still
   * served while one background request fetches the next (so requests do not wait at expiry);
   * only an expired or missing token makes callers wait. Concurrent callers share one in-flight
   * request (single flight).
   */
  token(): Promise<string> {
    const now = this.#now();
    const cached = this.#cached;
    if (cached !== undefined && now < cached.refreshAt) return Promise.resolve(cached.value);
    if (cached !== undefined && now < cached.expiresAt) {
      if (this.#inFlight === undefined && !(this.#recentFailure !== undefined && now < this.#recentFailure.until)) {
        // A failed refresh is kept as the recent failure and retried after the backoff; the
        // still-valid token keeps being served meanwhile.
        this.#start().catch(() => undefined);
      }
      return Promise.resolve(cached.value);
    }
    if (this.#inFlight !== undefined) return this.#inFlight;
    const failure = this.#recentFailure;
    if (failure !== undefined && now < failure.until) {
      return Promise.reject(
        new SluiceError(failure.error.code, `${failure.error.message} (failing fast for ${failure.until - now} ms after that failure)`, {
          cause: failure.error,
          details: { ...failure.error.details, retryInMs: failure.until - now },
        }),
      );
    }
    return this.#start();
  }

  /** Starts the one in-flight mint. */
  #start(): Promise<string> {
    const mint = this.#mint();
    this.#inFlight = mint;
    // Both handlers, so this bookkeeping branch never becomes an unhandled rejection.
    const done = (): void => {
      if (this.#inFlight === mint) this.#inFlight = undefined;
    };
    mint.then(done, done);
    return mint;
  }

  /** The client id tokens are minted for (not secret). */
  get clientId(): string {
    return this.#spec.clientId;
  }

  /**
   * The facts of `token` if it is the token this minter holds; undefined otherwise (a refresh
   * replaced it in the meantime, or it was never ours). Takes the value rather than handing one
   * out, so nothing here can leak a token to a caller that does not already have it.
   */
  facts(token: string): TokenFacts | undefined {
    const cached = this.#cached;
    return cached !== undefined && cached.value === token ? cached.facts : undefined;
  }

  /** Forgets the cached token: the next call mints a new one. Nothing in the data path calls it yet. */
  invalidate(): void {
    this.#cached = undefined;
  }

  async #mint(): Promise<string> {
    const startedAt = this.#now();
    try {
      const { value, expiresInS, stated } = await this.#request();
      const lifetimeMs = expiresInS * 1000;
      const skewMs = this.#spec.refreshSkewMs < lifetimeMs ? this.#spec.refreshSkewMs : lifetimeMs / 2;
      // Counted from when the request left, not when the answer came back: the endpoint started
      // the lifetime somewhere in between, so this errs on the early side.
      const jti = jwtId(value);
      const facts: TokenFacts = Object.freeze({ ...(stated ? { expiresAt: Math.round(startedAt + lifetimeMs) } : {}), ...(jti === undefined ? {} : { jti }) });
      this.#cached = { value, facts, refreshAt: startedAt + lifetimeMs - skewMs, expiresAt: startedAt + lifetimeMs };
      this.#recentFailure = undefined;
      this.#onMint?.('ok');
      return value;
    } catch (err) {
      // #request raises only SluiceErrors; anything else is a bug, kept as the cause.
      const error = err instanceof SluiceError ? err : new SluiceError('ERR_INTERNAL', `token request to ${this.#endpoint} failed unexpectedly`, { cause: err, details: { tokenUrl: this.#endpoint } });
      // A missing secret costs the endpoint nothing, and once it is stored it should work at once.
      if (error.code !== 'ERR_OAUTH2_SECRET_MISSING' && this.#failureBackoffMs > 0) {
        this.#recentFailure = { error, until: this.#now() + this.#failureBackoffMs };
      }
      this.#onMint?.(error.code);
      throw error;
    }
  }

  async #request(): Promise<{ value: string; expiresInS: number; stated: boolean }> {
    const spec = this.#spec;
    let secret: string | undefined;
    try {
      secret = spec.clientSecret();
    } catch (cause) {
      throw new SluiceError('ERR_OAUTH2_SECRET_MISSING', `the client secret for OAuth2 client "${spec.clientId}" could not be read`, {
        cause,
        details: { clientId: spec.clientId, tokenUrl: this.#endpoint },
      });
    }
    if (secret === undefined || secret === '') {
      throw new SluiceError('ERR_OAUTH2_SECRET_MISSING', `the client secret for OAuth2 client "${spec.clientId}" is in no secret store`, {
        details: { clientId: spec.clientId, tokenUrl: this.#endpoint },
      });
    }

    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (spec.scopes.length > 0) form.set('scope', spec.scopes.join(' '));
    if (spec.audience !== undefined) form.set('audience', spec.audience);
    const headers: Record<string, string> = {
      accept: 'application/json',
      'content-type': 'application/x-www-form-urlencoded',
    };
    if (spec.auth === 'basic') {
      // RFC 6749 §2.3.1: id and secret are form-urlencoded before being joined and base64-encoded.
      headers.authorization = `Basic ${Buffer.from(`${formEncode(spec.clientId)}:${formEncode(secret)}`, 'utf8').toString('base64')}`;
    } else {
      form.set('client_id', spec.clientId);
      form.set('client_secret', secret);
    }

    const details = { tokenUrl: this.#endpoint };
    const signal = AbortSignal.timeout(spec.timeoutMs);
    let status: number;
    let body: Buffer | undefined;
    try {
      const response = await this.#fetch(spec.tokenUrl, {
        method: 'POST',
        headers,
        body: form.toString(),
        signal,
        // Never replay the client credentials to wherever a redirect points; a 3xx is a rejection.
        redirect: 'manual',
      });
      status = response.status;
      body = await readCapped(response);
    } catch (cause) {
      const timedOut = signal.aborted;
      throw new SluiceError(
        'ERR_OAUTH2_UNREACHABLE',
        timedOut
          ? `token endpoint ${this.#endpoint} did not answer within ${spec.timeoutMs} ms`
          : `token endpoint ${this.#endpoint} is unreachable${networkCode(cause)}`,
        { cause, details: { ...details, timeoutMs: spec.timeoutMs } },
      );
    }

    if (status < 200 || status > 299) {
      const oauthError = body === undefined ? undefined : oauthErrorCode(body);
      throw new SluiceError(
        'ERR_OAUTH2_REJECTED',
        `token endpoint ${this.#endpoint} answered HTTP ${status}${oauthError === undefined ? '' : ` (${oauthError})`}`,
        { details: { ...details, status, ...(oauthError === undefined ? {} : { oauthError }) } },
      );
    }
    if (body === undefined) {
      throw badResponse(`token response from ${this.#endpoint} is larger than ${MAX_RESPONSE_BYTES} bytes`, 'too_large', details);
    }
    return parseTokenResponse(body, this.#endpoint);
  }
}

/** Checks the spec up front so a bad one fails at config load, naming the option; returns the endpoint for messages. */
function checkSpec(spec: ClientCredentialsSpec): string {
  const invalid = (option: string, why: string): SluiceError =>
    new SluiceError('ERR_CONFIG_INVALID', `OAuth2 client credentials: ${option} ${why}`, { details: { option } });
  let url: URL;
  try {
    url = new URL(spec.tokenUrl);
  } catch {
    throw invalid('tokenUrl', 'is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid('tokenUrl', 'must be an http or https URL');
  if (url.username !== '' || url.password !== '') throw invalid('tokenUrl', 'must not carry credentials; use clientId and clientSecret');
  if (typeof spec.clientId !== 'string' || spec.clientId === '') throw invalid('clientId', 'must be a non-empty string');
  if (typeof spec.clientSecret !== 'function') throw invalid('clientSecret', 'must be a function');
  for (const [i, scope] of spec.scopes.entries()) {
    if (typeof scope !== 'string' || !SCOPE_TOKEN.test(scope)) throw invalid(`scopes[${i}]`, 'must be a non-empty scope token without spaces or quotes');
  }
  if (spec.audience !== undefined && (typeof spec.audience !== 'string' || spec.audience === '')) throw invalid('audience', 'must be a non-empty string when set');
  if (spec.auth !== 'basic' && spec.auth !== 'body') throw invalid('auth', 'must be "basic" or "body"');
  if (!(Number.isFinite(spec.timeoutMs) && spec.timeoutMs > 0)) throw invalid('timeoutMs', 'must be a positive number');
  if (!(Number.isFinite(spec.refreshSkewMs) && spec.refreshSkewMs >= 0)) throw invalid('refreshSkewMs', 'must be zero or more');
  if (spec.failureBackoffMs !== undefined && !(Number.isFinite(spec.failureBackoffMs) && spec.failureBackoffMs >= 0)) {
    throw invalid('failureBackoffMs', 'must be zero or more');
  }
  return `${url.origin}${url.pathname}`;
}

/** application/x-www-form-urlencoded encoding of one value (RFC 6749 Appendix B). */
function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice('v='.length);
}

/** The body, or undefined when it is larger than MAX_RESPONSE_BYTES (the rest is not read). */
async function readCapped(response: Response): Promise<Buffer | undefined> {
  if (response.body === null) return Buffer.alloc(0);
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > MAX_RESPONSE_BYTES) {
    await response.body.cancel().catch(() => undefined);
    return undefined;
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_RESPONSE_BYTES) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/** The OAuth2 `error` code of an error response, only when it is a short snake_case word. */
function oauthErrorCode(body: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as unknown;
    if (isObject(parsed) && typeof parsed.error === 'string' && OAUTH_ERROR_CODE.test(parsed.error)) return parsed.error;
  } catch {
    // Not JSON: the status alone will have to do.
  }
  return undefined;
}

function parseTokenResponse(body: Buffer, endpoint: string): { value: string; expiresInS: number; stated: boolean } {
  const details = { tokenUrl: endpoint };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    // No cause on purpose: a JSON SyntaxError quotes the start of the body, which may be a token.
    throw badResponse(`token response from ${endpoint} is not JSON`, 'not_json', details);
  }
  if (!isObject(parsed)) throw badResponse(`token response from ${endpoint} is not a JSON object`, 'not_object', details);
  const value = parsed.access_token;
  if (typeof value !== 'string' || value === '') {
    throw badResponse(`token response from ${endpoint} has no access_token`, 'access_token', details);
  }
  const tokenType = parsed.token_type;
  if (tokenType !== undefined && (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer')) {
    // Only a short word is repeated; a misplaced token must not land in a log line.
    const shown = typeof tokenType === 'string' && /^[A-Za-z_-]{1,20}$/.test(tokenType) ? ` "${tokenType}"` : '';
    throw badResponse(`token response from ${endpoint} has token_type${shown}, not bearer`, 'token_type', details);
  }
  return { value, expiresInS: expiresIn(parsed.expires_in, endpoint), stated: parsed.expires_in !== undefined };
}

/** A short printable `jti` claim when `token` is a JWT; undefined for opaque tokens or anything odd. */
function jwtId(token: string): string | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1]!.length > 8192) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    const jti = isObject(payload) ? payload.jti : undefined;
    return typeof jti === 'string' && /^[\x21-\x7e]{1,128}$/.test(jti) ? jti : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `expires_in` in seconds. Absent means DEFAULT_EXPIRES_IN_S. A string of digits is accepted too,
 * because some widely deployed endpoints (Azure AD v1) send it quoted.
 */
function expiresIn(raw: unknown, endpoint: string): number {
  if (raw === undefined) return DEFAULT_EXPIRES_IN_S;
  const seconds = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) {
    throw badResponse(`token response from ${endpoint} has an expires_in that is not a positive number`, 'expires_in', { tokenUrl: endpoint });
  }
  return seconds;
}

function badResponse(message: string, reason: string, details: Record<string, unknown>): SluiceError {
  return new SluiceError('ERR_OAUTH2_BAD_RESPONSE', message, { details: { ...details, reason } });
}

/** ` (ECONNREFUSED)` and the like from a fetch failure's cause, for the message. */
function networkCode(err: unknown): string {
  const cause = err instanceof Error ? err.cause : undefined;
  const code = isObject(cause) ? cause.code : undefined;
  return typeof code === 'string' && /^[A-Z_]{1,40}$/.test(code) ? ` (${code})` : '';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
