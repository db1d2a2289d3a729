import type { Identity } from '../ext-authz/identity/types.ts';
import { randomToken } from './random.ts';

/** A signed-in console user. The ID token stays here, server-side: no page and no cookie carries it. */
export interface ConsoleUser {
  id: string;
  identity: Identity;
  /** Sent as the bearer token when the console calls the approvals and sessions APIs on the user's behalf. */
  idToken: string;
  /** The synchronizer token every state-changing request must carry. */
  csrf: string;
  expiresAt: number;
}

export interface BrowserSessionsOptions {
  ttlMs: number;
  /** Oldest sign-ins are dropped past this, so a flood of logins cannot grow memory without bound. */
  maxSessions?: number;
  now?: () => number;
  random?: () => string;
}

/**
 * Console sign-ins, in process. A cookie holds only the random id; everything else is here. A
 * sign-in lasts `ttlMs` and never outlives the ID token it was made from. Kept in memory on
 * purpose: a restart signs everybody out (fail closed), and replicas behind one address need
 * sticky sessions (docs/architecture.md).
 */
export class BrowserSessions {
  readonly #sessions = new Map<string, ConsoleUser>();
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #now: () => number;
  readonly #random: () => string;

  constructor(options: BrowserSessionsOptions) {
    this.#ttlMs = options.ttlMs;
    this.#max = options.maxSessions ?? 10_000;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? (() => randomToken());
  }

  create(identity: Identity, idToken: string): ConsoleUser {
    this.#sweep();
    const now = this.#now();
    const user: ConsoleUser = { id: this.#random(), identity, idToken, csrf: this.#random(), expiresAt: Math.min(now + this.#ttlMs, identity.expiresAt * 1000) };
    this.#sessions.set(user.id, user);
    while (this.#sessions.size > this.#max) this.#sessions.delete(this.#sessions.keys().next().value!);
    return user;
  }

  get(id: string | undefined): ConsoleUser | undefined {
    if (id === undefined) return undefined;
    const user = this.#sessions.get(id);
    if (user === undefined) return undefined;
    if (user.expiresAt <= this.#now()) {
      this.#sessions.delete(id);
      return undefined;
    }
    return user;
  }

  delete(id: string): void {
    this.#sessions.delete(id);
  }

  get size(): number {
    return this.#sessions.size;
  }

  #sweep(): void {
    const now = this.#now();
    for (const [id, user] of this.#sessions) if (user.expiresAt <= now) this.#sessions.delete(id);
  }
}
