import type { Strategy } from './strategy.ts';

/** A fixed marker; the same Buffer every time, since the output is copied anyway. */
export function redactStrategy(marker: string): Strategy {
  const bytes = Buffer.from(marker, 'utf8');
  return Object.freeze({ label: 'redact', render: () => bytes });
}
