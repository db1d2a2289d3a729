/**
 * How ext-proc's Node.js runs, for `sluice gateway` and `npm run ext-proc` alike (a test keeps
 * package.json's script in step). ext-proc holds streams, not state, so it is tuned for memory:
 * - `--max-semi-space-size=2`: a small young generation; stream chunks die young.
 * - `--liftoff-only`: libpg_query (WASM) stays on V8's baseline compiler. Its optimizing tier-up
 *   compiled the whole parser in the background after the first PostgreSQL session and kept
 *   75–90 MB of RSS for it, for a fingerprint about 12 µs faster (59 µs instead of 47 µs). ext-proc
 *   only fingerprints statements its cache has not seen.
 * - `MALLOC_ARENA_MAX=2`: few malloc arenas for few threads.
 */
export const EXT_PROC_NODE_FLAGS: readonly string[] = Object.freeze(['--max-semi-space-size=2', '--liftoff-only']);
export const EXT_PROC_ENV: Readonly<Record<string, string>> = Object.freeze({ MALLOC_ARENA_MAX: '2' });
