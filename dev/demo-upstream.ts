import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { createGzip, gzipSync } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
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
      if (typeof req.headers['x-demo-chunks'] === 'string') {
        this.record(req, arrivedAt, '');
        void streamChunks(req.headers, res);
        return;
      }
      if (typeof req.headers['x-demo-count'] === 'string') {
        const seen = this.record(req, arrivedAt, '');
        void countBody(req, req.headers['x-demo-count']).then(
          (counted) => sendJson(res, 200, { upstream: 'demo', method: seen.method, path: seen.path, ...counted }),
          () => res.destroy(),
        );
        return;
      }
      readBody(req, 1024 * 1024)
        .then((body) => {
          const seen = this.record(req, arrivedAt, body.toString('utf8'));
          // Tests of the gateway's scrubbing ask for a careless echo: `x-reflect: <header>` copies
          // that request header into the `x-reflected` response header, verbatim.
          const reflect = req.headers['x-reflect'];
          const reflected = typeof reflect === 'string' ? req.headers[reflect.toLowerCase()] : undefined;
          // `x-demo-echo-headers: 1` plays a careless upstream that answers its request headers
          // verbatim in the JSON body, credentials included (how tests check the gateway scrubs
          // them); gzip-encoded as well with `x-demo-gzip: 1`.
          if (req.headers['x-demo-echo-headers'] === '1') {
            sendEcho(res, { upstream: 'demo', method: seen.method, path: seen.path, headers: seen.headers }, req.headers['x-demo-gzip'] === '1');
            return;
          }
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

  private record(req: import('node:http').IncomingMessage, at: number, body: string): SeenRequest {
    const seen = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, at };
    this.seen.push(seen);
    if (this.seen.length > this.keep) this.seen.shift();
    return seen;
  }

  get address(): { host: string; port: number } {
    return { host: '127.0.0.1', port: this.port };
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }
}

function sendEcho(res: ServerResponse, body: unknown, gzip: boolean): void {
  const json = Buffer.from(JSON.stringify(body), 'utf8');
  res.writeHead(200, { 'content-type': 'application/json', ...(gzip ? { 'content-encoding': 'gzip' } : { 'content-length': String(json.length) }) });
  res.end(gzip ? gzipSync(json) : json);
}

const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'x-api-key', 'cookie']);

/**
 * Credentials are echoed as a fingerprint, never the value: enough for a demo user to see which
 * credential arrived and that a rotation took effect (the fingerprint changes), nothing to reuse.
 * (The demo's secrets are throwaway; audit records use keyed versions, see ext-proc/secrets.)
 */
function withoutCredentials(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    out[name] = CREDENTIAL_HEADERS.has(name) ? `[received, fingerprint ${fingerprint(String(value))}]` : value;
  }
  return out;
}

function fingerprint(value: string): string {
  return `sha256:${createHash('sha256').update(value).digest('hex').slice(0, 12)}`;
}

/**
 * Test and demo aid: `x-demo-chunks` (a JSON array of strings) makes the upstream answer with
 * those chunks, flushed one by one `x-demo-delay-ms` apart, as `x-demo-content-type`, gzip-encoded
 * when `x-demo-gzip: 1`, after `x-demo-pad-bytes` spaces if asked (bodies larger than a
 * header can carry), cut off before its end with `x-demo-cut: 1` — how tests put a card number
 * across two network writes.
 */
async function streamChunks(headers: IncomingHttpHeaders, res: ServerResponse): Promise<void> {
  let chunks: string[];
  try {
    chunks = JSON.parse(String(headers['x-demo-chunks'])) as string[];
  } catch {
    res.writeHead(400).end();
    return;
  }
  const delay = Number(headers['x-demo-delay-ms'] ?? 0);
  const gzip = headers['x-demo-gzip'] === '1';
  res.writeHead(200, { 'content-type': String(headers['x-demo-content-type'] ?? 'application/json'), ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
  const sink = gzip ? createGzip() : undefined;
  sink?.pipe(res);
  const pad = Math.min(Number(headers['x-demo-pad-bytes'] ?? 0) || 0, 16 << 20);
  if (pad > 0) chunks.unshift(' '.repeat(pad));
  for (const chunk of chunks) {
    if (sink) {
      sink.write(chunk);
      await new Promise<void>((resolve) => sink.flush(() => resolve()));
    } else {
      res.write(chunk);
    }
    if (delay > 0) await sleep(delay);
  }
  // `x-demo-cut: 1`: the upstream dies mid-body (the socket closes without the body's end).
  if (headers['x-demo-cut'] === '1') res.destroy();
  else if (sink) sink.end();
  else res.end();
}

/**
 * Test and demo aid for uploads of any size: with `x-demo-count: <needle>` the upstream reads the
 * body as it streams, keeping nothing, and answers how many bytes arrived and how often `needle`
 * occurred in them (also across chunk boundaries) — how a test checks that no raw card number of
 * a 1 GB upload reached the upstream.
 */
async function countBody(req: import('node:http').IncomingMessage, needle: string): Promise<{ bytes: number; found: number }> {
  const pattern = Buffer.from(needle, 'utf8');
  let bytes = 0;
  let found = 0;
  let tail = Buffer.alloc(0);
  for await (const chunk of req) {
    const data = chunk as Buffer;
    bytes += data.length;
    if (pattern.length === 0) continue;
    const window = tail.length > 0 ? Buffer.concat([tail, data]) : data;
    for (let at = window.indexOf(pattern); at !== -1; at = window.indexOf(pattern, at + 1)) found += 1;
    // Keep what could start a match that ends in the next chunk, but never a whole match again.
    tail = Buffer.from(window.subarray(Math.max(0, window.length - (pattern.length - 1))));
  }
  return { bytes, found };
}
