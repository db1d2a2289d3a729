import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { canonicalJson, chainKey, genesisHash, linkHash, nextLink } from './chain.ts';
import { verifyChains, type ChainEntry, type ChainSource } from './chain-verify.ts';
import { sessionRecord } from './store-suite.ts';
import type { SessionRecord } from './types.ts';

describe('chain.ts', () => {
  test('canonical JSON sorts keys at every level, leaves out undefined, keeps array order, and is JSON', () => {
    const a = canonicalJson({ b: 1, a: { d: [3, { z: 1, y: undefined, x: 'é"\n' }], c: null }, e: undefined, f: [undefined, true] });
    assert.equal(a, '{"a":{"c":null,"d":[3,{"x":"é\\"\\n","z":1}]},"b":1,"f":[null,true]}');
    assert.equal(canonicalJson({ a: { c: null, d: [3, { x: 'é"\n', z: 1 }] }, b: 1, f: [null, true] }), a, 'key order does not matter');
    assert.deepEqual(JSON.parse(a), { a: { c: null, d: [3, { x: 'é"\n', z: 1 }] }, b: 1, f: [null, true] });
    assert.throws(() => canonicalJson({ n: Number.NaN }), TypeError);
    assert.throws(() => canonicalJson({ n: Number.POSITIVE_INFINITY }), TypeError);
  });

  test('the hash of a record is SHA-256 (or HMAC-SHA-256 under the key) of prev, a newline and its canonical JSON', () => {
    const record = sessionRecord();
    const prev = genesisHash('p1');
    assert.equal(prev, createHash('sha256').update('sluice-chain-v1\ngenesis\np1').digest('hex'));
    assert.equal(linkHash(prev, record), createHash('sha256').update(`${prev}\n${canonicalJson(record)}`).digest('hex'));
    const key = chainKey(Buffer.from('sixteen bytes at least'));
    assert.equal(linkHash(prev, record, key), createHmac('sha256', key.key).update(`${prev}\n${canonicalJson(record)}`).digest('hex'));
    assert.notEqual(genesisHash('p2'), prev, 'the genesis hash is bound to the partition');
    assert.deepEqual(nextLink({ seq: 4, hash: prev }, record), { seq: 5, prev, hash: linkHash(prev, record) });
    assert.match(key.id, /^k1:[0-9a-f]{16}$/);
    assert.throws(() => chainKey(Buffer.from('too short')), RangeError);
  });
});

/** A source over entries in memory: one partition `p`. */
function source(entries: ChainEntry[], partition: Partial<Awaited<ReturnType<ChainSource['partitions']>>[number]> = {}): ChainSource {
  return {
    partitions: async () => [{ partition: 'p', alg: 'sha256', ...partition }],
    entries: async function* () {
      yield* entries;
    },
    legacyCount: async () => 0,
  };
}

function chained(records: SessionRecord[]): ChainEntry[] {
  let head = { seq: 0, hash: genesisHash('p') };
  return records.map((record, i) => {
    const link = nextLink(head, record);
    head = link;
    return { id: record.id, record, link, where: `#${i}` };
  });
}

describe('verifyChains', () => {
  const records = Array.from({ length: 4 }, (_, i) => sessionRecord({}, i));

  test('a damaged record among chained ones is unreadable; an unchained one after the first link is unchained', async () => {
    const entries = chained(records);
    const damaged = [...entries];
    damaged[2] = { id: '(unreadable)', record: undefined, where: '#2' };
    assert.deepEqual((await verifyChains(source(damaged))).partitions[0]!.break, { kind: 'unreadable', position: 3, id: '(unreadable)', where: '#2', expected: 'the record at seq 3', found: 'a damaged record' });
    const stripped = [...entries];
    stripped[1] = { id: records[1]!.id, record: records[1], where: '#1' };
    assert.equal((await verifyChains(source(stripped))).partitions[0]!.break!.kind, 'unchained');
  });

  test('unchained records before the first link are legacy; records below the purge point are counted, not checked', async () => {
    const entries = chained(records);
    const legacy: ChainEntry = { id: 'old', record: sessionRecord({}, 9), where: '#old' };
    const purged = { seq: 2, hash: entries[1]!.link!.hash, at: 1, before: 1 };
    const report = await verifyChains(source([legacy, entries[1]!, entries[2]!, entries[3]!], { purged }));
    assert.equal(report.ok, true, JSON.stringify(report));
    assert.equal(report.legacy, 1);
    assert.equal(report.partitions[0]!.belowPurge, 1);
    assert.equal(report.verified, 2);
  });

  test('a head recorded further than the last record is a removed tail; progress is reported', async () => {
    const entries = chained(records);
    const seen: number[] = [];
    const report = await verifyChains(source(entries.slice(0, 3), { head: { seq: 4, hash: entries[3]!.link!.hash } }), { onProgress: (_, n) => seen.push(n), progressEvery: 2 });
    assert.equal(report.partitions[0]!.break!.kind, 'truncated');
    assert.equal(report.partitions[0]!.break!.position, 4);
    assert.deepEqual(seen, [2, 3]);
  });
});
