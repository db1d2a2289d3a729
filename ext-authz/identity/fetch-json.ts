import { AuthError } from './errors.ts';
import { raceAbort } from './race-abort.ts';

export type FetchFn = typeof globalThis.fetch;

/** Discovery documents and key sets are a few KiB; anything far larger is not one. */
const MAX_BODY_CHARS = 1024 * 1024;

export interface FetchJsonOptions {
  timeoutMs: number;
  /** Issuer name, for error details and logs. */
  issuerName: string;
  /** What is being fetched ("discovery document", "JWKS"), for messages. */
  what: string;
}

/**
 * GETs a JSON document within `timeoutMs`, turning every failure (network, timeout, HTTP status,
 * oversized or non-JSON body) into ERR_JWKS_UNAVAILABLE.
 *
 * The deadline covers headers and body, and is enforced by racing rather than by trusting the
 * fetch implementation to honour its signal, so a stuck body or a fetch that ignores aborts still
 * ends on time. A ref'd timer (cleared on completion) is used instead of AbortSignal.timeout so an
 * in-flight fetch keeps the process alive and no timer outlives the request.
 */
export async function fetchJson(fetchImpl: FetchFn, url: string, options: FetchJsonOptions): Promise<unknown> {
  const { timeoutMs, issuerName, what } = options;
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new AuthError('ERR_JWKS_UNAVAILABLE', `${what} fetch timed out`, { details: { issuer: issuerName, url, timeoutMs } })),
    timeoutMs,
  );
  try {
    const response = await raceAbort(fetchImpl(url, { signal: controller.signal, headers: { accept: 'application/json' } }), controller.signal);
    if (!response.ok) {
      // Release the connection; the body of an error page is of no use.
      void response.body?.cancel().catch(() => undefined);
      throw new AuthError('ERR_JWKS_UNAVAILABLE', `${what} endpoint answered HTTP ${response.status}`, {
        details: { issuer: issuerName, url, status: response.status },
      });
    }
    const declared = Number(response.headers.get('content-length') ?? 0);
    if (declared > MAX_BODY_CHARS) throw tooLarge(what, issuerName, url);
    const text = await raceAbort(response.text(), controller.signal);
    if (text.length > MAX_BODY_CHARS) throw tooLarge(what, issuerName, url);
    try {
      return JSON.parse(text) as unknown;
    } catch (cause) {
      throw new AuthError('ERR_JWKS_UNAVAILABLE', `${what} is not valid JSON`, { cause, details: { issuer: issuerName, url } });
    }
  } catch (err) {
    if (err instanceof AuthError) throw err;
    if (controller.signal.aborted) throw controller.signal.reason;
    throw new AuthError('ERR_JWKS_UNAVAILABLE', `${what} fetch failed`, { cause: err, details: { issuer: issuerName, url } });
  } finally {
    clearTimeout(timer);
  }
}

function tooLarge(what: string, issuerName: string, url: string): AuthError {
  return new AuthError('ERR_JWKS_UNAVAILABLE', `${what} is larger than ${MAX_BODY_CHARS} characters`, {
    details: { issuer: issuerName, url },
  });
}
