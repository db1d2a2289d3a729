import type * as grpc from '@grpc/grpc-js';
import { describeError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import type { CounterCell, GaugeCell } from '../../common/metrics/index.ts';
import { TARGET_METADATA_KEY, TRANSPORT_METADATA_KEY } from '../../envoy/generate/protocols/postgres.ts';
import type { NetworkResponse } from './outbox.ts';
import { PROTOCOL_METADATA_KEY, RECORDING_METADATA_KEY } from '../../envoy/generate/protocols/redis.ts';

/** What one connection's processor does (PgSession, RedisSession): chunks in, a close, a backlog the stream watches. */
export interface NetworkSession {
  onClientData(data: Buffer, endOfStream: boolean): Promise<void>;
  onServerData(data: Buffer, endOfStream: boolean): Promise<void>;
  closed(failed: boolean): void;
  readonly backlog: number;
  onBacklog: (() => void) | undefined;
}

/** Unprocessed chunks of one session before its stream stops reading. */
const BACKLOG_HIGH = 8;

/**
 * Opens the session for one connection to `target`, or null when ext-proc has no such target of
 * that protocol. The listener names the protocol in the stream's metadata (redis; else postgres),
 * and for redis whether it sends the replies too (a listener that does not say is one generated
 * before it could skip them: it sends them).
 */
export type PgSessionOpener = (target: string, send: (response: NetworkResponse) => void, connection: NetworkConnection) => NetworkSession | null;

export interface NetworkConnection {
  plaintextRefused: boolean;
  protocol: 'postgres' | 'redis';
  redisRecording: 'commands' | 'commands+replies';
}

interface NetworkRequest {
  read_data?: { data?: Buffer; end_of_stream?: boolean } | null;
  write_data?: { data?: Buffer; end_of_stream?: boolean } | null;
}

/**
 * One Envoy network ext_proc stream = one client connection. The listener names its target in the
 * stream's gRPC metadata (set in the generated Envoy config). Client and server chunks go to the
 * session as they come, each direction in order; the session answers every chunk in its own
 * direction and may send more on its own (see outbox.ts). A stream for a target ext-proc does not
 * know is closed at once: nothing passes unchecked.
 */
export function servePgStream(
  call: grpc.ServerDuplexStream<NetworkRequest, NetworkResponse>,
  open: PgSessionOpener,
  logger: Logger,
  cells: { started: CounterCell; active: GaugeCell },
): void {
  const target = String(call.metadata.get(TARGET_METADATA_KEY)[0] ?? '');
  // Write backpressure: when grpc-js's send buffer is full (Envoy has not taken our answers yet),
  // stop reading too, so answers never pile up in this process; reading resumes on 'drain'.
  let writeBlocked = false;
  let backlog = 0;
  const flow = () => {
    if ((writeBlocked || backlog >= BACKLOG_HIGH) && !call.isPaused()) call.pause();
    else if (!writeBlocked && backlog <= BACKLOG_HIGH / 2 && call.isPaused()) call.resume();
  };
  const send = (response: NetworkResponse) => {
    if (!call.writable || call.destroyed) return;
    if (!call.write(response) && !writeBlocked) {
      writeBlocked = true;
      flow();
      call.once('drain', () => { writeBlocked = false; flow(); });
    }
  };
  let session: NetworkSession | null = null;
  const protocol = String(call.metadata.get(PROTOCOL_METADATA_KEY)[0] ?? '') === 'redis' ? 'redis' : 'postgres';
  try {
    // A TLS-only listener's plaintext chain says so: the session refuses with a clear FATAL.
    session = open(target, send, {
      plaintextRefused: String(call.metadata.get(TRANSPORT_METADATA_KEY)[0] ?? '') === 'plaintext-refused',
      protocol,
      redisRecording: String(call.metadata.get(RECORDING_METADATA_KEY)[0] ?? '') === 'commands' ? 'commands' : 'commands+replies',
    });
  } catch (err) {
    logger.error({ err: describeError(err), target }, 'could not open a postgres session; closing the connection');
  }
  if (session === null) {
    logger.error({ target, protocol }, 'a network ext_proc stream names no target of its protocol that ext-proc knows; closing the connection');
    send({ connection_status: 'CLOSE' });
    call.end();
    return;
  }
  cells.started.inc();
  cells.active.inc();
  const live = session;
  // Read backpressure: past HIGH unprocessed chunks, stop reading the stream (HTTP/2 flow control
  // then holds Envoy, and Envoy's buffer limits hold the server); resume once half of them are done.
  live.onBacklog = () => {
    backlog = live.backlog;
    flow();
  };
  const fail = (err: unknown) => {
    logger.error({ err: describeError(err), target }, 'postgres session failed; closing the connection');
    send({ connection_status: 'CLOSE' });
  };
  call.on('data', (message: NetworkRequest) => {
    if (message.read_data) live.onClientData(message.read_data.data ?? Buffer.alloc(0), message.read_data.end_of_stream === true).catch(fail);
    else if (message.write_data) live.onServerData(message.write_data.data ?? Buffer.alloc(0), message.write_data.end_of_stream === true).catch(fail);
  });
  let closed = false;
  const close = (failed: boolean) => {
    if (closed) return;
    closed = true;
    cells.active.dec();
    live.closed(failed);
  };
  call.on('end', () => {
    close(false);
    call.end();
  });
  call.on('cancelled', () => close(true));
  call.on('error', () => close(true));
}
