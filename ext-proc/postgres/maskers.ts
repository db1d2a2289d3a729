import type { MaskingProfile } from '../masking/types.ts';
import { copyRowMasker } from './copy-masking.ts';
import { rowMaskerFor } from './result-masking.ts';
import type { CopyMasker, ResultRowMasker, RowMaskerSource } from './result-flow.ts';

/** Recorded statement text and parameters are masked whole, up to this size (then cut by the record's own cap). */
const MAX_TEXT_BYTES = 64 * 1024;

/**
 * A session's masking profile as the PostgreSQL flows use it: one masker per result and per
 * COPY (built from that result's RowDescription), the record's statement text and parameters
 * masked with the same recognizers, and the session's running counts across all of them.
 */
export function profileMaskers(profile: MaskingProfile): RowMaskerSource {
  const finished: Record<string, number> = {};
  const live: { matches(): Record<string, number> }[] = [];
  const add = (counts: Record<string, number>) => {
    for (const name in counts) finished[name] = (finished[name] ?? 0) + counts[name]!;
  };
  // Keep the live list short: fold the counts of maskers that are done into the totals.
  const track = <T extends { matches(): Record<string, number> }>(masker: T): T => {
    if (live.length >= 8) add(live.shift()!.matches());
    live.push(masker);
    return masker;
  };
  return {
    profile: profile.name,
    rows: (columns): ResultRowMasker => track(rowMaskerFor(profile, columns.map((c) => ({ name: c.name, typeOid: c.typeOid, format: c.format })))),
    copy: (format): CopyMasker => track(copyRowMasker(profile, null, { format })),
    text(value) {
      const bytes = Buffer.from(value, 'utf8');
      if (bytes.length > MAX_TEXT_BYTES) return `[REDACTED:oversize]`;
      const result = profile.maskValue(bytes, { json: false });
      return result.out === bytes ? value : result.out.toString('utf8');
    },
    matches() {
      const totals = { ...finished };
      for (const masker of live) for (const [name, n] of Object.entries(masker.matches())) totals[name] = (totals[name] ?? 0) + n;
      return totals;
    },
  };
}
