import type { SecretStore } from './types.ts';

/**
 * Secrets from the environment: `SLUICE_SECRET_<NAME>`, with the secret name upper-cased and
 * every character other than A-Z and 0-9 turned into `_` (so `demo-api-token` is
 * `SLUICE_SECRET_DEMO_API_TOKEN`). Read at each lookup, so nothing is copied at startup.
 */
export class EnvSecretStore implements SecretStore {
  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  get(name: string): string | undefined {
    const value = this.env[envName(name)];
    return value === undefined || value === '' ? undefined : value;
  }

  async close(): Promise<void> {}
}

export function envName(secretName: string): string {
  return `SLUICE_SECRET_${secretName.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}
