/**
 * Header and claim values come from the caller, so they can be long or even carry a copy of the
 * token. Values put into error details are cut short enough that no usable credential survives,
 * yet long enough for an operator to recognise an issuer URL or a kid.
 */
const MAX_DETAIL_CHARS = 96;

export function clipDetail(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return text.length <= MAX_DETAIL_CHARS ? text : `${text.slice(0, MAX_DETAIL_CHARS)}…`;
}
