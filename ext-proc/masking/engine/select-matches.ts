import type { Candidate } from './compiled-pattern.ts';

/**
 * Orders candidates so overlaps resolve the same way whatever order patterns ran in: earliest
 * start first, then the longest, then the entry listed first in the profile.
 */
export function compareCandidates(a: Candidate, b: Candidate): number {
  return a.start - b.start || b.end - a.end || a.pattern - b.pattern;
}

/**
 * Left to right: the earliest (then longest) candidate is kept whole. A candidate inside one
 * already kept is dropped; one that overlaps it and runs on is kept from where the other ends,
 * so nothing any pattern matched is left readable (`+1 415 555 0100 123-45-6789`: the phone
 * pattern takes `... 0100 123`, the SSN's `-45-6789` is still masked). `keptEnd` is where the
 * last kept match, possibly from an earlier call, ended. Sorts `candidates` in place.
 */
export function selectMatches(candidates: Candidate[], keptEnd: number): { kept: Candidate[]; keptEnd: number } {
  candidates.sort(compareCandidates);
  const kept: Candidate[] = [];
  let end = keptEnd;
  for (const c of candidates) {
    if (c.end <= end) continue;
    kept.push(c.start >= end ? c : { start: end, end: c.end, pattern: c.pattern });
    end = c.end;
  }
  return { kept, keptEnd: end };
}
