import { createHmac, pbkdf2, pbkdf2Sync, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';

type Pbkdf2 = (password: Buffer, salt: Buffer, iterations: number) => Promise<Buffer>;
type Pbkdf2Sync = (password: Buffer, salt: Buffer, iterations: number) => Buffer;

const SHA256_BYTES = 32;
const defaultPbkdf2: Pbkdf2 = (password, salt, iterations) =>
  new Promise((resolve, reject) => pbkdf2(password, salt, iterations, SHA256_BYTES, 'sha256', (err, key) => (err ? reject(err) : resolve(key))));
const defaultPbkdf2Sync: Pbkdf2Sync = (password, salt, iterations) => pbkdf2Sync(password, salt, iterations, SHA256_BYTES, 'sha256');

/**
 * SCRAM's Hi(password, salt, i), remembered. The server keeps one salt and count per role, so a
 * repeat login for the same role derives the same key: at 4096 rounds that is ~2 ms of CPU per
 * login saved. Keys are an HMAC of the password under a per-process random key, not the password
 * and not a bare SHA-256 of it (which anyone with a heap dump could brute-force offline without a
 * salt). Concurrent logins for one key share one derivation.
 */
export class SaltedPasswordCache {
  private readonly entries: LRUCache<string, Buffer>;
  private readonly pending = new Map<string, Promise<Buffer>>();
  private readonly keyKey = randomBytes(32);

  constructor(
    max = 64,
    private readonly derive: Pbkdf2 = defaultPbkdf2,
    private readonly deriveSync: Pbkdf2Sync = defaultPbkdf2Sync,
  ) {
    this.entries = new LRUCache({ max });
  }

  get(password: Buffer, salt: Buffer, iterations: number): Buffer {
    const key = this.key(password, salt, iterations);
    let salted = this.entries.get(key);
    if (salted === undefined) {
      salted = this.deriveSync(password, salt, iterations);
      this.entries.set(key, salted);
    }
    return salted;
  }

  async getAsync(password: Buffer, salt: Buffer, iterations: number): Promise<Buffer> {
    const key = this.key(password, salt, iterations);
    const cached = this.entries.get(key);
    if (cached !== undefined) return cached;
    let running = this.pending.get(key);
    if (running === undefined) {
      running = this.derive(password, salt, iterations)
        .then((salted) => {
          this.entries.set(key, salted);
          return salted;
        })
        .finally(() => this.pending.delete(key));
      this.pending.set(key, running);
    }
    return running;
  }

  private key(password: Buffer, salt: Buffer, iterations: number): string {
    return `${createHmac('sha256', this.keyKey).update(password).digest('base64')}:${salt.toString('base64')}:${iterations}`;
  }
}

/** The one cache every ScramSha256Client in the process shares. */
export const SALTED_PASSWORDS = new SaltedPasswordCache();
