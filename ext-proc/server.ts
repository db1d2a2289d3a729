import * as grpc from '@grpc/grpc-js';
import { addHealthService } from '../common/grpc-health.ts';
import { describeError } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import { externalProcessorService } from '../common/protos.ts';
import { networkProcessorDefinition } from './postgres/network-codec.ts';
import { servePgStream, type PgSessionOpener } from './postgres/network-stream.ts';
import { bindInsecure, runningServer, SERVER_OPTIONS } from '../common/grpc-server.ts';
import { HttpExchangeProcessor, type HttpProcessorDeps } from './http/processor.ts';
import type { RunningServer } from '../common/running-server.ts';
import type { CounterCell, GaugeCell } from '../common/metrics/index.ts';
import { extProcMetrics, type ExchangeMetrics } from './metrics.ts';

/** What the server needs to drive one stream: answers per message, an end, a close. */
export interface StreamProcessor {
  /** The answers to one message, in order; calls never overlap. */
  handle(message: Record<string, unknown>): Promise<Record<string, unknown>[]>;
  /** True once the exchange needs nothing more: the server then ends the stream itself. */
  readonly finished: boolean;
  /** The stream ended (failed: cancelled or errored); called once. */
  close(failed: boolean): void;
}

export type ProcessorDeps = HttpProcessorDeps;

/**
 * One entry per Envoy processing protocol: the gRPC service Envoy calls, and the processor each of
 * its streams gets. Envoy's network ext_proc filter (envoy.service.network_ext_proc.v3, for the
 * PostgreSQL and Redis targets) plugs in here as a second entry: its service, and a processor
 * in ext-proc/<protocol>/ that applies the same ExchangePlan (exchange-plan.ts) to TCP data
 * (a `postgres-password` credential presentation, protocol-neutral session events).
 */
const PROCESSORS: readonly { name: string; service: () => grpc.ServiceDefinition; open: (deps: ProcessorDeps, metrics: ExchangeMetrics) => StreamProcessor }[] = [
  { name: 'http', service: () => externalProcessorService().service, open: (deps, metrics) => new HttpExchangeProcessor(deps, metrics) },
];

/**
 * The gRPC edge: one processor per Process stream. The server ends the stream as soon as the
 * exchange needs nothing more; otherwise end of stream or a cancel from Envoy is a normal end. An
 * exception while processing aborts the stream with INTERNAL, which Envoy
 * (failure_mode_allow: false) turns into an error for the caller: never an unprocessed pass.
 */
export async function startExtProcServer(deps: ProcessorDeps & { host?: string; port?: number; ready?: () => Promise<boolean>; metrics?: ExchangeMetrics; postgres?: PgSessionOpener }): Promise<RunningServer> {
  const server = new grpc.Server(SERVER_OPTIONS);
  const metrics = deps.metrics ?? extProcMetrics().exchanges;
  // grpc.health.v1 for Envoy's health checks of ext-proc replicas (ready: the admin checks).
  const health = addHealthService(server, { ready: deps.ready ?? (async () => true), services: ['envoy.service.ext_proc.v3.ExternalProcessor', 'envoy.service.network_ext_proc.v3.NetworkExternalProcessor'], logger: deps.logger });
  // `deps` is passed on as it is, never spread: its credential and masking plans are getters
  // the service swaps on a config reload.
  for (const kind of PROCESSORS) {
    const cells = metrics.streamCells(kind.name);
    server.addService(kind.service(), { Process: (call: grpc.ServerDuplexStream<any, any>) => serveStream(call, kind.open(deps, metrics), deps.logger, cells) });
  }
  // Network ext_proc (PostgreSQL listeners): one session per connection. Without postgres
  // targets a stream is closed at once (the opener knows no target), never passed through.
  const pgCells = metrics.streamCells('postgres');
  const openPg: PgSessionOpener = deps.postgres ?? (() => null);
  server.addService(networkProcessorDefinition(), { Process: (call: grpc.ServerDuplexStream<any, any>) => servePgStream(call, openPg, deps.logger, pgCells) });
  const port = await bindInsecure(server, deps.host ?? '127.0.0.1', deps.port ?? 0);
  return runningServer(server, port, health, deps.logger);
}

function serveStream(call: grpc.ServerDuplexStream<any, any>, processor: StreamProcessor, logger: Logger, cells: { started: CounterCell; active: GaugeCell }): void {
  cells.started.inc();
  cells.active.inc();
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
        logger.error({ err: describeError(err) }, 'ext-proc failed while processing; aborting the exchange');
        call.destroy(Object.assign(new Error('processing failed'), { code: grpc.status.INTERNAL }));
      }
    });
  });
  // Whichever comes first ends the exchange; close() records it once.
  let closed = false;
  const close = (failedNow: boolean) => {
    if (closed) return;
    closed = true;
    cells.active.dec();
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
}
