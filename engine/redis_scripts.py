"""The Lua scripts ``RedisStore`` runs: each does one step of a conversation's life in Redis
atomically (see ``kefu.redis_store`` for the key layout, the locking and when ends are
reported)."""

__all__ = ["DELETE_IF_UNLOCKED", "END_IF_IDLE", "END_LOCKED", "LOCK_AND_OPEN", "RELEASE", "SAVE_AND_UNLOCK"]

# Each reply costs two round trips: lock-and-read, then write-and-unlock.
#
# A script that fails midway keeps the writes it made before the error, so every script
# reads (and meets any key of the wrong type) before it writes. ``stored`` reads a session
# key: its JSON, or false when there is none or it holds another type (also returned).
_STORED = """
local function stored(key)
  local kind = redis.call('type', key)['ok']
  if kind == 'string' then return redis.call('get', key), kind end
  return false, kind
end
"""
# KEYS: lock, session, index. ARGV: token, lock timeout ms, now, id. Returns {0} while
# someone else holds the lock, {3, type} without taking it if the session key holds
# another Redis type; else takes it and returns {2, json or ''} after claiming a session
# that went idle (its data is deleted), or {1, json} ({1} when there is none). Holding the
# lock already counts as taking it, so a command retried after a lost answer still works.
LOCK_AND_OPEN = (
    _STORED
    + """
local holder = redis.call('get', KEYS[1])
if holder and holder ~= ARGV[1] then return {0} end
local raw, kind = stored(KEYS[2])
if kind ~= 'string' and kind ~= 'none' then return {3, kind} end
local due = redis.call('zscore', KEYS[3], ARGV[4])
redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
if due and tonumber(due) <= tonumber(ARGV[3]) then
  redis.call('zrem', KEYS[3], ARGV[4])
  redis.call('del', KEYS[2])
  return {2, raw or ''}
end
if raw then return {1, raw} end
return {1}
"""
)
# KEYS: lock, session, index. ARGV: token, json, key ttl ms, idle at, id, SHA-1 of the JSON
# the transaction read ('' for none). Saves and unlocks, returning 1, if the lock is still
# ours, or if it is gone (expired, lost in a restart or an eviction) and the session is
# unchanged since it was read: then no other writer's update exists to be overwritten.
# Returns 0 if someone else holds the lock (their save would overwrite ours), -1 if the
# lock is gone and the session changed or ended meanwhile.
SAVE_AND_UNLOCK = (
    _STORED
    + """
local holder = redis.call('get', KEYS[1])
if holder ~= ARGV[1] then
  if holder then return 0 end
  if redis.sha1hex(stored(KEYS[2]) or '') ~= ARGV[6] then return -1 end
end
redis.call('set', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('zadd', KEYS[3], ARGV[4], ARGV[5])
if holder then redis.call('del', KEYS[1]) end
return 1
"""
)
# KEYS: lock, session, index. ARGV: now, id. Returns {0} if the session is locked,
# {2, json or '', type} after claiming it because it went idle, else {1}. A session key of
# another type is claimed (deleted) all the same: it must not fail every sweep.
END_IF_IDLE = (
    _STORED
    + """
if redis.call('exists', KEYS[1]) == 1 then return {0} end
local due = redis.call('zscore', KEYS[3], ARGV[2])
if not due or tonumber(due) > tonumber(ARGV[1]) then return {1} end
local raw, kind = stored(KEYS[2])
redis.call('zrem', KEYS[3], ARGV[2])
redis.call('del', KEYS[2])
return {2, raw or '', kind}
"""
)
# KEYS: lock, session, index. ARGV: id. Returns {0} if the session is locked, else
# deletes it (whatever type its key holds) and returns {1, removed from the index, json or ''}.
DELETE_IF_UNLOCKED = (
    _STORED
    + """
if redis.call('exists', KEYS[1]) == 1 then return {0} end
local raw = stored(KEYS[2])
redis.call('del', KEYS[2])
return {1, redis.call('zrem', KEYS[3], ARGV[1]), raw or ''}
"""
)
# KEYS: lock, session, index. ARGV: token, id, SHA-1 of the JSON the transaction read.
# Claims (deletes) the session and returns 1 if the lock is still ours, or if it is gone and
# the session is unchanged since it was read: every other claim deletes or rewrites it, so
# nobody else has reported its end, and nobody else can after this. Else returns 0.
END_LOCKED = (
    _STORED
    + """
local holder = redis.call('get', KEYS[1])
if holder ~= ARGV[1] then
  if holder then return 0 end
  if redis.sha1hex(stored(KEYS[2]) or '') ~= ARGV[3] then return 0 end
end
redis.call('del', KEYS[2])
redis.call('zrem', KEYS[3], ARGV[2])
return 1
"""
)
RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
