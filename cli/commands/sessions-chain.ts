import { readFile, stat } from 'node:fs/promises';
import { isSluiceError } from '../../common/errors.ts';
import { chainKey, type ChainKey } from '../../ext-proc/sessions/chain.ts';
import { verifyChains, type ChainSource, type PartitionReport, type VerifyReport } from '../../ext-proc/sessions/chain-verify.ts';
import { fileChainSource } from '../../ext-proc/sessions/file-chain.ts';
import type { PurgeReport } from '../../ext-proc/sessions/purge.ts';
import { help, parseOrReport, PROCESS_IO, wantsHelp, type CliIo } from './io.ts';
import { parse } from './common.ts';
import { clean, DEFAULT_DIR, parseWhen, report, STORE_HELP, STORE_OPTIONS, withStoreOf } from './sessions.ts';
import type { Command } from './types.ts';

/**
 * `sluice sessions verify|purge`: the hash chain of the session store (ext-proc/sessions/chain.ts).
 * verify only reads; purge removes old records and records where the chain now starts.
 */

const KEY_HELP = `  --key-file      file holding the chain key, for a store written with extProc.sessions.chainKeySecret
                  (the secret's value; one trailing newline is ignored)
`;
const KEYS_HELP = `  --key-file      file holding a chain key, for a store written with extProc.sessions.chainKeySecret
                  (the secret's value; one trailing newline is ignored). Repeat it after a key rotation:
                  each partition is checked with the key whose id it recorded
`;

const HELP = {
  verify: `usage: sluice sessions verify [--json] [--key-file <file>] [--store file|postgres] [--dir <dir>] [--database-url <url>] [--schema <name>]
Checks the hash chain of every partition of the session store: each record's hash over its content and the
hash of the record before it, in order from the start (or from the last purge point). Reports the first
record that was altered, removed or reordered in each partition, by id and position (seq), with what was
expected and what was found; a removed tail where the store records its writer's head (PostgreSQL).
Prints per partition the records verified and the head (seq and hash): keep the head hashes somewhere
the store's writers cannot reach (a ticket, a log service) — someone who can rewrite the whole store can
recompute an unkeyed chain, but not an anchored head. Records written before chaining are counted as
unchained: reported, never verified.
Exit status: 0 every chain holds; 1 a chain is broken or a keyed partition could not be checked (or the
store could not be read); 2 usage. Progress goes to stderr every 10,000 records.
  --json          the full report as JSON
${KEYS_HELP}${STORE_HELP}`,
  purge: `usage: sluice sessions purge --before <when> (--yes | --dry-run) [--json] [--key-file <file>]
       [--store file|postgres] [--dir <dir>] [--database-url <url>] [--schema <name>]
Removes the records that started before <when>, as far as each chain allows: a chain can only lose its
oldest records, so an older record that comes after a newer one stays until that one goes too. Before
removing anything it records the purge point (the last removed record's seq and hash) per partition, so
\`sluice sessions verify\` still passes afterwards and a record removed by hand later is still caught. A
purge over records already removed by hand is refused (ERR_SESSION_STORE_CORRUPT): run verify.
The file store is purged by whole segment files and needs its writer's lock: stop ext-proc first
(ERR_SESSION_STORE_LOCKED otherwise); a keyed file store needs --key-file. PostgreSQL can be purged while
ext-proc writes.
  --before        an ISO time (2025-01-31T12:00Z) or an age (90d, 2h, 30m)
  --dry-run       count what would go; change nothing
  --yes           really remove (required unless --dry-run)
  --json          the report as JSON
${KEY_HELP}${STORE_HELP}`,
};

export const sessionsVerifyCommand: Command = { run: (args) => runSessionsVerify(args) };
export const sessionsPurgeCommand: Command = { run: (args) => runSessionsPurge(args) };

async function keysFrom(io: CliIo, files: readonly string[]): Promise<ChainKey[] | null> {
  const keys: ChainKey[] = [];
  for (const file of files) {
    const key = await keyFrom(io, file);
    if (key === null) return null;
    keys.push(key);
  }
  return keys;
}

async function keyFrom(io: CliIo, file: string): Promise<ChainKey | null> {
  try {
    const text = await readFile(file, 'utf8');
    return chainKey(Buffer.from(text.endsWith('\n') ? text.slice(0, -1) : text, 'utf8'));
  } catch (err) {
    // Never the key itself: only why it cannot be used.
    io.err(`sluice: --key-file ${clean(file)}: ${err instanceof RangeError ? err.message : (err as NodeJS.ErrnoException).code ?? 'cannot be read'}\n`);
    return null;
  }
}

export async function runSessionsVerify(args: string[], io: CliIo = PROCESS_IO): Promise<number> {
  if (wantsHelp(args)) return help(io, HELP.verify);
  const parsed = parseOrReport(io, () => parse(args, { ...STORE_OPTIONS, json: { type: 'boolean', default: false }, 'key-file': { type: 'string', multiple: true } }));
  if (parsed === undefined) return 2;
  const { values } = parsed;
  const keys = await keysFrom(io, values['key-file'] ?? []);
  if (keys === null) return 2;
  const run = async (source: ChainSource) => {
    const result = await verifyChains(source, {
      keys,
      onProgress: (partition, records) => {
        if (records > 0 && records % 10_000 === 0) io.err(`verify: ${partition}: ${records} records…\n`);
      },
    });
    io.out(values.json ? `${JSON.stringify(result, null, 2)}\n` : verifyText(result));
    return result.ok ? 0 : 1;
  };
  if ((values.store ?? 'file') === 'file') {
    // Straight from the directory: verify reads every line anyway, and opening the store would
    // first scan it all to build an index verify does not use (measured: a third of the time).
    const dir = values.dir ?? DEFAULT_DIR;
    if (!(await stat(dir).then((info) => info.isDirectory(), () => false))) {
      io.err(`sluice: ERR_SESSION_STORE_UNAVAILABLE: no session store in ${clean(dir)}\n`);
      return 1;
    }
    try {
      return await run(fileChainSource(dir));
    } catch (err) {
      return report(io, err);
    }
  }
  return withStoreOf(io, values, { write: false }, (store) => run(store.chainSource()));
}

export function verifyText(r: VerifyReport): string {
  const lines: string[] = [];
  for (const p of r.partitions) lines.push(...partitionLines(p));
  if (r.legacy > 0) lines.push(`unchained: ${r.legacy} record${r.legacy === 1 ? '' : 's'} written before chaining (not verified)`);
  const broken = r.partitions.filter((p) => p.break !== undefined).length;
  const verdict = r.partitions.length === 0 ? 'no chained records' : broken === 0 ? 'OK' : `FAILED: ${broken} of ${r.partitions.length} partition${r.partitions.length === 1 ? '' : 's'} broken`;
  lines.push(`verify: ${verdict}; ${r.verified} record${r.verified === 1 ? '' : 's'} verified in ${r.partitions.length} partition${r.partitions.length === 1 ? '' : 's'}`);
  return `${lines.join('\n')}\n`;
}

function partitionLines(p: PartitionReport): string[] {
  const keyed = p.alg === 'hmac-sha256' ? `hmac-sha256 key ${p.keyId}` : 'sha256';
  const who = p.writer === undefined ? '' : ` (${clean(p.writer)})`;
  const span = p.first === undefined ? '' : ` (seq ${p.first}..${p.head!.seq})`;
  // A broken chain has no head to anchor: only the last link that still holds.
  const head = p.head === undefined ? '' : p.break === undefined ? `, head ${p.head.seq} ${p.head.hash}` : `, last good link ${p.head.seq} ${p.head.hash}`;
  const lines = [`partition ${clean(p.partition)}${who} ${keyed}: ${p.verified} verified${span}${head}`];
  if (p.purged !== undefined) lines.push(`  purged up to seq ${p.purged.seq} (records before ${new Date(p.purged.before).toISOString()}, on ${new Date(p.purged.at).toISOString()})`);
  if (p.legacy > 0) lines.push(`  ${p.legacy} unchained record${p.legacy === 1 ? '' : 's'} before the first link`);
  if (p.belowPurge > 0) lines.push(`  ${p.belowPurge} record${p.belowPurge === 1 ? '' : 's'} below the purge point still stored (an interrupted purge): not checked`);
  const b = p.break;
  if (b !== undefined) {
    lines.push(`  BROKEN at seq ${b.position}: ${BREAK_WORDS[b.kind]}`);
    if (b.id !== undefined) lines.push(`    record   ${clean(b.id)}${b.where === undefined ? '' : ` at ${clean(b.where)}`}`);
    lines.push(`    expected ${clean(b.expected)}`, `    found    ${clean(b.found)}`);
  }
  return lines;
}

const BREAK_WORDS: Record<NonNullable<PartitionReport['break']>['kind'], string> = {
  altered: 'a record was altered (its content no longer gives its hash)',
  removed: 'records were removed before this one',
  reordered: 'records are out of their chain order',
  truncated: 'records were removed from the end',
  unreadable: 'a record is damaged and cannot be read',
  unchained: 'a record without a chain link among chained ones',
  key: 'the partition is keyed: pass its key with --key-file',
};

export async function runSessionsPurge(args: string[], io: CliIo = PROCESS_IO): Promise<number> {
  if (wantsHelp(args)) return help(io, HELP.purge);
  const parsed = parseOrReport(io, () =>
    parse(args, {
      ...STORE_OPTIONS,
      before: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      yes: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'key-file': { type: 'string' },
    }),
  );
  if (parsed === undefined) return 2;
  const { values } = parsed;
  if (values.before === undefined) {
    io.err('sluice: purge needs --before <when> (an ISO time or an age such as 90d)\n');
    return 2;
  }
  const before = parseWhen(values.before, io.now());
  if (before === null) {
    io.err('sluice: --before takes an ISO time (2025-01-31T12:00:00Z) or an age (90s, 15m, 2h, 7d)\n');
    return 2;
  }
  const dryRun = values['dry-run'];
  if (!dryRun && !values.yes) {
    io.err(`sluice: purge removes every record that started before ${new Date(before).toISOString()}; add --yes to do it, or --dry-run to count them\n`);
    return 2;
  }
  const key = values['key-file'] === undefined ? undefined : await keyFrom(io, values['key-file']);
  if (key === null) return 2;
  // A dry run reads only (no lock, read-only connections), so it also works while ext-proc writes.
  return withStoreOf(io, values, { write: !dryRun, ...(key === undefined ? {} : { chainKey: key.key }) }, async (store) => {
    let result: PurgeReport;
    try {
      result = await store.purge({ before, dryRun, now: io.now() });
    } catch (err) {
      if (isSluiceError(err) && err.code === 'ERR_SESSION_STORE_CORRUPT') io.err('sluice: nothing was purged; `sluice sessions verify` names what is missing\n');
      return report(io, err);
    }
    io.out(values.json ? `${JSON.stringify(result, null, 2)}\n` : purgeText(result));
    return 0;
  });
}

export function purgeText(r: PurgeReport): string {
  const verb = r.dryRun ? 'would remove' : 'removed';
  const lines = [`purge: ${verb} ${r.removed} record${r.removed === 1 ? '' : 's'} that started before ${new Date(r.before).toISOString()}${r.dryRun ? ' (dry run: nothing changed)' : ''}`];
  for (const p of r.partitions) {
    lines.push(`  partition ${clean(p.partition)}: ${p.removed}${p.purgedSeq === undefined ? '' : `, purge point seq ${p.purgedSeq} ${p.purgedHash}`}`);
  }
  if ((r.legacyRemoved ?? 0) > 0) lines.push(`  ${r.legacyRemoved} unchained record${r.legacyRemoved === 1 ? '' : 's'} (written before chaining)`);
  if (r.olderKept > 0) lines.push(`  ${r.olderKept} older record${r.olderKept === 1 ? '' : 's'} kept: a newer record comes before ${r.olderKept === 1 ? 'it' : 'them'} in ${r.olderKept === 1 ? 'its' : 'their'} chain (file store: segment)`);
  return `${lines.join('\n')}\n`;
}
