import { ConsoleError } from './errors.ts';

export interface OidcClientOptions {
  /** The issuer URL (`iss`); discovery is read from `${issuer}/.well-known/openid-configuration`. */
  issuer: string;
  clientId: string;
  redirectUri: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

interface Discovery {
  authorizationEndpoint: string;
  tokenEndpoint: string;
}

/**
 * The relying-party half of the authorization-code flow with PKCE: where to send the browser, and
 * the back-channel exchange of a code for an ID token. It does not verify the ID token: the
 * caller does, with the same verifier ext-authz uses for every bearer token.
 */
export class OidcClient {
  readonly #options: OidcClientOptions;
  readonly #fetch: typeof fetch;
  #discovery: Promise<Discovery> | undefined;

  constructor(options: OidcClientOptions) {
    this.#options = options;
    this.#fetch = options.fetch ?? fetch;
  }

  async authorizeUrl(params: { state: string; nonce: string; challenge: string }): Promise<string> {
    const { authorizationEndpoint } = await this.#discover();
    const url = new URL(authorizationEndpoint);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('client_id', this.#options.clientId);
    url.searchParams.set('redirect_uri', this.#options.redirectUri);
    url.searchParams.set('scope', 'openid profile');
    url.searchParams.set('state', params.state);
    url.searchParams.set('nonce', params.nonce);
    url.searchParams.set('code_challenge', params.challenge);
    url.searchParams.set('code_challenge_method', 'S256');
    return url.toString();
  }

  /** The ID token for `code`; ERR_CONSOLE_SIGNIN_FAILED when the issuer refuses, ERR_CONSOLE_ISSUER_UNAVAILABLE when it cannot be reached. */
  async exchange(code: string, verifier: string): Promise<string> {
    const { tokenEndpoint } = await this.#discover();
    const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: this.#options.redirectUri, client_id: this.#options.clientId, code_verifier: verifier });
    const response = await this.#call(tokenEndpoint, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body });
    const json = (await response.json().catch(() => undefined)) as { id_token?: unknown; error?: unknown } | undefined;
    if (!response.ok || typeof json?.id_token !== 'string') {
      const reason = typeof json?.error === 'string' ? json.error.slice(0, 64) : `status ${response.status}`;
      throw new ConsoleError('ERR_CONSOLE_SIGNIN_FAILED', `the issuer did not exchange the code (${reason})`);
    }
    return json.id_token;
  }

  #discover(): Promise<Discovery> {
    // One shared fetch; a failure is forgotten so the next sign-in tries again.
    this.#discovery ??= (async () => {
      const url = `${this.#options.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
      const response = await this.#call(url, { headers: { accept: 'application/json' } });
      const doc = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
      const authorizationEndpoint = doc?.authorization_endpoint;
      const tokenEndpoint = doc?.token_endpoint;
      if (!response.ok || typeof authorizationEndpoint !== 'string' || typeof tokenEndpoint !== 'string') {
        throw new ConsoleError('ERR_CONSOLE_ISSUER_UNAVAILABLE', 'the sign-in issuer\'s discovery document has no authorization_endpoint or token_endpoint');
      }
      return { authorizationEndpoint, tokenEndpoint };
    })().catch((err: unknown) => {
      this.#discovery = undefined;
      throw err;
    });
    return this.#discovery;
  }

  async #call(url: string, init: RequestInit): Promise<Response> {
    try {
      return await this.#fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(this.#options.timeoutMs ?? 5000) });
    } catch (err) {
      throw new ConsoleError('ERR_CONSOLE_ISSUER_UNAVAILABLE', 'the sign-in issuer could not be reached', { cause: err });
    }
  }
}
