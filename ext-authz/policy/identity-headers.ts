import type { Identity } from '../identity/types.ts';
import { resolveClaim } from './claim-path.ts';
import type { CompiledIdentityHeader } from './compiled.ts';

// Control characters in a claim could split or smuggle headers (CR/LF) or be rejected by Envoy.
const CONTROL = /[\u0000-\u001f\u007f]/;
const CONTROL_ALL = /[\u0000-\u001f\u007f]/g;

/**
 * The headers an allowing policy adds upstream, computed from the identity. `$subject` is `sub`,
 * `$issuer` the configured issuer name, `$groups` the groups joined with ","; anything else is a
 * claim path. Strings are used as is, numbers and booleans stringified, lists of those joined
 * with ","; a missing claim or an object value leaves the header out. Control characters,
 * including CR and LF, become spaces.
 */
export function computeIdentityHeaders(
  specs: readonly CompiledIdentityHeader[],
  identity: Identity,
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i]!;
    let value: string | undefined;
    switch (spec.kind) {
      case 'subject':
        value = identity.subject;
        break;
      case 'issuer':
        value = identity.issuerName;
        break;
      case 'groups':
        value = identity.groups.join(',');
        break;
      case 'claim':
        value = stringify(resolveClaim(identity.claims, spec.claim!));
        break;
    }
    if (value !== undefined) headers[spec.name] = CONTROL.test(value) ? value.replace(CONTROL_ALL, ' ') : value;
  }
  return headers;
}

function stringify(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'boolean':
      return String(value);
    default:
      if (!Array.isArray(value)) return undefined;
      if (!value.every((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) return undefined;
      return value.join(',');
  }
}
