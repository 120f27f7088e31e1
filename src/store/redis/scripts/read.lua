-- READ (a read-only request that found L holding a lease): the session's
-- fields, unless a writer still holds it by the server's clock. Writes
-- nothing.
-- KEYS: data. {1, fields}: not held (fields empty: no session); {2}: held.
local f = redis.call('HGETALL', KEYS[1])
for i = 1, #f, 2 do
  if f[i] == 'L' then
    if held(f[i + 1], server_ms()) then
      return {2}
    end
    break
  end
end
return {1, f}
