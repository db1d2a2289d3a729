import type { Identity } from '../identity/types.ts';
import { resolveClaim } from './claim-path.ts';
import type { CompiledClaimMatch, CompiledPolicy, CompiledSubject } from './compiled.ts';
import { valueIn } from './match-value.ts';

/*
 * Who a policy is about. A policy applies when any subject entry matches (OR); an entry matches
 * when every field it gives matches (AND). The per-field tests are exported for explain.ts,
 * which reports which field failed; evaluate.ts only needs `matchingSubject`.
 */

export function matchingSubject(policy: CompiledPolicy, identity: Identity): number {
  const subjects = policy.subjects;
  for (let i = 0; i < subjects.length; i++) if (subjectMatches(subjects[i]!, identity)) return i;
  return -1;
}

export function subjectMatches(subject: CompiledSubject, identity: Identity): boolean {
  if (!issuerMatches(subject, identity) || !userMatches(subject, identity) || !groupsMatch(subject, identity)) {
    return false;
  }
  const claims = subject.claims;
  for (let i = 0; i < claims.length; i++) if (!claimMatches(claims[i]!, identity)) return false;
  return true;
}

/** `issuer:` names a configured issuer (IssuerConfig.name), not an `iss` URL. */
export function issuerMatches(subject: CompiledSubject, identity: Identity): boolean {
  return subject.issuer === null || subject.issuer === identity.issuerName;
}

export function userMatches(subject: CompiledSubject, identity: Identity): boolean {
  return subject.users === null || subject.anyUser || subject.users.has(identity.subject);
}

export function groupsMatch(subject: CompiledSubject, identity: Identity): boolean {
  if (subject.groups === null) return true;
  const groups = identity.groups;
  for (let i = 0; i < groups.length; i++) if (subject.groups.has(groups[i]!)) return true;
  return false;
}

export function claimMatches(match: CompiledClaimMatch, identity: Identity): boolean {
  return valueIn(resolveClaim(identity.claims, match.path), match.values);
}
