/**
 * ISO 13616 mod-97 check over IBAN characters (uppercase letters and digits, no spaces): move
 * the first four to the end, read letters as 10..35, and the number mod 97 must be 1. Done
 * digit by digit so no big integers are needed.
 */
export function ibanChecksumValid(chars: readonly number[]): boolean {
  if (chars.length < 5) return false;
  let rest = 0;
  const n = chars.length;
  for (let k = 0; k < n; k++) {
    const byte = chars[(k + 4) % n]!;
    if (byte >= 0x30 && byte <= 0x39) rest = (rest * 10 + (byte - 0x30)) % 97;
    else rest = (rest * 100 + (byte - 0x41 + 10)) % 97;
  }
  return rest === 1;
}
