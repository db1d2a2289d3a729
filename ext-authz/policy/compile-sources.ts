import { compilePolicies, type PolicyContext } from './compile.ts';
import { PolicyError } from './errors.ts';
import { parsePolicyFile } from './parse.ts';
import type { CompiledPolicySet } from './policy-set.ts';

export interface PolicySource {
  readonly file: string;
  readonly text: string;
}

/**
 * Parses and compiles policy texts given in load order. Syntax and schema issues of every file
 * are reported together; cross-file checks run once those are fixed, since a document that did
 * not parse would make them report phantom unknown targets.
 */
export function compilePolicySources(sources: readonly PolicySource[], context: PolicyContext = {}): CompiledPolicySet {
  const parsed = sources.map((source) => parsePolicyFile(source.file, source.text));
  const issues = parsed.flatMap((file) => file.issues);
  if (issues.length > 0) throw new PolicyError(issues);
  return compilePolicies(parsed, context);
}
