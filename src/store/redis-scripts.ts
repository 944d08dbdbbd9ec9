/**
 * The Lua scripts of the Redis store: each one is a single atomic step on the server, so that
 * concurrent sidecars (and concurrent requests of one) never interleave inside a change.
 *
 * Every script takes the key prefix as ARGV[1] and derives its keys from it:
 * - `users` hash id → user JSON, `usernames` hash username → id;
 * - `family:<familyId>` one session (refresh-token family) as JSON: its current token hash,
 *   generation, the user's session version it started under, and revokedAt once ended; it expires
 *   (PEXPIREAT) with its current token;
 * - `user-families:<userId>` sorted set of the user's live families by start time, kept until its
 *   latest family expires;
 * - `revoked:<id>` an access-token id or session id refused until its expiresAt;
 * - `events` the pub/sub channel each change is published on, in the same step.
 * Keys are built inside the scripts, so the store runs on one Redis server (not Redis Cluster).
 * Ending a family or a user's sessions writes one key (or bumps one number): nothing walks the
 * rotations a family went through, since no record of them is kept.
 */

/** Shared helpers, prepended to the scripts that need them. */
const HELPERS = `
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Keeps a key alive until at least expiresAt.
local function extendTo(key, expiresAt)
  local ttl = redis.call('PTTL', key)
  if ttl < 0 or nowMs() + ttl < expiresAt then redis.call('PEXPIREAT', key, expiresAt) end
end

-- Refuses an id (access token or session) until expiresAt, on every replica.
local function refuse(p, id, expiresAt)
  local key = p .. 'revoked:' .. id
  local known = tonumber(redis.call('GET', key) or '0')
  if known > expiresAt then expiresAt = known end
  redis.call('SET', key, expiresAt)
  redis.call('PEXPIREAT', key, expiresAt)
  redis.call('PUBLISH', p .. 'events', cjson.encode({ type = 'revoked', id = id, expiresAt = expiresAt }))
end

-- Ends a family by one flag; its record stays until it expires, so its tokens read as revoked.
local function endFamily(p, family, at, refuseUntil)
  family.revokedAt = at
  redis.call('SET', p .. 'family:' .. family.familyId, cjson.encode(family), 'KEEPTTL')
  redis.call('ZREM', p .. 'user-families:' .. family.userId, family.familyId)
  refuse(p, family.familyId, refuseUntil)
end

-- Stored users' JSON with the roles spliced in: cjson would encode an empty array as an object.
local function encodeUser(user)
  local roles = '[]'
  if #user.roles > 0 then roles = cjson.encode(user.roles) end
  user.roles = nil
  local body = cjson.encode(user)
  return string.sub(body, 1, -2) .. ',"roles":' .. roles .. '}'
end
`;

/** ARGV: prefix, id, username, user JSON. Returns 1 when created, 0 when the name is taken. */
const CREATE_USER = `
local p = ARGV[1]
if redis.call('HSETNX', p .. 'usernames', ARGV[3], ARGV[2]) == 0 then return 0 end
redis.call('HSET', p .. 'users', ARGV[2], ARGV[4])
redis.call('PUBLISH', p .. 'events', cjson.encode({ type = 'user', id = ARGV[2], disabled = false, tokenVersion = 0 }))
return 1
`;

/**
 * ARGV: prefix, id, changes JSON ({disabled?, passwordHash?}), roles JSON or '' (unchanged),
 * '1' to end sessions. Returns the updated user JSON, or nil when there is no such user. Ending the
 * sessions bumps the session version: no family started under the old one rotates again.
 */
const UPDATE_USER = `${HELPERS}
local p, id = ARGV[1], ARGV[2]
local current = redis.call('HGET', p .. 'users', id)
if not current then return false end
local user = cjson.decode(current)
local changes = cjson.decode(ARGV[3])
if changes.disabled ~= nil then user.disabled = changes.disabled end
if changes.passwordHash ~= nil then user.passwordHash = changes.passwordHash end
if user.disabled == nil then user.disabled = false end
user.tokenVersion = (user.tokenVersion or 0) + 1
user.sessionVersion = user.sessionVersion or 0
if ARGV[5] == '1' then user.sessionVersion = user.sessionVersion + 1 end
local updated
if ARGV[4] == '' then
  updated = encodeUser(user)
else
  user.roles = nil
  local body = cjson.encode(user)
  updated = string.sub(body, 1, -2) .. ',"roles":' .. ARGV[4] .. '}'
end
redis.call('HSET', p .. 'users', id, updated)
redis.call('PUBLISH', p .. 'events', cjson.encode({
  type = 'user', id = id, disabled = user.disabled, tokenVersion = user.tokenVersion,
}))
return updated
`;

/**
 * ARGV: prefix, id, expected hash, next hash. Replaces the password hash only if it is still the
 * expected one; the token version stays and nothing is published (the session state is unchanged).
 * Returns 1 when replaced.
 */
const REPLACE_PASSWORD_HASH = `${HELPERS}
local p, id = ARGV[1], ARGV[2]
local current = redis.call('HGET', p .. 'users', id)
if not current then return 0 end
local user = cjson.decode(current)
if user.passwordHash ~= ARGV[3] then return 0 end
user.passwordHash = ARGV[4]
redis.call('HSET', p .. 'users', id, encodeUser(user))
return 1
`;

/** ARGV: prefix, id. Deletes the user and every session of theirs; 1 when deleted. */
const DELETE_USER = `
local p, id = ARGV[1], ARGV[2]
local current = redis.call('HGET', p .. 'users', id)
if not current then return 0 end
local user = cjson.decode(current)
redis.call('HDEL', p .. 'users', id)
if redis.call('HGET', p .. 'usernames', user.username) == id then
  redis.call('HDEL', p .. 'usernames', user.username)
end
for _, familyId in ipairs(redis.call('ZRANGE', p .. 'user-families:' .. id, 0, -1)) do
  redis.call('DEL', p .. 'family:' .. familyId)
end
redis.call('DEL', p .. 'user-families:' .. id)
redis.call('PUBLISH', p .. 'events', cjson.encode({ type = 'user-deleted', id = id }))
return 1
`;

/**
 * ARGV: prefix, userId, expected token version, familyId, token hash, expiresAt, max families,
 * refuse-access-until, now. Starts the family only while the user is enabled and at the expected
 * token version (read before the password check); past max families the oldest end. Returns
 * {user JSON, evicted family ids...}, or false when the user is gone, disabled or changed.
 */
const START_FAMILY = `${HELPERS}
local p, userId, familyId = ARGV[1], ARGV[2], ARGV[4]
local expiresAt, maxFamilies, refuseUntil, at =
  tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local text = redis.call('HGET', p .. 'users', userId)
if not text then return false end
local user = cjson.decode(text)
if user.disabled or (user.tokenVersion or 0) ~= tonumber(ARGV[3]) then return false end
local index = p .. 'user-families:' .. userId
local reply = { text }
while redis.call('ZCARD', index) >= maxFamilies do
  local oldest = redis.call('ZRANGE', index, 0, 0)[1]
  redis.call('ZREM', index, oldest)
  local stored = redis.call('GET', p .. 'family:' .. oldest)
  if stored then
    local family = cjson.decode(stored)
    if family.revokedAt == nil then endFamily(p, family, at, refuseUntil) end
  end
  table.insert(reply, oldest)
end
local key = p .. 'family:' .. familyId
redis.call('SET', key, cjson.encode({
  familyId = familyId, userId = userId, tokenHash = ARGV[5], generation = 0,
  sessionVersion = user.sessionVersion or 0, startedAt = at, expiresAt = expiresAt,
}))
redis.call('PEXPIREAT', key, expiresAt)
-- Scored by start time, ties broken by order of arrival: the oldest is the first to go.
local score = at
local last = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')[2]
if last and tonumber(last) >= score then score = tonumber(last) + 1 end
redis.call('ZADD', index, score, familyId)
extendTo(index, expiresAt)
return reply
`;

/**
 * ARGV: prefix, familyId, token hash, next hash, next expiresAt, refuse-access-until, now.
 * Returns {'rotated', user JSON, familyId}, {'reused', userId, familyId} or {'rejected', reason};
 * the checks run in the order of the lowdb store.
 */
const ROTATE = `${HELPERS}
local p, familyId, at = ARGV[1], ARGV[2], tonumber(ARGV[7])
local key = p .. 'family:' .. familyId
local text = redis.call('GET', key)
if not text then return { 'rejected', 'unknown' } end
local family = cjson.decode(text)
if family.revokedAt ~= nil then return { 'rejected', 'revoked' } end
if family.expiresAt <= at then return { 'rejected', 'expired' } end
local userText = redis.call('HGET', p .. 'users', family.userId)
if not userText then return { 'rejected', 'unknown' } end
local user = cjson.decode(userText)
if user.disabled or (user.sessionVersion or 0) ~= family.sessionVersion then
  return { 'rejected', 'revoked' }
end
if family.tokenHash ~= ARGV[3] then
  endFamily(p, family, at, tonumber(ARGV[6]))
  return { 'reused', family.userId, familyId }
end
family.tokenHash = ARGV[4]
family.generation = family.generation + 1
family.expiresAt = tonumber(ARGV[5])
redis.call('SET', key, cjson.encode(family))
redis.call('PEXPIREAT', key, family.expiresAt)
extendTo(p .. 'user-families:' .. family.userId, family.expiresAt)
return { 'rotated', userText, familyId }
`;

/** ARGV: prefix, familyId. The user id of a live family, or false. */
const OWNER_OF = `
local text = redis.call('GET', ARGV[1] .. 'family:' .. ARGV[2])
if not text then return false end
local family = cjson.decode(text)
if family.revokedAt ~= nil then return false end
return family.userId
`;

/** ARGV: prefix, familyId, userId, refuse-access-until, now. 1 when the family was the user's. */
const REVOKE_FAMILY = `${HELPERS}
local p = ARGV[1]
local text = redis.call('GET', p .. 'family:' .. ARGV[2])
if not text then return 0 end
local family = cjson.decode(text)
if family.userId ~= ARGV[3] then return 0 end
if family.revokedAt == nil then endFamily(p, family, tonumber(ARGV[5]), tonumber(ARGV[4])) end
return 1
`;

/** ARGV: prefix, token id, expiresAt. */
const REVOKE_ACCESS_TOKEN = `${HELPERS}
refuse(ARGV[1], ARGV[2], tonumber(ARGV[3]))
return 1
`;

/**
 * `store migrate`. ARGV: prefix, id, username, user JSON, tokenVersion. Every change bumps a
 * user's token version, so the copy with the higher one is the newer: a re-run brings over what
 * changed in the source since, and never rolls back what changed in Redis. Returns 'copied',
 * 'updated', 'current', or 'conflict' when the name belongs to another user here.
 */
const IMPORT_USER = `
local p, id, name, body, version = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local owner = redis.call('HGET', p .. 'usernames', name)
if owner and owner ~= id then return 'conflict' end
local current = redis.call('HGET', p .. 'users', id)
local outcome = 'copied'
if current then
  local user = cjson.decode(current)
  if user.username ~= name then return 'conflict' end
  if (user.tokenVersion or 0) >= version then return 'current' end
  outcome = 'updated'
end
redis.call('HSET', p .. 'usernames', name, id)
redis.call('HSET', p .. 'users', id, body)
local user = cjson.decode(body)
redis.call('PUBLISH', p .. 'events', cjson.encode({
  type = 'user', id = id, disabled = user.disabled, tokenVersion = user.tokenVersion,
}))
return outcome
`;

/**
 * `store migrate`. ARGV: prefix, family JSON, familyId, userId, startedAt, expiresAt, generation.
 * A family already here is replaced only by a copy that rotated further, and keeps an end it
 * has here. Returns 'copied', 'updated', 'current', or 'orphan' when its user is not here.
 */
const IMPORT_FAMILY = `${HELPERS}
local p, familyId, userId = ARGV[1], ARGV[3], ARGV[4]
local startedAt, expiresAt, generation = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
if redis.call('HEXISTS', p .. 'users', userId) == 0 then return 'orphan' end
local key = p .. 'family:' .. familyId
local outcome = 'copied'
local known = redis.call('GET', key)
if known then
  local family = cjson.decode(known)
  if family.revokedAt ~= nil or family.generation >= generation then return 'current' end
  outcome = 'updated'
end
redis.call('SET', key, ARGV[2])
redis.call('PEXPIREAT', key, expiresAt)
redis.call('ZADD', p .. 'user-families:' .. userId, startedAt, familyId)
extendTo(p .. 'user-families:' .. userId, expiresAt)
return outcome
`;

/** `store migrate`. ARGV: prefix, token id, expiresAt. Returns 'copied' or 'current'. */
const IMPORT_REVOCATION = `
local p, key = ARGV[1], ARGV[1] .. 'revoked:' .. ARGV[2]
if redis.call('EXISTS', key) == 1 then return 'current' end
redis.call('SET', key, ARGV[3])
redis.call('PEXPIREAT', key, ARGV[3])
redis.call('PUBLISH', p .. 'events', cjson.encode({ type = 'revoked', id = ARGV[2], expiresAt = tonumber(ARGV[3]) }))
return 'copied'
`;

export const REDIS_IMPORT_SCRIPTS = {
  authSidecarImportUser: IMPORT_USER,
  authSidecarImportFamily: IMPORT_FAMILY,
  authSidecarImportRevocation: IMPORT_REVOCATION,
} as const;

export type RedisImportScriptName = keyof typeof REDIS_IMPORT_SCRIPTS;

export const REDIS_SCRIPTS = {
  authSidecarCreateUser: CREATE_USER,
  authSidecarUpdateUser: UPDATE_USER,
  authSidecarDeleteUser: DELETE_USER,
  authSidecarReplacePasswordHash: REPLACE_PASSWORD_HASH,
  authSidecarStartFamily: START_FAMILY,
  authSidecarRotate: ROTATE,
  authSidecarOwnerOf: OWNER_OF,
  authSidecarRevokeFamily: REVOKE_FAMILY,
  authSidecarRevokeAccessToken: REVOKE_ACCESS_TOKEN,
} as const;
