/**
 * Baseline for the bench: an ext_authz gRPC server that allows everything at once, with no
 * identity or policy work. Envoy + this server is the floor of any grpc-js ext-authz, so the
 * bench can show how much of the cost is the gRPC hop and how much is Sluice's decision.
 * Run as its own process: node --import tsx bench/lib/noop-authz-server.ts <port>
 */
import * as grpc from '@grpc/grpc-js';
import { authorizationService } from '../../common/protos.ts';
import { bindInsecure, SERVER_OPTIONS } from '../../common/grpc-server.ts';

const ALLOW = { status: { code: 0, message: '' }, ok_response: { headers: [], headers_to_remove: ['authorization'] } };
const server = new grpc.Server(SERVER_OPTIONS);
server.addService(authorizationService().service, {
  Check: (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => callback(null, ALLOW),
});
await bindInsecure(server, '127.0.0.1', Number(process.argv[2]));
process.on('SIGTERM', () => server.forceShutdown());
