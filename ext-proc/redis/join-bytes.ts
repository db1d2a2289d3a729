const EMPTY = Buffer.alloc(0);

/**
 * The parts as one buffer, copying only when it must: parts that lie next to each other in the
 * same memory (the commands of one client chunk, forwarded as they came) become one view of it.
 * A chunk whose commands all pass is then answered with the chunk's own bytes, not a copy.
 */
export function joinBytes(parts: readonly Buffer[]): Buffer {
  if (parts.length === 0) return EMPTY;
  if (parts.length === 1) return parts[0]!;
  const runs: Buffer[] = [];
  let first = 0;
  let end = parts[0]!.byteOffset + parts[0]!.length;
  for (let i = 1; i <= parts.length; i++) {
    const next = parts[i];
    if (next !== undefined && next.buffer === parts[first]!.buffer && next.byteOffset === end) {
      end += next.length;
      continue;
    }
    const start = parts[first]!;
    runs.push(i - first === 1 ? start : Buffer.from(start.buffer, start.byteOffset, end - start.byteOffset));
    if (next === undefined) break;
    first = i;
    end = next.byteOffset + next.length;
  }
  return runs.length === 1 ? runs[0]! : Buffer.concat(runs);
}
