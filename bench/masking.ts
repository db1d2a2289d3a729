/**
 * Streaming masking engine, alone (no Envoy, no gRPC), side by side in one run with ALL built-in
 * recognizers on, 64 KiB chunks, same patterns, same inputs, same streaming engine:
 *   re2+set   RE2 on Buffers with the RE2.Set block prefilter (production)
 *   re2       RE2 on Buffers, prefilter off (every pattern scans every chunk)
 *   regexp    JavaScript RegExp, prefilter off (no Set exists), over latin1 strings so offsets
 *             stay byte offsets
 * on (a) ~50 MB of JSON with PII sprinkled, (a') the same shape with PII in every record, and
 * (b) ~50 MB of text with no matches. Then the cost of the masking report (issue 15): re2+set
 * with per-entry counting (production) against the same engine with `countMasked: false` (an
 * engine option that exists only for this comparison), runs alternated so drift hits both
 * alike. Then JSON bodies read as JSON (string escapes decoded, `open({ json: true })`, as
 * application/json gets) against plain masking, alternated, on (a) as is and on (a) with every
 * `@` and `/` escaped. Then one 1 GiB stream through re2+set to show memory stays flat.
 *
 *   node --import tsx bench/masking.ts
 *   BENCH_MASKING_MB=20 BENCH_MASKING_GB=0 node --import tsx bench/masking.ts
 *
 * "per core" = bytes / CPU time of the main thread (the engine is synchronous and
 * single-threaded; GC helper threads are shown separately as the process total). Not a test.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { compileWithBackend } from '../ext-proc/masking/compile-with-backend.ts';
import type { MatchBackend, PatternProgram } from '../ext-proc/masking/engine/program.ts';
import { re2Backend } from '../ext-proc/masking/engine/re2-backend.ts';
import { BUILTIN_RECOGNIZERS } from '../ext-proc/masking/recognizers/builtin.ts';
import type { MaskingProfile } from '../ext-proc/masking/types.ts';

const MB = Number(process.env.BENCH_MASKING_MB ?? 50);
const GB_STREAM = Number(process.env.BENCH_MASKING_GB ?? 1);
const CHUNK = 64 * 1024;
const REPEATS = 3;
const REPORT_REPEATS = 5;

// ---------------------------------------------------------------------------------------------
// The JavaScript baseline: same PatternProgram contract, RegExp over a latin1 view of the
// window (one byte = one char, so indices are byte offsets and `\b` sees the same bytes).

let lastText: Buffer | null = null;
let lastString = '';
function latin1(text: Buffer): string {
  if (text !== lastText) {
    lastText = text;
    lastString = text.toString('latin1');
  }
  return lastString;
}

const jsBackend: MatchBackend = {
  name: 'RegExp',
  program(source): PatternProgram {
    const unanchored = new RegExp(source, 'g');
    const anchored = new RegExp(source, 'y');
    return {
      find(text, from, end) {
        const s = end === text.length ? latin1(text) : latin1(text).slice(0, end);
        unanchored.lastIndex = from;
        const m = unanchored.exec(s);
        return m === null ? null : { start: m.index, end: m.index + m[0].length };
      },
      matchAt(text, at) {
        anchored.lastIndex = at;
        const m = anchored.exec(latin1(text));
        return m === null ? -1 : at + m[0].length;
      },
    };
  },
  set: () => null,
};

// ---------------------------------------------------------------------------------------------
// Inputs, from a seeded generator so every run measures the same bytes.

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const WORDS = ('order shipped pending refund customer address street avenue invoice delivery warehouse ' +
  'status priority note review rating comment München naïve Zoë 日本語 データ café résumé 😀 ok').split(' ');
const JWT = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
const RARE_PII: readonly (readonly [string, string])[] = [
  ['card', '4111 1111 1111 1111'],
  ['iban', 'DE89 3704 0044 0532 0130 00'],
  ['ssn', '219-09-9999'],
  ['client_ip', '203.0.113.42'],
  ['client_ip6', '2001:db8::8a2e:370:7334'],
  ['token', JWT],
  ['aws_key', 'AKIAIOSFODNN7EXAMPLE'],
];

/** API-response-like NDJSON: users, orders, events; `piiShare` of records carry contact data. */
function jsonBody(bytes: number, piiShare: number, seed: number): { body: Buffer; pii: number } {
  const rnd = prng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)]!;
  const words = (n: number) => Array.from({ length: n }, () => pick(WORDS)).join(' ');
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(rnd() * 16).toString(16)).join('');
  const parts: string[] = [];
  let size = 0;
  let pii = 0;
  for (let i = 0; size < bytes; i++) {
    const record: Record<string, unknown> = {
      id: `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`,
      type: pick(['order', 'event', 'user', 'invoice']),
      created_at: new Date(1.7e12 + i * 37_000).toISOString(),
      ts: 1_700_000_000_000 + i * 37,
      amount: Math.round(rnd() * 1e6) / 100,
      currency: pick(['EUR', 'USD', 'JPY']),
      items: Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => ({ sku: `SKU-${hex(6)}`, qty: Math.floor(rnd() * 9) + 1, title: words(3) })),
      note: words(8 + Math.floor(rnd() * 10)),
      version: '2.14.3',
    };
    if (rnd() < piiShare) {
      record.contact = { email: `${pick(['john.doe', 'zoe', 'a.smith', 'kenji'])}${i % 97}@example.com`, phone: rnd() < 0.5 ? '+1 415 555 0100' : '(415) 555-0134' };
      pii += 2;
      if (rnd() < 0.15) {
        const [key, value] = pick(RARE_PII);
        record[key] = value;
        pii++;
      }
    }
    const line = JSON.stringify(record) + '\n';
    parts.push(line);
    size += Buffer.byteLength(line);
  }
  return { body: Buffer.from(parts.join('')), pii };
}

/** Prose with numbers, versions and punctuation but nothing any recognizer accepts. */
function quietText(bytes: number, seed: number): Buffer {
  const rnd = prng(seed);
  const words = 'the quick brown fox jumps over lazy dog lorem ipsum dolor sit amet release notes section page build version'.split(' ');
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    let line = '';
    for (let k = 0; k < 14; k++) line += `${words[Math.floor(rnd() * words.length)]}${k % 6 === 5 ? ', ' : ' '}`;
    line += `v${Math.floor(rnd() * 9)}.${Math.floor(rnd() * 20)} took ${Math.floor(rnd() * 900)} ms (${Math.floor(rnd() * 100)}%).\n`;
    parts.push(line);
    size += line.length;
  }
  return Buffer.from(parts.join(''));
}

// ---------------------------------------------------------------------------------------------

/** CPU milliseconds of this process's main thread (Linux), or null elsewhere. */
function mainThreadCpuMs(): number | null {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return null;
  }
}

interface Measure {
  wallMBs: number;
  coreMBs: number;
  processMBs: number;
  matches: number;
  masked: number;
}

/** Timed run; the output is dropped (kept, 3 engines x 3 inputs would skew memory). */
function streamThrough(profile: MaskingProfile, body: Buffer, json = false): Measure {
  const masker = profile.open({ json });
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpuMs();
  const t0 = performance.now();
  for (let at = 0; at < body.length; at += CHUNK) masker.push(body.subarray(at, at + CHUNK));
  masker.end();
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const main = mainThreadCpuMs();
  const mb = body.length / 1e6;
  return {
    wallMBs: mb / wall,
    coreMBs: main === null || main0 === null ? mb / wall : mb / Math.max((main - main0) / 1000, 1e-3),
    processMBs: mb / ((cpu.user + cpu.system) / 1e6),
    matches: masker.stats().matches,
    masked: Object.values(masker.stats().masked).reduce((a, b) => a + b, 0),
  };
}

/** Untimed run: a digest of the whole output, to check the engines agree byte for byte. */
function outputDigest(profile: MaskingProfile, body: Buffer): string {
  const masker = profile.open();
  const hash = createHash('sha256');
  for (let at = 0; at < body.length; at += CHUNK) hash.update(masker.push(body.subarray(at, at + CHUNK)));
  return hash.update(masker.end()).digest('hex');
}

function best(profile: MaskingProfile, body: Buffer): Measure & { digest: string } {
  streamThrough(profile, body.subarray(0, Math.min(body.length, 4 << 20))); // warm the JIT
  const runs = Array.from({ length: REPEATS }, () => streamThrough(profile, body));
  return { ...runs.reduce((a, b) => (b.coreMBs > a.coreMBs ? b : a)), digest: outputDigest(profile, body) };
}

function main(): void {
  const spec = {
    name: 'bench-all-builtins',
    recognizers: [...BUILTIN_RECOGNIZERS.keys()].map((use) => ({ use, strategy: 'redact' })),
  };
  const engines: [string, MaskingProfile][] = [
    ['re2+set', compileWithBackend(spec, {}, re2Backend)],
    ['re2', compileWithBackend(spec, {}, re2Backend, { prefilter: false })],
    ['regexp', compileWithBackend(spec, {}, jsBackend, { prefilter: false })],
  ];
  const bytes = MB * 1e6;
  const sprinkled = jsonBody(bytes, 0.1, 1);
  const dense = jsonBody(bytes, 1, 2);
  const inputs: [string, Buffer, string][] = [
    ['(a) JSON, PII sprinkled', sprinkled.body, `${((sprinkled.pii / sprinkled.body.length) * 1e6).toFixed(0)} PII values/MB`],
    ["(a') JSON, PII every record", dense.body, `${((dense.pii / dense.body.length) * 1e6).toFixed(0)} PII values/MB`],
    ['(b) text, no matches', quietText(bytes, 3), '0 PII values'],
  ];

  console.log(`masking engine, ${BUILTIN_RECOGNIZERS.size} built-in recognizers, ${CHUNK / 1024} KiB chunks, best of ${REPEATS}; node ${process.version}`);
  console.log('MB/s per core = MB / main-thread CPU s; process = incl. GC threads; wall = elapsed\n');
  for (const [label, body, note] of inputs) {
    console.log(`${label}: ${(body.length / 1e6).toFixed(1)} MB, ${note}`);
    const results = engines.map(([name, profile]) => [name, best(profile, body)] as const);
    const base = results.find(([name]) => name === 'regexp')![1];
    for (const [name, r] of results) {
      const same = r.digest === results[0]![1].digest ? '' : '  OUTPUT DIFFERS from re2+set';
      console.log(
        `  ${name.padEnd(8)} ${r.coreMBs.toFixed(0).padStart(6)} MB/s per core  ` +
          `(process ${r.processMBs.toFixed(0).padStart(5)}, wall ${r.wallMBs.toFixed(0).padStart(5)})  ` +
          `x${(r.coreMBs / base.coreMBs).toFixed(2)} vs regexp  matches ${r.matches}${same}`,
      );
    }
    console.log();
  }

  // The report's cost: the same engine with and without counting, alternated run by run. Compared
  // on wall time: main-thread CPU comes in 10 ms ticks, coarser than the difference sought.
  const counting = engines[0]![1];
  const notCounting = compileWithBackend(spec, {}, re2Backend, { countMasked: false });
  console.log(`masking report cost: re2+set counting vs not counting, alternated, best of ${REPORT_REPEATS} each, MB/s wall`);
  for (const [label, body] of inputs) {
    streamThrough(counting, body.subarray(0, Math.min(body.length, 4 << 20)));
    streamThrough(notCounting, body.subarray(0, Math.min(body.length, 4 << 20)));
    let on: Measure | null = null;
    let off: Measure | null = null;
    for (let k = 0; k < REPORT_REPEATS; k++) {
      const a = streamThrough(counting, body);
      const b = streamThrough(notCounting, body);
      if (on === null || a.wallMBs > on.wallMBs) on = a;
      if (off === null || b.wallMBs > off.wallMBs) off = b;
    }
    const check = on!.masked === on!.matches && off!.masked === 0 ? '' : '  REPORT DOES NOT ADD UP';
    console.log(
      `  ${label.padEnd(28)} counting ${on!.wallMBs.toFixed(0).padStart(5)} MB/s  not counting ${off!.wallMBs.toFixed(0).padStart(5)} MB/s  ` +
        `ratio x${(on!.wallMBs / off!.wallMBs).toFixed(3)}  (${on!.masked} values counted)${check}`,
    );
  }
  console.log();

  // JSON escapes decoded vs raw matching. Without a backslash the JSON path is one indexOf per
  // chunk; with escapes it decodes, and finds the values plain matching misses.
  const escaped = Buffer.from(sprinkled.body.toString('latin1').replaceAll('@', String.raw`\u0040`).replaceAll('/', String.raw`\/`), 'latin1');
  console.log(`JSON escapes: re2+set read as JSON vs plain, alternated, best of ${REPORT_REPEATS} each, MB/s wall`);
  for (const [label, body] of [['(a) JSON, PII sprinkled', sprinkled.body], ['(a) with @ and / escaped', escaped]] as const) {
    streamThrough(counting, body.subarray(0, Math.min(body.length, 4 << 20)), true);
    let asJson: Measure | null = null;
    let plain: Measure | null = null;
    for (let k = 0; k < REPORT_REPEATS; k++) {
      const a = streamThrough(counting, body, true);
      const b = streamThrough(counting, body);
      if (asJson === null || a.wallMBs > asJson.wallMBs) asJson = a;
      if (plain === null || b.wallMBs > plain.wallMBs) plain = b;
    }
    console.log(
      `  ${label.padEnd(28)} as JSON ${asJson!.wallMBs.toFixed(0).padStart(5)} MB/s  plain ${plain!.wallMBs.toFixed(0).padStart(5)} MB/s  ` +
        `ratio x${(asJson!.wallMBs / plain!.wallMBs).toFixed(3)}  masked ${asJson!.masked} vs ${plain!.masked}`,
    );
  }
  console.log();

  if (GB_STREAM > 0) {
    const profile = engines[0]![1];
    const total = GB_STREAM * 1024 ** 3;
    const block = sprinkled.body.subarray(0, sprinkled.body.length - (sprinkled.body.length % CHUNK));
    global.gc?.();
    const rss0 = process.memoryUsage().rss;
    let rssPeak = rss0;
    const masker = profile.open();
    const t0 = performance.now();
    let sent = 0;
    for (let i = 0; sent < total; i++) {
      const at = (i * CHUNK) % block.length;
      masker.push(block.subarray(at, at + CHUNK));
      sent += CHUNK;
      if (i % 256 === 0) rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    }
    masker.end();
    const s = masker.stats();
    console.log(
      `1 GiB stream (re2+set, JSON sprinkled): ${((sent / 1e6) / ((performance.now() - t0) / 1000)).toFixed(0)} MB/s wall, ` +
        `${s.matches} matches, peak held ${s.peakBufferedBytes} B (window ${profile.windowBytes} B), ` +
        `RSS ${(rss0 / 2 ** 20).toFixed(0)} -> peak ${(rssPeak / 2 ** 20).toFixed(0)} MiB`,
    );
  }
}

main();
