/**
 * What a caller sees when the gateway refuses or fails a request, whichever service decided:
 * a small JSON body with a stable code and Envoy's request id, and the HTTP status as the
 * `envoy.type.v3.StatusCode` name Envoy's APIs expect.
 */
export const ENVOY_STATUS_NAME = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType',
  431: 'RequestHeaderFieldsTooLarge',
  500: 'InternalServerError',
  502: 'BadGateway',
  503: 'ServiceUnavailable',
} as const;

export type CallerStatus = keyof typeof ENVOY_STATUS_NAME;

export function callerErrorBody(code: string, message: string, requestId: string, extra?: Readonly<Record<string, unknown>>): string {
  return JSON.stringify({ error: { code, message }, ...extra, request_id: requestId });
}
