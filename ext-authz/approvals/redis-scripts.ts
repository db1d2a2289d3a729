/**
 * Lua run inside Redis, where a script is atomic: no other client's command interleaves. The
 * approval rules themselves stay in TypeScript (rules.ts) so both stores share one definition;
 * the scripts only make "write this if nothing changed since I read it" atomic, together with the
 * index, grant and publish that go with it. That is optimistic concurrency without WATCH, whose
 * state lives on the connection and would be cleared by any other EXEC on the same shared client.
 */

/** KEYS: request, pending index, all index, lookup. ARGV: json, ttlMs, id, expiresAt, keepUntil. Returns 0 if the id exists. */
export const CREATE_REQUEST = `
if not redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 0 end
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[3])
redis.call('SET', KEYS[4], ARGV[3], 'PX', ARGV[2])
return 1
`;

/**
 * KEYS: request, pending index, all index, lookup, grant, grant index.
 * ARGV: expected json, new json, ttlMs, id, decided (1/0), keepUntil, grant json ('' for none),
 * grant ttlMs, grant expiresAt, decided channel.
 * Returns 0 when the stored request is not the one the vote was computed from (retry).
 */
export const COMMIT_VOTE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
if ARGV[5] == '1' then
  redis.call('ZREM', KEYS[2], ARGV[4])
  redis.call('ZADD', KEYS[3], ARGV[6], ARGV[4])
  if redis.call('GET', KEYS[4]) == ARGV[4] then redis.call('DEL', KEYS[4]) end
  if ARGV[7] ~= '' then
    redis.call('SET', KEYS[5], ARGV[7], 'PX', ARGV[8])
    redis.call('ZADD', KEYS[6], ARGV[9], KEYS[5])
  end
  redis.call('PUBLISH', ARGV[10], ARGV[4])
end
return 1
`;

/**
 * KEYS: request, all index, pending index, lookup. ARGV: id, now. Deletes a request whose keep-until
 * has passed (checked again here: a vote may have extended it since cleanup listed it). Returns 1 if deleted.
 */
export const DROP_REQUEST = `
local keep = redis.call('ZSCORE', KEYS[2], ARGV[1])
if keep and tonumber(keep) > tonumber(ARGV[2]) then return 0 end
local n = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
if redis.call('GET', KEYS[4]) == ARGV[1] then redis.call('DEL', KEYS[4]) end
return n
`;

/**
 * KEYS: grant, grant index. ARGV: now. Deletes the grant if it has ended; a newer grant written to
 * the same key since cleanup listed it is left alone. Returns 1 if deleted.
 */
export const DROP_GRANT = `
local raw = redis.call('GET', KEYS[1])
if not raw then
  redis.call('ZREM', KEYS[2], KEYS[1])
  return 0
end
local ok, grant = pcall(cjson.decode, raw)
if ok and type(grant) == 'table' and tonumber(grant.expiresAt) and tonumber(grant.expiresAt) > tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], KEYS[1])
return 1
`;
