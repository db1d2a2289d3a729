/*
 * What each Redis command does, as far as policy needs it: its class (what a rule can name
 * instead of listing commands) and where its keys are (the key rules match them). Positions
 * follow Redis' own COMMAND INFO key specs: first, last (negative: from the end), step. One
 * table, shared by ext-authz (what a rule may name) and ext-proc (what it checks per command).
 */

/** What a policy rule can name instead of commands. */
export const REDIS_COMMAND_CLASSES = ['read', 'write', 'script', 'pubsub', 'server'] as const;
export type RedisCommandClass = (typeof REDIS_COMMAND_CLASSES)[number];

/** connection and transaction commands carry no data of their own: any logged-in client may send them. */
export type RedisCommandKind = RedisCommandClass | 'connection' | 'transaction' | 'other';

export type KeySpec =
  | { kind: 'none' }
  | { kind: 'range'; first: number; last: number; step: number }
  /** EVAL-like: the number of keys is the argument at `numkeysAt`, the keys follow; ZUNIONSTORE-like also has a destination at 1. */
  | { kind: 'numkeys'; numkeysAt: number; destination: boolean };

export interface RedisCommandInfo {
  readonly kind: RedisCommandKind;
  readonly keys: KeySpec;
}

const NONE: KeySpec = { kind: 'none' };
const one: KeySpec = { kind: 'range', first: 1, last: 1, step: 1 };
const all: KeySpec = { kind: 'range', first: 1, last: -1, step: 1 };
const two: KeySpec = { kind: 'range', first: 1, last: 2, step: 1 };
const pairs: KeySpec = { kind: 'range', first: 1, last: -1, step: 2 };
const second: KeySpec = { kind: 'range', first: 2, last: 2, step: 1 };
const fromSecond: KeySpec = { kind: 'range', first: 2, last: -1, step: 1 };
const evalKeys: KeySpec = { kind: 'numkeys', numkeysAt: 2, destination: false };
const storeKeys: KeySpec = { kind: 'numkeys', numkeysAt: 2, destination: true };

const TABLE: Record<string, [RedisCommandKind, KeySpec]> = {
  // connection / transaction: always allowed once logged in
  PING: ['connection', NONE], ECHO: ['connection', NONE], QUIT: ['connection', NONE], AUTH: ['connection', NONE], HELLO: ['connection', NONE],
  MULTI: ['transaction', NONE], EXEC: ['transaction', NONE], DISCARD: ['transaction', NONE], UNWATCH: ['transaction', NONE], WATCH: ['transaction', all],
  // read
  GET: ['read', one], MGET: ['read', all], STRLEN: ['read', one], GETRANGE: ['read', one], SUBSTR: ['read', one], EXISTS: ['read', all], TTL: ['read', one], PTTL: ['read', one],
  TYPE: ['read', one], EXPIRETIME: ['read', one], PEXPIRETIME: ['read', one], DUMP: ['read', one], OBJECT: ['read', second], TOUCH: ['read', all], LCS: ['read', two],
  HGET: ['read', one], HMGET: ['read', one], HGETALL: ['read', one], HKEYS: ['read', one], HVALS: ['read', one], HLEN: ['read', one], HEXISTS: ['read', one],
  HSTRLEN: ['read', one], HRANDFIELD: ['read', one], HSCAN: ['read', one],
  LRANGE: ['read', one], LLEN: ['read', one], LINDEX: ['read', one], LPOS: ['read', one],
  SMEMBERS: ['read', one], SISMEMBER: ['read', one], SMISMEMBER: ['read', one], SCARD: ['read', one], SRANDMEMBER: ['read', one], SINTER: ['read', all],
  SUNION: ['read', all], SDIFF: ['read', all], SSCAN: ['read', one], SINTERCARD: ['read', { kind: 'numkeys', numkeysAt: 1, destination: false }],
  ZRANGE: ['read', one], ZRANGEBYSCORE: ['read', one], ZREVRANGEBYSCORE: ['read', one], ZRANGEBYLEX: ['read', one], ZREVRANGEBYLEX: ['read', one], ZREVRANGE: ['read', one],
  ZSCORE: ['read', one], ZMSCORE: ['read', one], ZCARD: ['read', one], ZRANK: ['read', one], ZREVRANK: ['read', one], ZCOUNT: ['read', one], ZLEXCOUNT: ['read', one],
  ZRANDMEMBER: ['read', one], ZSCAN: ['read', one],
  XRANGE: ['read', one], XREVRANGE: ['read', one], XLEN: ['read', one], XPENDING: ['read', one], XINFO: ['read', second],
  GETBIT: ['read', one], BITCOUNT: ['read', one], BITPOS: ['read', one], BITFIELD_RO: ['read', one], PFCOUNT: ['read', all],
  GEOPOS: ['read', one], GEODIST: ['read', one], GEOHASH: ['read', one], GEOSEARCH: ['read', one], GEORADIUS_RO: ['read', one], GEORADIUSBYMEMBER_RO: ['read', one],
  SCAN: ['read', NONE], RANDOMKEY: ['read', NONE],
  // write
  SET: ['write', one], SETNX: ['write', one], SETEX: ['write', one], PSETEX: ['write', one], GETSET: ['write', one], GETDEL: ['write', one], GETEX: ['write', one],
  APPEND: ['write', one], SETRANGE: ['write', one], INCR: ['write', one], DECR: ['write', one], INCRBY: ['write', one], DECRBY: ['write', one], INCRBYFLOAT: ['write', one],
  MSET: ['write', pairs], MSETNX: ['write', pairs], DEL: ['write', all], UNLINK: ['write', all], EXPIRE: ['write', one], PEXPIRE: ['write', one], EXPIREAT: ['write', one],
  PEXPIREAT: ['write', one], PERSIST: ['write', one], RENAME: ['write', two], RENAMENX: ['write', two], COPY: ['write', two], RESTORE: ['write', one],
  HSET: ['write', one], HSETNX: ['write', one], HMSET: ['write', one], HDEL: ['write', one], HINCRBY: ['write', one], HINCRBYFLOAT: ['write', one],
  LPUSH: ['write', one], RPUSH: ['write', one], LPUSHX: ['write', one], RPUSHX: ['write', one], LPOP: ['write', one], RPOP: ['write', one], LSET: ['write', one],
  LREM: ['write', one], LTRIM: ['write', one], LINSERT: ['write', one], RPOPLPUSH: ['write', two], LMOVE: ['write', two],
  SADD: ['write', one], SREM: ['write', one], SPOP: ['write', one], SMOVE: ['write', two], SINTERSTORE: ['write', all], SUNIONSTORE: ['write', all], SDIFFSTORE: ['write', all],
  ZADD: ['write', one], ZREM: ['write', one], ZINCRBY: ['write', one], ZPOPMIN: ['write', one], ZPOPMAX: ['write', one], ZREMRANGEBYSCORE: ['write', one],
  ZREMRANGEBYRANK: ['write', one], ZREMRANGEBYLEX: ['write', one], ZUNIONSTORE: ['write', storeKeys], ZINTERSTORE: ['write', storeKeys], ZDIFFSTORE: ['write', storeKeys],
  ZRANGESTORE: ['write', two],
  XADD: ['write', one], XDEL: ['write', one], XTRIM: ['write', one], XACK: ['write', one], XGROUP: ['write', second], XCLAIM: ['write', one], XAUTOCLAIM: ['write', one], XSETID: ['write', one],
  SETBIT: ['write', one], BITOP: ['write', fromSecond], BITFIELD: ['write', one], PFADD: ['write', one], PFMERGE: ['write', all], GEOADD: ['write', one], GEOSEARCHSTORE: ['write', two],
  // scripts
  EVAL: ['script', evalKeys], EVALSHA: ['script', evalKeys], EVAL_RO: ['script', evalKeys], EVALSHA_RO: ['script', evalKeys],
  FCALL: ['script', evalKeys], FCALL_RO: ['script', evalKeys], SCRIPT: ['script', NONE],
  // pub/sub (channels are not keys)
  PUBLISH: ['pubsub', NONE], SPUBLISH: ['pubsub', NONE], PUBSUB: ['pubsub', NONE],
  // server facts
  INFO: ['server', NONE], TIME: ['server', NONE], DBSIZE: ['server', NONE], LASTSAVE: ['server', NONE], ROLE: ['server', NONE], MEMORY: ['server', NONE],
};

const OTHER: RedisCommandInfo = Object.freeze({ kind: 'other', keys: NONE });
const INFO = new Map<string, RedisCommandInfo>(Object.entries(TABLE).map(([name, [kind, keys]]) => [name, Object.freeze({ kind, keys })]));

/** What the command (upper-case name) is; an unknown one is `other`, with no known keys. */
export function redisCommandInfo(name: string): RedisCommandInfo {
  return INFO.get(name) ?? OTHER;
}

/** Which arguments of a command are its keys: `extra` (an index; -1: none), then first, first + step, … up to last. */
export interface KeyIndexes {
  extra: number;
  first: number;
  last: number;
  step: number;
}

/** A KeyIndexes naming no key, to be filled by commandKeyIndexes (one per reader, reused). */
export function noKeyIndexes(): KeyIndexes {
  return { extra: -1, first: 1, last: 0, step: 1 };
}

/**
 * Where the keys of a command of `argc` arguments (argument 0 its name) are, written into `into`
 * (nothing is made per command). `numkeys`: for a numkeys spec, the number the argument at its
 * numkeysAt holds (NaN when it is missing or not a number); ignored for the others. False when
 * the arguments do not fit the spec (a numkeys that is not a count or runs past the end): such a
 * command is refused, since which keys it touches cannot be known.
 */
export function commandKeyIndexes(info: RedisCommandInfo, argc: number, numkeys: number, into: KeyIndexes): boolean {
  const spec = info.keys;
  into.extra = -1;
  into.step = 1;
  switch (spec.kind) {
    case 'none':
      into.first = 1;
      into.last = 0;
      return true;
    case 'range':
      into.first = spec.first;
      into.last = Math.min(spec.last < 0 ? argc + spec.last : spec.last, argc - 1);
      into.step = spec.step;
      return true;
    case 'numkeys':
      if (!Number.isInteger(numkeys) || numkeys < 0 || spec.numkeysAt + numkeys >= argc) return false;
      if (spec.destination) into.extra = 1;
      into.first = spec.numkeysAt + 1;
      into.last = spec.numkeysAt + numkeys;
      return true;
  }
}

/** How many keys the indexes name. */
export function keyCount(k: KeyIndexes): number {
  return (k.extra >= 0 ? 1 : 0) + (k.last >= k.first ? Math.floor((k.last - k.first) / k.step) + 1 : 0);
}

/** The argument index of key n (0 ≤ n < keyCount). */
export function keyIndex(k: KeyIndexes, n: number): number {
  if (k.extra >= 0) {
    if (n === 0) return k.extra;
    n--;
  }
  return k.first + n * k.step;
}
