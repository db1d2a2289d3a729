import { UsageError } from './usage-error.ts';
import type { Command } from './types.ts';
import { parse } from './common.ts';

/** Asks the DEVELOPMENT issuer of a running `sluice dev` for a token. Real IdPs issue their own. */
export const tokenCommand: Command = {
  async run(args) {
    const { values } = parse(args, {
      sub: { type: 'string' },
      groups: { type: 'string', default: '' },
      aud: { type: 'string' },
      ttl: { type: 'string', default: '3600' },
      claim: { type: 'string', multiple: true, default: [] },
      'issuer-url': { type: 'string', default: process.env.SLUICE_DEV_ISSUER ?? 'http://127.0.0.1:9090' },
    });
    if (!values.sub) throw new UsageError('--sub is required, e.g. sluice token --sub alice --groups engineering');
    const claims: Record<string, unknown> = {};
    for (const pair of values.claim) {
      const at = pair.indexOf('=');
      if (at <= 0) throw new Error(`--claim expects key=value, got "${pair}"`);
      claims[pair.slice(0, at)] = parseClaimValue(pair.slice(at + 1));
    }
    const response = await fetch(`${values['issuer-url']}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        sub: values.sub,
        groups: values.groups.split(',').map((g) => g.trim()).filter(Boolean),
        ...(values.aud ? { aud: values.aud } : {}),
        ttlSeconds: Number(values.ttl),
        claims,
      }),
    }).catch((err: Error) => {
      throw new Error(`cannot reach the dev issuer at ${values['issuer-url']} (is \`npm start\` running?): ${err.message}`);
    });
    const body = (await response.json()) as { access_token?: string; error?: string };
    if (!response.ok || !body.access_token) throw new Error(`dev issuer refused: ${body.error ?? response.status}`);
    process.stdout.write(`${body.access_token}\n`);
    return 0;
  },
};

function parseClaimValue(raw: string): unknown {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  if (/^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  return raw;
}
