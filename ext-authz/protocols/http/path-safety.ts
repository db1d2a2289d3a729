/**
 * Why a path is ambiguous: a lenient upstream could read it as a different path from the one the
 * gateway decided on. Stable strings; the caller sees them as `reason` in the error body.
 */
export type PathAmbiguity =
  /** `%` not followed by two hex digits (`%zz`, a trailing `%`, IIS's `%u002e`). */
  | 'invalid-escape'
  /** `%25`: a second layer of encoding, which a decode-twice upstream turns into anything. */
  | 'double-encoding'
  /** An encoded `.` `/` `\` `;` `?` `#`: decoding it changes the path's structure. */
  | 'encoded-delimiter'
  /** An encoded NUL or control character (C0, DEL, C1). */
  | 'encoded-control'
  /** Percent-encoded bytes that are not strict UTF-8: overlong (`%C0%AE`), surrogates, truncated. */
  | 'invalid-utf8'
  /** A raw byte outside printable ASCII: ext-authz receives a decoded string and cannot see those bytes. */
  | 'non-ascii'
  /** A raw NUL or control character. */
  | 'control-character'
  /** A raw `\`, which Windows-style and some Java upstreams read as `/`. */
  | 'backslash'
  /** A `;` path parameter, which servlet containers strip before routing (`/admin;x=1` is `/admin`). */
  | 'path-parameter'
  /** A `.` or `..` segment (or an empty one), which the upstream would resolve. */
  | 'dot-segment';

/** ASCII bytes whose encoded form must stay encoded to keep the path's structure. */
const DELIMITER_BYTES = new Set([0x2e, 0x2f, 0x5c, 0x3b, 0x3f, 0x23]);
/** Characters that, reached through Unicode compatibility folding (NFKC), would be delimiters again. */
const FOLDS_TO_DELIMITER = /[./\\;?#%\u0000-\u001f\u007f-\u009f]/;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Decides whether the path Envoy hands ext-authz (without the query, after Envoy's own
 * `normalize_path` and `merge_slashes`) means one thing only. Policy then matches exactly this
 * text, and Envoy forwards exactly this text, so whatever an upstream does with an unambiguous
 * path, it does to the path that was authorized. Legitimate escapes (`%20`, `%2B`, strict UTF-8
 * such as `%C3%A9`) pass. Returns the first problem found, or null.
 *
 * Pure and allocation-free for the common path (no `%`): one pass over the characters.
 */
export function pathAmbiguity(path: string): PathAmbiguity | null {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x25) {
      const end = escapeRunEnd(path, i);
      if (end < 0) return 'invalid-escape';
      const problem = escapeRunAmbiguity(path, i, end);
      if (problem !== null) return problem;
      i = end - 1;
    } else if (c < 0x20 || c === 0x7f) {
      return 'control-character';
    } else if (c > 0x7e) {
      return 'non-ascii';
    } else if (c === 0x5c) {
      return 'backslash';
    } else if (c === 0x3b) {
      return 'path-parameter';
    } else if (c === 0x2f && isDotOrEmptySegment(path, i + 1)) {
      return 'dot-segment';
    }
  }
  return null;
}

/** The index just past a run of `%XX` escapes starting at `start`, or -1 if one is malformed. */
function escapeRunEnd(path: string, start: number): number {
  let i = start;
  while (i < path.length && path.charCodeAt(i) === 0x25) {
    if (!isHex(path.charCodeAt(i + 1)) || !isHex(path.charCodeAt(i + 2))) return -1;
    i += 3;
  }
  return i;
}

/** Judges one run of escapes; non-ASCII bytes are decoded together, as UTF-8 sequences span escapes. */
function escapeRunAmbiguity(path: string, start: number, end: number): PathAmbiguity | null {
  const bytes = new Uint8Array((end - start) / 3);
  let nonAscii = false;
  for (let i = start, b = 0; i < end; i += 3, b++) {
    const byte = Number.parseInt(path.slice(i + 1, i + 3), 16);
    if (byte === 0x25) return 'double-encoding';
    if (byte < 0x20 || byte === 0x7f) return 'encoded-control';
    if (DELIMITER_BYTES.has(byte)) return 'encoded-delimiter';
    if (byte > 0x7f) nonAscii = true;
    bytes[b] = byte;
  }
  if (!nonAscii) return null;
  let text: string;
  try {
    // fatal: overlong forms (%C0%AE, %E0%80%AE), surrogates and truncated sequences all throw.
    text = strictUtf8.decode(bytes);
  } catch {
    return 'invalid-utf8';
  }
  if (/[\u0080-\u009f]/.test(text)) return 'encoded-control';
  // An upstream that folds Unicode (NFKC) reads U+FF0E as `.` and U+FF0F as `/`.
  if (FOLDS_TO_DELIMITER.test(text.normalize('NFKC'))) return 'encoded-delimiter';
  return null;
}

/** Whether the segment starting at `start` is empty, `.` or `..` (a raw one; encoded dots are delimiters). */
function isDotOrEmptySegment(path: string, start: number): boolean {
  let end = path.indexOf('/', start);
  if (end === -1) end = path.length;
  const length = end - start;
  // An empty last segment is the trailing slash of `/api/`, which is fine; `//` in the middle is not.
  if (length === 0) return end < path.length;
  if (length > 2) return false;
  return path.charCodeAt(start) === 0x2e && (length === 1 || path.charCodeAt(start + 1) === 0x2e);
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}
