import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { closeServer, listen, readBody, sendJson } from '../common/http.ts';

export interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** performance.now() when the request arrived, for latency measurements in the same process. */
  at: number;
}

/**
 * A small upstream for the embedded default and the tests: it answers every request with what it
 * received (method, path, headers), so a caller can see the identity headers the gateway added
 * and that no bearer token arrived. It keeps the last requests for assertions.
 */
export class DemoUpstream {
  readonly seen: SeenRequest[] = [];
  private readonly server: Server;
  private port = 0;

  private constructor(private readonly keep: number) {
    this.server = createServer((req, res) => {
      const arrivedAt = performance.now();
      readBody(req, 1024 * 1024)
        .then((body) => {
          const seen = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: body.toString('utf8'), at: arrivedAt };
          this.seen.push(seen);
          if (this.seen.length > this.keep) this.seen.shift();
          // Tests of the gateway's scrubbing ask for a careless echo: `x-reflect: <header>` copies
          // that request header into the `x-reflected` response header, verbatim.
          const reflect = req.headers['x-reflect'];
          const reflected = typeof reflect === 'string' ? req.headers[reflect.toLowerCase()] : undefined;
          // Otherwise, like any real API, it never sends a credential back: the echo only says one arrived.
          sendJson(res, 200, { upstream: 'demo', method: seen.method, path: seen.path, headers: withoutCredentials(seen.headers) },
            typeof reflected === 'string' ? { 'x-reflected': reflected } : {});
        })
        .catch(() => sendJson(res, 413, { error: 'body too large' }));
    });
    this.server.keepAliveTimeout = 60_000;
  }

  static async start(port = 0, keep = 1000): Promise<DemoUpstream> {
    const upstream = new DemoUpstream(keep);
    upstream.port = await listen(upstream.server, port);
    return upstream;
  }

  get address(): { host: string; port: number } {
    return { host: '127.0.0.1', port: this.port };
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }
}

const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'x-api-key', 'cookie']);

function withoutCredentials(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) out[name] = CREDENTIAL_HEADERS.has(name) ? '[received]' : value;
  return out;
}
