import { isDigit } from './bytes.ts';

/** The Luhn (mod 10) check over the digits of `value`; other bytes are separators. */
export function luhnValid(value: Buffer): boolean {
  let sum = 0;
  let double = false;
  let digits = 0;
  for (let i = value.length - 1; i >= 0; i--) {
    const byte = value[i]!;
    if (!isDigit(byte)) continue;
    let d = byte - 0x30;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
    digits++;
  }
  return digits > 0 && sum % 10 === 0;
}
