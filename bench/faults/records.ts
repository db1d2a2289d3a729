import { setTimeout as sleep } from 'node:timers/promises';
import { FileSessionStore, PostgresSessionStore, httpRequestOf, httpResponseOf, type SessionRecord, type SessionStore } from '../../ext-proc/sessions/index.ts';
import type { SessionsConfig } from './world.ts';

/** What a record says the caller got, by the request's rid (from the recorded path's query). */
export type RecordedStatus = Map<string, number | null>;

async function openStore(sessions: SessionsConfig): Promise<SessionStore> {
  return sessions.store === 'file'
    ? FileSessionStore.open({ dir: sessions.dir, readOnly: true })
    : PostgresSessionStore.connect({ connectionString: sessions.databaseUrl, readOnly: true, poolSize: 1 });
}

function ridOf(record: SessionRecord): string | undefined {
  const request = httpRequestOf(record);
  return request ? new URL(request.path, 'http://x').searchParams.get('rid') ?? undefined : undefined;
}

/** Every record in the store started at or after `from`, read page by page. */
export async function recordedSince(sessions: SessionsConfig, from: number): Promise<RecordedStatus> {
  const store = await openStore(sessions);
  const out: RecordedStatus = new Map();
  try {
    let cursor: string | undefined;
    do {
      const page = await store.list({ from, limit: 1000, ...(cursor ? { cursor } : {}) });
      for (const record of page.records) {
        const rid = ridOf(record);
        if (rid !== undefined) out.set(rid, httpResponseOf(record)?.status ?? null);
      }
      cursor = page.nextCursor;
    } while (cursor);
  } finally {
    await store.close();
  }
  return out;
}

/**
 * Waits (up to `timeoutMs`) until every expected rid has a record saying the status its caller
 * got; resolves with the rids still missing or recorded with another status. The recording queue
 * writes in the background, so records of the last requests may need a moment.
 */
export async function missingRecords(sessions: SessionsConfig, from: number, expected: Map<string, number>, timeoutMs: number): Promise<{ rid: string; recorded: number | null | undefined }[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const recorded = await recordedSince(sessions, from).catch(() => new Map() as RecordedStatus);
    const missing = [...expected].filter(([rid, status]) => recorded.get(rid) !== status).map(([rid]) => ({ rid, recorded: recorded.get(rid) }));
    if (missing.length === 0 || Date.now() > deadline) return missing;
    await sleep(1000);
  }
}
