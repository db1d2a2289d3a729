import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendJson } from '../common/http.ts';
import type { MintRequest } from './dev-issuer.ts';

/**
 * DEVELOPMENT ONLY: the authorization-code flow of the dev issuer, so the operator console can be
 * signed in to under `npm start`. /authorize shows a form that asks for a subject and groups and
 * checks no password at all — anyone who can reach the loopback port may be anyone. It only ever
 * redirects to loopback addresses, codes are single-use, expire in a minute and are bound to the
 * PKCE challenge (S256 only) and to the redirect URI they were issued for.
 */
interface PendingCode {
  clientId: string;
  redirectUri: string;
  nonce: string | undefined;
  challenge: string;
  sub: string;
  groups: string[];
  expiresAt: number;
}

const CODE_TTL_MS = 60_000;
const MAX_CODES = 1000;
const LOOPBACK_REDIRECT = /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\//;
const GROUPS = /^[A-Za-z0-9._-]+$/;

export class DevLogin {
  private readonly codes = new Map<string, PendingCode>();

  constructor(private readonly mint: (request: MintRequest) => Promise<string>) {}

  /** Answers the authorization-code routes; false when the request is not one of them. */
  async handle(method: string, path: string, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    if (path === '/authorize' && method === 'GET') return this.form(new URL(req.url ?? '/', 'http://dev.invalid').searchParams, res), true;
    if (path === '/authorize' && method === 'POST') return this.authorize(new URLSearchParams((await readBody(req)).toString('utf8')), res), true;
    const form = method === 'POST' && path === '/token' && (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
    if (form) return this.token(new URLSearchParams((await readBody(req)).toString('utf8')), res), true;
    return false;
  }

  private form(params: URLSearchParams, res: ServerResponse): void {
    const problem = checkAuthorizeParams(params);
    if (problem) return page(res, 400, `<p role="alert">${escape(problem)}</p>`);
    const hidden = ['client_id', 'redirect_uri', 'state', 'nonce', 'code_challenge']
      .map((name) => `<input type="hidden" name="${name}" value="${escape(params.get(name) ?? '')}">`).join('');
    page(res, 200, `<form method="post" action="/authorize">${hidden}
<p><label for="sub">Subject</label><br><input id="sub" name="sub" required autofocus autocomplete="username"></p>
<p><label for="groups">Groups (comma separated)</label><br><input id="groups" name="groups" autocomplete="off"></p>
<p><button type="submit">Sign in (dev)</button></p></form>`);
  }

  private authorize(params: URLSearchParams, res: ServerResponse): void {
    const problem = checkAuthorizeParams(params, false);
    if (problem) return page(res, 400, `<p role="alert">${escape(problem)}</p>`);
    const sub = (params.get('sub') ?? '').trim();
    const groups = (params.get('groups') ?? '').split(',').map((g) => g.trim()).filter(Boolean);
    if (sub === '' || sub.length > 128 || !groups.every((g) => GROUPS.test(g))) return page(res, 400, '<p role="alert">a subject (up to 128 characters) and plain group names are needed</p>');
    this.sweep();
    const code = randomBytes(24).toString('base64url');
    this.codes.set(code, {
      clientId: params.get('client_id')!, redirectUri: params.get('redirect_uri')!, nonce: params.get('nonce') ?? undefined,
      challenge: params.get('code_challenge')!, sub, groups, expiresAt: Date.now() + CODE_TTL_MS,
    });
    const target = new URL(params.get('redirect_uri')!);
    target.searchParams.set('code', code);
    const state = params.get('state');
    if (state) target.searchParams.set('state', state);
    res.writeHead(302, { location: target.toString(), 'cache-control': 'no-store' }).end();
  }

  private async token(params: URLSearchParams, res: ServerResponse): Promise<void> {
    if (params.get('grant_type') !== 'authorization_code') return sendJson(res, 400, { error: 'unsupported_grant_type' });
    const code = params.get('code') ?? '';
    const pending = this.codes.get(code);
    // Single use, whatever happens next: a replayed code is refused even if the first try failed.
    this.codes.delete(code);
    const verifier = params.get('code_verifier') ?? '';
    const ok = pending !== undefined && pending.expiresAt > Date.now()
      && pending.clientId === params.get('client_id') && pending.redirectUri === params.get('redirect_uri')
      && createHash('sha256').update(verifier).digest('base64url') === pending.challenge;
    if (!ok) return sendJson(res, 400, { error: 'invalid_grant' }, { 'cache-control': 'no-store' });
    const idToken = await this.mint({
      sub: pending.sub, groups: pending.groups, aud: pending.clientId, ttlSeconds: 900,
      ...(pending.nonce ? { claims: { nonce: pending.nonce } } : {}),
    });
    sendJson(res, 200, { id_token: idToken, access_token: idToken, token_type: 'Bearer', expires_in: 900 }, { 'cache-control': 'no-store' });
  }

  private sweep(): void {
    const now = Date.now();
    for (const [code, pending] of this.codes) if (pending.expiresAt <= now) this.codes.delete(code);
    while (this.codes.size >= MAX_CODES) this.codes.delete(this.codes.keys().next().value!);
  }
}

function checkAuthorizeParams(params: URLSearchParams, needResponseType = true): string | undefined {
  if (needResponseType && params.get('response_type') !== 'code') return 'response_type must be code';
  if (!params.get('client_id')) return 'client_id is required';
  if (!LOOPBACK_REDIRECT.test(params.get('redirect_uri') ?? '')) return 'the dev issuer only redirects to loopback addresses';
  if (!/^[A-Za-z0-9_-]{43,128}$/.test(params.get('code_challenge') ?? '')) return 'a PKCE code_challenge (S256) is required';
  if (needResponseType && params.get('code_challenge_method') !== 'S256') return 'code_challenge_method must be S256';
  return undefined;
}

function page(res: ServerResponse, status: number, body: string): void {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sluice dev sign-in</title>
<style>body{font:16px system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}.dev{background:#fde68a;color:#111;padding:.75rem;border:2px solid #b45309}input{font:inherit;padding:.3rem;width:100%}button{font:inherit;padding:.4rem 1rem}</style></head>
<body><main><h1>Sluice dev sign-in</h1><p class="dev"><strong>DEVELOPMENT ONLY.</strong> This issuer signs whatever identity you type, without a password. Never expose it.</p>${body}</main></body></html>`;
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
    'x-content-type-options': 'nosniff',
  });
  res.end(html);
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
