import { drainEnvoy } from '../../gateway/envoy-child.ts';
import type { Command } from './types.ts';
import { parse } from './common.ts';
import { UsageError } from './usage-error.ts';

/**
 * `sluice envoy drain`: what `sluice gateway` does to its Envoy on SIGTERM, for an Envoy that runs
 * on its own (a Kubernetes preStop hook): close the listeners, then wait until no request is in
 * flight or the timeout passes. Envoy itself is stopped afterwards by whoever runs it.
 */
export const envoyDrainCommand: Command = {
  async run(args) {
    const { values } = parse(args, { 'admin-url': { type: 'string' }, timeout: { type: 'string' } });
    const adminUrl = (values['admin-url'] ?? 'http://127.0.0.1:9901').replace(/\/+$/, '');
    if (!/^https?:\/\/[^/]+$/.test(adminUrl)) throw new UsageError(`--admin-url must be http://host:port, got "${adminUrl}"`);
    const timeout = values.timeout ?? '30s';
    const match = /^(\d+)s$/.exec(timeout);
    if (!match) throw new UsageError(`--timeout must be whole seconds, e.g. "30s", got "${timeout}"`);
    const result = await drainEnvoy(adminUrl, Number(match[1]) * 1000);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return result.drained ? 0 : 1;
  },
};
