-- ACQUIRE-EXCLUSIVE, one round trip: read and lock.
-- KEYS: data, exp, claimed (the data key's name with this call's token).
-- ARGV: member, token, now ms (the application's, for E), lock ttl ms,
-- tombstone ttl ms, the least data ttl ms while locked (lock ttl + grace:
-- the data outlives the lock, so its holder never loses it and the sweeper
-- finds it once the lock frees), the new lease's end in server ms by the
-- caller's estimate of that clock ('': none, read the clock).
-- {0}: not found; {1, fields}: locked for us; {2}: locked by another;
-- {3, fields}: expired, claimed here (moved aside) for Session_OnEnd -- by
-- this very call, too, retried after a lost reply.
local f = redis.call('HGETALL', KEYS[1])
if #f == 0 then
  -- Gone: perhaps moved aside by this very call (looked for only then).
  local c = redis.call('HGETALL', KEYS[3])
  if #c > 0 then
    return {3, c}
  end
end
local l, e, m
for i = 1, #f, 2 do
  local n = f[i]
  if n == 'L' then
    l = f[i + 1]
  elseif n == 'E' then
    e = f[i + 1]
  elseif n == 'M' then
    m = true
  end
end
if not m then
  -- Nothing (the index entry goes), or a removed session's mark.
  if #f == 0 then
    redis.call('ZREM', KEYS[2], ARGV[1])
  end
  return {0}
end
-- A lease in L (held, or a crashed holder's) is judged by the server's
-- own clock, read only then.
local server_now
if lock_expiry(l) then
  server_now = server_ms()
  if held(l, server_now) and not ours(l, ARGV[2]) then
    return {2}
  end
end
local now = tonumber(ARGV[3])
-- A damaged E is no deadline: the session is locked and returned, and
-- its reader reports the damage.
e = deadline(e)
if e and e <= now then
  claim(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[5])
  return {3, f}
end
local lease = lock_for(ARGV[2], server_now, ARGV[7], ARGV[4])
if l and not string.find(l, ':', 1, true) then
  -- A released lock: its holder's token goes to P, so that holder's save,
  -- retried after a lost reply, still finds it ran.
  redis.call('HSET', KEYS[1], 'L', lease, 'P', l)
else
  redis.call('HSET', KEYS[1], 'L', lease)
end
-- The data's TTL runs the grace past E (every write sets it so): only a
-- deadline that comes before the lock's end needs it longer.
if not e or e - now < tonumber(ARGV[4]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
end
return {1, f}
