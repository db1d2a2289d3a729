export type { CapturedBody, RecordedMessage, SessionEvent, SessionFilter, SessionPage, SessionRecord, SessionStore, SessionTimings } from './types.ts';
export { SESSION_ERROR_CODES, SessionError, isSessionError, type SessionErrorCode } from './errors.ts';
export { BodyCapture, DEFAULT_BODY_CAP_BYTES, bodyBytes, encodeBody } from './body-capture.ts';
export { ALWAYS_REDACTED_HEADERS, DEFAULT_MAX_BODY_BYTES, REDACTED, checkRecord, isSessionId, prepareRecord, redactHeaders, type RecordPolicyOptions } from './prepare-record.ts';
export { DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT } from './list-query.ts';
export { FileSessionStore, type FileSessionStoreOptions } from './file-store.ts';
export { PostgresSessionStore, type PostgresSessionStoreOptions } from './postgres-store.ts';
export { RecordingQueue, type RecordingQueueOptions, type RecordingQueueStats } from './queue.ts';
