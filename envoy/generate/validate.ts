import { SluiceError } from '../../common/errors.ts';
import { validateEnvoyConfig } from '../../common/envoy-process.ts';
import type { EnvoyBinary } from '../../common/envoy-bin.ts';
import type { EnvoyObject, GeneratedConfig } from './types.ts';

/**
 * The generated config as one static file: the same listeners with their route configuration
 * inlined instead of fetched by RDS, every cluster in static_resources, no dynamic_resources.
 * `envoy --mode validate` only checks static resources, so this is what it can judge.
 */
export function staticEquivalent(generated: GeneratedConfig): EnvoyObject {
  const routeConfigs = new Map(generated.files['rds.json'].resources.map((r) => [r.name as string, withoutType(r)]));
  const bootstrap = structuredClone(generated.bootstrap) as { static_resources?: { clusters?: EnvoyObject[] }; dynamic_resources?: unknown };
  delete bootstrap.dynamic_resources;
  return {
    ...bootstrap,
    static_resources: {
      listeners: generated.files['lds.json'].resources.map((l) => inlineRoutes(withoutType(l), routeConfigs)),
      clusters: [...(bootstrap.static_resources?.clusters ?? []), ...generated.files['cds.json'].resources.map(withoutType)],
    },
  };
}

/**
 * Runs `envoy --mode validate` on the static equivalent. When Envoy refuses it, the error's
 * `details.target` names the target whose resource (or name) Envoy's message mentions, best
 * effort, so the caller can point at its declaration.
 */
export function validateGenerated(generated: GeneratedConfig, binary?: EnvoyBinary): void {
  try {
    // JSON is YAML too, and Envoy parses it much faster than block YAML (it matters at 1,000 targets).
    validateEnvoyConfig(JSON.stringify(staticEquivalent(generated)), binary);
  } catch (err) {
    if (!(err instanceof SluiceError) || err.code !== 'ERR_ENVOY_CONFIG_INVALID') throw err;
    // A resource name, then a value only one target's cluster holds (a file path, a host), then a
    // bare target name: a short name ("a") can also occur by chance in a temp path in the message.
    const target = blamedResource(err.message, generated.owners) ?? targetByValue(err.message, generated) ?? blamedTarget(err.message, generated.owners);
    throw new SluiceError('ERR_ENVOY_CONFIG_INVALID', target ? `target ${target}: ${err.message}` : err.message, {
      cause: err,
      details: target ? { target } : {},
    });
  }
}

/** Whether `name` stands in `message` as a whole word (names are lower case; any letter, digit, ".", "_" or "-" beside it means it is part of something else). */
function mentions(message: string, name: string): boolean {
  return new RegExp(`(^|[^A-Za-z0-9._-])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^A-Za-z0-9._-])`).test(message);
}
const byLength = (a: string, b: string) => b.length - a.length;

/** The target whose resource (cluster, route) Envoy's message names, longest name first. */
function blamedResource(message: string, owners: ReadonlyMap<string, string>): string | undefined {
  const resource = [...owners.keys()].sort(byLength).find((name) => mentions(message, name));
  return resource === undefined ? undefined : owners.get(resource);
}

/** The target named in Envoy's message: by resource name first (longest match), else by target name. */
export function blamedTarget(message: string, owners: ReadonlyMap<string, string>): string | undefined {
  return blamedResource(message, owners) ?? [...new Set(owners.values())].sort(byLength).find((name) => mentions(message, name));
}

/**
 * Envoy often names a file or host rather than the resource ("Invalid path: /etc/x/ca.pem"):
 * blame the one target whose cluster holds such a value, if exactly one does.
 */
function targetByValue(message: string, generated: GeneratedConfig): string | undefined {
  const suspects = new Set<string>();
  for (const cluster of generated.files['cds.json'].resources) {
    const target = generated.owners.get(cluster.name as string);
    if (target && stringLeaves(cluster).some((v) => v.length >= 4 && /[/.:]/.test(v) && message.includes(v))) suspects.add(target);
  }
  return suspects.size === 1 ? [...suspects][0] : undefined;
}

function stringLeaves(node: unknown): string[] {
  if (typeof node === 'string') return [node];
  if (node === null || typeof node !== 'object') return [];
  return Object.values(node).flatMap(stringLeaves);
}

function withoutType(resource: EnvoyObject): EnvoyObject {
  const { '@type': _type, ...rest } = resource;
  return rest;
}

/** Replaces every `rds` block in a listener with the route configuration it names. */
function inlineRoutes(value: EnvoyObject, routeConfigs: ReadonlyMap<string, EnvoyObject>): EnvoyObject {
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (node === null || typeof node !== 'object') return node;
    const out: EnvoyObject = {};
    for (const [key, child] of Object.entries(node as EnvoyObject)) {
      if (key === 'rds') {
        const name = (child as { route_config_name: string }).route_config_name;
        const config = routeConfigs.get(name);
        if (!config) throw new SluiceError('ERR_ENVOY_CONFIG_INVALID', `listener ${value.name as string} uses route configuration ${name}, which was not generated`);
        out.route_config = config;
      } else {
        out[key] = walk(child);
      }
    }
    return out;
  };
  return walk(value) as EnvoyObject;
}
