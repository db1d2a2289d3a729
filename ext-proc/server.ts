import * as grpc from '@grpc/grpc-js';
import { describeError } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import { externalProcessorService } from '../common/protos.ts';
import { bindInsecure, shutdown, SERVER_OPTIONS } from '../common/grpc-server.ts';
import { ExchangeProcessor, type ProcessorDeps } from './http/processor.ts';
import type { RunningServer } from '../common/running-server.ts';

/**
 * The gRPC edge: one ExchangeProcessor per Process stream. The server ends the stream as soon as
 * the exchange needs nothing more; otherwise end of stream or a cancel from Envoy is a normal
 * end. An exception while processing aborts the stream with INTERNAL, which Envoy
 * (failure_mode_allow: false) turns into an error for the caller: never an unprocessed pass.
 */
export async function startExtProcServer(deps: ProcessorDeps & { host?: string; port?: number }): Promise<RunningServer> {
  const server = new grpc.Server(SERVER_OPTIONS);
  server.addService(externalProcessorService().service, {
    Process: (call: grpc.ServerDuplexStream<any, any>) => {
      const processor = new ExchangeProcessor(deps);
      // Messages are answered strictly in order: a body chunk waits for the one before it.
      let previous: Promise<unknown> = Promise.resolve();
      let failed = false;
      /** Set once the server has ended the stream itself (the exchange needs nothing more). */
      let ended = false;
      call.on('data', (message: Record<string, unknown>) => {
        previous = previous.then(async () => {
          if (failed || ended) return;
          try {
            for (const answer of await processor.handle(message)) call.write(answer);
            if (processor.finished) {
              ended = true;
              close(false);
              call.end();
            }
          } catch (err) {
            failed = true;
            close(true);
            deps.logger.error({ err: describeError(err) }, 'ext-proc failed while processing; aborting the exchange');
            call.destroy(Object.assign(new Error('processing failed'), { code: grpc.status.INTERNAL }));
          }
        });
      });
      // Whichever comes first ends the exchange; close() records it once.
      let closed = false;
      const close = (failedNow: boolean) => {
        if (closed) return;
        closed = true;
        processor.close(failedNow);
      };
      call.on('end', () => {
        void previous.then(() => {
          close(failed);
          if (!failed && !ended) call.end();
        });
      });
      call.on('cancelled', () => void previous.then(() => close(true)));
      call.on('error', () => void previous.then(() => close(true)));
    },
  });
  const port = await bindInsecure(server, deps.host ?? '127.0.0.1', deps.port ?? 0);
  return { port, close: (graceMs = 2000) => shutdown(server, graceMs) };
}
