import { parseAllDocuments, stringify } from 'yaml';
import type { Identity } from '../identity/types.ts';
import type { PolicyContext, TargetFacts } from './compile.ts';
import { compilePolicySources, type PolicySource } from './compile-sources.ts';
import type { CompiledPolicySet } from './policy-set.ts';
import type { AccessRequest } from './types.ts';

/*
 * Builders shared by this folder's tests (not exported from index.ts). A fixture's `targets:`
 * entry may say `protocol: postgres` (sluice.yaml's targets will; see declaredTargets).
 */

/**
 * Splits test fixtures into what the operator declares in sluice.yaml and the policy files: a
 * top-level `targets:` list (name, masking) in a fixture becomes the context's declared targets
 * and is removed from the policy text. Line numbers of what remains are not preserved, so tests
 * that assert positions write their policy files without a targets block.
 */
export function splitFixtures(files: Record<string, string>, context: PolicyContext = {}): { sources: PolicySource[]; context: PolicyContext } {
  const targets = new Map<string, TargetFacts>(context.targets ?? []);
  let declared = context.targets !== undefined;
  const sources: PolicySource[] = [];
  for (const [file, text] of Object.entries(files)) {
    if (!/^targets:/m.test(text)) {
      sources.push({ file, text });
      continue;
    }
    const docs = parseAllDocuments(text);
    if ('empty' in docs || docs.some((doc) => doc.errors.length > 0)) {
      sources.push({ file, text });
      continue;
    }
    const kept: string[] = [];
    for (const doc of docs) {
      const value = (doc.toJS() ?? {}) as Record<string, unknown>;
      for (const t of (value.targets as { name: string; masking?: string; protocol?: string; grantable?: string[]; redisCommands?: 'auto' | 'on' | 'off' }[] | undefined) ?? []) {
        targets.set(t.name, { protocol: t.protocol ?? 'http', masking: t.masking ?? null, grantableRoles: t.grantable ? new Set(t.grantable) : null, ...(t.redisCommands ? { redisCommands: t.redisCommands } : {}) });
        declared = true;
      }
      delete value.targets;
      if (Object.keys(value).length > 0) kept.push(stringify(value));
    }
    sources.push({ file, text: kept.join('---\n') });
  }
  return { sources, context: declared ? { ...context, targets } : context };
}

/** Compiles `{ fileName: yamlText }` in the given order (targets blocks as sluice.yaml's). */
export function compileYaml(files: Record<string, string>, context: PolicyContext = {}): CompiledPolicySet {
  const split = splitFixtures(files, context);
  return compilePolicySources(split.sources, split.context);
}

/** A context declaring these targets (protocol http, no masking default). */
export function declaredTargets(...names: string[]): PolicyContext {
  return { targets: new Map(names.map((name) => [name, { protocol: 'http', masking: null }])) };
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
