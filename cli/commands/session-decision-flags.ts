import { parseRuleMatch, parseYesNo } from '../../ext-proc/sessions/decision-keys.ts';
import type { SessionFilter } from '../../ext-proc/sessions/types.ts';
import type { CliIo } from './io.ts';

export const DECISION_OPTIONS = {
  rule: { type: 'string' },
  approval: { type: 'string' },
  refusals: { type: 'string' },
} as const;

export const DECISION_HELP = `--rule         only sessions this rule let in: policy/rule exactly, or policy/* for any rule of the policy
--approval     yes: only sessions that waited for a just-in-time approval; no: only those that did not
--refusals     yes: only sessions where the gateway refused a database statement or a Redis command; no: sessions without one
`;

type DecisionValues = { rule?: string | undefined; approval?: string | undefined; refusals?: string | undefined };

/** The --rule/--approval/--refusals part of a list filter; undefined (the problem printed) for a bad value. */
export function decisionFilter(io: CliIo, values: DecisionValues): Pick<SessionFilter, 'rule' | 'approval' | 'refusals'> | undefined {
  const filter: Pick<SessionFilter, 'rule' | 'approval' | 'refusals'> = {};
  if (values.rule !== undefined) {
    if (parseRuleMatch(values.rule) === undefined) {
      io.err('sluice: --rule takes policy/rule or policy/* (any rule of the policy)\n');
      return undefined;
    }
    filter.rule = values.rule;
  }
  for (const flag of ['approval', 'refusals'] as const) {
    const value = values[flag];
    if (value === undefined) continue;
    const yes = parseYesNo(value);
    if (yes === undefined) {
      io.err(`sluice: --${flag} takes yes or no\n`);
      return undefined;
    }
    filter[flag] = yes;
  }
  return filter;
}
