import { open, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CHAIN_FORMAT, HASH_PATTERN, type ChainAlg } from './chain.ts';
import type { ChainEntry, ChainPartition, ChainSource, PurgePoint } from './chain-verify.ts';
import { SessionError } from './errors.ts';
import { segmentLines } from './frame.ts';

/**
 * The file store's chain: one partition per directory (one process writes it at a time, under its
 * LOCK, so each writer continues the chain where the last one stopped), described by the `CHAIN`
 * file beside the segments: the algorithm and key id it is written under, and the purge point.
 * The file is replaced atomically (write, fsync, rename); a missing one makes verify start from
 * the genesis hash, so deleting it to hide a purge point shows as removed records.
 */

export const FILE_PARTITION = 'file';
export const CHAIN_FILE = 'CHAIN';
export const SEGMENT_NAME = /^sessions-(\d{8})\.log$/;

export interface FileChainState {
  format: typeof CHAIN_FORMAT;
  partition: string;
  alg: ChainAlg;
  keyId?: string;
  createdAt: number;
  purged?: PurgePoint;
}

export async function readChainState(dir: string): Promise<FileChainState | undefined> {
  let text: string;
  try {
    text = await readFile(path.join(dir, CHAIN_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const state = parseChainState(text);
  if (state === undefined) throw new SessionError('ERR_SESSION_STORE_CORRUPT', `${path.join(dir, CHAIN_FILE)} is not a chain state file`, { details: { file: path.join(dir, CHAIN_FILE) } });
  return state;
}

function parseChainState(text: string): FileChainState | undefined {
  try {
    const value = JSON.parse(text) as Partial<FileChainState>;
    if (value.format !== CHAIN_FORMAT || typeof value.partition !== 'string' || (value.alg !== 'sha256' && value.alg !== 'hmac-sha256') || typeof value.createdAt !== 'number') return undefined;
    if (value.alg === 'hmac-sha256' && typeof value.keyId !== 'string') return undefined;
    const p = value.purged;
    if (p !== undefined && !(Number.isSafeInteger(p.seq) && p.seq >= 1 && typeof p.hash === 'string' && HASH_PATTERN.test(p.hash) && typeof p.at === 'number' && typeof p.before === 'number')) return undefined;
    return value as FileChainState;
  } catch {
    return undefined;
  }
}

/** Replaces the CHAIN file atomically and durably. */
export async function writeChainState(dir: string, state: FileChainState): Promise<void> {
  const target = path.join(dir, CHAIN_FILE);
  const temp = `${target}.tmp-${process.pid}`;
  await writeFile(temp, `${JSON.stringify(state)}\n`, { mode: 0o644 });
  const handle = await open(temp, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, target);
  const dirHandle = await open(dir, 'r');
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}

export async function listSegments(dir: string): Promise<number[]> {
  const segments: number[] = [];
  for (const name of await readdir(dir)) {
    const match = SEGMENT_NAME.exec(name);
    if (match) segments.push(Number(match[1]));
  }
  return segments.sort((a, b) => a - b);
}

export function segmentFile(dir: string, segment: number): string {
  return path.join(dir, `sessions-${String(segment).padStart(8, '0')}.log`);
}

/** What verify reads: the segments on disk now, in order (not the writer's index). */
export function fileChainSource(dir: string): ChainSource {
  return {
    partitions: async () => {
      const state = await readChainState(dir);
      if (state === undefined) {
        // Nothing says how the chain was written: checked as unkeyed from the genesis hash.
        return (await listSegments(dir)).length === 0 ? [] : [{ partition: FILE_PARTITION, alg: 'sha256' }];
      }
      const partition: ChainPartition = { partition: state.partition, alg: state.alg, createdAt: state.createdAt };
      if (state.keyId !== undefined) partition.keyId = state.keyId;
      if (state.purged !== undefined) partition.purged = state.purged;
      return [partition];
    },
    entries: (partition) => fileEntries(dir, partition),
    legacyCount: async () => 0,
  };
}

async function* fileEntries(dir: string, partition: string): AsyncGenerator<ChainEntry> {
  if (partition !== FILE_PARTITION) return;
  for (const segment of await listSegments(dir)) {
    const file = segmentFile(dir, segment);
    let handle;
    try {
      handle = await open(file, 'r');
    } catch (err) {
      // Removed by a purge between the listing and now.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    try {
      const { size } = await handle.stat();
      for await (const line of segmentLines(handle, size)) {
        const where = `${path.basename(file)}@${line.offset}`;
        yield { id: line.meta?.id ?? '(unreadable)', record: line.record, where, ...(line.meta?.link === undefined ? {} : { link: line.meta.link }) };
      }
    } finally {
      await handle.close();
    }
  }
}
