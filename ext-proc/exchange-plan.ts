import type { GatewayDecision } from '../common/decision-metadata.ts';
import type { CallerErrorCode } from '../common/error-codes.ts';
import type { Logger } from '../common/logger.ts';
import { recordedCredential, resolveCredential, type CredentialPlan, type ResolvedCredential } from './credentials.ts';
import type { MaskingProfile } from './masking/index.ts';
import type { MaskingPlans } from './masking-plans.ts';
import type { SecretStore } from './secrets/types.ts';
import type { SecretVersions } from './secrets/secret-versions.ts';
import type { RecordingQueue, SessionRecord } from './sessions/index.ts';
import type { OpenExchangeNote, OpenJournal } from './sessions/open-journal.ts';

/**
 * What an exchange is processed with, whatever its protocol, decided once at its start from
 * ext-authz's decision and the live plans: the masking profile, the upstream credential (its
 * value resolved once), and where its session record goes. A protocol's processor applies it and
 * never looks at the live plans again, so a config reload mid-exchange cannot mix two configs.
 */
export interface ExchangePlan {
  readonly decision: GatewayDecision;
  /** The profile ext-authz's decision names (rule, else target default); none: bodies pass. */
  readonly profile: MaskingProfile | undefined;
  /** The target's real credential; none when the target has no `extProc.credentials` entry. */
  readonly credential: ResolvedCredential | undefined;
  /** Present when recording is on; the exchange was admitted by the queue. */
  readonly recorder: SessionRecorder | undefined;
}

/** Where one exchange's session record goes. */
export interface SessionRecorder {
  /** When the exchange started, as its record says (before any credential was resolved). */
  readonly startedAt: number;
  /** The cap on each recorded body. */
  readonly maxBodyBytes: number;
  /** Hands the finished record to the write queue; false when the queue has no room. */
  submit(record: SessionRecord): boolean;
  /**
   * Resolves once the submitted record has left this process (written to the OS by the file
   * store, committed by PostgreSQL; a crash of ext-proc can no longer lose it) or was given up, or
   * once the bound (`storedWithinMs`) has passed: then it stays queued and is written when the
   * store answers. Immediately when there is no bound.
   */
  stored(): Promise<void>;
  /**
   * Tells the open-exchange journal what the record would say so far (the recorded request line,
   * the response status once headers went back), so a crash of ext-proc before the record is
   * stored still leaves an `incomplete` one. Only recorded (masked) values: never a credential.
   */
  note(note: OpenExchangeNote): void;
}

/**
 * An exchange the gateway will not carry, decided before anything went upstream. Each protocol's
 * processor answers it its own way (HTTP: an ImmediateResponse with the code's status and Sluice's
 * JSON body); the reason has already been logged here.
 */
export interface Refusal {
  readonly kind: 'refusal';
  readonly code: CallerErrorCode;
  /** What the caller is told; the detail went to the log. */
  readonly message: string;
  /**
   * Set when the exchange had been admitted for recording before it was refused (the secret was
   * unavailable): its session record keeps the refusal, outcome `refused`.
   */
  readonly recording?: { readonly profile: MaskingProfile | undefined; readonly recorder: SessionRecorder };
}

export interface PlanDeps {
  /** Read once per exchange: the service swaps the credential and masking plans on a reload. */
  readonly credentials: ReadonlyMap<string, CredentialPlan>;
  readonly masking: MaskingPlans;
  readonly secrets: SecretStore;
  /** Names the version of the secret each record's credential was made from. */
  readonly versions: SecretVersions;
  readonly logger: Logger;
  /**
   * Session recording; absent when `extProc.sessions.store` is off. `storedWithinMs`: how long the
   * answer that completes an exchange may wait for its record to be stored (0: no wait).
   */
  readonly recording?: { queue: RecordingQueue; maxBodyBytes: number; storedWithinMs?: number; journal?: OpenJournal | undefined } | undefined;
  readonly now?: (() => number) | undefined;
}

export function isRefusal(result: ExchangePlan | Refusal): result is Refusal {
  return (result as Refusal).kind === 'refusal';
}

/**
 * The plan of one exchange, or why it is refused. The checks run in a fixed order: the masking
 * profile first (configs out of step must never pass data unmasked), then the recording queue
 * (audit completeness: with the queue full in deny mode no new exchange starts), then the
 * credential (an unavailable secret is refused after admission, so the refusal is recorded).
 */
export async function planExchange(decision: GatewayDecision, deps: PlanDeps): Promise<ExchangePlan | Refusal> {
  // The live plans, read once: the getters behind them change on a config reload.
  const credentials = deps.credentials;
  const masking = deps.masking;
  const now = deps.now ?? Date.now;
  const context = { session_id: decision.sessionId, target: decision.target };

  const chosen = masking.forExchange(decision);
  if (!chosen.ok) {
    deps.logger.error({ ...context, profile: chosen.missing }, 'the policy names a masking profile ext-proc does not have; refusing');
    return refusal('ERR_MASKING_PROFILE_UNKNOWN', 'the gateway could not process this request');
  }
  const profile = chosen.profile;

  let recorder: SessionRecorder | undefined;
  if (deps.recording) {
    const { queue, maxBodyBytes, storedWithinMs = 0, journal } = deps.recording;
    if (!queue.canAccept()) {
      deps.logger.error({ session_id: decision.sessionId, stats: queue.stats() }, 'session recording queue full; refusing new exchanges');
      return refusal('ERR_RECORDING_UNAVAILABLE', 'the gateway cannot record this exchange right now');
    }
    // The wait is on this exchange's record only, and until it has left the process (written to
    // the OS or committed), not for the group commit's fsync: what a crash of ext-proc could lose.
    let out: Promise<void> = Promise.resolve();
    const startedAt = now();
    const id = decision.sessionId;
    // Journaled at admission, before anything goes upstream or back: closed once the record is out.
    journal?.opened({ id, requestId: decision.requestId, subject: decision.subject, issuer: decision.issuer, target: decision.target, rule: decision.rule, startedAt: Math.min(startedAt, decision.requestStartedAt ?? startedAt) });
    recorder = Object.freeze({
      startedAt,
      maxBodyBytes,
      submit: (record: SessionRecord) => {
        let settle!: () => void;
        out = new Promise<void>((resolve) => (settle = resolve));
        const queued = queue.offer(record, () => {
          journal?.closedOne(id);
          settle();
        });
        if (!queued) {
          // Dropped (logged at error by the queue): the journal is not the place to keep it.
          journal?.closedOne(id);
          settle();
        }
        return queued;
      },
      note: (note: OpenExchangeNote) => journal?.note(id, note),
      // A store that does not answer in time leaves the record queued (bounded; onFull decides what is admitted).
      stored: () => (storedWithinMs > 0 ? within(out, storedWithinMs) : Promise.resolve()),
    });
  }

  let credential: ResolvedCredential | undefined;
  const plan = credentials.get(decision.target);
  if (plan) {
    const secret = await resolveCredential(plan.source, deps.secrets, deps.logger, { target: decision.target, session_id: decision.sessionId });
    if (secret === undefined) {
      return refusal('ERR_SECRET_UNAVAILABLE', 'the upstream credential is unavailable', recorder && Object.freeze({ profile, recorder }));
    }
    credential = Object.freeze({ presentation: plan.presentation, secret, recorded: Object.freeze(recordedCredential(decision.target, plan.source, secret, deps.versions)) });
  }
  return Object.freeze({ decision, profile, credential, recorder });
}

function refusal(code: CallerErrorCode, message: string, recording?: Refusal['recording']): Refusal {
  return Object.freeze({ kind: 'refusal', code, message, ...(recording ? { recording } : {}) });
}

/** Resolves when `promise` does or after `ms`, whichever is first; the timer is cleared either way. */
function within(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}
