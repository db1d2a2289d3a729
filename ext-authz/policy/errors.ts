import { SluiceError } from '../../common/errors.ts';
import type { PolicyIssue } from './types.ts';

export type PolicyErrorCode = 'ERR_POLICY_INVALID' | 'ERR_POLICY_DIR_UNREADABLE';

/**
 * A policy bundle that cannot be used. It carries every issue found, across all files, so an
 * author fixes them in one pass instead of one reload per mistake.
 */
export class PolicyError extends SluiceError {
  readonly issues: readonly PolicyIssue[];

  constructor(
    issues: readonly PolicyIssue[],
    options: { code?: PolicyErrorCode; summary?: string; cause?: unknown } = {},
  ) {
    const code = options.code ?? 'ERR_POLICY_INVALID';
    const summary =
      options.summary ?? `policy bundle is invalid (${issues.length} issue${issues.length === 1 ? '' : 's'})`;
    super(code, [summary, ...issues.map(formatIssue)].join('\n  '), {
      cause: options.cause,
      details: { issues },
    });
    this.issues = Object.freeze(issues.map((issue) => Object.freeze({ ...issue })));
  }
}

/**
 * The directory (or a file in it) could not be read. A subclass of PolicyError so the store can
 * treat "cannot read" like "cannot parse": keep the last good bundle and report where.
 */
export class PolicyDirUnreadableError extends PolicyError {
  constructor(path: string, cause: unknown) {
    const reason = cause instanceof Error ? ((cause as NodeJS.ErrnoException).code ?? cause.message) : String(cause);
    super([{ file: path, line: 0, column: 0, path: '', message: `cannot read: ${reason}` }], {
      code: 'ERR_POLICY_DIR_UNREADABLE',
      summary: 'policy directory is unreadable',
      cause,
    });
  }
}

/** `file:line:col path: message`; line 0 means "the file as a whole". */
export function formatIssue(issue: PolicyIssue): string {
  const where = issue.line > 0 ? `${issue.file}:${issue.line}:${issue.column}` : issue.file;
  return issue.path === '' ? `${where}: ${issue.message}` : `${where} ${issue.path}: ${issue.message}`;
}
