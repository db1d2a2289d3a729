import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeCommand } from '../../common/redis/resp.ts';
import { CommandReader } from './command-reader.ts';
import { ForwardBytes } from './forward-bytes.ts';

const chunk = Buffer.concat([encodeCommand(['GET', 'a']), encodeCommand(['GET', 'b']), encodeCommand(['GET', 'c']), encodeCommand(['GET', 'd'])]);

test('commands that follow each other go on as the chunk itself; a gap or bytes of the gateway\'s own are joined in order', () => {
  const batch = new CommandReader().push(chunk);
  const all = new ForwardBytes();
  for (let c = 0; c < batch.length; c++) all.command(batch, c);
  assert.equal(all.take(), chunk, 'the chunk, not a copy');
  assert.equal(all.take().length, 0, 'take empties it');

  const gap = new ForwardBytes();
  gap.command(batch, 0);
  gap.bytes(Buffer.from('STAND-IN'));
  gap.command(batch, 2);
  gap.command(batch, 3);
  assert.equal(gap.take().toString(), `${encodeCommand(['GET', 'a'])}STAND-IN${encodeCommand(['GET', 'c'])}${encodeCommand(['GET', 'd'])}`);

  const skipped = new ForwardBytes();
  skipped.command(batch, 1);
  skipped.command(batch, 3);
  const joined = skipped.take();
  assert.equal(joined.toString(), `${encodeCommand(['GET', 'b'])}${encodeCommand(['GET', 'd'])}`);
  const one = new ForwardBytes();
  one.command(batch, 1);
  const view = one.take();
  assert.equal(view.buffer, chunk.buffer, 'one command: a view of the chunk');
  assert.equal(view.toString(), encodeCommand(['GET', 'b']).toString());
});

test('an inline command goes on re-encoded, between views of the chunk around it', () => {
  const mixed = Buffer.concat([encodeCommand(['GET', 'a']), Buffer.from('PING\r\n'), encodeCommand(['GET', 'b'])]);
  const batch = new CommandReader().push(mixed);
  const forward = new ForwardBytes();
  for (let c = 0; c < batch.length; c++) forward.command(batch, c);
  assert.equal(forward.take().toString(), `${encodeCommand(['GET', 'a'])}*1\r\n$4\r\nPING\r\n${encodeCommand(['GET', 'b'])}`);
});
