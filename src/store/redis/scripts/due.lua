-- DUE (one server): the members of every expiry index due at `now`.
-- KEYS: the expiry indexes. ARGV: now ms, most per index.
local out = {}
for i = 1, #KEYS do
  local due = redis.call('ZRANGEBYSCORE', KEYS[i], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
  for _, m in ipairs(due) do
    out[#out + 1] = m
  end
end
return out
