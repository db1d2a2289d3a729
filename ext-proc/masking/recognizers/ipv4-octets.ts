/** True when value[from, to) is four dot-separated numbers of at most 255. */
export function octetsValid(value: Buffer, from: number, to: number): boolean {
  let octet = 0;
  let parts = 1;
  for (let i = from; i < to; i++) {
    const byte = value[i]!;
    if (byte === 0x2e) {
      parts++;
      octet = 0;
      continue;
    }
    octet = octet * 10 + (byte - 0x30);
    if (octet > 255) return false;
  }
  return parts === 4;
}
