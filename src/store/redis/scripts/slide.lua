-- SLIDE (a read-only request, at most once per refresh interval): moves
-- the deadline E later and the data's TTL with it. Never creates a key.
-- KEYS: data. ARGV: deadline ms, data ttl ms. 1: slid; 0: gone or later.
local e = tonumber(redis.call('HGET', KEYS[1], 'E'))
if not e or e >= tonumber(ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], 'E', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
