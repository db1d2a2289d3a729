import type { Identity } from '../identity/types.ts';
import { compilePolicySources } from './compile-sources.ts';
import type { CompiledPolicySet } from './policy-set.ts';
import type { AccessRequest } from './types.ts';

/*
 * Builders shared by this folder's tests (not exported from index.ts).
 */

/** Compiles `{ fileName: yamlText }` in the given order. */
export function compileYaml(files: Record<string, string>): CompiledPolicySet {
  return compilePolicySources(Object.entries(files).map(([file, text]) => ({ file, text })));
}

export function identity(overrides: Partial<Identity> = {}): Identity {
  const subject = overrides.subject ?? 'alice';
  const groups = overrides.groups ?? [];
  return {
    issuerName: 'dev',
    issuer: 'https://dev.example',
    subject,
    groups,
    claims: { sub: subject, groups: [...groups] },
    expiresAt: 2_000_000_000,
    ...overrides,
  };
}

export function request(overrides: Partial<AccessRequest> = {}): AccessRequest {
  return {
    identity: identity(),
    target: 'demo-api',
    method: 'GET',
    path: '/',
    headers: {},
    ...overrides,
  };
}
