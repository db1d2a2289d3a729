/**
 * Baseline for the PostgreSQL bench: a network ext_proc server that answers every chunk at once
 * with the same bytes, in the same direction, doing no session, policy or masking work. Envoy's
 * network ext_proc filter + this server is the floor of any grpc-js processor on that path. It
 * uses ext-proc's own service definition and codec, so the difference to Sluice is the session.
 * Run as its own process, with ext-proc's Node.js flags:
 *   node --import tsx bench/lib/echo-network-proc-server.ts <port>
 */
import * as grpc from '@grpc/grpc-js';
import { bindInsecure, SERVER_OPTIONS } from '../../common/grpc-server.ts';
import { networkProcessorDefinition } from '../../ext-proc/postgres/network-codec.ts';
import type { NetworkResponse } from '../../ext-proc/postgres/outbox.ts';

interface Chunk { data?: Buffer; end_of_stream?: boolean }

const server = new grpc.Server(SERVER_OPTIONS);
server.addService(networkProcessorDefinition(), {
  Process: (call: grpc.ServerDuplexStream<{ read_data?: Chunk | null; write_data?: Chunk | null }, NetworkResponse>) => {
    const echo = (chunk: Chunk) => ({ data: chunk.data ?? Buffer.alloc(0), end_of_stream: chunk.end_of_stream === true });
    call.on('data', (message) => {
      if (message.read_data) call.write({ read_data: echo(message.read_data) });
      else if (message.write_data) call.write({ write_data: echo(message.write_data) });
    });
    call.on('end', () => call.end());
    call.on('error', () => undefined);
  },
});
await bindInsecure(server, '127.0.0.1', Number(process.argv[2]));
process.on('SIGTERM', () => server.forceShutdown());
