-- CLAIM (the sweeper): takes an expired session that no request holds --
-- reads and deletes it in one step, so exactly one process ends it. The
-- index is a lower bound of each deadline E (saves do not touch it): a
-- session found not due is re-indexed at E.
-- KEYS: data, exp. ARGV: member, now ms.
-- {0}: not due (re-indexed) or gone; {1, fields}: claimed; {2}: in use.
local v = redis.call('HMGET', KEYS[1], 'E', 'L')
local e = tonumber(v[1])
if not e then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return {0}
end
local now = tonumber(ARGV[2])
if e > now then
  redis.call('ZADD', KEYS[2], v[1], ARGV[1])
  return {0}
end
if held(v[2], now) then
  return {2}
end
local fields = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return {1, fields}
