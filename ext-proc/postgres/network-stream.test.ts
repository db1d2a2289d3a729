import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import { createLogger } from '../../common/logger.ts';
import { servePgStream, type PgSessionOpener } from './network-stream.ts';
import type { NetworkResponse } from './outbox.ts';
import type { PgSession } from './session.ts';

/** Just what servePgStream uses of a grpc-js duplex call; write() answers as the test says. */
class FakeCall extends EventEmitter {
  metadata = { get: (key: string) => (key === 'x-sluice-target' ? ['db'] : []) };
  writable = true;
  destroyed = false;
  paused = false;
  written: NetworkResponse[] = [];
  bufferFull = false;
  write(response: NetworkResponse): boolean {
    this.written.push(response);
    return !this.bufferFull;
  }
  pause() { this.paused = true; }
  resume() { this.paused = false; }
  isPaused() { return this.paused; }
  end() {}
}

function serve(call: FakeCall) {
  let send!: (response: NetworkResponse) => void;
  const session = {
    backlog: 0,
    onBacklog: () => {},
    async onClientData(data: Buffer) { send({ read_data: { data, end_of_stream: false } } as NetworkResponse); },
    async onServerData(data: Buffer) { send({ write_data: { data, end_of_stream: false } } as NetworkResponse); },
    closed() {},
  };
  const open: PgSessionOpener = (_target, sender) => { send = sender; return session as unknown as PgSession; };
  const cell = { inc() {}, dec() {} };
  servePgStream(call as unknown as grpc.ServerDuplexStream<any, NetworkResponse>, open, createLogger('test', { level: 'silent' }), { started: cell, active: cell } as any);
  return session;
}

test('a full send buffer stops reading from Envoy until it drains, so answers never pile up in ext-proc', async () => {
  const call = new FakeCall();
  serve(call);
  call.emit('data', { write_data: { data: Buffer.from('a') } });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(call.paused, false, 'reads go on while writes are accepted');
  call.bufferFull = true;
  call.emit('data', { write_data: { data: Buffer.from('b') } });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(call.paused, true, 'paused once write() says the buffer is full');
  assert.equal(call.written.length, 2, 'the answer is still written (grpc-js queues it), never dropped');
  call.bufferFull = false;
  call.emit('drain');
  assert.equal(call.paused, false, 'resumed on drain');
});

test('a session backlog pauses and resumes reading; a drain does not resume while the backlog is high', async () => {
  const call = new FakeCall();
  const session = serve(call);
  session.backlog = 8;
  session.onBacklog();
  assert.equal(call.paused, true);
  call.bufferFull = true;
  call.emit('data', { read_data: { data: Buffer.from('q') } });
  await new Promise((resolve) => setImmediate(resolve));
  call.bufferFull = false;
  call.emit('drain');
  assert.equal(call.paused, true, 'still 8 chunks waiting');
  session.backlog = 4;
  session.onBacklog();
  assert.equal(call.paused, false);
});

test('a redis stream opens its session with the reply path its listener names; a listener that names none sends replies (commands+replies)', () => {
  const opened = (metadata: Record<string, string>) => {
    const call = new FakeCall();
    call.metadata = { get: (key: string) => (key in metadata ? [metadata[key]!] : []) };
    let seen: unknown;
    const open: PgSessionOpener = (_target, _send, connection) => {
      seen = connection;
      return { backlog: 0, onBacklog: undefined, onClientData: async () => {}, onServerData: async () => {}, closed() {} };
    };
    const cell = { inc() {}, dec() {} };
    servePgStream(call as unknown as grpc.ServerDuplexStream<any, NetworkResponse>, open, createLogger('test', { level: 'silent' }), { started: cell, active: cell } as any);
    return seen as { protocol: string; redisRecording: string };
  };
  const base = { 'x-sluice-target': 'cache', 'x-sluice-protocol': 'redis' };
  assert.deepEqual([opened({ ...base, 'x-sluice-redis-recording': 'commands' }).redisRecording, opened({ ...base, 'x-sluice-redis-recording': 'commands+replies' }).redisRecording], ['commands', 'commands+replies']);
  assert.equal(opened(base).redisRecording, 'commands+replies', 'an older listener processes both directions');
  assert.equal(opened({ ...base, 'x-sluice-redis-recording': 'bogus' }).redisRecording, 'commands+replies');
  assert.equal(opened(base).protocol, 'redis');
});
