export type {
  BodyEvent, CapturedBody, EndEvent, ErrorEvent, HttpRequestEvent, HttpResponseEvent, RecordedHeaders, SessionEvent, SessionEventKind, SessionFilter, SessionOutcome,
  SessionPage, SessionProtocol, SessionRecord, SessionStore, RecordedCredential, SecretRef, MaskingSummary, DirectionMasking,
} from './types.ts';
export { SESSION_OUTCOMES, SESSION_PROTOCOLS } from './types.ts';
export { SESSION_ERROR_CODES, SessionError, isSessionError, type SessionErrorCode } from './errors.ts';
export { BodyCapture, DEFAULT_BODY_CAP_BYTES, bodyBytes, encodeBody } from './body-capture.ts';
export { httpRequestOf, httpResponseOf, httpSummary } from './http-events.ts';
export { upgradeRecord, type SessionRecordV1 } from './upgrade-record.ts';
export { ALWAYS_REDACTED_HEADERS, DEFAULT_MAX_BODY_BYTES, REDACTED, checkRecord, isSessionId, prepareRecord, redactHeaders, type RecordPolicyOptions } from './prepare-record.ts';
export { DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT } from './list-query.ts';
export { FileSessionStore, type FileSessionStoreOptions } from './file-store.ts';
export { PostgresSessionStore, type PostgresSessionStoreOptions } from './postgres-store.ts';
export { RecordingQueue, type RecordingQueueOptions, type RecordingQueueStats } from './queue.ts';
