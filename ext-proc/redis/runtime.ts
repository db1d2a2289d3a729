import { randomUUID } from 'node:crypto';
import type { TargetConfig } from '../../common/config.ts';
import type { Logger } from '../../common/logger.ts';
import { deniedCommandsOf } from '../../envoy/generate/protocols/redis.ts';
import type { MaskingPlans } from '../masking-plans.ts';
import type { NetworkResponse } from '../postgres/outbox.ts';
import type { NetworkSession } from '../postgres/network-stream.ts';
import type { RecordingQueue } from '../sessions/index.ts';
import type { RedisAuthzClient } from './authz-client.ts';
import { RedisSession } from './session.ts';

/** What redis sessions read, live: a config reload swaps the getters' values. */
export interface RedisRuntimeDeps {
  readonly targets: readonly TargetConfig[];
  readonly masking: MaskingPlans;
  readonly recording: RecordingQueue | undefined;
  readonly authorizer: RedisAuthzClient;
  readonly logger: Logger;
}

/**
 * One RedisSession per connection, with its target's deny list and bounds as the live config has
 * them, and the reply path its listener was generated for (the stream's metadata says which).
 */
export function redisSessionOpener(deps: RedisRuntimeDeps): (target: string, send: (response: NetworkResponse) => void, recording: 'commands' | 'commands+replies') => NetworkSession | null {
  return (name, send, recording) => {
    const target = deps.targets.find((t) => t.name === name && t.protocol === 'redis');
    if (!target?.redis) return null;
    const masking = deps.masking;
    const queue = deps.recording;
    return new RedisSession({
      target: name,
      sessionId: randomUUID(),
      check: (input) => deps.authorizer.check(input),
      denied: new Set(deniedCommandsOf(target.redis.deniedCommands)),
      maxRecordedCommands: target.redis.maxRecordedCommands,
      valueMasker: (profile) => {
        if (profile === null) return null;
        const chosen = masking.forExchange({ masking: profile });
        if (!chosen.ok) throw new Error(`masking profile "${chosen.missing}" is not loaded in ext-proc`);
        const compiled = chosen.profile;
        return compiled ? (value) => compiled.maskValue(Buffer.from(value, 'utf8')).out.toString('utf8') : null;
      },
      record: (record) => {
        if (queue && !queue.offer(record)) deps.logger.error({ session_id: record.id, target: name }, 'the recording queue refused a redis session record');
      },
      recording,
      logger: deps.logger,
    }, send);
  };
}
