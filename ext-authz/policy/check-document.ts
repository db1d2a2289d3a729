import type { RawCondition, RawDocument } from './raw.ts';
import type { DocumentProblem } from './validate-document.ts';

const SOURCES = ['claim', 'header', 'sourceAddress'] as const;
const OPERATORS = ['equals', 'in', 'matches', 'present'] as const;

/**
 * Identity headers are set on the upstream request with overwrite semantics. Letting a policy
 * overwrite these would let it forge credentials or break HTTP framing, so they are refused.
 */
const RESERVED_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'host',
  'content-length',
  'content-type',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'upgrade',
]);

/**
 * Rules the schema cannot express clearly, checked within one schema-valid document: exactly one
 * source and one operator per condition, rule names unique within their policy, no reserved or
 * case-duplicated identity headers. Cross-file checks (names, target references) are compile's.
 */
export function checkDocument(doc: RawDocument): DocumentProblem[] {
  const problems: DocumentProblem[] = [];
  (doc.policies ?? []).forEach((policy, p) => {
    const base = `/policies/${p}`;
    const seenRules = new Set<string>();
    policy.rules.forEach((rule, r) => {
      if (seenRules.has(rule.name)) {
        problems.push({ path: `${base}/rules/${r}/name`, atKey: false, message: `duplicate rule name "${rule.name}" in policy "${policy.name}"` });
      }
      seenRules.add(rule.name);
      if (rule.effect === 'approve' && rule.approval === undefined) {
        problems.push({ path: `${base}/rules/${r}`, atKey: false, message: 'an approve rule needs an approval block (approvers, quorum, grant, hold)' });
      }
      if (rule.effect !== 'approve' && rule.approval !== undefined) {
        problems.push({ path: `${base}/rules/${r}/approval`, atKey: true, message: `approval only applies to effect approve, not ${rule.effect}` });
      }
      const http = rule.methods !== undefined || rule.paths !== undefined;
      if (http && (rule.statements !== undefined || rule.tables !== undefined)) {
        problems.push({ path: `${base}/rules/${r}`, atKey: false, message: 'a rule is for HTTP (methods, paths) or for database statements (statements, tables), not both' });
      }
      if (rule.tables !== undefined && rule.statements === undefined) {
        problems.push({ path: `${base}/rules/${r}/tables`, atKey: true, message: 'tables needs statements: say which statement classes or commands the rule covers (e.g. statements: [read])' });
      }
      (rule.when ?? []).forEach((condition, c) => checkCondition(condition, `${base}/rules/${r}/when/${c}`, problems));
    });
    const seenHeaders = new Set<string>();
    for (const name of Object.keys(policy.identityHeaders ?? {})) {
      const lower = name.toLowerCase();
      const path = `${base}/identityHeaders/${name.replaceAll('~', '~0').replaceAll('/', '~1')}`;
      if (RESERVED_HEADERS.has(lower)) {
        problems.push({ path, atKey: true, message: `"${name}" cannot be set as an identity header` });
      } else if (seenHeaders.has(lower)) {
        problems.push({ path, atKey: true, message: `identity header "${name}" is listed twice (header names ignore case)` });
      }
      seenHeaders.add(lower);
    }
  });
  return problems;
}

function checkCondition(condition: RawCondition, path: string, problems: DocumentProblem[]): void {
  const sources = SOURCES.filter((key) => condition[key] !== undefined);
  if (sources.length !== 1) {
    problems.push({
      path,
      atKey: false,
      message: `a condition needs exactly one of claim, header, sourceAddress (found ${sources.length === 0 ? 'none' : sources.join(', ')})`,
    });
  }
  const operators = OPERATORS.filter((key) => condition[key] !== undefined);
  if (operators.length !== 1) {
    problems.push({
      path,
      atKey: false,
      message: `a condition needs exactly one of equals, in, matches, present (found ${operators.length === 0 ? 'none' : operators.join(', ')})`,
    });
  }
}
