import { setTimeout as sleep } from 'node:timers/promises';
import type { World } from './world.ts';
import type { SmallDisk } from './disk.ts';

/** What a fault needs from the environment. */
export interface FaultContext {
  world: World;
  redis: { down(): Promise<void>; up(): Promise<void> };
  postgres?: { down(): Promise<void>; up(): Promise<void> };
  disk?: SmallDisk;
  /** How long a fault lasts before it is ended. */
  durationMs: number;
  /** Resolves when the load next gets a complete upstream answer. */
  nextAnswer: () => Promise<void>;
}

/**
 * One fault: inject() starts it and resolves with the moment it ended (a kill ends at once: the
 * supervisor must bring the child back; a hang or an outage ends when end() runs, durationMs later).
 */
export interface Fault {
  name: string;
  /** Which gateway the fault runs against: the file session store or the PostgreSQL one. */
  store: 'file' | 'postgres';
  run(ctx: FaultContext): Promise<{ endedAt: number }>;
}

/** SIGKILL right after a caller got a complete answer, when that exchange's record is freshest. */
async function kill(ctx: FaultContext, child: 'ext-authz' | 'ext-proc'): Promise<{ endedAt: number }> {
  const pid = await ctx.world.pidOf(child);
  await ctx.nextAnswer();
  process.kill(pid, 'SIGKILL');
  const endedAt = Date.now();
  await sleep(ctx.durationMs);
  return { endedAt };
}

async function hang(ctx: FaultContext, child: 'ext-authz' | 'ext-proc'): Promise<{ endedAt: number }> {
  const pid = await ctx.world.pidOf(child);
  process.kill(pid, 'SIGSTOP');
  try {
    await sleep(ctx.durationMs);
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  return { endedAt: Date.now() };
}

/** Runs `start`, waits the fault's duration, runs `end`; the fault ended when `end` returned. */
async function outage(ctx: FaultContext, start: () => Promise<void> | void, end: () => Promise<void> | void): Promise<{ endedAt: number }> {
  await start();
  try {
    await sleep(ctx.durationMs);
  } finally {
    await end();
  }
  return { endedAt: Date.now() };
}

/** A JWKS fault: the next tokens are signed with a key the gateway has not fetched yet. */
async function jwks(ctx: FaultContext, mode: 'down' | 'slow' | 'garbage'): Promise<{ endedAt: number }> {
  const issuer = ctx.world.issuer;
  return outage(ctx, async () => {
    await issuer.setMode(mode);
    await issuer.addKey();
  }, () => issuer.setMode('ok'));
}

const GARBAGE_SECRETS = 'secrets: [this is: not, {a map\n\u0000\u0001 garbage';

export const FAULTS: readonly Fault[] = [
  { name: 'ext-authz SIGKILL', store: 'file', run: (ctx) => kill(ctx, 'ext-authz') },
  { name: 'ext-authz SIGSTOP/CONT', store: 'file', run: (ctx) => hang(ctx, 'ext-authz') },
  { name: 'ext-proc SIGKILL', store: 'file', run: (ctx) => kill(ctx, 'ext-proc') },
  { name: 'ext-proc SIGSTOP/CONT', store: 'file', run: (ctx) => hang(ctx, 'ext-proc') },
  { name: 'JWKS down', store: 'file', run: (ctx) => jwks(ctx, 'down') },
  { name: 'JWKS slow', store: 'file', run: (ctx) => jwks(ctx, 'slow') },
  { name: 'JWKS garbage', store: 'file', run: (ctx) => jwks(ctx, 'garbage') },
  { name: 'OAuth2 token endpoint down', store: 'file', run: (ctx) => outage(ctx, () => { ctx.world.tokens.down = true; }, () => { ctx.world.tokens.down = false; }) },
  { name: 'Redis (approvals) down', store: 'file', run: (ctx) => outage(ctx, () => ctx.redis.down(), () => ctx.redis.up()) },
  { name: 'session disk full', store: 'file', run: (ctx) => outage(ctx, () => ctx.disk!.fill(), () => ctx.disk!.free()) },
  { name: 'secrets file garbage', store: 'file', run: (ctx) => outage(ctx, () => ctx.world.writeSecrets(GARBAGE_SECRETS), () => ctx.world.writeSecrets()) },
  // The last good secrets live in the running process only: a restarted ext-proc refuses to start
  // on a broken file (never on bad secrets), so until the file is fixed every request fails closed.
  {
    name: 'ext-proc SIGKILL, secrets garbage',
    store: 'file',
    run: (ctx) => outage(ctx, async () => {
      ctx.world.writeSecrets(GARBAGE_SECRETS);
      await sleep(500);
      await kill({ ...ctx, durationMs: 0 }, 'ext-proc');
    }, () => ctx.world.writeSecrets()),
  },
  { name: 'PostgreSQL (sessions) down', store: 'postgres', run: (ctx) => outage(ctx, () => ctx.postgres!.down(), () => ctx.postgres!.up()) },
];
