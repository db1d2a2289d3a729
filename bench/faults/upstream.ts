import { createServer, type IncomingMessage, type Server } from 'node:http';
import { closeServer, listen } from '../../common/http.ts';

/** Values the `pii` masking profile must never let through: a Luhn-valid card number and an email. */
export const CARD = '4111 1111 1111 1111';
export const EMAIL = 'jane.doe@example.com';
/** Header a request carries when the load expects the gateway to refuse it: the upstream must never see one. */
export const MUST_REFUSE = 'x-fault-must-refuse';
/** Set on every answer the upstream gives, so the load tells upstream answers from the gateway's own. */
export const FROM_UPSTREAM = 'x-fault-upstream';
/** Last line of a streamed body: a caller that read it got the whole answer. */
export const STREAM_END = 'END-OF-STREAM';

export interface UpstreamOptions {
  /** The credential each target's requests must carry, as ext-proc injects it. */
  apiAuthorization: string;
  opsApiKey: string;
  /** True when `authorization` holds a token the OAuth2 endpoint issued and that has not expired. */
  partnerTokenValid: (authorization: string | undefined) => boolean;
  /** Chunks of a streamed body, and the pause between them (keeps streams in flight while faults hit). */
  streamChunks: number;
  streamGapMs: number;
}

/**
 * The protected service behind the gateway. It counts every request it receives that was not
 * authorised: one carrying the marker only must-refuse requests carry, or one without the
 * credential ext-proc injects for its target. That count must stay 0 through every fault.
 */
export class FaultUpstream {
  received = 0;
  unauthorised = 0;
  /** The first few unauthorised requests, for the report (path and why). */
  readonly unauthorisedSamples: string[] = [];
  private constructor(private readonly server: Server, readonly port: number) {}

  static async start(options: UpstreamOptions): Promise<FaultUpstream> {
    let self: FaultUpstream | undefined;
    const server = createServer((req, res) => {
      const upstream = self!;
      upstream.received += 1;
      const why = upstream.unauthorisedWhy(req, options);
      if (why) {
        upstream.unauthorised += 1;
        if (upstream.unauthorisedSamples.length < 5) upstream.unauthorisedSamples.push(`${req.method} ${req.url}: ${why}`);
      }
      req.resume();
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://upstream');
        const rid = url.searchParams.get('rid') ?? '';
        if (url.pathname === '/api/stream') {
          res.writeHead(200, { 'content-type': 'text/plain', [FROM_UPSTREAM]: '1' });
          let sent = 0;
          const timer = setInterval(() => {
            if (sent === options.streamChunks) {
              clearInterval(timer);
              res.end(`${STREAM_END} ${rid}\n`);
              return;
            }
            res.write(`line ${sent++} of ${rid}: card ${CARD}, contact ${EMAIL}\n`);
          }, options.streamGapMs);
          res.once('close', () => clearInterval(timer));
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json', [FROM_UPSTREAM]: '1' });
        // Only the api target has a masking profile: only its bodies carry values to mask.
        res.end(JSON.stringify({ ok: true, rid, path: url.pathname, ...(url.pathname.startsWith('/api/') ? { note: `reach ${EMAIL}` } : {}) }));
      });
    });
    const port = await listen(server, 0);
    self = new FaultUpstream(server, port);
    return self;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return closeServer(this.server);
  }

  private unauthorisedWhy(req: IncomingMessage, options: UpstreamOptions): string | undefined {
    if (req.headers[MUST_REFUSE] !== undefined) return 'a request the gateway had to refuse';
    const path = (req.url ?? '/').split('?')[0]!;
    if (path.startsWith('/api/') && req.headers.authorization !== options.apiAuthorization) return 'without the api credential';
    if (path.startsWith('/ops/') && req.headers['x-api-key'] !== options.opsApiKey) return 'without the ops credential';
    if (path.startsWith('/partner/') && !options.partnerTokenValid(req.headers.authorization)) return 'without a valid OAuth2 token';
    if (!/^\/(api|ops|partner)\//.test(path)) return 'on no target';
    return undefined;
  }
}
