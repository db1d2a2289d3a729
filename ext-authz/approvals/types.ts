/**
 * Just-in-time approval: the shapes shared by the policy engine (which says an action needs
 * approval), the authorizer (which pauses the request), the stores (memory, Redis) and the
 * approvals API. All times are milliseconds since the epoch.
 */

/** What a policy's `approve` rule asks for (compiled from the policy file). */
export interface ApprovalSpec {
  /** Groups whose members may approve or deny. */
  approverGroups: readonly string[];
  /**
   * How many approvals: `any` = one approval from any approver; `{ min: n }` = n approvals from
   * n distinct approvers; `every-group` = at least one approver from every listed group.
   */
  quorum: 'any' | 'every-group' | { min: number };
  /** What an approval grants: this one request, or subject+target+rule for a window. */
  grant: { scope: 'request' } | { scope: 'window'; windowMs: number };
  /** How long the live request is held waiting for a decision. */
  holdMs: number;
  /** How long a pending request can still be decided. */
  pendingTtlMs: number;
}

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired';

export interface ApprovalVote {
  /** The approver's subject. */
  approver: string;
  /**
   * The approver's issuer name: like the requester, an approver is the issuer + subject pair, so
   * the same subject string from two issuers is two people. Always written by the stores; optional
   * only so that votes built before this field existed still type-check.
   */
  issuer?: string;
  /** The approver's groups at the time of the vote (for every-group quorum). */
  groups: readonly string[];
  approve: boolean;
  reason: string;
  at: number;
}

export interface ApprovalRequest {
  id: string;
  status: ApprovalStatus;
  /** Requester: issuer name + subject (the pair is the identity). */
  issuer: string;
  subject: string;
  target: string;
  method: string;
  path: string;
  /** `policy/rule` that asked for approval. */
  rule: string;
  /** The caller's `x-sluice-reason` header, if any (trimmed, capped). */
  reason: string;
  spec: ApprovalSpec;
  votes: readonly ApprovalVote[];
  createdAt: number;
  expiresAt: number;
  /** When the status left `pending`. */
  decidedAt: number | null;
  /** The deciding approver's reason (for a denial, shown to the requester). */
  decisionReason: string | null;
  /**
   * When the held caller gave up while the request was pending (Envoy cancelled its check): the
   * approver then knows nobody is waiting, and an approval only serves the caller's retry.
   * Absent while a caller waits (and on records that predate the field).
   */
  callerLeftAt?: number;
  /** A database statement's approval: who runs what where (absent for HTTP requests). */
  database?: ApprovalDatabase;
}

/** What approvers see of a database statement: the normalized text (constants as $n), never the values. */
export interface ApprovalDatabase {
  /** Database user the session is logged in as. */
  user: string;
  /** Database name. */
  name: string;
  statement: string;
}

/** A standing permission created by an approval. */
export interface ApprovalGrant {
  approvalId: string;
  issuer: string;
  subject: string;
  target: string;
  rule: string;
  /** For `request` scope the grant is single-use and bound to method + path. */
  scope: 'request' | 'window';
  method: string;
  path: string;
  expiresAt: number;
}

export interface ApprovalFilter {
  status?: ApprovalStatus;
  subject?: string;
  target?: string;
  limit?: number;
}

/** Who is voting, as verified from their own token. */
export interface Approver {
  issuer: string;
  subject: string;
  groups: readonly string[];
}

/**
 * Pending approvals and grants. One interface, two implementations (memory, Redis) that pass one
 * shared test suite. Every method may throw ApprovalError; ERR_APPROVAL_STORE_UNAVAILABLE when
 * the backing store cannot be reached (callers fail closed).
 */
export interface ApprovalStore {
  /** Stores a new pending request. */
  create(request: ApprovalRequest): Promise<void>;
  get(id: string): Promise<ApprovalRequest | undefined>;
  list(filter: ApprovalFilter): Promise<ApprovalRequest[]>;
  /** A still-pending request of the same subject for the same target, rule, method and path. */
  findPending(key: { issuer: string; subject: string; target: string; rule: string; method: string; path: string }, now: number): Promise<ApprovalRequest | undefined>;
  /**
   * Records a vote atomically and returns the updated request. Errors: ERR_APPROVAL_NOT_FOUND,
   * ERR_APPROVAL_EXPIRED, ERR_APPROVAL_ALREADY_DECIDED, ERR_APPROVAL_SELF,
   * ERR_APPROVAL_NOT_APPROVER, ERR_APPROVAL_DUPLICATE_VOTE. When the vote completes the quorum
   * (or denies), the status changes, a grant is written, and waiters everywhere are woken.
   */
  vote(id: string, approver: Approver, approve: boolean, reason: string, now: number): Promise<ApprovalRequest>;
  /**
   * Records that the caller held on this request gave up at `at`, and returns the updated request;
   * undefined when it is unknown or no longer pending (then there is nothing to tell approvers).
   * Leaves no grant and wakes no waiter: the request stays pending, and an approval still becomes
   * the grant the caller's retry takes.
   */
  markCallerLeft(id: string, at: number): Promise<ApprovalRequest | undefined>;
  /**
   * Takes a grant that covers this request: a window grant is returned and kept; a request-scope
   * grant is consumed (returned once).
   */
  takeGrant(key: { issuer: string; subject: string; target: string; rule: string; method: string; path: string }, now: number): Promise<ApprovalGrant | undefined>;
  /**
   * Resolves with the request once it is no longer pending (approved, denied or expired), or with
   * undefined when `signal` aborts. Must cost no CPU while waiting (no polling loops), and must
   * see decisions made through another replica (Redis pub/sub).
   */
  waitForDecision(id: string, signal: AbortSignal): Promise<ApprovalRequest | undefined>;
  /** Removes expired requests and grants; returns how many were removed. */
  cleanup(now: number): Promise<number>;
  close(): Promise<void>;
}
