import type { FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { upgradeRecord, type SessionRecordV1 } from './upgrade-record.ts';
import type { SessionOutcome, SessionProtocol, SessionRecord } from './types.ts';
import { auditKeys, type AuditKeys } from './audit-fields.ts';
import { decisionKeys, type DecisionKeys } from './decision-keys.ts';
import { HASH_PATTERN, type ChainLink } from './chain.ts';

/**
 * The file store's on-disk record: one line per session,
 *
 *     <crc32 of the payload, 8 hex digits> ' ' <payload> '\n'
 *     payload = <[id, subject, target, startedAt, protocol, outcome, audit, decision] as JSON> '\t' <the record as JSON>
 *
 * (the record of an HTTP exchange as JSON.stringify writes it, headers in their order; any other
 * record as its canonical JSON, chain.ts, which the store has made for the hash already)
 *
 * `audit` is [credential name, credential version, masked entry names] (auditKeys(), the same
 * keys PostgreSQL keeps in its 003 columns), so `--credential`/`--masked` are answered from the
 * index too. Lines written before it have six elements and no audit keys (the record had no
 * audit fields then).
 *
 * `decision` is [rule, approval, refusals, 2] (decisionKeys(), what PostgreSQL derives in its 004
 * and 006 columns), for `--rule`/`--approval`/`--refusals`. Lines written before it (six or seven
 * elements) get them from their record, which, like a version 1 line, costs a full parse of each
 * such line at startup. The trailing 2 says refused Redis commands count as refusals; a Redis
 * line whose decision part lacks it (three elements, written before they did) gets its keys from
 * its record too.
 *
 * Version 1 lines have a four-element index part ([id, subject, target, startedAt]) and a v1
 * record; they are still read: their protocol and outcome come from upgrading the record, which
 * costs a full parse of each old line at startup, once.
 *
 * `link` is the record's place in the directory's hash chain (chain.ts), [seq, prev, hash]; lines
 * written before chaining have eight elements and no link (verify reports them as unchained).
 *
 * JSON text never contains a raw newline or tab, so the line and the two parts split cleanly. A
 * line that lacks its newline or fails its checksum is not a record: that is how a write torn by
 * a crash is told apart from whole records. The small index part lets a startup scan build the
 * in-memory index without parsing every body.
 */

/** Longest line the store writes or reads back; a longer one is not a record. */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;

const SPACE = 0x20;
const TAB = 0x09;
const NEWLINE = 0x0a;
const HEADER_BYTES = 9;

export interface FrameMeta extends AuditKeys, DecisionKeys {
  id: string;
  /** Absent on lines written before chaining. */
  link?: ChainLink;
  subject: string;
  target: string;
  startedAt: number;
  protocol: SessionProtocol;
  outcome: SessionOutcome;
}

/**
 * `json`: the record's JSON text when the caller has it already (the file store passes the
 * record's canonical JSON for records whose key order carries nothing, having made it for the
 * hash: one serialization instead of two); else JSON.stringify(record).
 */
export function encodeFrame(record: SessionRecord, link?: ChainLink, json?: string): Buffer {
  const decision = decisionKeys(record);
  const meta = [...indexHead(record), [decision.rule, decision.approval, decision.refusals, DECISION_DERIVATION]];
  if (link !== undefined) meta.push([link.seq, link.prev, link.hash]);
  return frameOf(JSON.stringify(meta), record, json);
}

/** The index part's first seven elements, what every line since the audit keys begins with. */
function indexHead(record: SessionRecord): unknown[] {
  const keys = auditKeys(record);
  return [record.id, record.subject, record.target, record.startedAt, record.protocol, record.outcome, [keys.credentialName, keys.credentialVersion, keys.masked]];
}

/** A line as the store wrote it before the decision keys (seven elements); for tests of reading old segments. */
export function encodeFrameWithoutDecision(record: SessionRecord): Buffer {
  return frameOf(JSON.stringify(indexHead(record)), record);
}

/** A line as the store wrote it before refused Redis commands were refusals (a three-element decision part); for tests of reading old segments. */
export function encodeFrameFirstDecision(record: SessionRecord): Buffer {
  const decision = decisionKeys({ rule: record.rule, events: record.events.filter((e) => e.kind !== 'redis.command') });
  return frameOf(JSON.stringify([...indexHead(record), [decision.rule, decision.approval, decision.refusals]]), record);
}

/** A line as version 1 of the store wrote it; for tests of reading old segments. */
export function encodeFrameV1(record: SessionRecordV1): Buffer {
  return frameOf(JSON.stringify([record.id, record.subject, record.target, record.startedAt]), record);
}

function frameOf(meta: string, record: object, json = JSON.stringify(record)): Buffer {
  // The payload is written in place: no joined string, no second copy of a large record.
  const metaBytes = Buffer.byteLength(meta, 'utf8');
  const payloadBytes = metaBytes + 1 + Buffer.byteLength(json, 'utf8');
  const frame = Buffer.allocUnsafe(HEADER_BYTES + payloadBytes + 1);
  frame.write(meta, HEADER_BYTES, 'utf8');
  frame[HEADER_BYTES + metaBytes] = TAB;
  frame.write(json, HEADER_BYTES + metaBytes + 1, 'utf8');
  frame.write(crc32(frame.subarray(HEADER_BYTES, HEADER_BYTES + payloadBytes)).toString(16).padStart(8, '0'), 0, 'latin1');
  frame[8] = SPACE;
  frame[frame.byteLength - 1] = NEWLINE;
  return frame;
}

/** The payload of a whole, intact line (with or without its newline), or undefined. */
function payloadOf(line: Buffer): Buffer | undefined {
  const end = line.byteLength > 0 && line[line.byteLength - 1] === NEWLINE ? line.byteLength - 1 : line.byteLength;
  if (end < HEADER_BYTES + 3 || line[8] !== SPACE) return undefined;
  const checksum = line.toString('latin1', 0, 8);
  if (!/^[0-9a-f]{8}$/.test(checksum)) return undefined;
  const payload = line.subarray(HEADER_BYTES, end);
  return crc32(payload) === Number.parseInt(checksum, 16) ? payload : undefined;
}

export function decodeFrameMeta(line: Buffer): FrameMeta | undefined {
  const payload = payloadOf(line);
  if (payload === undefined) return undefined;
  const tab = payload.indexOf(TAB);
  if (tab < 0) return undefined;
  try {
    const meta = JSON.parse(payload.toString('utf8', 0, tab)) as unknown[];
    const [id, subject, target, startedAt] = meta;
    if (typeof id !== 'string' || typeof subject !== 'string' || typeof target !== 'string' || typeof startedAt !== 'number') return undefined;
    if (meta.length === 4) {
      const record = recordOf(payload, tab);
      return record === undefined ? undefined : { id, subject, target, startedAt, protocol: record.protocol, outcome: record.outcome, ...NO_AUDIT_KEYS, masked: [], ...decisionKeys(record) };
    }
    const [, , , , protocol, outcome, audit, decision, chained] = meta;
    if (typeof protocol !== 'string' || typeof outcome !== 'string') return undefined;
    const keys = audit === undefined ? { ...NO_AUDIT_KEYS, masked: [] } : auditKeysOf(audit);
    if (keys === undefined) return undefined;
    const decided = decision === undefined || (protocol === 'redis' && !currentDerivation(decision)) ? olderDecisionKeys(payload, tab) : decisionKeysOf(decision);
    if (decided === undefined) return undefined;
    const link = chained === undefined ? undefined : linkOf(chained);
    if (chained !== undefined && link === undefined) return undefined;
    return { id, subject, target, startedAt, protocol: protocol as SessionProtocol, outcome: outcome as SessionOutcome, ...keys, ...decided, ...(link === undefined ? {} : { link }) };
  } catch {
    return undefined;
  }
}

const NO_AUDIT_KEYS = { credentialName: null, credentialVersion: null } as const;
/** The decision part's last element: refused Redis commands are refusals (see the head of this file). */
const DECISION_DERIVATION = 2;

function auditKeysOf(audit: unknown): AuditKeys | undefined {
  if (!Array.isArray(audit) || audit.length !== 3) return undefined;
  const [credentialName, credentialVersion, masked] = audit as unknown[];
  const nameOrNull = (v: unknown) => v === null || typeof v === 'string';
  if (!nameOrNull(credentialName) || !nameOrNull(credentialVersion) || !Array.isArray(masked) || !masked.every((m) => typeof m === 'string')) return undefined;
  return { credentialName: credentialName as string | null, credentialVersion: credentialVersion as string | null, masked: masked as string[] };
}

function linkOf(chained: unknown): ChainLink | undefined {
  if (!Array.isArray(chained) || chained.length !== 3) return undefined;
  const [seq, prev, hash] = chained as unknown[];
  if (!Number.isSafeInteger(seq) || (seq as number) < 1 || typeof prev !== 'string' || !HASH_PATTERN.test(prev) || typeof hash !== 'string' || !HASH_PATTERN.test(hash)) return undefined;
  return { seq: seq as number, prev, hash };
}

function decisionKeysOf(decision: unknown): DecisionKeys | undefined {
  if (!Array.isArray(decision) || (decision.length !== 3 && !currentDerivation(decision))) return undefined;
  const [rule, approval, refusals] = decision as unknown[];
  if (typeof rule !== 'string' || typeof approval !== 'boolean' || typeof refusals !== 'boolean') return undefined;
  return { rule, approval, refusals };
}

/** Whether a decision part was written by this derivation (refused Redis commands counted). */
function currentDerivation(decision: unknown): boolean {
  return Array.isArray(decision) && decision.length === 4 && decision[3] === DECISION_DERIVATION;
}

/** A line from before the decision keys: read from its record. */
function olderDecisionKeys(payload: Buffer, tab: number): DecisionKeys | undefined {
  const record = recordOf(payload, tab);
  return record === undefined ? undefined : decisionKeys(record);
}

export function decodeFrameRecord(line: Buffer): SessionRecord | undefined {
  const payload = payloadOf(line);
  if (payload === undefined) return undefined;
  const tab = payload.indexOf(TAB);
  return tab < 0 ? undefined : recordOf(payload, tab);
}

/** The record after the tab, as version 2. */
function recordOf(payload: Buffer, tab: number): SessionRecord | undefined {
  try {
    return upgradeRecord(JSON.parse(payload.toString('utf8', tab + 1)) as SessionRecord | SessionRecordV1);
  } catch {
    return undefined;
  }
}

export interface SegmentScan {
  /** End of the last intact record: everything after it is a torn tail. */
  goodEnd: number;
  /** Broken lines with intact records after them (not a crash: damage), as byte ranges. */
  corrupt: { offset: number; length: number }[];
}

/**
 * Splits a segment's bytes, fed in order in chunks, into lines: `onLine` gets each whole line (a
 * view that is only valid during the call; undefined when longer than MAX_FRAME_BYTES) with its
 * offset and length. A last line without its newline is never passed on: it is not a record.
 */
class LineSplitter {
  private lineStart = 0;
  private parts: Buffer[] = [];
  private partBytes = 0;
  private oversized = false;

  constructor(private readonly onLine: (line: Buffer | undefined, offset: number, length: number) => void) {}

  feed(view: Buffer): void {
    let from = 0;
    while (from < view.byteLength) {
      const newline = view.indexOf(NEWLINE, from);
      if (newline < 0) {
        this.partBytes += view.byteLength - from;
        if (this.partBytes > MAX_FRAME_BYTES) {
          this.oversized = true;
          this.parts = [];
        } else if (!this.oversized) {
          this.parts.push(Buffer.from(view.subarray(from)));
        }
        return;
      }
      const length = this.partBytes + newline - from + 1;
      const line = this.oversized || length > MAX_FRAME_BYTES ? undefined : this.parts.length === 0 ? view.subarray(from, newline + 1) : Buffer.concat([...this.parts, view.subarray(from, newline + 1)]);
      this.onLine(line, this.lineStart, length);
      this.lineStart += length;
      this.parts = [];
      this.partBytes = 0;
      this.oversized = false;
      from = newline + 1;
    }
  }
}

/**
 * Reads a segment front to back in chunks (memory stays bounded by the longest record) and calls
 * `onFrame` for every intact record in order.
 */
export async function scanSegment(
  handle: FileHandle,
  size: number,
  onFrame: (meta: FrameMeta, offset: number, length: number) => void,
  chunkBytes = 1024 * 1024,
): Promise<SegmentScan> {
  const chunk = Buffer.allocUnsafe(chunkBytes);
  const corrupt: SegmentScan['corrupt'] = [];
  let pendingBad: SegmentScan['corrupt'] = [];
  let goodEnd = 0;
  const splitter = new LineSplitter((line, offset, length) => {
    const meta = line === undefined ? undefined : decodeFrameMeta(line);
    if (meta === undefined) {
      pendingBad.push({ offset, length });
    } else {
      onFrame(meta, offset, length);
      corrupt.push(...pendingBad);
      pendingBad = [];
      goodEnd = offset + length;
    }
  });
  let position = 0;
  while (position < size) {
    const { bytesRead } = await handle.read(chunk, 0, Math.min(chunkBytes, size - position), position);
    if (bytesRead === 0) break;
    splitter.feed(chunk.subarray(0, bytesRead));
    position += bytesRead;
  }
  return { goodEnd, corrupt };
}

/** A line of a segment as verify reads it: its index part and record, or neither when it is damaged. */
export interface SegmentLine {
  offset: number;
  length: number;
  meta?: FrameMeta;
  record?: SessionRecord;
}

/**
 * Every line of a segment, whole records and damaged ones, in order, read in chunks. Damaged lines
 * after the last intact record are left out: that is a torn tail (or a write in progress), which
 * no reader counts as a record.
 */
export async function* segmentLines(handle: FileHandle, size: number, chunkBytes = 1024 * 1024): AsyncGenerator<SegmentLine> {
  const chunk = Buffer.allocUnsafe(chunkBytes);
  let ready: SegmentLine[] = [];
  let damaged: SegmentLine[] = [];
  const splitter = new LineSplitter((line, offset, length) => {
    const meta = line === undefined ? undefined : decodeFrameMeta(line);
    const record = meta === undefined ? undefined : decodeFrameRecord(line!);
    if (meta === undefined || record === undefined) {
      damaged.push({ offset, length });
      return;
    }
    ready.push(...damaged, { offset, length, meta, record });
    damaged = [];
  });
  let position = 0;
  while (position < size) {
    const { bytesRead } = await handle.read(chunk, 0, Math.min(chunkBytes, size - position), position);
    if (bytesRead === 0) break;
    splitter.feed(chunk.subarray(0, bytesRead));
    position += bytesRead;
    const lines = ready;
    ready = [];
    yield* lines;
  }
}
