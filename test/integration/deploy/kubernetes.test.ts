/**
 * deploy/kubernetes, checked offline: every resource against the Kubernetes API schemas
 * (kubernetes-models bundles them), then what a schema cannot see — probes that the real
 * services answer, ports and paths that agree with sluice.yaml, NetworkPolicies that select the
 * pods they mean, the Envoy ConfigMap equal to a fresh `sluice envoy render` (which Envoy
 * validates), and no secret value in any manifest.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Service } from 'kubernetes-models/v1/Service';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { loadConfig, type SluiceConfig } from '../../../common/config.ts';
import { silentLogger } from '../../../common/logger.ts';
import { PolicyStore } from '../../../ext-authz/policy/index.ts';
import { policyContext } from '../../../ext-authz/policy-context.ts';
import { startExtAuthzService, type ExtAuthzService } from '../../../ext-authz/service.ts';
import { startExtProcService, type ExtProcService } from '../../../ext-proc/service.ts';
import { EXT_PROC_ENV, EXT_PROC_NODE_FLAGS } from '../../../gateway/ext-proc-runtime.ts';
import { resolveEnvoyBinary } from '../../../common/envoy-bin.ts';
import { startEnvoy } from '../../../common/envoy-process.ts';
import { freePort } from '../../../common/free-port.ts';
import { byKind, deployment, generatedConfigMaps, KUBERNETES, kubernetesResources, kustomization, ROOT, secretNames, secretsFileNames, selects, type Resource } from './manifests.ts';

const MODEL_CLASSES: Record<string, new (data: Resource) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/Service': Service,
  'v1/ConfigMap': ConfigMap,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
};

/** Validates one resource against its API schema; throws with the schema's errors. */
function validateResource(resource: Resource): void {
  const Model = MODEL_CLASSES[`${resource.apiVersion}/${resource.kind}`];
  if (!Model) throw new Error(`no schema here for ${resource.apiVersion} ${resource.kind}: add its kubernetes-models class`);
  new Model(resource).validate();
}

const CONFIG_FILE = path.join(KUBERNETES, 'config', 'sluice.yaml');
const config = loadConfig(CONFIG_FILE);
const COMPONENTS = ['envoy', 'ext-authz', 'ext-proc'] as const;

const containerOf = (component: string): Resource => deployment(component).spec.template.spec.containers[0];
const portNamed = (container: Resource, name: string | number): number =>
  typeof name === 'number' ? name : container.ports.find((p: Resource) => p.name === name)?.containerPort;
/** Where a container mounts a volume, and what the volume is. */
function mountOf(component: string, mountPath: string): Resource {
  const spec = deployment(component).spec.template.spec;
  const mount = containerOf(component).volumeMounts.find((m: Resource) => m.mountPath === mountPath);
  assert.ok(mount, `${component} mounts nothing at ${mountPath}`);
  return spec.volumes.find((v: Resource) => v.name === mount.name);
}

describe('Kubernetes manifests: API schemas', () => {
  test('every resource and every generated ConfigMap passes its Kubernetes schema', () => {
    const all = [...kubernetesResources().map((r) => r.resource), ...generatedConfigMaps()];
    assert.ok(all.length >= 15, `only ${all.length} resources`);
    for (const resource of all) {
      assert.doesNotThrow(() => validateResource(resource), `${resource.kind} ${resource.metadata?.name}`);
    }
  });

  test('the validator rejects what the API server would (a control: a broken copy fails)', () => {
    const broken = structuredClone(deployment('ext-authz'));
    broken.spec.template.spec.containers[0].ports[0].containerPort = '9001';
    assert.throws(() => validateResource(broken), /containerPort must be integer/);
    const noSelector = structuredClone(deployment('envoy'));
    delete noSelector.spec.selector;
    assert.throws(() => validateResource(noSelector), /selector/);
    const badQuantity = structuredClone(deployment('ext-proc'));
    badQuantity.spec.template.spec.containers[0].resources.limits.memory = '512 megabytes';
    assert.throws(() => validateResource(badQuantity), /quantity/);
  });

  test('kustomization.yaml lists files that exist and generates the ConfigMaps the pods mount', () => {
    const k = kustomization();
    assert.equal(k.namespace, 'sluice');
    const generated = new Set(k.configMapGenerator.map((g) => g.name));
    for (const component of COMPONENTS) {
      for (const volume of deployment(component).spec.template.spec.volumes) {
        if (volume.configMap) assert.ok(generated.has(volume.configMap.name), `${component} mounts ConfigMap ${volume.configMap.name}, which nothing generates`);
      }
    }
    // The config and policies are updated in place (live reload); Envoy's static file is not
    // reloaded, so its ConfigMap is content-named and a new render rolls the Envoy pods.
    const options = Object.fromEntries(k.configMapGenerator.map((g) => [g.name, g.options?.disableNameSuffixHash === true]));
    assert.deepEqual(options, { 'sluice-config': true, 'sluice-policies': true, 'sluice-envoy': false });
  });

  test('kubectl kustomize builds it (when kubectl is installed)', (t) => {
    const probe = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
    if (probe.error || probe.status !== 0) return t.skip('kubectl is not installed here');
    const built = spawnSync('kubectl', ['kustomize', KUBERNETES], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(built.status, 0, built.stderr);
    const docs = built.stdout.split(/^---$/m).map((d) => parse(d) as Resource);
    for (const doc of docs) assert.equal(doc.kind === 'Namespace' ? 'sluice' : doc.metadata.namespace, 'sluice', `${doc.kind} ${doc.metadata.name}`);
    const envoy = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'sluice-envoy');
    const envoyMap = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name.startsWith('sluice-envoy-'));
    assert.ok(envoyMap, 'the Envoy ConfigMap carries its content hash');
    assert.equal(envoy.spec.template.spec.volumes[0].configMap.name, envoyMap.metadata.name);
    assert.deepEqual(JSON.parse(envoyMap.data['envoy.json']), JSON.parse(readFileSync(path.join(KUBERNETES, 'envoy', 'envoy.json'), 'utf8')));
    for (const d of docs.filter((x) => x.kind === 'Deployment')) assert.match(d.spec.template.spec.containers[0].image, /^sluice:\d+\.\d+\.\d+$/);
  });
});

describe('Kubernetes manifests: hardening', () => {
  for (const component of COMPONENTS) {
    test(`${component}: non-root with a fixed UID, read-only root, no capabilities, RuntimeDefault seccomp, requests and limits`, () => {
      const pod = deployment(component).spec.template.spec;
      assert.equal(pod.securityContext.runAsNonRoot, true);
      assert.equal(pod.securityContext.runAsUser, 10001);
      assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
      assert.equal(pod.automountServiceAccountToken, false);
      for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
        assert.equal(container.securityContext.readOnlyRootFilesystem, true);
        assert.equal(container.securityContext.allowPrivilegeEscalation, false);
        assert.deepEqual(container.securityContext.capabilities.drop, ['ALL']);
        assert.equal(container.securityContext.capabilities.add, undefined);
        for (const kind of ['requests', 'limits']) {
          assert.ok(container.resources[kind].cpu && container.resources[kind].memory, `${component} ${container.name}: resources.${kind}`);
        }
      }
    });

    test(`${component}: a PodDisruptionBudget and a HorizontalPodAutoscaler aimed at its Deployment`, () => {
      const d = deployment(component);
      const labels = d.spec.template.metadata.labels;
      const pdbs = byKind('PodDisruptionBudget').filter((p) => selects(p.spec.selector.matchLabels, labels));
      assert.equal(pdbs.length, 1);
      const hpas = byKind('HorizontalPodAutoscaler').filter((h) => h.spec.scaleTargetRef.kind === 'Deployment' && h.spec.scaleTargetRef.name === d.metadata.name);
      assert.equal(hpas.length, 1);
      // A PDB that allows no disruption would block node drains at minReplicas.
      assert.ok(hpas[0].spec.minReplicas >= 2 && pdbs[0].spec.maxUnavailable >= 1);
      assert.ok(selects(d.spec.selector.matchLabels, labels), 'the Deployment selects its own pods');
    });
  }

  test('every container that runs sluice (through tsx, which writes its cache to TMPDIR) has /tmp as a volume', () => {
    for (const component of COMPONENTS) {
      const container = containerOf(component);
      const commands = [container.command, container.args, container.lifecycle?.preStop?.exec?.command, container.readinessProbe?.exec?.command].flat().filter(Boolean).join(' ');
      // tsx refuses to start when it cannot create its cache folder (seen: ENOENT/EROFS on mkdir).
      if (/\btsx\b/.test(commands) || container.image === 'sluice' && container.command === undefined) assert.ok(mountOf(component, '/tmp').emptyDir, `${component} /tmp`);
    }
    assert.ok(/\btsx\b/.test(containerOf('envoy').lifecycle.preStop.exec.command.join(' ')), 'a control: the Envoy pod runs tsx in its preStop hook');
  });
});

describe('Kubernetes manifests agree with sluice.yaml and the code', () => {
  test('the config the pods mount loads with the real loader, and its policies with the real policy store', async () => {
    assert.equal(config.targets.length, 2);
    const policies = await PolicyStore.open(path.resolve(config.baseDir, config.extAuthz.policyDir), { logger: silentLogger(), context: policyContext(config) });
    try {
      const result = policies.current();
      assert.ok(result, 'policies loaded');
    } finally {
      await policies.close();
    }
    const check = spawnSync(process.execPath, ['--import', 'tsx', 'cli/sluice.ts', 'policy', 'check', path.join(KUBERNETES, 'policies'), '--config', CONFIG_FILE], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr + check.stdout);
  });

  test('paths in sluice.yaml meet the mounts: config folder, policies beside it, the secrets file in the Secret', () => {
    for (const component of ['ext-authz', 'ext-proc']) {
      const args: string[] = containerOf(component).args;
      const configPath = args[args.indexOf('--config') + 1]!;
      assert.equal(path.posix.basename(configPath), path.basename(CONFIG_FILE));
      assert.equal(mountOf(component, path.posix.dirname(configPath)).configMap.name, 'sluice-config');
      if (component === 'ext-authz') {
        // policyDir is relative: it resolves the same way here and in the pod.
        const inPod = path.posix.resolve(path.posix.dirname(configPath), config.extAuthz.policyDir);
        assert.equal(mountOf(component, inPod).configMap.name, 'sluice-policies');
      }
    }
    const secrets = mountOf('ext-proc', path.posix.dirname(config.extProc.secretsFile));
    assert.equal(secrets.secret.secretName, 'sluice-secrets');
    assert.equal(secrets.secret.items, undefined, 'the whole Secret is mounted (a subPath or item list would not follow updates)');
    for (const component of COMPONENTS) {
      for (const mount of containerOf(component).volumeMounts) assert.equal(mount.subPath, undefined, `${component} ${mount.mountPath}: subPath mounts are never updated`);
    }
    // Replicas must key secret versions alike: from the secrets file, not a per-pod generated file.
    assert.notEqual(config.extProc.versionKeySecret, '');
  });

  test('container ports are the ports sluice.yaml configures, and Services point at them', () => {
    assert.equal(portNamed(containerOf('ext-authz'), 'grpc'), config.extAuthz.port);
    assert.equal(portNamed(containerOf('ext-authz'), 'admin'), config.admin.port);
    assert.equal(portNamed(containerOf('ext-proc'), 'grpc'), config.extProc.port);
    assert.equal(portNamed(containerOf('ext-proc'), 'admin'), config.extProc.adminPort);
    assert.equal(portNamed(containerOf('envoy'), 'http'), config.envoy.listenPort);
    const pgPorts = config.targets.flatMap((t) => (t.postgres ? [t.postgres.port] : []));
    for (const port of pgPorts) assert.ok(containerOf('envoy').ports.some((p: Resource) => p.containerPort === port), `envoy exposes ${port}`);
    for (const service of byKind('Service')) {
      const pods = COMPONENTS.filter((c) => selects(service.spec.selector, deployment(c).spec.template.metadata.labels));
      assert.equal(pods.length, 1, `Service ${service.metadata.name} selects exactly one Deployment`);
      for (const port of service.spec.ports) assert.ok(portNamed(containerOf(pods[0]!), port.targetPort), `${service.metadata.name}:${port.name} → ${port.targetPort}`);
    }
  });

  test('extAuthz.endpoints and extProc.endpoints name the headless Services in the namespace', () => {
    const ns = kustomization().namespace;
    for (const [endpoints, component, port] of [[config.extAuthz.endpoints, 'ext-authz', config.extAuthz.port], [config.extProc.endpoints, 'ext-proc', config.extProc.port]] as const) {
      assert.equal(endpoints.length, 1);
      const service = byKind('Service').find((s) => `${s.metadata.name}.${ns}.svc.cluster.local` === endpoints[0]!.host);
      assert.ok(service, `${endpoints[0]!.host} is a Service of this namespace`);
      assert.equal(service.spec.clusterIP, 'None', 'headless: Envoy sees every ready pod');
      assert.ok(selects(service.spec.selector, deployment(component).spec.template.metadata.labels));
      assert.ok(service.spec.ports.some((p: Resource) => p.port === port));
    }
  });

  test('ext-proc runs with the memory flags the gateway gives it (gateway/ext-proc-runtime.ts)', () => {
    const container = containerOf('ext-proc');
    const command: string[] = container.command;
    assert.equal(command[0], 'node');
    assert.deepEqual(command.slice(1, 1 + EXT_PROC_NODE_FLAGS.length), [...EXT_PROC_NODE_FLAGS]);
    for (const [name, value] of Object.entries(EXT_PROC_ENV)) assert.ok(container.env.some((e: Resource) => e.name === name && e.value === value), name);
  });

  test('the Envoy ConfigMap is what `sluice envoy render` makes of this config today, and Envoy validates it', () => {
    const rendered = spawnSync(process.execPath, ['--import', 'tsx', 'cli/sluice.ts', 'envoy', 'render', '--config', CONFIG_FILE], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    assert.equal(rendered.status, 0, rendered.stderr);
    const committed = readFileSync(path.join(KUBERNETES, 'envoy', 'envoy.json'), 'utf8');
    assert.deepEqual(JSON.parse(committed), JSON.parse(rendered.stdout), 'deploy/kubernetes/envoy/envoy.json is stale: render it again (docs/deploy.md)');
    const envoy = JSON.parse(committed);
    // Envoy's admin stays on loopback in its pod; the probe reaches it there.
    assert.equal(envoy.admin.address.socket_address.address, '127.0.0.1');
    const clusters = Object.fromEntries(envoy.static_resources.clusters.map((c: Resource) => [c.name, c]));
    assert.equal(clusters.sluice_ext_authz.type, 'STRICT_DNS');
    assert.equal(clusters.sluice_ext_authz.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address, config.extAuthz.endpoints[0]!.host);
    const args: string[] = containerOf('envoy').args;
    assert.equal(args[args.indexOf('-c') + 1], `${containerOf('envoy').volumeMounts[0].mountPath}/envoy.json`);
  });
});

describe('Kubernetes probes reach what the services really serve', () => {
  let dir: string;
  let authz: ExtAuthzService;
  let proc: ExtProcService;
  let live: SluiceConfig;

  before(async () => {
    // The manifests' own config, with only what cannot exist here replaced: local ports, the
    // in-memory approvals store and file sessions instead of the cluster's Redis and PostgreSQL,
    // and a secrets file with the names the config uses.
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-deploy-k8s-'));
    const raw = parse(readFileSync(CONFIG_FILE, 'utf8')) as Resource;
    raw.extAuthz = { ...raw.extAuthz, host: '127.0.0.1', port: 0, endpoints: [], policyDir: path.join(KUBERNETES, 'policies') };
    raw.admin = { host: '127.0.0.1', port: await freePort() };
    raw.extProc = { ...raw.extProc, host: '127.0.0.1', port: 0, adminPort: await freePort(), endpoints: [], secretsFile: path.join(dir, 'secrets.yaml'), sessions: { store: 'file', dir: path.join(dir, 'sessions') } };
    raw.approvals = { store: 'memory' };
    const names = [...raw.extProc.credentials.map((c: Resource) => c.secret), raw.extProc.versionKeySecret];
    writeFileSync(raw.extProc.secretsFile, stringify({ secrets: Object.fromEntries(names.map((n: string) => [n, `test-value-of-${n}-0123456789`])) }));
    writeFileSync(path.join(dir, 'sluice.yaml'), stringify(raw));
    live = loadConfig(path.join(dir, 'sluice.yaml'));
    const logger = silentLogger();
    const offline = (async () => { throw new Error('offline'); }) as typeof fetch;
    authz = await startExtAuthzService(live, { logger, decisionLog: logger, port: 0, adminPort: live.admin.port, fetch: offline });
    proc = await startExtProcService(live, { logger, port: 0, adminPort: live.extProc.adminPort, env: {} });
  });
  after(async () => {
    await proc?.close();
    await authz?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const answer = async (port: number, probePath: string) => (await fetch(`http://127.0.0.1:${port}${probePath}`)).status;

  for (const component of ['ext-authz', 'ext-proc'] as const) {
    test(`${component}: every httpGet probe path is served on the port it names`, async () => {
      const container = containerOf(component);
      const port = component === 'ext-authz' ? authz.adminPort : proc.adminPort!;
      const probes = ['readinessProbe', 'livenessProbe', 'startupProbe'].map((k) => container[k]).filter(Boolean);
      assert.equal(probes.length, 3);
      for (const probe of probes) {
        assert.ok(probe.httpGet, 'an httpGet probe');
        // The manifest's port is the config's admin port (checked above); here the real server answers the path.
        assert.equal(portNamed(container, probe.httpGet.port), component === 'ext-authz' ? config.admin.port : config.extProc.adminPort);
        const status = await answer(port, probe.httpGet.path);
        if (probe.httpGet.path === '/healthz') assert.equal(status, 200);
        // ext-authz is not ready here (no issuer keys offline), which is what /readyz must say.
        else assert.equal(status, component === 'ext-authz' ? 503 : 200, probe.httpGet.path);
      }
      assert.equal(await answer(port, '/readyz-typo'), 404, 'a control: a path the server does not serve is a 404');
    });
  }

  test('envoy: the exec probe (deploy/healthcheck.mjs on Envoy\'s /ready) passes against the rendered config in real Envoy', async () => {
    const probe = containerOf('envoy').readinessProbe.exec.command as string[];
    assert.deepEqual(probe.slice(0, 2), ['node', '/app/deploy/healthcheck.mjs']);
    const url = new URL(probe[2]!);
    assert.equal(url.hostname, '127.0.0.1');
    assert.equal(Number(url.port), config.envoy.adminPort);
    assert.equal(url.pathname, '/ready');
    // The committed static config, on free ports (9901, 10000 and 15432 may be taken here).
    const envoyConfig = JSON.parse(readFileSync(path.join(KUBERNETES, 'envoy', 'envoy.json'), 'utf8'));
    envoyConfig.admin.address.socket_address.port_value = 0;
    for (const listener of envoyConfig.static_resources.listeners) listener.address.socket_address.port_value = 0;
    const envoy = await startEnvoy({ binary: resolveEnvoyBinary(), config: JSON.stringify(envoyConfig) });
    try {
      const script = path.join(ROOT, 'deploy', 'healthcheck.mjs');
      const ok = spawnSync(process.execPath, [script, `${envoy.adminUrl}${url.pathname}`], { encoding: 'utf8' });
      assert.equal(ok.status, 0, ok.stderr);
      const bad = spawnSync(process.execPath, [script, `${envoy.adminUrl}/no-such-endpoint`], { encoding: 'utf8' });
      assert.equal(bad.status, 1, 'a control: a 404 fails the probe');
    } finally {
      await envoy.stop();
    }
  });
});

describe('Kubernetes NetworkPolicies', () => {
  const policies = () => byKind('NetworkPolicy');
  const podLabels = (component: string) => deployment(component).spec.template.metadata.labels;
  const policyFor = (component: string) => {
    const found = policies().filter((p) => Object.keys(p.spec.podSelector.matchLabels ?? {}).length > 0 && selects(p.spec.podSelector.matchLabels, podLabels(component)));
    assert.equal(found.length, 1, `one policy selects ${component}`);
    return found[0];
  };
  /** The components a rule lets in, by matching its pod selectors against the Deployments' labels. */
  const admitted = (rule: Resource) => COMPONENTS.filter((c) => (rule.from ?? []).some((peer: Resource) => peer.podSelector && !peer.namespaceSelector && selects(peer.podSelector.matchLabels, podLabels(c))));

  test('ingress is denied by default to every pod of the namespace', () => {
    const deny = policies().find((p) => Object.keys(p.spec.podSelector).length === 0);
    assert.ok(deny);
    assert.deepEqual(deny.spec.policyTypes, ['Ingress']);
    assert.equal(deny.spec.ingress, undefined);
  });

  test('only Envoy reaches ext-proc\'s gRPC port; only Envoy and ext-proc reach ext-authz\'s', () => {
    const grpc = (component: string, port: number) => policyFor(component).spec.ingress.filter((r: Resource) => r.ports.some((p: Resource) => p.port === port));
    const authzRules = grpc('ext-authz', config.extAuthz.port);
    assert.equal(authzRules.length, 1);
    assert.deepEqual(admitted(authzRules[0]), ['envoy', 'ext-proc']);
    assert.equal(authzRules[0].from.length, 2, 'no other peer');
    const procRules = grpc('ext-proc', config.extProc.port);
    assert.equal(procRules.length, 1);
    assert.deepEqual(admitted(procRules[0]), ['envoy']);
    assert.equal(procRules[0].from.length, 1, 'no other peer');
  });

  test('every port a policy opens is a port of the pods it selects, and every pod selector matches a Deployment', () => {
    for (const policy of policies()) {
      const selected = COMPONENTS.filter((c) => selects(policy.spec.podSelector.matchLabels, podLabels(c)));
      assert.ok(selected.length > 0, `${policy.metadata.name} selects a Deployment`);
      for (const rule of policy.spec.ingress ?? []) {
        for (const port of rule.ports) {
          for (const c of selected) assert.ok(containerOf(c).ports.some((p: Resource) => p.containerPort === port.port), `${policy.metadata.name}: ${c} has port ${port.port}`);
        }
        for (const peer of rule.from) {
          if (peer.podSelector && !peer.namespaceSelector) assert.ok(admitted({ from: [peer] }).length > 0, `${policy.metadata.name}: a peer selector that matches no Deployment`);
        }
      }
    }
  });

  test('a control: a selector with a label typo matches nothing', () => {
    assert.equal(selects({ 'app.kubernetes.io/component': 'envoi' }, podLabels('envoy')), false);
  });
});

describe('Kubernetes manifests hold no secret value', () => {
  test('the example secrets file lists exactly the secrets the config names, with placeholder values', () => {
    const example = path.join(KUBERNETES, 'secrets.example.yaml');
    assert.deepEqual(secretsFileNames(example), secretNames(config));
    assert.ok(!kustomization().resources.includes('secrets.example.yaml'));
    for (const line of readFileSync(example, 'utf8').split('\n').filter((l) => /^\s+[a-z0-9-]+:/.test(l))) assert.match(line, /REPLACE-ME/, line);
  });

  test('no Secret object is shipped; secrets come from Secrets the operator creates', () => {
    for (const { file, resource } of kubernetesResources()) assert.notEqual(resource.kind, 'Secret', file);
  });

  test('an environment variable that carries a secret comes from a secretKeyRef, never a value', () => {
    for (const component of COMPONENTS) {
      for (const env of containerOf(component).env ?? []) {
        if (/PASS|SECRET|TOKEN|KEY|CREDENTIAL/i.test(env.name)) {
          assert.equal(env.value, undefined, `${component} ${env.name}`);
          assert.ok(env.valueFrom?.secretKeyRef, `${component} ${env.name}`);
        }
      }
    }
  });

  test('no URL with a password and no secret-looking value in any shipped file', () => {
    const files = [...kustomization().resources, ...kustomization().configMapGenerator.flatMap((g) => g.files)];
    for (const file of files) {
      const text = readFileSync(path.join(KUBERNETES, file), 'utf8');
      assert.doesNotMatch(text, /[a-z]+:\/\/[^/\s:@]+:[^/\s@]+@/i, `${file}: a URL with a password`);
      assert.doesNotMatch(text, /-----BEGIN [A-Z ]*PRIVATE KEY-----/, file);
      // `secret: name` fields name a secret; a password written out is a value.
      assert.doesNotMatch(text, /\b"?(password|passwd)"?\s*:\s*["']?[^\s"',}]+/i, `${file}: an inline password`);
    }
    // The config names secrets; their values are only in the Secret.
    for (const credential of config.extProc.credentials) assert.ok(credential.secret === undefined || /^[a-z0-9-]+$/.test(credential.secret));
  });
});

describe('Kubernetes: Envoy stops gracefully', () => {
  test('the preStop hook drains real Envoy (listeners closed, nothing in flight) within the grace period', async () => {
    const pod = deployment('envoy').spec.template.spec;
    const hook: string[] = pod.containers[0].lifecycle.preStop.exec.command;
    assert.deepEqual(hook.slice(0, 2), ['sh', '-c']);
    const [sleep, drain] = hook[2]!.split(' && exec ');
    const delay = Number(/^sleep (\d+)$/.exec(sleep!)?.[1]);
    const words = drain!.split(' ');
    assert.deepEqual(words.slice(0, 6), ['node', '--import', 'tsx', '/app/cli/sluice.ts', 'envoy', 'drain']);
    const adminUrl = new URL(words[words.indexOf('--admin-url') + 1]!);
    assert.equal(Number(adminUrl.port), config.envoy.adminPort);
    const timeout = Number(/^(\d+)s$/.exec(words[words.indexOf('--timeout') + 1]!)?.[1]);
    // The pod is killed at terminationGracePeriodSeconds, whatever the hook is doing.
    assert.ok(delay + timeout + 5 <= pod.terminationGracePeriodSeconds, `${delay} + ${timeout} s fit in ${pod.terminationGracePeriodSeconds} s`);

    const envoyConfig = JSON.parse(readFileSync(path.join(KUBERNETES, 'envoy', 'envoy.json'), 'utf8'));
    envoyConfig.admin.address.socket_address.port_value = 0;
    for (const listener of envoyConfig.static_resources.listeners) listener.address.socket_address.port_value = 0;
    const envoy = await startEnvoy({ binary: resolveEnvoyBinary(), config: JSON.stringify(envoyConfig) });
    try {
      const httpPort = envoy.listeners.http!;
      // New connections, not fetch's pooled one: a drain keeps serving connections already open.
      const connects = () => new Promise<boolean>((resolve) => {
        const socket = connect(httpPort, '127.0.0.1');
        socket.once('connect', () => { socket.destroy(); resolve(true); });
        socket.once('error', () => resolve(false));
      });
      assert.equal(await connects(), true, 'the listener accepts before the drain');
      // The hook's own command line, run from this checkout against this Envoy.
      const args = [...words.slice(1, 3), path.join(ROOT, 'cli', 'sluice.ts'), ...words.slice(4)];
      args[args.indexOf('--admin-url') + 1] = envoy.adminUrl;
      const result = await new Promise<{ code: number; stdout: string }>((resolve) => {
        execFile(process.execPath, args, { cwd: ROOT }, (err, stdout) => resolve({ code: err ? Number(err.code) : 0, stdout }));
      });
      assert.equal(result.code, 0, result.stdout);
      assert.equal(JSON.parse(result.stdout).drained, true);
      assert.equal(await connects(), false, 'the listener is closed after the drain');
      assert.equal(await fetch(`${envoy.adminUrl}/ready`).then((r) => r.status), 200, 'Envoy itself still runs: SIGTERM comes after the hook');
    } finally {
      await envoy.stop();
    }
  });
});
