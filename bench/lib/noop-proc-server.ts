/**
 * Baseline for the masking bench: an ext_proc gRPC server that answers every message at once
 * with "continue, unchanged" and ends the stream when the response is through, doing no
 * decision, credential or masking work. Envoy + this server is the floor of any grpc-js
 * ext-proc handling the same messages. Run as its own process:
 *   node --import tsx bench/lib/noop-proc-server.ts <port>
 */
import * as grpc from '@grpc/grpc-js';
import { externalProcessorService } from '../../common/protos.ts';
import { bindInsecure, SERVER_OPTIONS } from '../../common/grpc-server.ts';

const CONTINUE = { response: { status: 'CONTINUE' } };
const server = new grpc.Server(SERVER_OPTIONS);
server.addService(externalProcessorService().service, {
  Process: (call: grpc.ServerDuplexStream<Record<string, any>, unknown>) => {
    let ended = false;
    call.on('data', (message: Record<string, any>) => {
      if (ended) return;
      const kind = message.request as string;
      call.write({ [kind]: kind.endsWith('_headers') || kind.endsWith('_body') ? CONTINUE : {} });
      const last = kind === 'response_body' ? message.response_body?.end_of_stream : kind === 'response_headers' && message.response_headers?.end_of_stream;
      if (last) {
        ended = true;
        call.end();
      }
    });
    call.on('end', () => {
      if (!ended) call.end();
    });
    call.on('error', () => undefined);
  },
});
await bindInsecure(server, '127.0.0.1', Number(process.argv[2]));
process.on('SIGTERM', () => server.forceShutdown());
