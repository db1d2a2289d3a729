import type { PostgresTargetConfig, TargetConfig } from '../../common/config.ts';
import type { Logger } from '../../common/logger.ts';
import { durationSeconds } from '../../envoy/generate/envoy-values.ts';
import { resolveCredential, type CredentialPlan } from '../credentials.ts';
import type { MaskingPlans } from '../masking-plans.ts';
import type { SecretStore } from '../secrets/types.ts';
import type { SecretVersions } from '../secrets/secret-versions.ts';
import type { RecordingQueue } from '../sessions/index.ts';
import type { PgAuthorizer } from './authorizer.ts';
import { profileMaskers } from './maskers.ts';
import type { PgSessionOpener } from './network-stream.ts';
import { PgSession, type PgSessionSettings } from './session.ts';
import { SessionRoleError } from './session-roles/errors.ts';
import type { SessionRoleMinter } from './session-roles/session-roles.ts';

/** A chunk is answered this fast even while its login or statement is still being checked. */
const RESPOND_WITHIN_MS = 150;

/** What the postgres sessions of ext-proc read, live: a config reload swaps the getters' values. */
export interface PgRuntimeDeps {
  readonly targets: readonly TargetConfig[];
  readonly credentials: ReadonlyMap<string, CredentialPlan>;
  readonly masking: MaskingPlans;
  readonly secrets: SecretStore;
  readonly versions: SecretVersions;
  readonly recording: RecordingQueue | undefined;
  readonly authorizer: PgAuthorizer;
  readonly logger: Logger;
  /** The per-session roles of a target that mints them (postgres.sessionRoles). */
  readonly sessionRoles?: (target: string) => SessionRoleMinter | undefined;
}

/** A target that should mint roles but has no minter (cannot happen once wired): every login is refused. */
const NO_MINTER: SessionRoleMinter = {
  mint: async () => { throw new SessionRoleError('ERR_PG_ROLE_ADMIN_UNAVAILABLE', 'no session role minter is set up for this target'); },
  release: () => undefined,
};

/** The session settings of one target (sluice.yaml `targets[].postgres`). */
export function sessionSettings(config: PostgresTargetConfig): PgSessionSettings {
  return {
    maxMessageBytes: config.maxMessageBytes,
    statementCacheMs: ms(config.statementCache, 'postgres.statementCache'),
    recheckMs: ms(config.recheck, 'postgres.recheck'),
    expiryGraceMs: ms(config.expiryGrace, 'postgres.expiryGrace'),
    holdBudgetMs: ms(config.holdBudget, 'postgres.holdBudget'),
    respondWithinMs: RESPOND_WITHIN_MS,
    maxRecordedStatements: config.maxRecordedStatements,
    maxStatementBytes: config.maxStatementBytes,
    allowCleartextUpstream: config.allowCleartextUpstream,
  };
}

/**
 * Opens one PgSession per connection, with the target's settings, credential and masking as the
 * live config has them when the connection opens: a rotated secret or a changed profile reaches
 * the next session, never one already running.
 */
export function pgSessionOpener(deps: PgRuntimeDeps): PgSessionOpener {
  return (name, send, connection) => {
    const target = deps.targets.find((t) => t.name === name && t.protocol === 'postgres');
    if (!target?.postgres) return null;
    const credentials = deps.credentials;
    const masking = deps.masking;
    const recording = deps.recording;
    return new PgSession({
      target: name,
      authorizer: deps.authorizer,
      settings: sessionSettings(target.postgres),
      logger: deps.logger,
      sourceAddress: undefined,
      plaintextRefused: connection.plaintextRefused,
      ...(target.postgres.sessionRoles ? { sessionRoles: deps.sessionRoles?.(name) ?? NO_MINTER } : {}),
      credential: async (targetName, requestedUser) => {
        const plan = credentials.get(targetName);
        if (!plan || plan.source.kind !== 'secret') return null;
        const password = await resolveCredential(plan.source, deps.secrets, deps.logger, { target: targetName });
        if (password === undefined) return null;
        return {
          user: plan.postgresUser ?? requestedUser,
          password,
          secret: { name: plan.source.name, version: deps.versions.of(password) },
        };
      },
      maskers: (profile) => {
        if (profile === null) return null;
        const chosen = masking.forExchange({ masking: profile });
        if (!chosen.ok) throw new Error(`masking profile "${chosen.missing}" is not loaded in ext-proc`);
        return chosen.profile ? profileMaskers(chosen.profile) : null;
      },
      admit: () => recording === undefined || recording.canAccept(),
      record: (record) => {
        if (recording && !recording.offer(record)) deps.logger.error({ session_id: record.id, target: name }, 'the recording queue refused a postgres session record');
      },
    }, send);
  };
}

/** The schema's "5s" durations, read by the generator's one parser. */
function ms(duration: string, option: string): number {
  return Math.round(durationSeconds(duration, option) * 1000);
}
