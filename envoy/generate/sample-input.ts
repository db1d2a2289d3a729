import type { GeneratorInput, TargetSpec } from './types.ts';

/**
 * Small builders of generator input for tests and benches: a plain HTTP target on 127.0.0.1 and
 * a gateway around a list of targets. Override any field.
 */
export function httpTarget(name: string, overrides: Partial<TargetSpec> = {}): TargetSpec {
  return {
    name,
    protocol: 'http',
    endpoints: [{ host: '127.0.0.1', port: 8080 }],
    lbPolicy: 'round_robin',
    healthCheck: null,
    tls: null,
    http: { hosts: [], pathPrefix: `/${name}/` },
    timeouts: { connect: '1s', request: '0s', idle: '300s' },
    ...overrides,
  };
}

export function gatewayInput(targets: TargetSpec[], overrides: Partial<GeneratorInput> = {}): GeneratorInput {
  return {
    envoy: {
      adminAddress: '127.0.0.1', adminPort: 0, listenAddress: '127.0.0.1', httpPort: 0,
      extAuthzTimeout: '1s', approvalTimeout: '30s', maxRequestBodyBytes: 1048576, maxRequestHeadersKb: 128,
    },
    services: { extAuthz: [{ host: '127.0.0.1', port: 9001 }], extProc: [{ host: '127.0.0.1', port: 9002 }] },
    targets,
    routing: new Map(),
    xdsDir: '/tmp/sluice-xds',
    ...overrides,
  };
}
