import { createServer, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, type JWK, type CryptoKey } from 'jose';
import { closeServer, listen, readBody, sendJson } from '../common/http.ts';
import { DevLogin } from './dev-login.ts';

/**
 * DEVELOPMENT ONLY. A tiny OIDC issuer: discovery, JWKS, and a token endpoint that signs whatever
 * subject it is asked for. It exists so `npm start` works without a real IdP and so tests have a
 * local issuer whose keys they can rotate. It is off unless the dev config enables it, and it
 * binds to loopback only.
 */
export interface DevIssuerOptions {
  port?: number;
  host?: string;
  /** Audience put into minted tokens unless the request names one. */
  audience?: string;
}

export interface MintRequest {
  sub: string;
  groups?: string[];
  aud?: string | string[];
  ttlSeconds?: number;
  claims?: Record<string, unknown>;
}

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export class DevIssuer {
  private readonly server: Server;
  private keys: SigningKey[] = [];
  private port = 0;
  private readonly login = new DevLogin((request) => this.mint(request));

  private constructor(private readonly options: Required<DevIssuerOptions>) {
    this.server = createServer((req, res) => {
      this.route(req.method ?? 'GET', req.url ?? '/', req, res).catch((err: Error & { statusCode?: number }) => {
        sendJson(res, err.statusCode ?? 500, { error: err.message });
      });
    });
  }

  static async start(options: DevIssuerOptions = {}): Promise<DevIssuer> {
    const issuer = new DevIssuer({ port: 0, host: '127.0.0.1', audience: 'sluice', ...options });
    await issuer.rotate();
    issuer.port = await listen(issuer.server, issuer.options.port, issuer.options.host);
    return issuer;
  }

  get url(): string {
    return `http://${this.options.host}:${this.port}`;
  }

  get jwksUri(): string {
    return `${this.url}/jwks`;
  }

  /** Adds a fresh signing key and drops the old ones: tokens signed before are no longer verifiable. */
  async rotate(): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const kid = randomUUID();
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
    this.keys = [{ kid, privateKey, publicJwk }];
    return kid;
  }

  async mint(request: MintRequest): Promise<string> {
    const key = this.keys[0]!;
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ ...request.claims, groups: request.groups ?? [] })
      .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
      .setIssuer(this.url)
      .setSubject(request.sub)
      .setAudience(request.aud ?? this.options.audience)
      .setIssuedAt(now)
      .setExpirationTime(now + (request.ttlSeconds ?? 3600))
      .setJti(randomUUID())
      .sign(key.privateKey);
  }

  /** The public key of the current signing key, in JWK form (tests use it to forge HS256 tokens). */
  currentPublicJwk(): JWK {
    return this.keys[0]!.publicJwk;
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }

  private async route(method: string, url: string, req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) {
    const path = url.split('?')[0];
    if (method === 'GET' && path === '/.well-known/openid-configuration') {
      return sendJson(res, 200, {
        issuer: this.url,
        jwks_uri: this.jwksUri,
        token_endpoint: `${this.url}/token`,
        // DEVELOPMENT ONLY: a login form without a password, for the console under `npm start` (dev-login.ts).
        authorization_endpoint: `${this.url}/authorize`,
        code_challenge_methods_supported: ['S256'],
        grant_types_supported: ['authorization_code'],
        id_token_signing_alg_values_supported: ['RS256'],
        response_types_supported: ['code', 'id_token'],
        subject_types_supported: ['public'],
      });
    }
    if (method === 'GET' && path === '/jwks') {
      return sendJson(res, 200, { keys: this.keys.map((k) => k.publicJwk) }, { 'cache-control': 'max-age=60' });
    }
    if (path !== undefined && (await this.login.handle(method, path, req, res))) return;
    if (method === 'POST' && path === '/token') {
      const body = JSON.parse((await readBody(req)).toString('utf8') || '{}') as Partial<MintRequest>;
      if (typeof body.sub !== 'string' || body.sub === '') return sendJson(res, 400, { error: '"sub" is required' });
      const token = await this.mint(body as MintRequest);
      return sendJson(res, 200, { access_token: token, token_type: 'Bearer', expires_in: body.ttlSeconds ?? 3600 });
    }
    if (method === 'POST' && path === '/rotate') {
      return sendJson(res, 200, { kid: await this.rotate() });
    }
    sendJson(res, 404, { error: 'not found' });
  }
}
