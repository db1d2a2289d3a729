import { compileClaimPath } from './claim-path.ts';
import type { CompiledCondition, ConditionOperator, ConditionSource } from './compiled.ts';
import type { ClaimScalar, RawCondition } from './raw.ts';
import { compileValueGlob } from './value-glob.ts';

/** Turns one schema-checked `when:` entry (exactly one source, one operator) into a matcher. */
export function compileCondition(raw: RawCondition): CompiledCondition {
  const source: ConditionSource = raw.claim !== undefined ? 'claim' : raw.header !== undefined ? 'header' : 'sourceAddress';
  const operator: ConditionOperator =
    raw.equals !== undefined ? 'equals' : raw.in !== undefined ? 'in' : raw.matches !== undefined ? 'matches' : 'present';
  // Headers and addresses are strings on the wire; `equals: 1` in YAML must still match "1".
  const asWritten = (value: ClaimScalar): ClaimScalar => (source === 'claim' ? value : String(value));
  let values: Set<ClaimScalar> | null = null;
  if (operator === 'equals') values = new Set([asWritten(raw.equals!)]);
  if (operator === 'in') values = new Set(raw.in!.map(asWritten));
  const subject =
    source === 'claim' ? `claim ${raw.claim}` : source === 'header' ? `header ${raw.header!.toLowerCase()}` : 'sourceAddress';
  const operand =
    operator === 'present' ? String(raw.present) : JSON.stringify(operator === 'equals' ? raw.equals : operator === 'in' ? raw.in : raw.matches);
  return Object.freeze({
    source,
    claim: raw.claim === undefined ? null : compileClaimPath(raw.claim),
    header: raw.header === undefined ? '' : raw.header.toLowerCase(),
    operator,
    values,
    pattern: operator === 'matches' ? compileValueGlob(raw.matches!) : null,
    present: raw.present ?? false,
    description: `${subject} ${operator} ${operand}`,
  });
}
