-- DUE (one server): the members of every expiry index due at `now`.
-- KEYS: the expiry indexes. ARGV: now ms, most per index.
-- Returns one list per index, in KEYS' order (an empty one for an index
-- of the wrong type, damage: it stops no sweep of the others).
local out = {}
for i = 1, #KEYS do
  local due = redis.pcall('ZRANGEBYSCORE', KEYS[i], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
  out[i] = due.err and {} or due
end
return out
