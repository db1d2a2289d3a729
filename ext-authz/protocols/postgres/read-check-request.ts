import { readPostgresCheckRequest } from '../../../common/postgres-check.ts';
import type { CheckInput } from '../../check-input.ts';
import type { CheckRequestMessage } from '../adapter.ts';
import { analyzeStatement } from './statement.ts';

/**
 * A CheckRequest from ext-proc's PostgreSQL processor as the neutral input. The statement is
 * analysed here, once: the policy, the approval key, the decision log and the answer all read the
 * same analysis.
 */
export function readPostgresCheck(request: CheckRequestMessage): CheckInput {
  const check = readPostgresCheckRequest(request);
  return {
    protocol: 'postgres',
    // The processor's session id identifies the exchange; there is no per-check request id.
    requestId: '',
    target: check.target,
    credential: { kind: 'bearer', authorization: check.authorization },
    action: {
      kind: 'postgres',
      phase: check.phase,
      user: check.user,
      database: check.database,
      sessionId: check.sessionId,
      statement: check.statement === null ? null : { ...check.statement, analysis: analyzeStatement(check.statement.text) },
      malformed: check.problem,
    },
    sourceAddress: check.sourceAddress,
    holdBudgetMs: check.holdBudgetMs,
    reason: '',
  };
}
