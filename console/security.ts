import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConsoleError } from './errors.ts';

/**
 * Strict: only the console's own script and stylesheet, no inline script or style, no framing,
 * no plugins, forms only to itself. Charts are inline SVG drawn with presentation attributes,
 * which CSP does not govern, so they need no 'unsafe-inline' either.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export function securityHeaders(res: ServerResponse): void {
  res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
  res.setHeader('x-content-type-options', 'nosniff');
  // same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on form posts, which the CSRF check refuses.
  res.setHeader('referrer-policy', 'same-origin');
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('cross-origin-opener-policy', 'same-origin');
  res.setHeader('cache-control', 'no-store');
}

/**
 * CSRF: a state-changing request must carry the sign-in's synchronizer token (header
 * `x-csrf-token` from the page's script, or the `csrf` field of a form) and, when the browser
 * says where it comes from, come from the console's own origin. SameSite=Lax already keeps the
 * cookie off cross-site POSTs; this holds even where it does not (same-site sibling hosts).
 */
export function checkCsrf(req: IncomingMessage, expected: string, fromForm: string | undefined, publicOrigin: string): void {
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== publicOrigin) throw new ConsoleError('ERR_CONSOLE_CSRF', 'the request comes from another origin');
  if (req.headers['sec-fetch-site'] === 'cross-site') throw new ConsoleError('ERR_CONSOLE_CSRF', 'the request comes from another site');
  const header = req.headers['x-csrf-token'];
  const given = typeof header === 'string' ? header : fromForm;
  if (given === undefined || given === '') throw new ConsoleError('ERR_CONSOLE_CSRF', 'the request carries no CSRF token; reload the page');
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  if (a.length !== b.length || !timingSafeEqual(a, b)) throw new ConsoleError('ERR_CONSOLE_CSRF', 'the CSRF token does not match this sign-in; reload the page');
}
