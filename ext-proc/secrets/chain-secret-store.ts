import type { SecretStore } from './types.ts';

/** Asks each store in turn; the first that has the secret answers. */
export class ChainSecretStore implements SecretStore {
  constructor(private readonly stores: readonly SecretStore[]) {}

  get(name: string): string | undefined {
    for (const store of this.stores) {
      const value = store.get(name);
      if (value !== undefined) return value;
    }
    return undefined;
  }

  async close(): Promise<void> {
    await Promise.all(this.stores.map((s) => s.close()));
  }
}
