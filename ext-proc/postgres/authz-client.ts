import * as grpc from '@grpc/grpc-js';
import { decodePostgresCheckResponse, encodePostgresCheckRequest } from '../../common/postgres-check.ts';
import { authorizationService } from '../../common/protos.ts';
import type { PgAuthorizer, PgLoginRequest, PgStatementRequest, PgVerdict } from './authorizer.ts';

/** How long a login check may take (token verification may fetch a JWKS). */
const LOGIN_DEADLINE_MS = 10_000;
/** A statement check may also wait for an approver: its hold budget, plus this. */
const STATEMENT_SLACK_MS = 10_000;

/**
 * PgAuthorizer over ext-authz's Check RPC: the same service, verifier, policy files, approvals
 * and decision log that decide HTTP requests decide database logins and statements. The request
 * and response shapes are common/postgres-check.ts (one definition for both sides). A failed
 * call is a denial (fail closed), never an allow.
 */
export class PgAuthzClient implements PgAuthorizer {
  private readonly client: grpc.Client & { Check: Function };

  constructor(address: string) {
    const Authorization = authorizationService();
    this.client = new Authorization(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & { Check: Function };
  }

  login(request: PgLoginRequest): Promise<PgVerdict> {
    return this.check(encodePostgresCheckRequest({
      phase: 'login', target: request.target, user: request.user, database: request.database, token: request.token,
      sessionId: request.sessionId, ...(request.sourceAddress ? { sourceAddress: request.sourceAddress } : {}), holdBudgetMs: 0,
    }), LOGIN_DEADLINE_MS);
  }

  statement(request: PgStatementRequest): Promise<PgVerdict> {
    return this.check(encodePostgresCheckRequest({
      phase: 'statement', target: request.target, user: request.user, database: request.database, token: request.token,
      sessionId: request.sessionId, ...(request.sourceAddress ? { sourceAddress: request.sourceAddress } : {}),
      statement: { text: request.text, kind: request.kind }, holdBudgetMs: request.holdBudgetMs,
    }), request.holdBudgetMs + STATEMENT_SLACK_MS);
  }

  close(): void {
    this.client.close();
  }

  private check(message: unknown, deadlineMs: number): Promise<PgVerdict> {
    return new Promise((resolve) => {
      this.client.Check(message, { deadline: Date.now() + deadlineMs }, (err: grpc.ServiceError | null, response: unknown) => {
        if (err) {
          resolve({ allowed: false, code: 'ERR_PG_CHECK_FAILED', sqlstate: '08006', message: 'the gateway could not check this request with its authorizer; try again shortly' });
          return;
        }
        resolve(decodePostgresCheckResponse(response as never));
      });
    });
  }
}
