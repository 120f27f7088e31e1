-- DUE (one server): the members of every expiry index due at `now`.
-- KEYS: the expiry indexes. ARGV: now ms, most per index.
-- Returns one list per index, in KEYS' order.
local out = {}
for i = 1, #KEYS do
  out[i] = redis.call('ZRANGEBYSCORE', KEYS[i], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
end
return out
