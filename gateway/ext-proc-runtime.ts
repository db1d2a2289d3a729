/**
 * How ext-proc's Node.js runs, for `sluice gateway` and `npm run ext-proc` alike (a test keeps
 * package.json's script in step). ext-proc holds streams, not state, so it is tuned for memory:
 * - `--max-semi-space-size=8`: a small young generation; stream chunks die young. 2 MB kept
 *   RSS lowest but ext-proc spent about a third of its Redis per-command time collecting; measured
 *   one after another on a quiet machine (bench:redis `checked` processor CPU per request, then
 *   bench:postgres masked 1 GB COPY OUT peak RSS): 2 MB 8.8 µs / 153 MB, 8 MB 5.9 µs / 146 MB,
 *   16 MB 3.5 µs / 158 MB.
 * - `--liftoff-only`: libpg_query (WASM) stays on V8's baseline compiler. Its optimizing tier-up
 *   compiled the whole parser in the background after the first PostgreSQL session and kept
 *   75–90 MB of RSS for it, for a fingerprint about 12 µs faster (59 µs instead of 47 µs). ext-proc
 *   only fingerprints statements its cache has not seen.
 * - `MALLOC_ARENA_MAX=2`: few malloc arenas for few threads.
 */
export const EXT_PROC_NODE_FLAGS: readonly string[] = Object.freeze(['--max-semi-space-size=8', '--liftoff-only']);
export const EXT_PROC_ENV: Readonly<Record<string, string>> = Object.freeze({ MALLOC_ARENA_MAX: '2' });
