/**
 * The RFC 3454 tables SASLprep (RFC 4013) uses, as sorted [first, last] code point ranges.
 * Only the tables whose content does not change with the Unicode version are listed; the two
 * that would need the Unicode 3.2 database (A.1 unassigned, D.2 left-to-right) are approximated in
 * saslprep.ts with the regex property escapes the runtime has.
 */
export type Ranges = readonly (readonly [number, number])[];

/** C.1.2: non-ASCII space characters, mapped to U+0020. */
export const NON_ASCII_SPACE: Ranges = [
  [0x00a0, 0x00a0], [0x1680, 0x1680], [0x2000, 0x200b], [0x202f, 0x202f], [0x205f, 0x205f], [0x3000, 0x3000],
];

/** B.1: commonly mapped to nothing (soft hyphen, joiners, variation selectors, BOM). */
export const MAPPED_TO_NOTHING: Ranges = [
  [0x00ad, 0x00ad], [0x034f, 0x034f], [0x1806, 0x1806], [0x180b, 0x180d], [0x200b, 0x200d], [0x2060, 0x2060],
  [0xfe00, 0xfe0f], [0xfeff, 0xfeff],
];

/** C.1.2, C.2.1, C.2.2, C.3, C.4, C.5, C.6, C.7, C.8, C.9: prohibited in the output. */
export const PROHIBITED: Ranges = [
  // C.2.1 ASCII control
  [0x0000, 0x001f], [0x007f, 0x007f],
  // C.2.2 non-ASCII control
  [0x0080, 0x009f], [0x06dd, 0x06dd], [0x070f, 0x070f], [0x180e, 0x180e], [0x200c, 0x200d], [0x2028, 0x2029],
  [0x2060, 0x2063], [0x206a, 0x206f], [0xfeff, 0xfeff], [0x1d173, 0x1d17a],
  // C.1.2 non-ASCII space (left after mapping only if normalisation produced one)
  ...NON_ASCII_SPACE,
  // C.3 private use
  [0xe000, 0xf8ff], [0xf0000, 0xffffd], [0x100000, 0x10fffd],
  // C.4 non-character code points
  [0xfdd0, 0xfdef], ...Array.from({ length: 17 }, (_, plane) => [plane * 0x10000 + 0xfffe, plane * 0x10000 + 0xffff] as const),
  // C.5 surrogates (a lone one survives in a JS string)
  [0xd800, 0xdfff],
  // C.6 inappropriate for plain text
  [0xfff9, 0xfffd],
  // C.7 inappropriate for canonical representation
  [0x2ff0, 0x2ffb],
  // C.8 change display properties or deprecated
  [0x0340, 0x0341], [0x200e, 0x200f], [0x202a, 0x202e],
  // C.9 tagging characters
  [0xe0001, 0xe0001], [0xe0020, 0xe007f],
];

/** D.1: characters with bidirectional property R or AL (Unicode 3.2). */
export const RAND_AL_CAT: Ranges = [
  [0x05be, 0x05be], [0x05c0, 0x05c0], [0x05c3, 0x05c3], [0x05d0, 0x05ea], [0x05f0, 0x05f4], [0x061b, 0x061b],
  [0x061f, 0x061f], [0x0621, 0x063a], [0x0640, 0x064a], [0x066d, 0x066f], [0x0671, 0x06d5], [0x06dd, 0x06dd],
  [0x06e5, 0x06e6], [0x06fa, 0x06fe], [0x0700, 0x070d], [0x0710, 0x0710], [0x0712, 0x072c], [0x0780, 0x07a5],
  [0x07b1, 0x07b1], [0x200f, 0x200f], [0xfb1d, 0xfb1d], [0xfb1f, 0xfb28], [0xfb2a, 0xfb36], [0xfb38, 0xfb3c],
  [0xfb3e, 0xfb3e], [0xfb40, 0xfb41], [0xfb43, 0xfb44], [0xfb46, 0xfbb1], [0xfbd3, 0xfd3d], [0xfd50, 0xfd8f],
  [0xfd92, 0xfdc7], [0xfdf0, 0xfdfc], [0xfe70, 0xfe74], [0xfe76, 0xfefc],
];

export function inRanges(codePoint: number, ranges: Ranges): boolean {
  for (const [first, last] of ranges) {
    if (codePoint >= first && codePoint <= last) return true;
  }
  return false;
}
