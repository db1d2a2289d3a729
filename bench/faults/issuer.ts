import { createServer, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { closeServer, listen } from '../../common/http.ts';

/** How the JWKS endpoint behaves: serving, refusing connections, answering late, or answering junk. */
export type JwksMode = 'ok' | 'down' | 'slow' | 'garbage';

interface Key { kid: string; privateKey: CryptoKey; publicJwk: JWK }

/** Junk a broken IdP or proxy might serve in place of the key set, one per answer in turn. */
const GARBAGE: { type: string; body: string }[] = [
  { type: 'application/json', body: '{"keys": "not-a-list"}' },
  { type: 'text/html', body: '<html><body>502 Bad Gateway</body></html>' },
  { type: 'application/json', body: '{"keys": []}' },
  { type: 'application/json', body: '{"keys": [{"kty": "RSA", "kid": "junk", "n": "AQAB", "e": "AQAB"}' },
];

/**
 * The suite's own OIDC issuer: tokens are signed here (cheap, no HTTP), and the JWKS endpoint can
 * be switched between modes while load runs. Keys are only ever added, so a token minted before a
 * fault stays verifiable after it; `addKey()` makes the next tokens name a kid the gateway has not
 * seen, which forces a JWKS fetch (the "new token" case).
 */
export class FaultIssuer {
  mode: JwksMode = 'ok';
  /** How long a `slow` answer takes (longer than the gateway's fetch timeout). */
  slowMs = 5000;
  fetches = 0;
  private keys: Key[] = [];
  private garbageTurn = 0;
  private port = 0;
  private server: Server | undefined;

  static async start(): Promise<FaultIssuer> {
    const issuer = new FaultIssuer();
    await issuer.addKey();
    await issuer.listen(0);
    return issuer;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** A new signing key, published at once (when the endpoint serves) and used for tokens from now on. */
  async addKey(): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const kid = randomUUID();
    this.keys.unshift({ kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } });
    return kid;
  }

  mint(sub: string, groups: string[], ttlSeconds = 3600, expired = false): Promise<string> {
    const key = this.keys[0]!;
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ groups })
      .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
      .setIssuer(this.url)
      .setSubject(sub)
      .setAudience('sluice')
      .setIssuedAt(expired ? now - 7200 : now)
      .setExpirationTime(expired ? now - 3600 : now + ttlSeconds)
      .setJti(randomUUID())
      .sign(key.privateKey);
  }

  /** `down` closes the listener (connections refused), any other mode reopens it on the same port. */
  async setMode(mode: JwksMode): Promise<void> {
    if (mode === 'down' && this.server) {
      const server = this.server;
      this.server = undefined;
      server.closeAllConnections();
      await closeServer(server);
    } else if (mode !== 'down' && !this.server) {
      await this.listen(this.port);
    }
    this.mode = mode;
  }

  close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    server?.closeAllConnections();
    return server ? closeServer(server) : Promise.resolve();
  }

  private async listen(port: number): Promise<void> {
    const server = createServer((req, res) => {
      if ((req.url ?? '').split('?')[0] !== '/jwks') return void res.writeHead(404).end();
      this.fetches += 1;
      if (this.mode === 'slow') {
        const timer = setTimeout(() => this.serveKeys(res), this.slowMs);
        res.once('close', () => clearTimeout(timer));
        return;
      }
      if (this.mode === 'garbage') {
        const junk = GARBAGE[this.garbageTurn++ % GARBAGE.length]!;
        return void res.writeHead(200, { 'content-type': junk.type }).end(junk.body);
      }
      this.serveKeys(res);
    });
    this.port = await listen(server, port);
    this.server = server;
  }

  private serveKeys(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: this.keys.map((k) => k.publicJwk) }));
  }
}
