import type { MaskingProfile, StreamMasker } from './types.ts';

/** What the ext-proc body phase does with one body. */
export type BodyTreatment =
  | { readonly action: 'mask'; readonly mediaType: string; open(): StreamMasker }
  | { readonly action: 'pass'; readonly mediaType: string; readonly reason: string }
  | { readonly action: 'refuse'; readonly mediaType: string; readonly reason: string };

// Text formats the byte-level masker reads correctly. Matching runs on raw bytes, so JSON,
// NDJSON, CSV, SSE, XML and form bodies need no parsing: a value is found wherever it sits.
const TEXT_TYPES = new Set([
  'application/json',
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonl',
  'application/x-jsonlines',
  'application/json-seq',
  'application/csv',
  'application/xml',
  'application/x-www-form-urlencoded',
  'application/javascript',
  'application/ecmascript',
  'application/graphql',
  'application/yaml',
  'application/x-yaml',
  'application/sql',
]);

// JSON may hide a value behind string escapes (`jane\u0040example.com`), which a JSON reader
// decodes: these bodies are matched decoded (engine/json-unescape.ts). Other formats that carry
// JSON (SSE data lines, +json inside multipart) are not: their backslashes need not be JSON's.
const JSON_TYPES = new Set([
  'application/json',
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonl',
  'application/x-jsonlines',
  'application/json-seq',
]);

// Charsets in which ASCII is not one byte per character: every pattern would miss, so such a
// body is as unreadable to the masker as an image.
const WIDE_CHARSETS = /^(utf-?16|utf-?32|ucs-?2|ucs-?4)/;

/**
 * Decides how a body with this Content-Type is treated under `profile`:
 * - text (text/*, JSON and +json, NDJSON, CSV, SSE, XML and +xml, forms, multipart): masked,
 *   JSON and NDJSON with their string escapes decoded for matching;
 * - no Content-Type at all: masked, because a body that does not say what it is may well be
 *   text, and masking a text body is safe while passing it may leak;
 * - anything else (octet-stream, image/*, audio/*, video/*, font/*, pdf, zip, protobuf, and
 *   text in UTF-16/32): the profile's `binary` option, `refuse` unless set to `pass`.
 * multipart/* is masked as text: form fields are where PII sits; a binary file part is only
 * changed where it happens to contain a match.
 * Content-Encoding is not looked at: the caller decompresses first (decompress.ts).
 */
export function maskerFor(contentType: string | undefined, profile: MaskingProfile): BodyTreatment {
  const [rawType = '', ...params] = (contentType ?? '').split(';');
  const mediaType = rawType.trim().toLowerCase();
  const charset = params
    .map((p) => p.trim().toLowerCase())
    .find((p) => p.startsWith('charset='))
    ?.slice('charset='.length)
    .replace(/^"|"$/g, '');
  const wide = charset !== undefined && WIDE_CHARSETS.test(charset);
  const isText =
    mediaType === '' ||
    mediaType.startsWith('text/') ||
    mediaType.startsWith('multipart/') ||
    mediaType.endsWith('+json') ||
    mediaType.endsWith('+xml') ||
    TEXT_TYPES.has(mediaType);
  if (isText && !wide) {
    const json = JSON_TYPES.has(mediaType) || mediaType.endsWith('+json');
    return Object.freeze({ action: 'mask', mediaType, open: () => profile.open({ json }) });
  }
  const reason = wide ? `charset ${charset} cannot be masked byte-wise` : `${mediaType} is not a text type`;
  return Object.freeze({ action: profile.binary, mediaType, reason });
}
