-- COUNT (one server): the sessions in every bucket's expiry index.
-- KEYS: the expiry indexes. Returns their total size.
local n = 0
for i = 1, #KEYS do
  n = n + redis.call('ZCARD', KEYS[i])
end
return n
