export { registerSessionsApi, type SessionsApiDeps } from './api.ts';
export { compileReaders, type SessionReader } from './readers.ts';
export { DEFAULT_SESSIONS_LIMIT, MAX_SESSIONS_LIMIT, parseSessionQuery } from './query.ts';
