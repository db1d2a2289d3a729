import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { closeServer, listen, readBody } from '../../common/http.ts';

/**
 * The OAuth2 token endpoint of the `partner` target (client credentials). Tokens live a few
 * seconds, so ext-proc must mint again during a fault; `down` resets every connection.
 */
export class FaultTokenEndpoint {
  down = false;
  mints = 0;
  private readonly issued = new Map<string, number>();
  private constructor(private readonly server: Server, readonly port: number, private readonly clientSecret: string, private readonly lifetimeS: number) {}

  static async start(clientSecret: string, lifetimeS: number): Promise<FaultTokenEndpoint> {
    let self: FaultTokenEndpoint | undefined;
    const server = createServer((req, res) => {
      void readBody(req).then((body) => self!.answer(req.headers.authorization, body, res), () => res.destroy());
    });
    const port = await listen(server, 0);
    self = new FaultTokenEndpoint(server, port, clientSecret, lifetimeS);
    return self;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/token`;
  }

  /** Whether the upstream should accept this Authorization header. */
  valid(authorization: string | undefined): boolean {
    const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
    const expiresAt = token === undefined ? undefined : this.issued.get(token);
    return expiresAt !== undefined && expiresAt > Date.now();
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return closeServer(this.server);
  }

  private answer(authorization: string | undefined, _body: Buffer, res: import('node:http').ServerResponse): void {
    if (this.down) return void res.destroy();
    const [id, secret] = Buffer.from((authorization ?? '').replace(/^Basic /, ''), 'base64').toString().split(':');
    if (id !== 'faults-client' || decodeURIComponent(secret ?? '') !== this.clientSecret) {
      return void res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_client"}');
    }
    this.mints += 1;
    const token = `partner-${randomBytes(12).toString('hex')}`;
    // A little grace past expires_in: the gateway refreshes ahead of expiry, never after.
    this.issued.set(token, Date.now() + this.lifetimeS * 1000 + 2000);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: this.lifetimeS }));
  }
}
