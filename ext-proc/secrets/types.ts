/**
 * Where ext-proc finds the real credentials it injects. Lookups are synchronous and cheap (the
 * current values are held in memory and swapped atomically on change), so a rotated secret is
 * used by the very next request. An external secret manager fits behind the same interface by
 * keeping its own in-memory snapshot fresh.
 */
export interface SecretStore {
  /** The current value of a named secret, or undefined when this store does not have it. */
  get(name: string): string | undefined;
  close(): Promise<void>;
}
