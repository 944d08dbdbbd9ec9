/**
 * The Lua scripts of the Redis store: each one is a single atomic step on the server, so that
 * concurrent sidecars (and concurrent requests of one) never interleave inside a change.
 *
 * Every script takes the key prefix as ARGV[1] and derives its keys from it:
 * - `users` hash id → user JSON, `usernames` hash username → id;
 * - `rt:<hash>` one refresh token as JSON, expiring (PEXPIREAT) at its expiresAt;
 * - `family:<familyId>` the token hashes of a family, `user-families:<userId>` the families of a user,
 *   both kept until their last token expires;
 * - `revoked:<tokenId>` an access-token revocation, expiring at its expiresAt;
 * - `events` the pub/sub channel each change is published on, in the same step.
 * Keys are built inside the scripts, so the store runs on one Redis server (not Redis Cluster).
 */

/** Shared helpers, prepended to the scripts that need them. */
const HELPERS = `
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Keeps a set alive until the latest token it refers to expires.
local function extendTo(key, expiresAt)
  local ttl = redis.call('PTTL', key)
  if ttl < 0 or nowMs() + ttl < expiresAt then redis.call('PEXPIREAT', key, expiresAt) end
end

local function revokeFamily(p, familyId, at)
  for _, hash in ipairs(redis.call('SMEMBERS', p .. 'family:' .. familyId)) do
    local key = p .. 'rt:' .. hash
    local text = redis.call('GET', key)
    if text then
      local token = cjson.decode(text)
      if token.revokedAt == nil then
        token.revokedAt = at
        redis.call('SET', key, cjson.encode(token), 'KEEPTTL')
      end
    end
  end
end

local function addToken(p, hash, userId, familyId, issuedAt, expiresAt)
  local key = p .. 'rt:' .. hash
  redis.call('SET', key, cjson.encode({
    tokenHash = hash, userId = userId, familyId = familyId, issuedAt = issuedAt, expiresAt = expiresAt,
  }))
  redis.call('PEXPIREAT', key, expiresAt)
  redis.call('SADD', p .. 'family:' .. familyId, hash)
  extendTo(p .. 'family:' .. familyId, expiresAt)
  redis.call('SADD', p .. 'user-families:' .. userId, familyId)
  extendTo(p .. 'user-families:' .. userId, expiresAt)
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
 * '1' to end sessions, now. Returns the updated user JSON, or nil when there is no such user.
 * Roles are spliced in as JSON: cjson would encode an empty array as an object.
 */
const UPDATE_USER = `${HELPERS}
local p, id, at = ARGV[1], ARGV[2], tonumber(ARGV[6])
local current = redis.call('HGET', p .. 'users', id)
if not current then return false end
local user = cjson.decode(current)
local changes = cjson.decode(ARGV[3])
if changes.disabled ~= nil then user.disabled = changes.disabled end
if changes.passwordHash ~= nil then user.passwordHash = changes.passwordHash end
if user.disabled == nil then user.disabled = false end
user.tokenVersion = (user.tokenVersion or 0) + 1
local roles = ARGV[4]
if roles == '' then
  if #user.roles == 0 then roles = '[]' else roles = cjson.encode(user.roles) end
end
user.roles = nil
local body = cjson.encode(user)
local updated = string.sub(body, 1, -2) .. ',"roles":' .. roles .. '}'
redis.call('HSET', p .. 'users', id, updated)
if ARGV[5] == '1' then
  for _, familyId in ipairs(redis.call('SMEMBERS', p .. 'user-families:' .. id)) do
    revokeFamily(p, familyId, at)
  end
end
redis.call('PUBLISH', p .. 'events', cjson.encode({
  type = 'user', id = id, disabled = user.disabled, tokenVersion = user.tokenVersion,
}))
return updated
`;

/**
 * ARGV: prefix, id, expected hash, next hash. Replaces the password hash only if it is still the
 * expected one; the token version stays and nothing is published (the session state is unchanged).
 * Returns 1 when replaced. The hash is spliced into the stored JSON so the roles array keeps its
 * form (cjson would encode an empty array as an object).
 */
const REPLACE_PASSWORD_HASH = `
local p, id = ARGV[1], ARGV[2]
local current = redis.call('HGET', p .. 'users', id)
if not current then return 0 end
local user = cjson.decode(current)
if user.passwordHash ~= ARGV[3] then return 0 end
local roles = '[]'
if #user.roles > 0 then roles = cjson.encode(user.roles) end
user.passwordHash = ARGV[4]
user.roles = nil
local body = cjson.encode(user)
redis.call('HSET', p .. 'users', id, string.sub(body, 1, -2) .. ',"roles":' .. roles .. '}')
return 1
`;

/** ARGV: prefix, id. Deletes the user and every refresh token of theirs; 1 when deleted. */
const DELETE_USER = `
local p, id = ARGV[1], ARGV[2]
local current = redis.call('HGET', p .. 'users', id)
if not current then return 0 end
local user = cjson.decode(current)
redis.call('HDEL', p .. 'users', id)
if redis.call('HGET', p .. 'usernames', user.username) == id then
  redis.call('HDEL', p .. 'usernames', user.username)
end
for _, familyId in ipairs(redis.call('SMEMBERS', p .. 'user-families:' .. id)) do
  for _, hash in ipairs(redis.call('SMEMBERS', p .. 'family:' .. familyId)) do
    redis.call('DEL', p .. 'rt:' .. hash)
  end
  redis.call('DEL', p .. 'family:' .. familyId)
end
redis.call('DEL', p .. 'user-families:' .. id)
redis.call('PUBLISH', p .. 'events', cjson.encode({ type = 'user-deleted', id = id }))
return 1
`;

/** ARGV: prefix, userId, familyId, token hash, expiresAt, now. */
const START_FAMILY = `${HELPERS}
addToken(ARGV[1], ARGV[4], ARGV[2], ARGV[3], tonumber(ARGV[6]), tonumber(ARGV[5]))
return 1
`;

/**
 * ARGV: prefix, token hash, next hash, next expiresAt, now. Returns {outcome, userId, familyId} or
 * {'rejected', reason}; the checks run in the order of the lowdb store.
 */
const ROTATE = `${HELPERS}
local p, at = ARGV[1], tonumber(ARGV[5])
local key = p .. 'rt:' .. ARGV[2]
local text = redis.call('GET', key)
if not text then return { 'rejected', 'unknown' } end
local token = cjson.decode(text)
if token.revokedAt ~= nil then return { 'rejected', 'revoked' } end
if token.usedAt ~= nil then
  revokeFamily(p, token.familyId, at)
  return { 'reused', token.userId, token.familyId }
end
if token.expiresAt <= at then return { 'rejected', 'expired' } end
token.usedAt = at
redis.call('SET', key, cjson.encode(token), 'KEEPTTL')
addToken(p, ARGV[3], token.userId, token.familyId, at, tonumber(ARGV[4]))
return { 'rotated', token.userId, token.familyId }
`;

/** ARGV: prefix, token hash, userId, now. 1 when the family was the user's and is now revoked. */
const REVOKE_FAMILY_OF = `${HELPERS}
local p = ARGV[1]
local text = redis.call('GET', p .. 'rt:' .. ARGV[2])
if not text then return 0 end
local token = cjson.decode(text)
if token.userId ~= ARGV[3] then return 0 end
revokeFamily(p, token.familyId, tonumber(ARGV[4]))
return 1
`;

/** ARGV: prefix, token id, expiresAt. */
const REVOKE_ACCESS_TOKEN = `
local p, key = ARGV[1], ARGV[1] .. 'revoked:' .. ARGV[2]
redis.call('SET', key, ARGV[3])
redis.call('PEXPIREAT', key, ARGV[3])
redis.call('PUBLISH', p .. 'events', cjson.encode({ type = 'revoked', id = ARGV[2], expiresAt = tonumber(ARGV[3]) }))
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
 * `store migrate`. ARGV: prefix, token hash, userId, familyId, issuedAt, expiresAt, usedAt or '',
 * revokedAt or ''. A token already here only gains the source's usedAt or revokedAt. Returns
 * 'copied', 'updated', 'current', or 'orphan' when its user is not here.
 */
const IMPORT_REFRESH_TOKEN = `${HELPERS}
local p, hash, userId = ARGV[1], ARGV[2], ARGV[3]
if redis.call('HEXISTS', p .. 'users', userId) == 0 then return 'orphan' end
local key = p .. 'rt:' .. hash
local outcome = 'current'
if not redis.call('GET', key) then
  addToken(p, hash, userId, ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6]))
  outcome = 'copied'
end
local token = cjson.decode(redis.call('GET', key))
for field, value in pairs({ usedAt = ARGV[7], revokedAt = ARGV[8] }) do
  if value ~= '' and token[field] == nil then
    token[field] = tonumber(value)
    if outcome == 'current' then outcome = 'updated' end
  end
end
if outcome ~= 'current' then redis.call('SET', key, cjson.encode(token), 'KEEPTTL') end
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
  authSidecarImportRefreshToken: IMPORT_REFRESH_TOKEN,
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
  authSidecarRevokeFamilyOf: REVOKE_FAMILY_OF,
  authSidecarRevokeAccessToken: REVOKE_ACCESS_TOKEN,
} as const;
