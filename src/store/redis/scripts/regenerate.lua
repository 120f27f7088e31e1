-- REGENERATE: moves a locked session to a new ID in the same slot, at once.
-- KEYS: old data, exp, new data. ARGV: old member, new member, token,
-- deadline ms, data ttl ms (past the deadline by the grace; longer while
-- the lock needs it), masked new ID ('' for none), grace ms.
-- 1: moved; 0: the new ID is taken; -1: the lock expired or is another's;
-- -2: the session is gone.
local l = redis.call('HGET', KEYS[1], 'L')
if not l then
  if ours(redis.call('HGET', KEYS[3], 'L'), ARGV[3]) then
    return 1
  end
  return -2
end
if not ours(l, ARGV[3]) or not held(l, server_ms()) then
  return -1
end
if redis.call('EXISTS', KEYS[3]) == 1 then
  return 0
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2])
redis.call('RENAME', KEYS[1], KEYS[3])
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[3], 'E', ARGV[4], 'K', ARGV[6])
else
  redis.call('HSET', KEYS[3], 'E', ARGV[4])
end
expire_past_lock(KEYS[3], ARGV[5], l, ARGV[7])
return 1
