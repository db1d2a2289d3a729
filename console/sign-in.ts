import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Identity, IdentityVerifier } from '../ext-authz/identity/types.ts';
import type { BrowserSessions, ConsoleUser } from './browser-sessions.ts';
import { readCookie, setCookie } from './cookies.ts';
import { ConsoleError } from './errors.ts';
import type { OidcClient } from './oidc-client.ts';
import { pkceChallenge, randomToken } from './random.ts';

export const SESSION_COOKIE = 'sluice_console';
const LOGIN_COOKIE = 'sluice_console_login';
const COOKIE_PATH = '/console';
/** A sign-in has ten minutes from the click to the callback. */
const LOGIN_TTL_MS = 10 * 60_000;
const MAX_PENDING_LOGINS = 10_000;

interface LoginTransaction {
  nonce: string;
  verifier: string;
  next: string;
  expiresAt: number;
}

export interface SignInOptions {
  client: OidcClient;
  verifier: IdentityVerifier;
  sessions: BrowserSessions;
  /** The configured issuer name people sign in with: an ID token of any other issuer is refused. */
  issuerName: string;
  clientId: string;
  secureCookies: boolean;
  now?: () => number;
}

/**
 * The authorization-code flow with PKCE, in three explicit steps: `start` (state, nonce and code
 * verifier, remembered here and bound to this browser by a login cookie), `finish` (the same
 * browser comes back with the same state; the code is exchanged; the ID token is verified by
 * ext-authz's verifier, and its issuer, audience and nonce checked), and `signOut`.
 */
export class SignIn {
  readonly #pending = new Map<string, LoginTransaction>();
  readonly #options: SignInOptions;
  readonly #now: () => number;

  constructor(options: SignInOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  current(req: IncomingMessage): ConsoleUser | undefined {
    return this.#options.sessions.get(readCookie(req, SESSION_COOKIE));
  }

  async start(res: ServerResponse, next: string): Promise<void> {
    this.#sweep();
    const state = randomToken();
    const transaction: LoginTransaction = { nonce: randomToken(), verifier: randomToken(), next: safeNext(next), expiresAt: this.#now() + LOGIN_TTL_MS };
    const location = await this.#options.client.authorizeUrl({ state, nonce: transaction.nonce, challenge: pkceChallenge(transaction.verifier) });
    this.#pending.set(state, transaction);
    res.writeHead(302, { location, 'set-cookie': this.#cookie(LOGIN_COOKIE, state, LOGIN_TTL_MS / 1000) }).end();
  }

  async finish(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<Identity> {
    const params = new URL(req.url ?? '/', 'http://console.invalid').searchParams;
    const state = params.get('state') ?? '';
    const code = params.get('code') ?? '';
    const transaction = this.#pending.get(state);
    // Single use whatever happens next.
    this.#pending.delete(state);
    if (params.get('error')) throw failed(`the issuer answered ${params.get('error')!.slice(0, 64)}`);
    if (transaction === undefined || transaction.expiresAt <= this.#now()) throw failed('this sign-in is unknown or has expired; start again');
    // A state this browser did not start (login CSRF: someone else's code pushed into our browser).
    if (readCookie(req, LOGIN_COOKIE) !== state) throw failed('this sign-in was started in another browser; start again');
    if (code === '') throw failed('the issuer sent no code');
    const idToken = await this.#options.client.exchange(code, transaction.verifier);
    let identity: Identity;
    try {
      identity = await this.#options.verifier.verify(idToken, signal);
    } catch (err) {
      throw failed('the ID token did not verify', err);
    }
    if (identity.issuerName !== this.#options.issuerName) throw failed('the ID token is from another issuer');
    const aud = identity.claims.aud;
    if (!(aud === this.#options.clientId || (Array.isArray(aud) && aud.includes(this.#options.clientId)))) throw failed('the ID token is not for this console');
    if (identity.claims.nonce !== transaction.nonce) throw failed('the ID token carries the wrong nonce');
    const user = this.#options.sessions.create(identity, idToken);
    res.writeHead(303, {
      location: transaction.next,
      'set-cookie': [this.#cookie(SESSION_COOKIE, user.id, (user.expiresAt - this.#now()) / 1000), this.#cookie(LOGIN_COOKIE, '', 0)],
    }).end();
    return identity;
  }

  signOut(req: IncomingMessage, res: ServerResponse): void {
    const id = readCookie(req, SESSION_COOKIE);
    if (id !== undefined) this.#options.sessions.delete(id);
    res.writeHead(303, { location: '/console/signed-out', 'set-cookie': this.#cookie(SESSION_COOKIE, '', 0) }).end();
  }

  #cookie(name: string, value: string, maxAgeSeconds: number): string {
    return setCookie(name, value, { maxAgeSeconds, secure: this.#options.secureCookies, path: COOKIE_PATH });
  }

  #sweep(): void {
    const now = this.#now();
    for (const [state, t] of this.#pending) if (t.expiresAt <= now) this.#pending.delete(state);
    while (this.#pending.size >= MAX_PENDING_LOGINS) this.#pending.delete(this.#pending.keys().next().value!);
  }
}

/** Only a console path: `next` must never send a signed-in browser elsewhere (open redirect). */
export function safeNext(next: string): string {
  return /^\/console(\/[A-Za-z0-9._~%/?&=+-]*)?$/.test(next) && !next.startsWith('//') ? next : '/console';
}

function failed(message: string, cause?: unknown): ConsoleError {
  return new ConsoleError('ERR_CONSOLE_SIGNIN_FAILED', message, cause === undefined ? {} : { cause });
}
