import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import { HttpRefusal } from '../common/http-refusal.ts';
import { httpStatusOf } from '../common/error-codes.ts';
import type { AdminHandler } from '../common/admin-server.ts';

/** Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are not passed on. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

/**
 * Passes a request on to a service's own admin server (the approvals API lives in ext-authz) and
 * streams its answer back as it comes: long polls and event streams keep flowing, and a caller
 * that leaves takes the upstream request with it. While the service is restarting the caller
 * gets 503 ERR_SERVICE_UNAVAILABLE, in the admin API's error shape.
 */
export function proxyTo(target: () => { host: string; port: number } | undefined): AdminHandler {
  return (req, res, _params, signal) => {
    const upstream = target();
    if (upstream === undefined) throw unavailable();
    return new Promise<void>((resolve, reject) => {
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => !HOP_BY_HOP.has(name)));
      const outbound = request({ host: upstream.host, port: upstream.port, method: req.method, path: req.url, headers, signal });
      outbound.once('response', (answer: IncomingMessage) => {
        relay(answer, res);
        answer.once('end', resolve);
        answer.once('error', () => {
          res.destroy();
          resolve();
        });
      });
      outbound.once('error', (err) => {
        if (signal.aborted) return resolve();
        // Nothing was sent yet: say so in the API's own shape. Mid-answer: cut, as the service did.
        if (res.headersSent) {
          res.destroy();
          return resolve();
        }
        reject(unavailable(err));
      });
      req.pipe(outbound);
    });
  };
}

function relay(answer: IncomingMessage, res: ServerResponse): void {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(answer.headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
  }
  res.writeHead(answer.statusCode ?? 502, headers);
  // Event streams must reach the caller chunk by chunk, not when a buffer fills.
  res.flushHeaders();
  answer.pipe(res);
}

function unavailable(cause?: unknown): HttpRefusal {
  return new HttpRefusal(httpStatusOf('ERR_SERVICE_UNAVAILABLE'), 'ERR_SERVICE_UNAVAILABLE', 'the service behind this route is restarting; retry in a moment', {
    headers: { 'retry-after': '1' },
    ...(cause === undefined ? {} : { cause }),
  });
}
