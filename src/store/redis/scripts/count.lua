-- COUNT (one server): the sessions in every bucket's expiry index.
-- KEYS: the expiry indexes. Returns their total size (an index of the
-- wrong type, damage, counts none: it stops no count).
local n = 0
for i = 1, #KEYS do
  local size = redis.pcall('ZCARD', KEYS[i])
  if type(size) == 'number' then
    n = n + size
  end
end
return n
