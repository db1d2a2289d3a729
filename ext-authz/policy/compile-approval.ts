import type { ApprovalSpec } from '../approvals/types.ts';
import type { RawApproval } from './raw.ts';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DEFAULT_HOLD = '25s';
const DEFAULT_PENDING_FOR = '1h';

/** Parses a schema-checked duration ("25s", "15m", "1h") into milliseconds. */
export function durationMs(text: string): number {
  const match = /^([0-9]+)(ms|s|m|h|d)$/.exec(text);
  if (!match) throw new Error(`not a duration: ${text}`);
  return Number(match[1]) * UNIT_MS[match[2]!]!;
}

/**
 * Turns an approve rule's approval block into the spec the authorizer and the stores use. The
 * defaults hold the live request 25 s (Envoy's per-route ext_authz timeout must be longer) and
 * keep it decidable for an hour; without `grant`, an approval covers that one request only.
 */
export function compileApproval(raw: RawApproval, report: (pointer: string, message: string) => void): ApprovalSpec {
  const holdMs = durationMs(raw.hold ?? DEFAULT_HOLD);
  const pendingTtlMs = durationMs(raw.pendingFor ?? DEFAULT_PENDING_FOR);
  if (holdMs > pendingTtlMs) report('/hold', `hold (${raw.hold}) cannot be longer than pendingFor (${raw.pendingFor ?? DEFAULT_PENDING_FOR})`);
  if (holdMs < 1000 || holdMs > 300_000) report('/hold', 'hold must be between 1s and 5m');
  const approverGroups = Object.freeze([...new Set(raw.approvers)]);
  const quorum = raw.quorum ?? 'any';
  if (typeof quorum === 'number' && quorum > 1 && approverGroups.length === 0) report('/quorum', 'a quorum needs approver groups');
  const grant = raw.grant === undefined || raw.grant === 'request'
    ? ({ scope: 'request' } as const)
    : ({ scope: 'window', windowMs: durationMs(raw.grant) } as const);
  return Object.freeze({
    approverGroups,
    quorum: typeof quorum === 'number' ? (quorum === 1 ? 'any' : Object.freeze({ min: quorum })) : quorum,
    grant: Object.freeze(grant),
    holdMs,
    pendingTtlMs,
  });
}
