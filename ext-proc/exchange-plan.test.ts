import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import type { CredentialPlan } from './credentials.ts';
import { isRefusal, planExchange, type PlanDeps } from './exchange-plan.ts';
import type { MaskingProfile } from './masking/index.ts';
import { MaskingPlans } from './masking-plans.ts';
import { SecretVersions, secretVersion } from './secrets/secret-versions.ts';
import type { RecordingQueue, SessionRecord } from './sessions/index.ts';

const decision = { v: 1, protocol: 'http', sessionId: 's-1', requestId: 'req-1', target: 'orders-api', rule: 'prod/allow', subject: 'alice', issuer: 'corp', groups: [], approvalId: null, masking: null } as const;
const profile = { name: 'pii' } as unknown as MaskingProfile;
const bearer: CredentialPlan = { source: { kind: 'secret', name: 'orders-key' }, presentation: { kind: 'http-header', header: 'authorization', prefix: 'Bearer ', suffix: '' } };

function deps(overrides: Partial<PlanDeps> = {}): PlanDeps {
  return {
    credentials: new Map([['orders-api', bearer]]),
    masking: new MaskingPlans(new Map([['pii', profile]])),
    secrets: { get: (name) => (name === 'orders-key' ? 'k-123' : undefined), close: async () => {} },
    versions: new SecretVersions({ get: (name) => (name === 'orders-key' ? 'k-123' : undefined), close: async () => {} }, Buffer.alloc(32, 7)),
    logger: pino({ level: 'silent' }),
    now: () => 1000,
    ...overrides,
  };
}

function queue(accepts: boolean, offered: SessionRecord[] = []): RecordingQueue {
  return { canAccept: () => accepts, stats: () => ({}), offer: (r: SessionRecord) => (offered.push(r), true) } as unknown as RecordingQueue;
}

describe('planExchange', () => {
  test('a plan: the decision, its profile and the credential resolved once; frozen', async () => {
    const plan = await planExchange({ ...decision, masking: 'pii' }, deps());
    assert.ok(!isRefusal(plan));
    assert.equal(plan.profile, profile);
    assert.deepEqual(plan.credential, {
      presentation: bearer.presentation,
      secret: 'k-123',
      recorded: { target: 'orders-api', kind: 'secret', secret: { name: 'orders-key', version: secretVersion(Buffer.alloc(32, 7), 'k-123') } },
    });
    assert.equal(plan.recorder, undefined);
    assert.ok(Object.isFrozen(plan) && Object.isFrozen(plan.credential));
  });

  test('a target without a credential entry or profile: nothing to inject or mask', async () => {
    const plan = await planExchange({ ...decision, target: 'other' }, deps());
    assert.ok(!isRefusal(plan));
    assert.equal(plan.credential, undefined);
    assert.equal(plan.profile, undefined);
  });

  test('the live plans are read once, at the start', async () => {
    let reads = 0;
    const base = deps();
    const counting = { ...base, get credentials() { reads++; return base.credentials; }, get masking() { reads++; return base.masking; } };
    await planExchange(decision, counting);
    assert.equal(reads, 2);
  });

  test('refusals carry their caller code, in a fixed order', async () => {
    const unknownProfile = await planExchange({ ...decision, masking: 'nope' }, deps({ recording: { queue: queue(false), maxBodyBytes: 10 } }));
    assert.ok(isRefusal(unknownProfile));
    assert.equal(unknownProfile.code, 'ERR_MASKING_PROFILE_UNKNOWN');
    assert.equal(unknownProfile.recording, undefined);

    const full = await planExchange(decision, deps({ recording: { queue: queue(false), maxBodyBytes: 10 } }));
    assert.ok(isRefusal(full));
    assert.equal(full.code, 'ERR_RECORDING_UNAVAILABLE');
    assert.equal(full.recording, undefined, 'a full queue admits no record');

    const noSecret = await planExchange(decision, deps({ secrets: { get: () => undefined, close: async () => {} } }));
    assert.ok(isRefusal(noSecret));
    assert.equal(noSecret.code, 'ERR_SECRET_UNAVAILABLE');
  });

  test('a secret refused after admission to recording keeps its recorder, so the refusal is recorded', async () => {
    const offered: SessionRecord[] = [];
    const refused = await planExchange({ ...decision, masking: 'pii' }, deps({ secrets: { get: () => undefined, close: async () => {} }, recording: { queue: queue(true, offered), maxBodyBytes: 10 } }));
    assert.ok(isRefusal(refused));
    assert.equal(refused.recording?.profile, profile);
    assert.equal(refused.recording?.recorder.startedAt, 1000);
    assert.equal(refused.recording?.recorder.maxBodyBytes, 10);
    assert.equal(refused.recording?.recorder.submit({} as SessionRecord), true);
    assert.equal(offered.length, 1);
  });
});
