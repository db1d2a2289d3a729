/**
 * Test support only: an in-memory OIDC issuer (discovery + JWKS + signing) and a clock, so the
 * identity tests run offline and control time. Not exported from index.ts.
 */
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import type { FetchFn } from './fetch-json.ts';

/** A realistic epoch (lru-cache treats a start time of 0 as "no TTL"). */
export const START_MS = 1_700_000_000_000;

export class FakeClock {
  ms = START_MS;
  readonly now = (): number => this.ms;
  get seconds(): number {
    return Math.floor(this.ms / 1000);
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

/** How the fake endpoints misbehave. `hang` never answers and ignores abort signals. */
export type EndpointMode = 'ok' | 'down' | 'hang' | 'not-json' | 'wrong-shape' | 'empty' | 'http-500';

interface SigningKey {
  kid: string | undefined;
  alg: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export class FakeIdp {
  readonly issuer: string;
  readonly jwksUri: string;
  readonly calls = { discovery: 0, jwks: 0 };
  jwksMode: EndpointMode = 'ok';
  discoveryMode: EndpointMode = 'ok';
  /** What the discovery document claims as `issuer`; differs from `issuer` to test the check. */
  discoveryIssuer: string;
  readonly #clock: FakeClock;
  readonly #keys: SigningKey[] = [];
  readonly #retired: SigningKey[] = [];

  constructor(issuer: string, clock: FakeClock) {
    this.issuer = issuer;
    this.discoveryIssuer = issuer;
    this.jwksUri = `${issuer.replace(/\/+$/, '')}/protocol/keys`;
    this.#clock = clock;
  }

  /** Generates and publishes a key. `publishAlg: false` leaves `alg` out, as some IdPs do. */
  async addKey(kid: string | undefined, alg = 'RS256', options: { publishAlg?: boolean } = {}): Promise<void> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const publicJwk: JWK = { ...(await exportJWK(publicKey)), use: 'sig' };
    if (kid !== undefined) publicJwk.kid = kid;
    if (options.publishAlg !== false) publicJwk.alg = alg;
    this.#keys.push({ kid, alg, privateKey, publicJwk });
  }

  /** Stops publishing a key; tokens can still be signed with it (as an attacker or a stale IdP would). */
  removeKey(kid: string): void {
    const index = this.#keys.findIndex((k) => k.kid === kid);
    if (index < 0) throw new Error(`no key ${kid}`);
    this.#retired.push(...this.#keys.splice(index, 1));
  }

  /** A key generated but never published, for "unknown kid" and "wrong key" tokens. */
  async addUnpublishedKey(kid: string, alg = 'RS256'): Promise<void> {
    await this.addKey(kid, alg);
    this.removeKey(kid);
  }

  publicJwk(kid: string): JWK {
    const key = this.#find(kid);
    return key.publicJwk;
  }

  jwks(): { keys: JWK[] } {
    return { keys: this.#keys.map((k) => k.publicJwk) };
  }

  /**
   * Signs a token with sensible defaults (iss, sub, aud "sluice", iat, exp in one hour). A claim
   * set to `undefined` in `claims` is left out.
   */
  async sign(claims: Record<string, unknown> = {}, options: { kid?: string | null; alg?: string } = {}): Promise<string> {
    const key = options.kid === null ? this.#keys.find((k) => k.kid === undefined) ?? this.#keys[0]! : this.#find(options.kid);
    const now = this.#clock.seconds;
    const payload: Record<string, unknown> = { iss: this.issuer, sub: 'alice', aud: 'sluice', iat: now, exp: now + 3600, ...claims };
    for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
    const header: { alg: string; kid?: string; typ: string } = { alg: options.alg ?? key.alg, typ: 'JWT' };
    if (options.kid !== null && key.kid !== undefined) header.kid = key.kid;
    return new SignJWT(payload as JWTPayload).setProtectedHeader(header).sign(key.privateKey);
  }

  handles(url: string): boolean {
    return url.startsWith(this.issuer);
  }

  async respond(url: string): Promise<Response> {
    if (url === this.jwksUri) {
      this.calls.jwks += 1;
      return serve(this.jwksMode, this.jwks());
    }
    if (url === `${this.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`) {
      this.calls.discovery += 1;
      return serve(this.discoveryMode, { issuer: this.discoveryIssuer, jwks_uri: this.jwksUri, id_token_signing_alg_values_supported: ['RS256'] });
    }
    return new Response('not found', { status: 404 });
  }

  #find(kid: string | undefined): SigningKey {
    const all = [...this.#keys, ...this.#retired];
    const key = kid === undefined ? this.#keys[0] : all.find((k) => k.kid === kid);
    if (key === undefined) throw new Error(`no key ${kid}`);
    return key;
  }
}

function serve(mode: EndpointMode, body: unknown): Promise<Response> {
  switch (mode) {
    case 'ok':
      return Promise.resolve(Response.json(body));
    case 'down':
      return Promise.reject(new TypeError('fetch failed: connect ECONNREFUSED'));
    case 'hang':
      return new Promise<Response>(() => undefined);
    case 'not-json':
      return Promise.resolve(new Response('<html>502 Bad Gateway</html>', { headers: { 'content-type': 'text/html' } }));
    case 'wrong-shape':
      return Promise.resolve(Response.json({ keys: 'nope', issuer: 42 }));
    case 'empty':
      return Promise.resolve(Response.json({ keys: [] }));
    case 'http-500':
      return Promise.resolve(new Response('oops', { status: 500 }));
  }
}

/** A fetch that serves the given issuers from memory and records every URL asked for. */
export function fakeFetch(...idps: FakeIdp[]): FetchFn & { urls: string[] } {
  const urls: string[] = [];
  const fetchImpl = async (input: string | URL | Request): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    urls.push(url);
    const idp = idps.find((candidate) => candidate.handles(url));
    return idp === undefined ? new Response('not found', { status: 404 }) : idp.respond(url);
  };
  return Object.assign(fetchImpl as FetchFn, { urls });
}
