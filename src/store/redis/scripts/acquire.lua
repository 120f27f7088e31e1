-- ACQUIRE-EXCLUSIVE, one round trip: lock, read, slide the expiry.
-- KEYS: data, lock, exp. ARGV: member, token, lock_ttl ms, now ms, grace ms.
-- {0}: not found; {1, fields}: locked for us; {2}: locked by another;
-- {3, fields}: expired, claimed here (removed) for Session_OnEnd.
local v = redis.call('GET', KEYS[2])
if is_held(v) and v ~= ARGV[2] then
  return {2}
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[3], ARGV[1])
  return {0}
end
local now = tonumber(ARGV[4])
local fields = redis.call('HGETALL', KEYS[1])
local score = redis.call('ZSCORE', KEYS[3], ARGV[1])
if score and tonumber(score) <= now then
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('ZREM', KEYS[3], ARGV[1])
  return {3, fields}
end
local ta = redis.call('HMGET', KEYS[1], 't', 'a')
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
touch(KEYS[1], KEYS[3], ARGV[1], now, deadline_of(now, ta[1], ta[2]), tonumber(ARGV[5]))
return {1, fields}
