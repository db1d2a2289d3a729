/**
 * Reads what deploy/ ships, for the deploy tests: the Kubernetes resources as kustomize would
 * list them (every YAML document of every `resources:` file, plus the generated ConfigMaps), the
 * Compose file and the Dockerfile. Everything is read from the repository, nothing is fetched.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const DEPLOY = path.join(ROOT, 'deploy');
export const KUBERNETES = path.join(DEPLOY, 'kubernetes');
export const COMPOSE_DIR = path.join(DEPLOY, 'compose');

// The manifests are checked field by field: loosely typed on purpose.
export type Resource = any;

export interface Kustomization {
  namespace: string;
  resources: string[];
  images: { name: string; newTag?: string }[];
  configMapGenerator: { name: string; files: string[]; options?: { disableNameSuffixHash?: boolean } }[];
}

export function kustomization(): Kustomization {
  return parse(readFileSync(path.join(KUBERNETES, 'kustomization.yaml'), 'utf8')) as Kustomization;
}

/** Every document of every listed resource file, with the file it came from. */
export function kubernetesResources(): { file: string; resource: Resource }[] {
  return kustomization().resources.flatMap((file) => {
    const docs = parseAllDocuments(readFileSync(path.join(KUBERNETES, file), 'utf8'));
    return docs.map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
      return { file, resource: doc.toJS() as Resource };
    });
  });
}

/** The ConfigMaps configMapGenerator makes: one key per file, named after the file. */
export function generatedConfigMaps(): Resource[] {
  return kustomization().configMapGenerator.map((gen) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: gen.name },
    data: Object.fromEntries(gen.files.map((f) => [path.basename(f), readFileSync(path.join(KUBERNETES, f), 'utf8')])),
  }));
}

export function byKind(kind: string): Resource[] {
  return kubernetesResources().map((r) => r.resource).filter((r) => r.kind === kind);
}

export function deployment(component: string): Resource {
  const found = byKind('Deployment').find((d) => d.spec.template.metadata.labels['app.kubernetes.io/component'] === component);
  if (!found) throw new Error(`no Deployment for component ${component}`);
  return found;
}

/** matchLabels semantics: every label of the selector is on the object. */
export function selects(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}

export function composeFile(): Resource {
  return parse(readFileSync(path.join(COMPOSE_DIR, 'compose.yaml'), 'utf8'));
}

export function dockerfile(): string {
  return readFileSync(path.join(DEPLOY, 'Dockerfile'), 'utf8');
}

/** Dockerfile instructions, continuation lines joined, comments dropped. */
export function dockerInstructions(text = dockerfile()): { op: string; args: string }[] {
  return text.replace(/\\\n/g, ' ').split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [op, ...rest] = line.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(' ') };
    });
}

/** Every secret name a loaded config refers to: any `secret` or `...Secret` field with a value. */
export function secretNames(config: unknown): string[] {
  const names = new Set<string>();
  const walk = (value: unknown) => {
    if (Array.isArray(value)) return value.forEach(walk);
    if (value === null || typeof value !== 'object') return;
    for (const [key, child] of Object.entries(value)) {
      if ((key === 'secret' || key.endsWith('Secret')) && typeof child === 'string' && child !== '') names.add(child);
      else walk(child);
    }
  };
  walk(config);
  return [...names].sort();
}

/** The names of a secrets file (`secrets: { name: value }`), sorted. */
export function secretsFileNames(file: string): string[] {
  return Object.keys((parse(readFileSync(file, 'utf8')) as { secrets: Record<string, string> }).secrets).sort();
}
