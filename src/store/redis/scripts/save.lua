-- SAVE-AND-RELEASE, one round trip: writes the changed fields (E and L,
-- the release, among them) and slides the data's TTL -- only while the
-- lock is still ours and unexpired; otherwise writes nothing. The index
-- stays a lower bound of E: it is touched only when E moves earlier (a
-- shorter Timeout), or when it lacks the session (deleted or evicted:
-- filed again at the old E, lest the session end unseen by the sweeper).
-- KEYS: data, exp. ARGV: token, '1' to have the lease judged by the
-- server's clock ('': the caller knows it is far from its end, and only
-- the owner is checked), data ttl ms, the new E if earlier than before
-- (else ''), member, number of pairs n, n field/value pairs, fields to
-- delete.
-- 1: saved; -1: the lock expired or is another's; -2: no session there.
local v = redis.call('HMGET', KEYS[1], 'L', 'E')
local l = v[1]
if l == ARGV[1] then
  return 1
end
if not l then
  return -2
end
if not ours(l, ARGV[1]) or (ARGV[2] ~= '' and not held(l, server_ms())) then
  -- Saved by this very call, retried after a lost reply, and the lock
  -- taken since: the next holder kept this token in P.
  if redis.call('HGET', KEYS[1], 'P') == ARGV[1] then
    return 1
  end
  return -1
end
if ARGV[4] ~= '' then
  local s = redis.call('ZSCORE', KEYS[2], ARGV[5])
  if not s or tonumber(s) > tonumber(ARGV[4]) then
    redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
  end
elseif tonumber(v[2]) then
  redis.call('ZADD', KEYS[2], 'NX', v[2], ARGV[5])
end
local last = 6 + 2 * tonumber(ARGV[6])
call_range('HSET', KEYS[1], ARGV, 7, last)
call_range('HDEL', KEYS[1], ARGV, last + 1, #ARGV)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
