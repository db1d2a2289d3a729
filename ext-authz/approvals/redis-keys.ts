import { createHash } from 'node:crypto';
import type { ApprovalStore } from './types.ts';

type RequestKey = Parameters<ApprovalStore['findPending']>[0];
type WindowKey = Omit<RequestKey, 'method' | 'path'>;

/**
 * Where the Redis store keeps things, all under one prefix so several deployments (or test runs)
 * can share a Redis and an operator can find or drop everything with one SCAN pattern.
 *
 *   <p>approval:<id>           request JSON; PX until it can no longer be decided (or its window grant ends)
 *   <p>approvals:pending       sorted set id → expiresAt, for list({ status: 'pending' })
 *   <p>approvals:all           sorted set id → keep-until, for list() and cleanup()
 *   <p>lookup:<sha256>         id of the pending request for issuer/subject/target/rule/method/path
 *   <p>grant:w:<iss>:<sub>:<target>:<rule>   window grant JSON, PX until it ends
 *   <p>grant:r:<sha256>        request-scope grant JSON, taken with GETDEL
 *   <p>grants                  sorted set grant key → expiresAt, for cleanup()
 *   <p>approvals:decided       pub/sub channel; the message is a decided approval's id
 *
 * Paths can carry query strings and those can carry secrets, so anything that includes the path
 * goes into a key only as a hash. Window-grant keys stay readable (an operator can see whose
 * access is open); their parts are URI-encoded so a ':' inside a subject cannot forge another key.
 */
export class RedisApprovalKeys {
  readonly pendingIndex: string;
  readonly allIndex: string;
  readonly grantIndex: string;
  readonly decidedChannel: string;

  constructor(readonly prefix: string) {
    this.pendingIndex = `${prefix}approvals:pending`;
    this.allIndex = `${prefix}approvals:all`;
    this.grantIndex = `${prefix}grants`;
    this.decidedChannel = `${prefix}approvals:decided`;
  }

  request(id: string): string {
    return `${this.prefix}approval:${id}`;
  }

  pendingLookup(key: RequestKey): string {
    return `${this.prefix}lookup:${digest(key)}`;
  }

  windowGrant(key: WindowKey): string {
    return `${this.prefix}grant:w:${[key.issuer, key.subject, key.target, key.rule].map(encodeURIComponent).join(':')}`;
  }

  requestGrant(key: RequestKey): string {
    return `${this.prefix}grant:r:${digest(key)}`;
  }
}

function digest(key: RequestKey): string {
  // JSON quoting keeps the fields apart whatever they contain.
  return createHash('sha256').update(JSON.stringify([key.issuer, key.subject, key.target, key.rule, key.method, key.path])).digest('hex');
}
