import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandReader, type CommandBatch } from './command-reader.ts';
import { ReplyScanner } from './reply-scanner.ts';

const PIPELINE = Buffer.from(
  '*2\r\n$4\r\nAUTH\r\n$5\r\ntoken\r\n' +
  '*3\r\n$3\r\nSET\r\n$6\r\njobs:1\r\n$12\r\nhello\r\nworld\r\n' + // a value holding CRLF
  'PING\r\n' + // inline
  '*1\r\n$5\r\nMULTI\r\n*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n*1\r\n$4\r\nEXEC\r\n' +
  'get  "jobs:1"\n' + // inline with double space, LF only
  '*0\r\n' +
  '*2\r\n$3\r\nGET\r\n$0\r\n\r\n',
);
const EXPECTED = [['AUTH', 'token'], ['SET', 'jobs:1', 'hello\r\nworld'], ['PING'], ['MULTI'], ['INCR', 'n'], ['EXEC'], ['get', '"jobs:1"'], ['GET', '']];

/** A batch's commands as plain values: what each view and offset says. */
function commandsOf(batch: CommandBatch) {
  return Array.from({ length: batch.length }, (_, c) => {
    const args = batch.args(c);
    assert.deepEqual(args.map((a, i) => batch.argText(c, i)), args.map((a) => a.toString('latin1')), 'argText reads what arg views');
    assert.equal(batch.argc(c), args.length);
    return { args, raw: batch.raw(c), bytes: batch.sentBytes(c) };
  });
}

test('a pipeline of RESP and inline commands reads the same however it is split (every byte boundary, and byte by byte)', () => {
  const read = (chunks: Buffer[]) => {
    const reader = new CommandReader();
    const commands = chunks.flatMap((c) => commandsOf(reader.push(c)));
    assert.equal(reader.buffered, 0);
    return commands;
  };
  const whole = read([PIPELINE]);
  assert.deepEqual(whole.map((c) => c.args.map(String)), EXPECTED);
  assert.equal(whole.reduce((n, c) => n + c.bytes, 0), PIPELINE.length - '*0\r\n'.length, 'every byte but the empty *0 is accounted to a command');
  // Inline commands are forwarded as RESP arrays (redis_proxy reads nothing else), their arguments read from that encoding.
  assert.equal(whole[2]!.raw.toString(), '*1\r\n$4\r\nPING\r\n');
  assert.equal(whole[6]!.raw.toString(), '*2\r\n$3\r\nget\r\n$8\r\n"jobs:1"\r\n');
  // Every RESP command's raw bytes are its slice of the pipeline, one after another.
  assert.equal(whole.filter((_, i) => i !== 2 && i !== 6).map((c) => c.raw.toString()).join(''), PIPELINE.toString().replace('PING\r\n', '').replace('get  "jobs:1"\n', '').replace('*0\r\n', ''));
  for (let cut = 1; cut < PIPELINE.length; cut++) {
    assert.deepEqual(read([PIPELINE.subarray(0, cut), PIPELINE.subarray(cut)]).map((c) => c.args.map(String)), EXPECTED, `split at ${cut}`);
  }
  const bytes = [...PIPELINE].map((b) => Buffer.from([b]));
  assert.deepEqual(read(bytes).map((c) => c.raw.toString()), whole.map((c) => c.raw.toString()));
});

test('negative counts are skipped as Redis does ("*-1", "*-2"), the command after them read', () => {
  const reader = new CommandReader();
  assert.deepEqual(commandsOf(reader.push(Buffer.from('*-1\r\n*-2\r\n*1\r\n$4\r\nPING\r\n'))).map((c) => c.args.map(String)), [['PING']]);
  assert.equal(reader.buffered, 0);
});

test('bytes that are not RESP, or past the bounds, are ERR_REDIS_PROTOCOL', () => {
  for (const bad of ['*1\r\n:5\r\n', '*1\r\n$3\r\nabcde\r\n', '*x\r\n', '*1\r\n$-5\r\n', '*1\r\n$-2\r\n', '*\r\n', '*1\r\n$\r\n', '*1\r\n$3\rx', `*${'9'.repeat(16)}`]) {
    assert.throws(() => new CommandReader().push(Buffer.from(bad)), (err: any) => err.code === 'ERR_REDIS_PROTOCOL', bad);
  }
  const small = new CommandReader({ maxCommandBytes: 100, maxArgs: 4, maxLineBytes: 32 });
  assert.throws(() => small.push(Buffer.from('*5\r\n')), (err: any) => err.code === 'ERR_REDIS_PROTOCOL');
  assert.throws(() => new CommandReader({ maxCommandBytes: 100, maxArgs: 4, maxLineBytes: 32 }).push(Buffer.from('*2\r\n$3\r\nSET\r\n$500\r\nxx')), (err: any) => err.code === 'ERR_REDIS_PROTOCOL');
  assert.throws(() => new CommandReader({ maxCommandBytes: 100, maxArgs: 4, maxLineBytes: 32 }).push(Buffer.from('x'.repeat(40))), (err: any) => err.code === 'ERR_REDIS_PROTOCOL');
});

const REPLIES = Buffer.from(
  '+OK\r\n' + '-NOPERM this user has no permissions\r\n' + ':42\r\n' + '$12\r\nhello\r\nworld\r\n' + '$-1\r\n' +
  '*3\r\n$1\r\na\r\n*2\r\n:1\r\n:2\r\n$0\r\n\r\n' + '*0\r\n' + '*-1\r\n' + '%1\r\n+k\r\n$1\r\nv\r\n' + '_\r\n' + '#t\r\n' + ',1.5\r\n',
);
const SIZES = [5, 38, 5, 19, 5, 29, 4, 5, 15, 3, 4, 6];

test('replies are found and sized the same however the server bytes are split, without holding them', () => {
  const scan = (chunks: Buffer[]) => {
    const scanner = new ReplyScanner();
    const out: { bytes: number; error: boolean; errorText: string }[] = [];
    for (const c of chunks) for (const r of scanner.push(c)) out.push({ bytes: r.bytes, error: r.error, errorText: r.errorText });
    return out;
  };
  const whole = scan([REPLIES]);
  assert.deepEqual(whole.map((r) => r.bytes), SIZES);
  assert.deepEqual(whole.map((r) => r.error), [false, true, false, false, false, false, false, false, false, false, false, false]);
  assert.equal(whole[1]!.errorText, 'NOPERM this user has no permissions');
  for (let cut = 1; cut < REPLIES.length; cut++) {
    assert.deepEqual(scan([REPLIES.subarray(0, cut), REPLIES.subarray(cut)]), whole, `split at ${cut}`);
  }
  assert.deepEqual(scan([...REPLIES].map((b) => Buffer.from([b]))), whole);
});

test('each reply\'s end is reported in the chunk that completes it', () => {
  const scanner = new ReplyScanner();
  assert.deepEqual(scanner.push(Buffer.from('+OK\r\n$5\r\nab')).map((r) => r.end), [5]);
  assert.deepEqual(scanner.push(Buffer.from('cde\r\n:1\r\n')).map((r) => [r.end, r.bytes]), [[5, 11], [9, 4]]);
});
